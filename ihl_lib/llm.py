"""Cached, concurrent, fault-tolerant model calls, through litellm.

Every model call in the project (the models under study and the judges) goes
through :func:`complete` or :func:`complete_many`.

- **Cache.** Each successful, non-empty answer is stored in a diskcache under
  ``cache/`` (``IHL_CACHE_DIR``). The key is the sha256 of canonical JSON of
  everything that changes the answer: model id, api_base, messages,
  temperature, max_tokens, top_p, seed, stop, sample index and a caller's
  namespace. API keys are never part of the key or the value. Errors and empty
  replies are never cached, so a rerun retries exactly the items that failed,
  and a fully cached rerun makes no network call.
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

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import dataclasses
import hashlib
import json
import math
import os
import random
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ihl_lib  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm is imported)
from ihl_lib import direct, llama_build, local
from ihl_lib.paths import cache_dir

__all__ = [
    "ChatRequest",
    "Completion",
    "InvalidRequestError",
    "ModelCallError",
    "ResponseCache",
    "RetryPolicy",
    "acomplete_many",
    "cache_key",
    "complete",
    "complete_many",
    "key_env_vars",
    "outcome_of",
    "usage_totals",
]

CACHE_SCHEMA = 1
# "developer" is how OpenAI's reasoning models take system-level instructions (litellm turns a "system"
# message into a user message for o3-mini, whose price-map entry lacks supports_system_messages).
ROLES = frozenset({"system", "developer", "user", "assistant"})
SAMPLING_PARAMS = ("temperature", "top_p", "seed")
REASONING_EFFORTS = ("low", "medium", "high")
# What became of a request, decided before any judge reads it (see :func:`outcome_of`).
OUTCOMES = ("answered", "truncated", "empty", "provider_blocked", "error")
MAX_TOKENS_LIMIT = 200_000
MAX_TIMEOUT_S = 3600.0
MAX_CONCURRENCY = 1024

# Which env var holds the key of each litellm provider (for error messages when a
# key is present but rejected; when it is missing, litellm's own check names it).
PROVIDER_KEY_ENV: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "text-completion-openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
    "xai": "XAI_API_KEY",
    "cohere": "COHERE_API_KEY",
    "cohere_chat": "COHERE_API_KEY",
    "azure": "AZURE_API_KEY",
    "hosted_vllm": "HOSTED_VLLM_API_KEY",
    "huggingface": "HF_TOKEN",
}


# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------


class InvalidRequestError(ValueError):
    """A request is malformed; raised before any model is called."""


class ModelCallError(RuntimeError):
    """A call failed for good (raised by :func:`complete`; batches record it instead)."""

    def __init__(self, message: str, kind: str, result: "Completion | None" = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.result = result


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make.

    Attributes:
        model: a litellm model id, e.g. ``openai/gpt-4o-2024-08-06`` or ``local/smollm2-135m``.
        messages: OpenAI-style messages (``role`` in system/user/assistant, string ``content``).
        temperature: sampling temperature, 0 to 2.
        max_tokens: cap on generated tokens, 1 to 200,000.
        top_p: nucleus sampling, in (0, 1], or None for the provider default.
        seed: sampling seed, or None.
        stop: stop string(s), at most 4.
        api_base: the server URL, for self-hosted or OpenAI-compatible models.
        sample_index: which of several samples of the same request this is.
        namespace: caller's cache namespace (e.g. a judge-prompt version).
        response_format: OpenAI-style structured-output request, e.g.
            ``{"type": "json_object"}`` or ``{"type": "json_object", "schema": {...}}``.
        timeout: seconds one attempt may take.
        tag: caller's label carried into the result (not part of the cache key).
        reasoning_effort: for reasoning models, ``low``/``medium``/``high`` (sent as
            ``reasoning_effort``); None sends nothing.
        omit: sampling parameters (of :data:`SAMPLING_PARAMS`) not sent, because the
            provider rejects or ignores them; recorded, never dropped silently.
        extra_body: provider-specific body fields, e.g. a self-hosted server's
            ``repeat_penalty`` pinned to 1.0.
        retry_budget: a larger ``max_tokens`` for one retry when the reply comes back
            truncated or empty (reasoning models spend the budget on hidden reasoning).
    """

    model: str
    messages: Sequence[Mapping[str, Any]]
    temperature: float = 0.0
    max_tokens: int = 512
    top_p: float | None = None
    seed: int | None = None
    stop: str | Sequence[str] | None = None
    api_base: str | None = None
    sample_index: int = 0
    namespace: str = ""
    response_format: Mapping[str, Any] | None = None
    timeout: float = 120.0
    tag: Any = None
    reasoning_effort: str | None = None
    omit: tuple[str, ...] = ()
    extra_body: Mapping[str, Any] | None = None
    retry_budget: int | None = None

    def sent(self, name: str) -> bool:
        """Whether a sampling parameter goes on the wire."""
        return name not in self.omit and getattr(self, name) is not None


