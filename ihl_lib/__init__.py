"""ihl_lib: measure how language models refuse requests that violate International Humanitarian Law.

One concept per module:

- :mod:`ihl_lib.paths`    where data, results, figures and the cache live
- :mod:`ihl_lib.llm`      cached, concurrent, fault-tolerant model calls (through litellm)
- :mod:`ihl_lib.local`    the embedded offline model, ``local/smollm2-135m``
- :mod:`ihl_lib.testing.openai_server` a real OpenAI-compatible server on 127.0.0.1 for tests and dry runs
"""

import os as _os

# litellm downloads a price map at import time unless told to use its bundled copy.
# This must happen before litellm is first imported, anywhere.
_os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# litellm's optional telemetry/update checks are network calls too.
_os.environ.setdefault("LITELLM_TELEMETRY", "False")

__version__ = "0.1.0"
DEFAULT_MODEL = "local/smollm2-135m"
