"""What came back: :class:`Completion`, its outcome before judging, and how a failure is classified."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ihl_lib  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm is imported)
from ihl_lib.llm import self_hosted
from ihl_lib.llm.request import key_env_vars


class ModelCallError(RuntimeError):
    """A call failed for good (raised by :func:`complete`; batches record it instead)."""

    def __init__(self, message: str, kind: str, result: Completion | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.result = result


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
        """One of :data:`ihl_lib.schema.OUTCOMES` (see :func:`outcome_of`)."""
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
# when it comes as a plain 400 (litellm's BadRequestError, or the self-hosted path's HTTPStatusError).
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
    if isinstance(exc, self_hosted.MalformedResponseError):
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
    # A 400 that is the provider's safety system refusing, on either path (litellm or the self-hosted one).
    is_400 = isinstance(exc, litellm.BadRequestError) or (isinstance(exc, self_hosted.HTTPStatusError) and exc.status_code == 400)
    if is_400 and _is_content_policy(exc):
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


def error_detail(exc: BaseException) -> str:
    """The first line of an error's message (at most 300 characters), or its class name if it has none."""
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _fatal_message(kind: str, model: str, api_base: str | None, exc: BaseException) -> str:
    detail = error_detail(exc)
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


def usage_totals(results: Iterable[Completion]) -> Any:
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