@dataclass
class Completion:
    """The outcome of one request.

    ``cost_usd`` is None when the price is unknown (never a made-up 0).
    ``error`` is None on success; ``error_kind`` is one of ``auth``,
    ``bad_request``, ``not_found``, ``rate_limit``, ``server``, ``timeout``,
    ``connection``, ``empty``, ``skipped`` or ``other``.
    """

    model: str
    text: str | None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    response_model: str | None = None
    from_cache: bool = False
    error: str | None = None
    error_kind: str | None = None
    attempts: int = 0
    cache_key: str = ""
    tag: Any = None
    budget_retried: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def outcome(self) -> str:
        """One of :data:`OUTCOMES` (see :func:`outcome_of`)."""
        return outcome_of(self.text, self.finish_reason, self.error_kind)

    @property
    def usage(self) -> dict[str, int | None]:
        total = None
        if self.prompt_tokens is not None and self.completion_tokens is not None:
            total = self.prompt_tokens + self.completion_tokens
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens, "total_tokens": total}


BLOCKED_FINISH_REASONS = frozenset({"content_filter"})  # litellm's name for OpenAI/Azure filters, Anthropic "refusal", Gemini SAFETY etc.


def outcome_of(text: str | None, finish_reason: str | None, error_kind: str | None) -> str:
    """What became of a request, before any judge reads it.

    - ``provider_blocked``: the provider's own filter stopped it: a ``content_filter`` finish
      (litellm's name for OpenAI/Azure filters, Anthropic's ``refusal`` stop, Gemini's ``SAFETY``
      and other block reasons) or a content-policy error. A refusal of a particular kind: the
      headline counts it as an unhelpful refusal, and a sensitivity table leaves it out.
    - ``error``: the call failed (after retries, or fatally); nothing to judge.
    - ``empty``: the model answered with no text.
    - ``truncated``: text cut by the token budget (``finish_reason == "length"``); judged, and
      counted apart.
    - ``answered``: anything else with text.

    >>> outcome_of("Sure", "stop", None), outcome_of("Sure, the pl", "length", None), outcome_of("", "content_filter", None)
    ('answered', 'truncated', 'provider_blocked')
    """
    text, finish_reason, error_kind = (None if v is None or v != v else v for v in (text, finish_reason, error_kind))  # NaN: missing
    if error_kind == "content_policy" or finish_reason in BLOCKED_FINISH_REASONS:
        return "provider_blocked"
    if error_kind is not None and error_kind != "empty":
        return "error"
    if text is None or not str(text).strip():
        return "empty"
    return "truncated" if finish_reason == "length" else "answered"


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    The n-th retry waits a random time in ``[0, min(max_delay, base_delay * 2**n)]``
    (full jitter), or the server's ``Retry-After`` plus up to 10% jitter when given.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            wait = min(max(retry_after, 0.0), self.max_retry_after)
            return wait + rng.uniform(0, 0.1 * wait)
        return rng.uniform(0, min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


# Facts litellm's bundled model map no longer holds for retired study models, without which it moves the
# system prompt into the user turn: gemini-2.0-flash-001 takes a systemInstruction (shown on the wire by
# tests/test_provider_protocols.py). o3-mini gets its system prompt as a developer message instead
# (ihl_lib.models.GENERATION_PROFILES), the role OpenAI's reasoning models take.
MODEL_CAPABILITIES: dict[str, dict[str, Any]] = {
    "gemini/gemini-2.0-flash-001": {"litellm_provider": "gemini", "mode": "chat", "supports_system_messages": True},
}


def _litellm() -> Any:
    import litellm

    if not getattr(litellm, "_ihl_configured", False):
        litellm.suppress_debug_info = True
        litellm.telemetry = False
        litellm.drop_params = True  # a provider that lacks e.g. `seed` still answers
        litellm.register_model(MODEL_CAPABILITIES)
        local.register()
        litellm._ihl_configured = True
    return litellm


_route_cache: dict[tuple[str, str | None], str] = {}


def _provider(model: str, api_base: str | None) -> str:
    """The litellm provider of ``model``; raises InvalidRequestError if it cannot be routed."""
    key = (model, api_base)
    if key in _route_cache:
        return _route_cache[key]
    if model.startswith(local.PROVIDER + "/"):
        try:
            local.local_model_path(model.split("/", 1)[1])
        except local.LocalModelUnavailable as exc:
            raise InvalidRequestError(str(exc)) from None
        provider = local.PROVIDER
    else:
        litellm = _litellm()
        try:
            _, provider, _, _ = litellm.get_llm_provider(model, api_base=api_base)
        except Exception:
            raise InvalidRequestError(
                f"unknown model id '{model}': litellm cannot route it. Use a provider-prefixed id "
                "such as 'openai/gpt-4o-2024-08-06', 'anthropic/claude-3-5-sonnet-20241022', "
                "'ollama/llama3', or 'local/smollm2-135m'."
            ) from None
    _route_cache[key] = provider
    return provider


def key_env_vars(model: str, api_base: str | None = None) -> list[str]:
    """The env var(s) that must hold the API key for ``model`` (empty if none is needed).

    Uses litellm's own environment check, and the provider table for providers
    whose key litellm reports only when missing.
    """
    provider = _provider(model, api_base)
    if provider == local.PROVIDER:
        return []
    litellm = _litellm()
    try:
        missing = list(litellm.validate_environment(model=model, api_base=api_base).get("missing_keys") or [])
    except Exception:
        missing = []
    if missing:
        return missing
    env = PROVIDER_KEY_ENV.get(provider)
    return [env] if env else []


def missing_key_env_vars(model: str, api_base: str | None = None) -> list[str]:
    """Env vars that ``model`` needs and that are not set."""
    provider = _provider(model, api_base)
    if provider == local.PROVIDER:
        return []
    litellm = _litellm()
    try:
        return list(litellm.validate_environment(model=model, api_base=api_base).get("missing_keys") or [])
    except Exception:
        return []


def _fail(index: int | None, field_name: str, problem: str) -> InvalidRequestError:
    where = f"request {index}" if index is not None else "request"
    return InvalidRequestError(f"{where}: field '{field_name}': {problem}")


def validate_request(req: ChatRequest, index: int | None = None) -> None:
    """Check one request; raise :class:`InvalidRequestError` naming the field."""
    if not isinstance(req.model, str) or not req.model.strip():
        raise _fail(index, "model", "must be a non-empty model id")
    msgs = req.messages
    if isinstance(msgs, (str, bytes)) or not isinstance(msgs, Sequence) or len(msgs) == 0:
        raise _fail(index, "messages", "must be a non-empty list of {'role', 'content'} dicts")
    for i, m in enumerate(msgs):
        if not isinstance(m, Mapping):
            raise _fail(index, f"messages[{i}]", f"must be a dict, got {type(m).__name__}")
        if m.get("role") not in ROLES:
            raise _fail(index, f"messages[{i}].role", f"must be one of {sorted(ROLES)}, got {m.get('role')!r}")
        content = m.get("content")
        if not isinstance(content, str) or not content.strip():
            raise _fail(index, f"messages[{i}].content", "must be a non-empty string")
    if not any(m["role"] == "user" for m in msgs):
        raise _fail(index, "messages", "must contain at least one 'user' message")

    def number(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False, integer: bool = False) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise _fail(index, name, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(index, name, f"must be finite, got {value!r}")
        if value > hi or value < lo or (lo_open and value == lo):
            raise _fail(index, name, f"must be in {'(' if lo_open else '['}{lo:g}, {hi:g}], got {value!r}")

    number("temperature", req.temperature, 0, 2)
    if req.reasoning_effort is not None and req.reasoning_effort not in REASONING_EFFORTS:
        raise _fail(index, "reasoning_effort", f"must be one of {REASONING_EFFORTS} or None, got {req.reasoning_effort!r}")
    if not isinstance(req.omit, tuple) or not set(req.omit) <= set(SAMPLING_PARAMS):
        raise _fail(index, "omit", f"must be a tuple of {SAMPLING_PARAMS}, got {req.omit!r}")
    if req.extra_body is not None and not isinstance(req.extra_body, Mapping):
        raise _fail(index, "extra_body", "must be a dict")
    if req.retry_budget is not None:
        number("retry_budget", req.retry_budget, req.max_tokens + 1, MAX_TOKENS_LIMIT, integer=True)
    number("max_tokens", req.max_tokens, 1, MAX_TOKENS_LIMIT, integer=True)
    if req.top_p is not None:
        number("top_p", req.top_p, 0, 1, lo_open=True)
    if req.seed is not None:
        number("seed", req.seed, 0, 2**63 - 1, integer=True)
    number("sample_index", req.sample_index, 0, 1_000_000, integer=True)
    number("timeout", req.timeout, 0, MAX_TIMEOUT_S, lo_open=True)
    if req.stop is not None:
        stops = [req.stop] if isinstance(req.stop, str) else req.stop
        if not isinstance(stops, Sequence) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops):
            raise _fail(index, "stop", "must be a non-empty string or a list of at most 4 non-empty strings")
    if req.response_format is not None and not (
        isinstance(req.response_format, Mapping) and req.response_format.get("type") in ("json_object", "json_schema", "text")
    ):
        raise _fail(index, "response_format", "must be a dict with 'type' json_object, json_schema or text")
    if not isinstance(req.namespace, str):
        raise _fail(index, "namespace", "must be a string")
    if req.api_base is not None and not (isinstance(req.api_base, str) and req.api_base.startswith(("http://", "https://"))):
        raise _fail(index, "api_base", f"must be an http(s) URL, got {req.api_base!r}")
    try:
        _provider(req.model, req.api_base)
    except InvalidRequestError as exc:
        raise _fail(index, "model", str(exc)) from None


# ---------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------


def clean_api_base(api_base: str | None) -> str | None:
    """api_base without credentials embedded in the URL, and without a trailing slash."""
    if not api_base:
        return None
    parts = urlsplit(api_base)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def cache_key(req: ChatRequest) -> str:
    """sha256 of canonical JSON of everything that changes the answer (never an API key)."""
    stop = [req.stop] if isinstance(req.stop, str) else (list(req.stop) if req.stop else None)
    payload = {
        "schema": CACHE_SCHEMA,
        "model": req.model,
        "api_base": clean_api_base(req.api_base),
        "messages": [{"role": m["role"], "content": m["content"]} for m in req.messages],
        "temperature": float(req.temperature),
        "max_tokens": int(req.max_tokens),
        "top_p": None if req.top_p is None else float(req.top_p),
        "seed": req.seed,
        "stop": stop,
        "sample_index": int(req.sample_index),
        "namespace": req.namespace,
        "response_format": req.response_format,
    }
    # Added only when set, so that the keys of requests without them (every cached answer made before
    # they existed) stay the same.
    for name, value in (("reasoning_effort", req.reasoning_effort), ("omit", sorted(req.omit) or None),
                        ("extra_body", dict(req.extra_body) if req.extra_body else None), ("retry_budget", req.retry_budget)):
        if value is not None:
            payload[name] = value
    if req.model.startswith(local.PROVIDER + "/"):
        payload["local_build"] = llama_build.build_id()  # another llama.cpp build may answer differently
        if req.response_format is not None:
            payload["local_grammar"] = local.GRAMMAR_VERSION  # how the local grammar is built changes the answer
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_CACHED_FIELDS = ("text", "finish_reason", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s", "response_model")
# Stored only when set (older entries lack them): a provider block is a final answer, and so is a reply
# that needed the larger budget.
_CACHED_IF_SET = ("error", "error_kind", "budget_retried")


class ResponseCache:
    """Successful model answers on disk (a thin layer over ``diskcache.Cache``).

    Only the fields of :class:`Completion` listed in ``_CACHED_FIELDS`` are
    stored: never the request's credentials.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        import diskcache

        self.directory = Path(directory) if directory is not None else cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        # size_limit: research caches are small but must never be evicted silently.
        self._cache = diskcache.Cache(str(self.directory), size_limit=2**40, eviction_policy="none")

    def get(self, key: str) -> dict[str, Any] | None:
        return self._cache.get(key)

    def set(self, result: Completion) -> None:
        if result.outcome not in ("answered", "truncated", "provider_blocked"):
            raise ValueError(f"only answers and provider blocks are cached, not {result.outcome!r}")
        stored = {f: getattr(result, f) for f in _CACHED_FIELDS}
        stored.update({f: getattr(result, f) for f in _CACHED_IF_SET if getattr(result, f)})
        self._cache.set(result.cache_key, stored)

    def __contains__(self, key: str) -> bool:
        return key in self._cache

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        self._cache.close()


_default_caches: dict[Path, ResponseCache] = {}


def get_cache(cache: ResponseCache | str | os.PathLike[str] | None) -> ResponseCache:
    if isinstance(cache, ResponseCache):
        return cache
    directory = Path(cache) if cache is not None else cache_dir()
    key = directory.resolve()
    if key not in _default_caches:
        _default_caches[key] = ResponseCache(directory)
    return _default_caches[key]


# ---------------------------------------------------------------------------
# Error classification
# ---------------------------------------------------------------------------

FATAL_KINDS = frozenset({"auth", "bad_request", "not_found"})


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(exc, "litellm_response_headers", None) or getattr(exc, "response_headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        lower = {str(k).lower(): v for k, v in dict(headers).items()}
    except Exception:
        return None
    if "retry-after-ms" in lower:
        try:
            return float(lower["retry-after-ms"]) / 1000.0
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


# How providers word a request their safety system refused (OpenAI's error code, Azure's content filter),
# when litellm raises it as a plain BadRequestError.
_CONTENT_POLICY_MARKERS = ("content_policy_violation", "content management policy", "safety system", "content_filter")


def _is_content_policy(exc: BaseException) -> bool:
    body = getattr(exc, "body", None)
    code = getattr(exc, "code", None) or (body.get("code") if isinstance(body, dict) else None)
    text = f"{code} {exc}".lower()
    return any(marker in text for marker in _CONTENT_POLICY_MARKERS)


def _classify(exc: BaseException) -> str:
    """Map an exception from litellm (or asyncio) to an ``error_kind``."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(exc, direct.MalformedResponseError):
        return "other"
    import aiohttp

    if isinstance(exc, aiohttp.ClientError):
        return "connection"
    import litellm

    checks: list[tuple[type[BaseException], str]] = [
        (litellm.AuthenticationError, "auth"),
        (litellm.PermissionDeniedError, "auth"),
        (litellm.NotFoundError, "not_found"),
        (litellm.RateLimitError, "rate_limit"),
        (litellm.Timeout, "timeout"),
        (litellm.ContextWindowExceededError, "bad_request"),
        (litellm.ContentPolicyViolationError, "content_policy"),
        (litellm.BadRequestError, "bad_request"),
        (litellm.InternalServerError, "server"),
        (litellm.ServiceUnavailableError, "server"),
        (litellm.APIConnectionError, "connection"),
    ]
    if isinstance(exc, litellm.BadRequestError) and _is_content_policy(exc):
        return "content_policy"
    for cls, kind in checks:
        if isinstance(exc, cls):
            return kind
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status == 429:
        return "rate_limit"
    if isinstance(status, int) and status >= 500:
        return "server"
    if isinstance(status, int) and 400 <= status < 500:
        return "bad_request"
    return "other"


RETRYABLE_KINDS = frozenset({"rate_limit", "server", "timeout", "connection", "other"})


def _fatal_message(kind: str, model: str, api_base: str | None, exc: BaseException) -> str:
    detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    if kind == "auth":
        envs = key_env_vars(model, api_base)
        missing = [e for e in envs if not os.environ.get(e)]
        if missing:
            hint = f"the env var {', '.join(missing)} is not set"
        elif envs:
            hint = f"the key in {', '.join(envs)} was rejected"
        else:
            hint = "the server rejected the credentials"
        return f"model '{model}': authentication failed ({hint}). {detail}"
    if kind == "not_found":
        return f"model '{model}': not found at the provider (check the model id and api_base). {detail}"
    return f"model '{model}': the provider rejected the request as invalid. {detail}"


# ---------------------------------------------------------------------------
# Calling
# ---------------------------------------------------------------------------


def _cost(litellm: Any, response: Any) -> float | None:
    cost = None
    try:
        cost = response._hidden_params.get("response_cost")
    except AttributeError:
        pass
    if cost is None:
        try:
            cost = litellm.completion_cost(completion_response=response)
        except Exception:
            cost = None
    # A 0 from litellm means "no price known" as often as "free": report unknown.
    return float(cost) if cost else None


async def _call_once(req: ChatRequest, provider: str) -> Completion:
    if direct.uses_direct_path(provider, req.api_base):
        started = time.perf_counter()
        answer = await direct.chat(req)  # bounded by req.timeout inside
        return Completion(model=req.model, latency_s=time.perf_counter() - started, **answer)
    litellm = _litellm()
    kwargs: dict[str, Any] = {
        "model": req.model,
        "messages": [dict(m) for m in req.messages],
        "max_tokens": req.max_tokens,
        "timeout": req.timeout,
        # Retries are ours (counted, Retry-After-aware): switch off litellm's and the SDK's.
        "num_retries": 0,
        "max_retries": 0,
    }
    kwargs.update({name: getattr(req, name) for name in SAMPLING_PARAMS if req.sent(name)})
    if req.response_format is not None:
        kwargs["response_format"] = dict(req.response_format)
    if req.reasoning_effort is not None:
        kwargs["reasoning_effort"] = req.reasoning_effort
    if req.extra_body:
        kwargs["extra_body"] = dict(req.extra_body)
    for name in ("stop", "api_base"):
        value = getattr(req, name)
        if value is not None:
            kwargs[name] = list(value) if name == "stop" and not isinstance(value, str) else value
    started = time.perf_counter()
    coro = litellm.acompletion(**kwargs)
    if provider == local.PROVIDER:
        response = await coro  # llama.cpp cannot be interrupted; its own max_tokens bounds it
    else:
        # A safety net in case a provider ignores its own timeout.
        response = await asyncio.wait_for(coro, timeout=req.timeout * 1.5 + 5)
    latency = time.perf_counter() - started
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    return Completion(
        model=req.model,
        text=choice.message.content,
        finish_reason=choice.finish_reason,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        cost_usd=_cost(litellm, response),
        latency_s=latency,
        response_model=getattr(response, "model", None),
    )


@dataclass
class _BatchState:
    total: int
    cached: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0
    fatal: dict[tuple[str, str | None], str] = field(default_factory=dict)
    bar: Any = None

    def tick(self, result: Completion) -> None:
        self.done += 1
        if result.attempts > 1:
            self.retried += 1
        if result.error is not None:
            self.failed += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(self.postfix(), refresh=False)

    def postfix(self) -> str:
        return f"cached={self.cached} retried={self.retried} failed={self.failed}"


async def _complete_with_retries(
    req: ChatRequest, key: str, provider: str, cache: ResponseCache, policy: RetryPolicy, state: _BatchState, rng: random.Random
) -> Completion:
    route = (req.model, req.api_base)
    attempt = 0
    while True:
        if route in state.fatal:
            return Completion(model=req.model, text=None, error=f"not sent: {state.fatal[route]}", error_kind="skipped", attempts=attempt, cache_key=key, tag=req.tag)
        attempt += 1
        try:
            result = await _call_once(req, provider)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 (classified below; nothing is swallowed silently)
            kind = _classify(exc)
            if kind == "content_policy":  # the provider's answer to this request: an outcome, never retried
                detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                blocked = Completion(model=req.model, text=None, error=f"blocked by the provider: {detail}", error_kind=kind,
                                     attempts=attempt, cache_key=key, tag=req.tag)
                cache.set(blocked)
                return blocked
            if kind in FATAL_KINDS:
                message = _fatal_message(kind, req.model, req.api_base, exc)
                state.fatal.setdefault(route, message)
                return Completion(model=req.model, text=None, error=message, error_kind=kind, attempts=attempt, cache_key=key, tag=req.tag)
            if attempt >= policy.max_attempts:
                detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                return Completion(model=req.model, text=None, error=f"gave up after {attempt} attempts: {detail}", error_kind=kind, attempts=attempt, cache_key=key, tag=req.tag)
            await asyncio.sleep(policy.delay(attempt, _retry_after(exc), rng))
            continue
        result.attempts, result.cache_key, result.tag = attempt, key, req.tag
        if req.retry_budget is not None and result.outcome in ("truncated", "empty"):
            # A reasoning model can spend its whole budget thinking: one retry with the larger budget, recorded.
            req = dataclasses.replace(req, max_tokens=req.retry_budget, retry_budget=None)
            retried = await _complete_with_retries(req, key, provider, cache, policy, state, rng)
            retried.attempts += attempt
            retried.budget_retried = True
            if retried.outcome in ("answered", "truncated", "provider_blocked"):
                cache.set(retried)  # stored again with the flag, under the original request's key
            return retried
        if result.outcome == "empty":
            result.error, result.error_kind, result.text = "empty reply", "empty", result.text or ""
            return result
        cache.set(result)
        return result


def _coerce(requests: Iterable[ChatRequest | Mapping[str, Any]]) -> list[ChatRequest]:
    out = []
    for i, r in enumerate(requests):
        if isinstance(r, ChatRequest):
            out.append(r)
        elif isinstance(r, Mapping):
            try:
                out.append(ChatRequest(**r))
            except TypeError as exc:
                raise InvalidRequestError(f"request {i}: {exc}") from None
        else:
            raise InvalidRequestError(f"request {i}: must be a ChatRequest or a dict, got {type(r).__name__}")
    return out


def _from_cache(req: ChatRequest, key: str, stored: Mapping[str, Any]) -> Completion:
    return Completion(model=req.model, from_cache=True, attempts=0, cache_key=key, tag=req.tag, **stored)


async def acomplete_many(
    requests: Iterable[ChatRequest | Mapping[str, Any]],
    *,
    max_concurrency: int = 8,
    cache: ResponseCache | str | os.PathLike[str] | None = None,
    retry: RetryPolicy | None = None,
    progress: bool = True,
    description: str = "model calls",
    seed: int = 0,
) -> list[Completion]:
    """Async form of :func:`complete_many`: run it inside your own event loop."""
    reqs = _coerce(requests)
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= MAX_CONCURRENCY:
        raise InvalidRequestError(f"max_concurrency must be an integer in [1, {MAX_CONCURRENCY}], got {max_concurrency!r}")
    for i, r in enumerate(reqs):
        validate_request(r, i)
    if any(r.model.startswith(local.PROVIDER + "/") for r in reqs):
        max_concurrency = max(max_concurrency, local.capacity())  # fill the embedded model's batch
    store = get_cache(cache)
    policy = retry or RetryPolicy()
    results: list[Completion | None] = [None] * len(reqs)
    state = _BatchState(total=len(reqs))

    # Pass 1, no network: cache hits, and one call per distinct key.
    pending: dict[str, list[int]] = {}
    for i, r in enumerate(reqs):
        key = cache_key(r)
        if key in pending:
            pending[key].append(i)
            continue
        stored = store.get(key)
        if stored is not None:
            results[i] = _from_cache(r, key, stored)
            state.cached += 1
        else:
            pending[key] = [i]
    state.done = state.cached
    if pending and os.environ.get("IHL_NO_MODEL_CALLS"):
        raise ModelCallError(
            f"{len(pending)} request(s) are not cached and model calls are disabled (IHL_NO_MODEL_CALLS is set): "
            "this path must run from stored results only", kind="disabled")

    if progress and pending:
        from tqdm.auto import tqdm

        state.bar = tqdm(total=len(reqs), initial=state.cached, desc=description, unit="call", dynamic_ncols=True)
        state.bar.set_postfix_str(state.postfix(), refresh=False)

    queue: asyncio.Queue[str] = asyncio.Queue()
    for key in pending:
        queue.put_nowait(key)
    rng = random.Random(seed)

    async def worker() -> None:
        while True:
            try:
                key = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            indices = pending[key]
            first = reqs[indices[0]]
            result = await _complete_with_retries(first, key, _provider(first.model, first.api_base), store, policy, state, rng)
            for j, i in enumerate(indices):
                results[i] = result if j == 0 else dataclasses.replace(result, tag=reqs[i].tag)
                state.tick(results[i])  # type: ignore[arg-type]

    try:
        workers = [asyncio.create_task(worker()) for _ in range(min(max_concurrency, len(pending)))]
        if workers:
            await asyncio.gather(*workers)
    finally:
        if state.bar is not None:
            state.bar.set_postfix_str(state.postfix(), refresh=False)
            state.bar.close()
        if asyncio.get_running_loop() is not _LoopThread._loop:
            await direct.close_session()  # the caller's loop may end after this batch
    return results  # type: ignore[return-value]


class _LoopThread:
    """One long-lived event loop in a daemon thread.

    litellm caches HTTP clients per event loop, so a fresh loop per batch would
    leak clients; and Jupyter already runs a loop in the main thread.
    """

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="ihl-llm-loop", daemon=True)
                thread.start()
                if cls._thread is None:
                    atexit.register(cls.shutdown)
                cls._loop, cls._thread = loop, thread
            return cls._loop

    @classmethod
    def shutdown(cls, timeout: float = 10.0) -> None:
        """Close the HTTP clients and stop the loop, at exit.

        Without this the interpreter freezes the daemon thread wherever it is; frozen inside an
        import it keeps the import lock, and a finaliser that imports (litellm's HTTP handlers do,
        in ``__del__``) then blocks the process's exit forever.
        """
        with cls._lock:
            loop, thread, cls._loop = cls._loop, cls._thread, None
        if loop is None or loop.is_closed() or thread is None:
            return

        async def close() -> None:
            await direct.close_session()
            if "litellm" in sys.modules:
                from litellm.llms.custom_httpx.async_client_cleanup import close_litellm_async_clients

                await close_litellm_async_clients()
            await loop.shutdown_default_executor()  # threads of asyncio.to_thread, if any

        try:
            asyncio.run_coroutine_threadsafe(close(), loop).result(timeout)
        except Exception:  # noqa: BLE001  (exiting anyway: never turn a clean exit into a traceback)
            pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()


def complete_many(
    requests: Iterable[ChatRequest | Mapping[str, Any]],
    *,
    max_concurrency: int = 8,
    cache: ResponseCache | str | os.PathLike[str] | None = None,
    retry: RetryPolicy | None = None,
    progress: bool = True,
    description: str = "model calls",
    seed: int = 0,
) -> list[Completion]:
    """Run many requests with a cache, bounded concurrency and retries.

    Every request is validated before any call is made. Results come back in
    request order, one per request; failed items carry ``error`` and are not
    cached, so calling again retries only them.

    Args:
        requests: :class:`ChatRequest` objects, or dicts of their fields.
        max_concurrency: at most this many calls in flight (1 to 1024); raised to
            :func:`ihl_lib.local.capacity` when a request goes to the embedded model,
            which decodes that many sequences together.
        cache: a :class:`ResponseCache`, a directory, or None for ``cache_dir()``.
        retry: the retry policy for transient failures.
        progress: show a tqdm bar (done, cached, retried, failed).
        description: the bar's label.
        seed: seeds the backoff jitter.

    Returns:
        One :class:`Completion` per request, in order.

    Raises:
        InvalidRequestError: a request is malformed or its model cannot be routed.
    """
    coro = acomplete_many(
        requests, max_concurrency=max_concurrency, cache=cache, retry=retry, progress=progress, description=description, seed=seed
    )
    future = asyncio.run_coroutine_threadsafe(coro, _LoopThread.loop())
    try:
        return future.result()
    except (KeyboardInterrupt, concurrent.futures.CancelledError):
        future.cancel()  # what is already answered is in the cache
        raise


def complete(model: str, messages: Sequence[Mapping[str, Any]], *, cache: ResponseCache | str | os.PathLike[str] | None = None,
             retry: RetryPolicy | None = None, **params: Any) -> Completion:
    """One chat completion (cached, retried).

    Args:
        model: a litellm model id; ``local/smollm2-135m`` is the embedded default.
        messages: OpenAI-style messages.
        cache: cache location (see :func:`complete_many`).
        retry: retry policy.
        **params: any other :class:`ChatRequest` field (temperature, max_tokens, seed, ...).

    Raises:
        InvalidRequestError: bad input, before any call.
        ModelCallError: the call failed for good; ``.kind`` says why.
    """
    try:
        req = ChatRequest(model=model, messages=messages, **params)
    except TypeError as exc:
        raise InvalidRequestError(str(exc)) from None
    [result] = complete_many([req], cache=cache, retry=retry, progress=False, max_concurrency=1)
    if result.error is not None:
        raise ModelCallError(result.error, result.error_kind or "other", result)
    return result


def usage_totals(results: Iterable[Completion]) -> "Any":
    """Per-model totals: calls, cached, retried, failed, tokens and cost.

    ``cost_usd`` sums the calls made in this batch whose price is known (cached
    answers cost nothing now); ``cost_known`` counts them, so an unknown price
    never reads as free.

    Returns:
        A pandas DataFrame indexed by model.
    """
    import pandas as pd

    rows = [
        {
            "model": r.model,
            "calls": 1,
            "cached": int(r.from_cache),
            "retried": int(r.attempts > 1),
            "failed": int(r.error is not None),
            "prompt_tokens": r.prompt_tokens or 0,
            "completion_tokens": r.completion_tokens or 0,
            "cost_usd": r.cost_usd if (r.cost_usd is not None and not r.from_cache) else None,
            "cost_known": int(r.cost_usd is not None and not r.from_cache),
        }
        for r in results
    ]
    columns = ["calls", "cached", "retried", "failed", "prompt_tokens", "completion_tokens", "cost_usd", "cost_known"]
    if not rows:
        return pd.DataFrame(columns=columns).rename_axis("model")
    frame = pd.DataFrame(rows)
    totals = frame.groupby("model").agg({c: "sum" for c in columns if c != "cost_usd"})
    totals["cost_usd"] = frame.groupby("model")["cost_usd"].sum(min_count=1)
    return totals[columns]
