"""Loopback servers that speak the hosted providers' own protocols, for testing litellm's real code paths.

:class:`ProviderServer` answers on 127.0.0.1 as one of:

- ``openai``: the Chat Completions API (``POST .../chat/completions``), which OpenAI, Together AI,
  Mistral and self-hosted servers speak;
- ``anthropic``: the Messages API (``POST .../v1/messages``);
- ``gemini``: ``generateContent`` (``POST .../models/<model>:generateContent``).

Each request is answered by the next scripted :data:`REPLIES` kind, and recorded (path and JSON
body; never a header, so no key is kept). Replies behave as a provider's would: a long answer is
cut, with the provider's own stop reason, when the request's token budget is smaller than the
answer (plus, for ``reasoning``, the hidden reasoning tokens it spends first); a filter stop uses
the provider's own field (OpenAI ``content_filter``, Anthropic ``refusal``, Gemini ``SAFETY`` or a
blocked prompt); ``policy`` is OpenAI's content-policy 400; ``http:<status>`` any error status.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ihl_lib.testing.openai_server import LoopbackServer

__all__ = ["LONG_REPLY_TOKENS", "REASONING_TOKENS", "REPLIES", "ProviderServer", "RecordedCall"]

PROTOCOLS = ("openai", "anthropic", "gemini")
REPLIES = ("ok", "long", "reasoning", "filtered", "prompt_blocked", "policy")  # and "http:<status>"
SHORT_REPLY = "I can't help with that: attacking civilians is prohibited by international humanitarian law."
# A long explanation (in words, one token each here): longer than any old 256-token cap, well inside the
# study models' 2,048-token answer budget.
LONG_REPLY_TOKENS = 1500
# What a reasoning model spends before its first visible token, in the "reasoning" reply.
REASONING_TOKENS = 3000


@dataclass
class RecordedCall:
    """One request as it crossed the wire: the URL path and the JSON body."""

    path: str
    body: dict[str, Any]


class ProviderServer(LoopbackServer):
    """A loopback server speaking ``protocol``; ``replies`` are consumed in order, then ``ok``.

    Args:
        protocol: one of ``openai``, ``anthropic``, ``gemini``.
        replies: reply kinds (:data:`REPLIES` or ``http:<status>``), one per request.
    """

    def __init__(self, protocol: str, replies: Sequence[str] = ()) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        super().__init__()
        self.protocol = protocol
        self.replies = list(replies)
        self.calls: list[RecordedCall] = []

    @property
    def url(self) -> str:
        """The ``api_base`` to give litellm for this protocol."""
        return f"http://127.0.0.1:{self.port}" + ("/v1" if self.protocol == "openai" else "")

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/{tail:.*}", self._answer)

    def _next(self) -> str:
        with self._lock:
            kind = self.replies[len(self.calls) - 1] if len(self.calls) <= len(self.replies) else "ok"
        return kind

    async def _answer(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        with self._lock:
            self.calls.append(RecordedCall(request.path, body))
        kind = self._next()
        if kind.startswith("http:"):
            status = int(kind.split(":", 1)[1])
            return web.json_response({"error": {"message": f"scripted HTTP {status}", "type": "server_error"}}, status=status)
        if kind == "policy":
            return web.json_response(
                {
                    "error": {
                        "message": "Your request was rejected as a result of our safety system.",
                        "type": "invalid_request_error",
                        "code": "content_policy_violation",
                    }
                },
                status=400,
            )
        return web.json_response(getattr(self, f"_{self.protocol}")(kind, body))

    # -- the answer, per protocol: (text, visible tokens, reasoning tokens, cut by the budget?) ----------
    @staticmethod
    def _text(kind: str, budget: int | None) -> tuple[str, int, int, bool]:
        reasoning = REASONING_TOKENS if kind == "reasoning" else 0
        wanted = LONG_REPLY_TOKENS if kind in ("long", "reasoning") else len(SHORT_REPLY.split())
        words = (["because"] * wanted) if kind in ("long", "reasoning") else SHORT_REPLY.split()
        room = max(0, (budget if budget is not None else 10**9) - reasoning)
        shown = min(wanted, room)
        return " ".join(words[:shown]), shown, min(reasoning, budget or reasoning), shown < wanted

    def _openai(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        text, shown, reasoning, cut = self._text(kind, body.get("max_completion_tokens", body.get("max_tokens")))
        finish = "content_filter" if kind in ("filtered", "prompt_blocked") else "length" if cut else "stop"
        if finish == "content_filter":
            text = ""
        return {
            "id": "chatcmpl-loopback",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "loopback"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": 20,
                "completion_tokens": shown + reasoning,
                "total_tokens": 20 + shown + reasoning,
                "completion_tokens_details": {"reasoning_tokens": reasoning},
            },
        }

    def _anthropic(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        text, shown, _, cut = self._text(kind, body.get("max_tokens"))
        stop = "refusal" if kind in ("filtered", "prompt_blocked") else "max_tokens" if cut else "end_turn"
        content = [] if stop == "refusal" else [{"type": "text", "text": text}]
        return {
            "id": "msg_loopback",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "loopback"),
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 20, "output_tokens": shown},
        }

    def _gemini(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        usage = {"promptTokenCount": 20}
        if kind == "prompt_blocked":  # the prompt itself is blocked: no candidate at all
            return {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {**usage, "totalTokenCount": 20}}
        text, shown, _, cut = self._text(kind, (body.get("generationConfig") or {}).get("maxOutputTokens"))
        if kind == "filtered":
            candidate: dict[str, Any] = {
                "finishReason": "SAFETY",
                "index": 0,
                "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}],
            }
        else:
            candidate = {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "MAX_TOKENS" if cut else "STOP",
                "index": 0,
            }
        return {
            "candidates": [candidate],
            "usageMetadata": {**usage, "candidatesTokenCount": shown, "totalTokenCount": 20 + shown},
            "modelVersion": "gemini-2.0-flash-001",
        }
