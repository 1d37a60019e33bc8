"""Cached, concurrent, fault-tolerant model calls, through litellm.

One module per job: :mod:`~ihl_lib.llm.request` (what to ask, validation, routing, keys),
:mod:`~ihl_lib.llm.outcomes` (what came back, outcomes before judging, error kinds),
:mod:`~ihl_lib.llm.cache` (the response cache), :mod:`~ihl_lib.llm.transports` (litellm, or
:mod:`~ihl_lib.llm.self_hosted` for OpenAI-compatible servers), :mod:`~ihl_lib.llm.batch`
(concurrency, retries, progress).

Every model call in the project (the models under study and the judges) goes
through :func:`complete` or :func:`complete_many`.

- **Cache.** Each successful, non-empty answer is stored in a diskcache under
  ``cache/`` (``IHL_CACHE_DIR``). The key is the sha256 of canonical JSON of
  everything that changes the answer: model id, api_base, messages,
  temperature, max_tokens, top_p, seed, stop, sample index, a caller's
  namespace, the response format, and when set the reasoning effort, the
  parameters left out, extra body fields and a reasoning model's retry budget;
  for the embedded model also the llama.cpp build (:func:`cache_key`). API keys
  are never part of the key or the value. Errors and empty replies are never
  cached, so a rerun retries exactly the items that failed, and a fully cached
  rerun makes no network call; a provider's content block is an answer
  (``provider_blocked``), cached and never retried.
- **Concurrency.** ``max_concurrency`` workers share one asyncio loop that runs
  in a background thread (so it works the same in a script and in JupyterLab).
- **Retries.** 429, 5xx, timeouts, connection errors and malformed bodies are
  retried with exponential backoff and full jitter, honouring ``Retry-After``.
  400/401/403/404 are final: the message names the model and the env var, and
  the rest of that model's items in the batch are not sent.
- **Failures stay local.** A failed item does not abort the batch; its result
  carries ``error`` and ``error_kind``.

Example:
    >>> from ihl_lib.llm import complete
    >>> complete("local/smollm2-135m", [{"role": "user", "content": "Hello"}]).text  # doctest: +SKIP
"""

from ihl_lib.llm.batch import RetryPolicy, acomplete_many, complete, complete_many
from ihl_lib.llm.cache import ResponseCache, cache_key, get_cache
from ihl_lib.llm.outcomes import (
    Completion,
    ModelCallError,
    outcome_of,
    usage_totals,
)
from ihl_lib.llm.request import (
    ChatRequest,
    InvalidRequestError,
    clean_api_base,
    key_env_vars,
    missing_key_env_vars,
    validate_request,
)
from ihl_lib.schema import OUTCOMES

__all__ = [
    "OUTCOMES",
    "ChatRequest",
    "Completion",
    "InvalidRequestError",
    "ModelCallError",
    "ResponseCache",
    "RetryPolicy",
    "acomplete_many",
    "cache_key",
    "clean_api_base",
    "complete",
    "complete_many",
    "get_cache",
    "key_env_vars",
    "missing_key_env_vars",
    "outcome_of",
    "usage_totals",
    "validate_request",
]
