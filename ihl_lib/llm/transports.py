"""How a request reaches a model: litellm (hosted providers, the embedded model) or the lean path to self-hosted servers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import ihl_lib  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm is imported)
from ihl_lib import local
from ihl_lib.llm import self_hosted
from ihl_lib.llm.outcomes import Completion
from ihl_lib.llm.request import SAMPLING_PARAMS, ChatRequest, _litellm


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
    if self_hosted.uses_direct_path(provider, req.api_base):
        started = time.perf_counter()
        answer = await self_hosted.chat(req)  # bounded by req.timeout inside
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
