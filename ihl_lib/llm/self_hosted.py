"""A lean HTTP path to self-hosted OpenAI-compatible servers (``openai/<model>`` with an ``api_base``).

vLLM, the llama.cpp server, Ollama's ``/v1``, LM Studio and this package's loopback
server all speak the OpenAI chat-completions protocol. For them, :mod:`ihl_lib.llm`
sends the request body itself over one shared aiohttp session instead of going
through litellm.

Why: litellm spends about 4 ms of CPU per call (the openai SDK's request
transformation, model-info and cost lookups, logging hooks; the profile is in
``benchmarks/results.md``). Against a fast local server at high concurrency that
caps one process near 240 calls/s, well under the server's limit. This path sends
the same JSON that litellm sends to such a server, and costs a fraction of a
millisecond. Hosted providers (no ``api_base``) always go through litellm, and
``IHL_TRANSPORT=litellm`` routes everything through litellm.

Errors are raised as exceptions that :func:`ihl_lib.llm.outcomes._classify` maps to the same
kinds as litellm's (``status_code`` and ``response_headers`` carry what the retry
policy needs), so retries, Retry-After and fail-fast behave the same on both paths.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import os
from typing import Any

from ihl_lib.schema import parse_model_id

__all__ = ["HTTPStatusError", "MalformedResponseError", "chat", "close_session", "uses_direct_path"]

PROVIDER = "openai"
KEY_ENV = "OPENAI_API_KEY"


class HTTPStatusError(Exception):
    """The server answered with an HTTP error status."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.response_headers = headers or {}
        # The OpenAI-style error object, if the body holds one: its ``code`` says why (e.g. a content-policy refusal).
        self.body = _error_object(body)
        self.code = self.body.get("code") if self.body else None


def _error_object(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else None


class MalformedResponseError(Exception):
    """The server answered 200 with a body that is not a chat completion (retried)."""


def uses_direct_path(provider: str, api_base: str | None) -> bool:
    """True for an OpenAI-compatible server given by URL, unless ``IHL_TRANSPORT=litellm``."""
    return provider == PROVIDER and api_base is not None and os.environ.get("IHL_TRANSPORT", "").lower() != "litellm"


_sessions: dict[asyncio.AbstractEventLoop, Any] = {}


def _session() -> Any:
    """One keep-alive session per event loop (aiohttp sessions are bound to their loop)."""
    import aiohttp

    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        for old in [lp for lp in _sessions if lp.is_closed()]:
            del _sessions[old]
        # No connection cap of its own: the callers' worker count bounds what is in flight.
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300), trust_env=False)
        _sessions[loop] = session
    return session


async def close_session() -> None:
    """Close this event loop's session (for loops that end, e.g. under ``asyncio.run``)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


def _close_at_exit() -> None:
    # The background loop thread is a daemon: close its keep-alive session while it still runs.
    for loop, session in list(_sessions.items()):
        if loop.is_running() and not session.closed:
            try:
                asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=2)
            except Exception:
                pass


atexit.register(_close_at_exit)


@functools.lru_cache(maxsize=256)
def _unit_prices(model: str) -> tuple[float, float] | None:
    """litellm's USD price per prompt and per completion token, or None when it has none."""
    import litellm

    try:
        prompt, _ = litellm.cost_per_token(model=model, prompt_tokens=1, completion_tokens=0)
        _, completion = litellm.cost_per_token(model=model, prompt_tokens=0, completion_tokens=1)
    except Exception:
        return None
    return (float(prompt), float(completion)) if (prompt or completion) else None


def body(req: Any) -> dict[str, Any]:
    """The JSON body for ``POST {api_base}/chat/completions``."""
    payload: dict[str, Any] = {
        "model": parse_model_id(req.model).name,
        "messages": [{"role": m["role"], "content": m["content"]} for m in req.messages],
        "max_tokens": req.max_tokens,
    }
    for name in ("temperature", "top_p", "seed"):
        if req.sent(name):
            payload[name] = getattr(req, name)
    if req.reasoning_effort is not None:
        payload["reasoning_effort"] = req.reasoning_effort
    payload.update(req.extra_body or {})
    if req.stop is not None:
        payload["stop"] = req.stop if isinstance(req.stop, str) else list(req.stop)
    if req.response_format is not None:
        payload["response_format"] = dict(req.response_format)
    return payload


async def chat(req: Any) -> dict[str, Any]:
    """One chat completion from an OpenAI-compatible server.

    Returns:
        text, finish_reason, prompt_tokens, completion_tokens, cost_usd, response_model.

    Raises:
        HTTPStatusError: an HTTP error status (401 also when the key env var is unset).
        MalformedResponseError: a 200 whose body is not a chat completion.
        asyncio.TimeoutError: the attempt took longer than ``req.timeout``.
        aiohttp.ClientError: the connection failed.
    """
    import aiohttp

    key = os.environ.get(KEY_ENV)
    if not key:
        # litellm refuses to call an openai/ model without a key; so does this path.
        raise HTTPStatusError(401, f"{KEY_ENV} is not set")
    url = req.api_base.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=req.timeout)
    async with _session().post(url, json=body(req), headers=headers, timeout=timeout) as response:
        raw = await response.read()
        if response.status >= 400:
            raise HTTPStatusError(response.status, raw[:300].decode("utf-8", "replace"), dict(response.headers), raw)
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        text = choice["message"]["content"]
        if text is not None and not isinstance(text, str):
            raise TypeError("content is not a string")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise MalformedResponseError(f"not a chat completion ({type(exc).__name__}): {raw[:120]!r}") from None
    usage = data.get("usage") or {}
    prompt_tokens, completion_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
    prices = _unit_prices(req.model)
    cost = None
    if prices and prompt_tokens is not None and completion_tokens is not None:
        cost = prices[0] * prompt_tokens + prices[1] * completion_tokens
    return {
        "text": text,
        "finish_reason": choice.get("finish_reason"),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": cost or None,
        "response_model": data.get("model"),
    }
