"""ihl_lib: measure how language models refuse requests that violate International Humanitarian Law.

One concept per module; the README's "Package layout" lists each with its one-sentence job (taken
from the module docstrings by ``tools/readme_layout.py``). Data flows one way: datasets -> runs
(through ``llm``) -> judging -> metrics and stats -> plots and notebooks.
"""

import os as _os

# litellm downloads a price map at import time unless told to use its bundled copy.
# This must happen before litellm is first imported, anywhere.
_os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# litellm's optional telemetry/update checks are network calls too.
_os.environ.setdefault("LITELLM_TELEMETRY", "False")

__version__ = "0.1.0"
DEFAULT_MODEL = "local/smollm2-135m"
