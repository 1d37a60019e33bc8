"""What to ask a model: :class:`ChatRequest`, its validation, routing and the API-key env vars."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ihl_lib  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm is imported)
from ihl_lib import local
from ihl_lib.schema import parse_model_id

# "developer" is how OpenAI's reasoning models take system-level instructions (litellm turns a "system"
# message into a user message for o3-mini, whose price-map entry lacks supports_system_messages).
ROLES = frozenset({"system", "developer", "user", "assistant"})
SAMPLING_PARAMS = ("temperature", "top_p", "seed")
REASONING_EFFORTS = ("low", "medium", "high")
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


class InvalidRequestError(ValueError):
    """A request is malformed; raised before any model is called."""


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


# Facts litellm's bundled model map no longer holds for retired study models, without which it moves the
# system prompt into the user turn: gemini-2.0-flash-001 takes a systemInstruction (shown on the wire by
# tests/integration/test_provider_protocols.py). o3-mini gets its system prompt as a developer message instead
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
            local.local_model_path(parse_model_id(model).name)
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


def clean_api_base(api_base: str | None) -> str | None:
    """api_base without credentials embedded in the URL, and without a trailing slash."""
    if not api_base:
        return None
    parts = urlsplit(api_base)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
