"""Running many requests: concurrency on one background loop, retries with backoff, the cache, progress."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import dataclasses
import os
import random
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ihl_lib  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm is imported)
from ihl_lib import local
from ihl_lib.llm import self_hosted
from ihl_lib.llm.cache import ResponseCache, cache_key, get_cache
from ihl_lib.llm.outcomes import (
    FATAL_KINDS,
    Completion,
    ModelCallError,
    _classify,
    _fatal_message,
    _retry_after,
    error_detail,
)
from ihl_lib.llm.request import (
    MAX_CONCURRENCY,
    ChatRequest,
    InvalidRequestError,
    _provider,
    validate_request,
)
from ihl_lib.llm.transports import _call_once


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


def _failed(req: ChatRequest, key: str, attempts: int, kind: str, error: str) -> Completion:
    """The record of a request that got no answer (or the provider's block), with why."""
    return Completion(model=req.model, text=None, error=error, error_kind=kind, attempts=attempts, cache_key=key, tag=req.tag)


async def _complete_with_retries(
    req: ChatRequest, key: str, provider: str, cache: ResponseCache, policy: RetryPolicy, state: _BatchState, rng: random.Random
) -> Completion:
    route = (req.model, req.api_base)
    attempt = 0
    while True:
        if route in state.fatal:
            return _failed(req, key, attempt, "skipped", f"not sent: {state.fatal[route]}")
        attempt += 1
        try:
            result = await _call_once(req, provider)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 (classified below; nothing is swallowed silently)
            kind = _classify(exc)
            if kind == "content_policy":  # the provider's answer to this request: an outcome, never retried
                blocked = _failed(req, key, attempt, kind, f"blocked by the provider: {error_detail(exc)}")
                cache.set(blocked)
                return blocked
            if kind in FATAL_KINDS:
                message = _fatal_message(kind, req.model, req.api_base, exc)
                state.fatal.setdefault(route, message)
                return _failed(req, key, attempt, kind, message)
            if attempt >= policy.max_attempts:
                return _failed(req, key, attempt, kind, f"gave up after {attempt} attempts: {error_detail(exc)}")
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
            "this path must run from stored results only",
            kind="disabled",
        )

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
            await self_hosted.close_session()  # the caller's loop may end after this batch
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
            await self_hosted.close_session()
            if "litellm" in sys.modules:
                from litellm.llms.custom_httpx.async_client_cleanup import (
                    close_litellm_async_clients,
                )

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


def complete(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    cache: ResponseCache | str | os.PathLike[str] | None = None,
    retry: RetryPolicy | None = None,
    **params: Any,
) -> Completion:
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
