"""A real OpenAI-compatible HTTP server on 127.0.0.1 with injectable faults, for tests, benchmarks and dry runs.

It speaks ``POST /v1/chat/completions`` (and ``/chat/completions``) and answers
each request according to a *plan*: answer normally, return 429 with
``Retry-After``, return 5xx or 4xx, hang past the client's timeout, return a
malformed body, or return an empty reply. litellm reaches it as
``openai/<any-name>`` with ``api_base=server.url``.

The server records every request it receives (its body, the outcome, the
arrival time) and the maximum number of requests in flight, so tests can assert
on what really crossed the wire. It runs on its own asyncio loop in a daemon
thread and has no concurrency limit of its own.

Example:
    >>> with LoopbackServer() as server:                       # doctest: +SKIP
    ...     complete("openai/echo", msgs, api_base=server.url)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["Action", "FaultPlan", "LoopbackServer", "RecordedRequest", "echo_text", "request_fingerprint"]


@dataclass(frozen=True)
class Action:
    """What the server does with one request.

    Attributes:
        kind: ``ok``, ``status``, ``hang``, ``malformed`` or ``empty``.
        status: HTTP status for ``status`` actions.
        retry_after: seconds sent in ``Retry-After`` (and ``retry-after-ms``) with a 429/503.
        text: reply text for ``ok``; by default an echo of the last user message.
        seconds: how long a ``hang`` sleeps before answering normally.
    """

    kind: str = "ok"
    status: int = 200
    retry_after: float | None = None
    text: str | None = None
    seconds: float = 0.0

    @staticmethod
    def ok(text: str | None = None) -> Action:
        return Action("ok", text=text)

    @staticmethod
    def error(status: int, retry_after: float | None = None) -> Action:
        return Action("status", status=status, retry_after=retry_after)

    @staticmethod
    def hang(seconds: float = 30.0) -> Action:
        return Action("hang", seconds=seconds)

    @staticmethod
    def malformed() -> Action:
        return Action("malformed")

    @staticmethod
    def empty() -> Action:
        return Action("empty")


Plan = Callable[[int, dict[str, Any]], Action]


@dataclass
class FaultPlan:
    """A seeded random mix of faults, the same for the same (seed, request number).

    Attributes:
        p429: share of requests answered 429 with ``Retry-After``.
        p500: share answered 500.
        phang: share that hang for ``hang_seconds`` (past the client's timeout).
        pmalformed: share answered with a body that is not JSON.
        retry_after: the ``Retry-After`` value sent with 429s, in seconds.
        hang_seconds: how long a hang lasts.
        seed: the random seed.
    """

    p429: float = 0.0
    p500: float = 0.0
    phang: float = 0.0
    pmalformed: float = 0.0
    retry_after: float = 0.05
    hang_seconds: float = 5.0
    seed: int = 0

    def __call__(self, n: int, body: dict[str, Any]) -> Action:
        draw = random.Random(f"{self.seed}:{n}").random()
        for share, action in (
            (self.p429, Action.error(429, self.retry_after)),
            (self.p500, Action.error(500)),
            (self.phang, Action.hang(self.hang_seconds)),
            (self.pmalformed, Action.malformed()),
        ):
            if draw < share:
                return action
            draw -= share
        return Action.ok()


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    n: int
    arrived: float
    body: dict[str, Any]
    fingerprint: str
    action: Action
    authorization_present: bool
    completed: bool = False


def request_fingerprint(body: dict[str, Any]) -> str:
    """A stable id for the *content* of a chat request (model, messages, settings)."""
    keep = {k: body.get(k) for k in ("model", "messages", "temperature", "max_tokens", "seed", "stop", "top_p")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def echo_text(body: dict[str, Any]) -> str:
    """The default reply: deterministic, derived from the last user message."""
    messages = body.get("messages") or []
    last_user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    if isinstance(last_user, list):  # content parts
        last_user = " ".join(str(p.get("text", "")) for p in last_user if isinstance(p, dict))
    return f"echo: {last_user}"


class LoopbackServer:
    """An OpenAI-compatible server on 127.0.0.1 with scripted behaviour.

    Args:
        plan: a callable ``(request_number, body) -> Action``, a sequence of actions
            consumed in order (then ``ok``), or None for always ``ok``.
        latency: seconds every request waits before it is answered.
        model_name: the model id reported back in responses (default: the requested one).
        port: port to bind; 0 picks a free one.
    """

    def __init__(
        self,
        plan: Plan | Sequence[Action] | None = None,
        *,
        latency: float = 0.0,
        model_name: str | None = None,
        port: int = 0,
        record_bodies: bool = True,
    ) -> None:
        if plan is None:
            self._plan: Plan = lambda n, body: Action.ok()
        elif callable(plan):
            self._plan = plan
        else:
            queue = list(plan)
            self._plan = lambda n, body: queue[n] if n < len(queue) else Action.ok()
        self.latency = latency
        self.model_name = model_name
        self.record_bodies = record_bodies
        self._port = port
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self.port: int | None = None

    # -- lifecycle -------------------------------------------------------
    @property
    def url(self) -> str:
        """The ``api_base`` to give litellm."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._serve, name="loopback-openai", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("loopback server did not start within 10 s")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        try:
            fut.result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread:
                self._thread.join(timeout=10)
            self._loop = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application()
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, backlog=4096)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._started.set()
        loop.run_forever()
        loop.close()

    def _add_routes(self, app: web.Application) -> None:
        for path in ("/v1/chat/completions", "/chat/completions"):
            app.router.add_post(path, self._handle)
        app.router.add_get("/v1/models", self._models)

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- inspection ------------------------------------------------------
    def reset(self) -> None:
        """Forget recorded requests and counters (the plan's numbering restarts too)."""
        with self._lock:
            self.requests.clear()
            self._count = 0
            self.max_in_flight = self.in_flight

    @property
    def request_count(self) -> int:
        return self._count

    def successes(self) -> list[RecordedRequest]:
        """Requests that were answered with a well-formed completion."""
        return [r for r in self.requests if r.completed and r.action.kind in ("ok", "hang")]

    def first_success_times(self) -> dict[str, float]:
        """When each distinct request (by fingerprint) was first answered well: what a resumed run must not ask again."""
        first: dict[str, float] = {}
        for r in self.successes():
            first.setdefault(r.fingerprint, r.arrived)
        return first

    def repeats_of(self, first: dict[str, float]) -> list[RecordedRequest]:
        """Requests that arrived again after ``first`` (from :meth:`first_success_times`) had already answered them."""
        return [r for r in self.requests if r.fingerprint in first and r.arrived > first[r.fingerprint]]

    # -- handlers --------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model_name or "loopback", "object": "model"}]})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response({"error": {"message": "request body is not JSON", "type": "invalid_request_error"}}, status=400)
        with self._lock:
            n = self._count
            self._count += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        action = self._plan(n, body)
        record = RecordedRequest(
            n=n,
            arrived=time.monotonic(),
            body=body if self.record_bodies else {},
            fingerprint=request_fingerprint(body),
            action=action,
            authorization_present=bool(request.headers.get("Authorization")),
        )
        with self._lock:
            self.requests.append(record)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            response = await self._respond(action, body)
            # A hung request whose client has gone away never "completes".
            record.completed = True
            return response
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _respond(self, action: Action, body: dict[str, Any]) -> web.StreamResponse:
        if action.kind == "status":
            headers = {}
            if action.retry_after is not None:
                headers["Retry-After"] = f"{action.retry_after:g}"
                headers["retry-after-ms"] = str(int(action.retry_after * 1000))
            error = {"error": {"message": f"injected HTTP {action.status}", "type": "loopback_fault", "code": action.status}}
            return web.json_response(error, status=action.status, headers=headers)
        if action.kind == "malformed":
            return web.Response(text='{"id": "chatcmpl-broken", "choices": [', content_type="application/json")
        if action.kind == "hang":
            await asyncio.sleep(action.seconds)
        text = "" if action.kind == "empty" else (action.text if action.text is not None else echo_text(body))
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages") or [])
        completion_tokens = len(text.split())
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        finish = "length" if max_tokens and completion_tokens >= max_tokens else "stop"
        payload: dict[str, Any] = {
            "id": f"chatcmpl-loop{self._count}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model_name or body.get("model", "loopback"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return web.json_response(payload)


def main(argv: list[str] | None = None) -> None:
    """Serve from the command line: ``python -m ihl_lib.testing.openai_server --latency 0.2``.

    Prints ``PORT <n>`` once listening (for benchmarks that run the server in
    its own process), then serves until killed.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ihl_lib.testing.openai_server", description="OpenAI-compatible loopback server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--p429", type=float, default=0.0)
    parser.add_argument("--p500", type=float, default=0.0)
    parser.add_argument("--phang", type=float, default=0.0)
    parser.add_argument("--pmalformed", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    plan = FaultPlan(p429=args.p429, p500=args.p500, phang=args.phang, pmalformed=args.pmalformed, seed=args.seed)
    server = LoopbackServer(plan, latency=args.latency, port=args.port, record_bodies=False).start()
    print(f"PORT {server.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
