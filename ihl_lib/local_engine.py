"""Batched decoding of many chat completions of one local model in shared llama.cpp contexts.

A :class:`BatchedEngine` owns one llama.cpp context with ``n_seq_max`` sequence slots and a
KV stream per slot (``kv_unified = false``), and one scheduler thread. Requests wait in a
queue shared by the engines of a model; an engine with a free slot admits the next one,
evaluates its prompt, and from then on decodes one token of every admitted sequence per
``llama_decode`` call, so one pass over the weights serves them all.

What each request gets is what ``llama_cpp.Llama.create_chat_completion`` would give it:

- The prompt, stop strings, grammar and sampling defaults come from llama-cpp-python's own
  chat handler for the model (run against a stand-in that captures its ``create_completion``
  call), and each sequence has its own sampler chain built by ``Llama._init_sampler``.
- The loop that turns sampled tokens into text (end-of-generation tokens, stop strings,
  incomplete UTF-8, ``max_tokens``) follows ``Llama._create_completion`` line by line.
- A slot keeps the tokens of its last sequence in its KV stream; a new prompt goes to the free
  slot sharing the longest prefix with it and re-evaluates only the rest (at least its last
  token), as ``Llama.generate`` does, so a judge's instructions are read once per slot.
- Temperature-0 text does not depend on which requests share a batch: with the pinned build
  every matrix-product element is computed by the same kernel whatever the batch size, and a
  sequence's attention reads only its own stream. ``tests/test_local_engine.py`` checks a
  request alone against the same request in batches of different composition, and against
  ``Llama.create_chat_completion``.
"""

from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

__all__ = ["BatchedEngine", "JobQueue", "UnsupportedCompletionParameter", "chat_completion_request", "to_chat_completion"]


class UnsupportedCompletionParameter(ValueError):
    """A ``create_completion`` option the batched engine does not implement."""


# create_completion options the engine honours; anything else set to a non-default value is refused.
_SAMPLING = (
    "top_k",
    "top_p",
    "min_p",
    "typical_p",
    "repeat_penalty",
    "frequency_penalty",
    "presence_penalty",
    "tfs_z",
    "mirostat_mode",
    "mirostat_tau",
    "mirostat_eta",
)
_HANDLED = {"prompt", "max_tokens", "temperature", "stop", "seed", "grammar", "stopping_criteria", "stream", *_SAMPLING}
_IGNORED_IF_EMPTY = {"logprobs", "logits_processor", "logit_bias", "model", "suffix", "echo"}


class _Captured(Exception):
    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__("create_completion captured")
        self.kwargs = kwargs


class _CaptureCompletion:
    """Stands in for a ``Llama`` inside its chat handler and captures the ``create_completion`` call."""

    def __init__(self, host: Any) -> None:
        self._host = host

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)

    def create_completion(self, **kwargs: Any) -> Any:
        raise _Captured(kwargs)


def chat_completion_request(host: Any, messages: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """The ``create_completion`` arguments ``host.create_chat_completion(messages, **kwargs)`` would use.

    Args:
        host: a ``llama_cpp.Llama`` whose chat handler formats the messages.
        messages: OpenAI-style chat messages.
        **kwargs: ``create_chat_completion`` options (``max_tokens``, ``temperature``, ``grammar``...).

    Returns:
        The keyword arguments of the captured ``create_completion`` call: ``prompt`` (token ids),
        ``stop``, ``grammar``, ``stopping_criteria`` and the sampling settings.
    """
    from llama_cpp import llama_chat_format

    handler = (
        host.chat_handler or host._chat_handlers.get(host.chat_format) or llama_chat_format.get_chat_completion_handler(host.chat_format)
    )
    # create_chat_completion passes repeat_penalty=1.0 explicitly; the handler's own default is 1.1.
    kwargs.setdefault("repeat_penalty", 1.0)
    try:
        # a stand-in for Llama that records the completion call instead of making it
        handler(llama=cast(Any, _CaptureCompletion(host)), messages=cast(Any, messages), **kwargs)
    except _Captured as captured:
        return captured.kwargs
    raise RuntimeError("the chat handler returned without calling create_completion")


def to_chat_completion(completion: dict[str, Any]) -> dict[str, Any]:
    """A text completion as the chat completion ``create_chat_completion`` returns."""
    from llama_cpp import llama_chat_format

    return cast(dict[str, Any], llama_chat_format._convert_completion_to_chat(cast(Any, completion), stream=False))


@dataclass
class _Job:
    """One completion: its request, its sampler and the ``_create_completion`` loop state."""

    prompt: list[int]
    max_tokens: int
    stop_sequences: list[bytes]
    params: dict[str, Any]
    future: concurrent.futures.Future[dict[str, Any]]
    sampler: Any = None
    slot: int = -1
    completion: list[int] = field(default_factory=list)
    next_token: int = -1
    multibyte_fix: int = 0
    text: bytes = b""
    finish_reason: str = "length"


class JobQueue:
    """Requests waiting for a slot, shared by the engines of one model (first come, first served)."""

    def __init__(self) -> None:
        self._jobs: collections.deque[_Job] = collections.deque()
        self._ready = threading.Condition()
        self._closed = False

    def put(self, job: _Job) -> None:
        with self._ready:
            if self._closed:
                raise RuntimeError("the local model has been shut down")
            self._jobs.append(job)
            self._ready.notify_all()

    def take(self, most: int, wait: bool) -> list[_Job] | None:
        """Up to ``most`` jobs; with ``wait``, block until there is one. None once closed."""
        with self._ready:
            while wait and not self._jobs and not self._closed:
                self._ready.wait()
            if self._closed:
                return None
            taken: list[_Job] = []
            while self._jobs and len(taken) < most:
                taken.append(self._jobs.popleft())
            return taken

    def close(self) -> list[_Job]:
        with self._ready:
            self._closed = True
            left, self._jobs = list(self._jobs), collections.deque()
            self._ready.notify_all()
            return left


class BatchedEngine:
    """One llama.cpp context decoding up to ``n_slots`` sequences together.

    Args:
        host: the ``llama_cpp.Llama`` that owns the weights, tokenizer and chat template; its
            context parameters are copied, except the slots, their KV streams and the threads.
        jobs: the queue this engine serves.
        n_slots: sequences decoded together.
        n_threads: llama.cpp threads of this context.
    """

    def __init__(self, host: Any, jobs: JobQueue, n_slots: int, n_threads: int) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self._llama_cpp = llama_cpp
        self.host = host
        self.n_slots = n_slots
        self.n_ctx = host.n_ctx()  # each slot's window: the single-sequence model's
        params = llama_cpp.llama_context_params()
        ctypes.pointer(params)[0] = host.context_params
        params.n_ctx = self.n_ctx * n_slots
        params.n_seq_max = n_slots
        params.kv_unified = False
        params.n_threads = params.n_threads_batch = n_threads
        self._ctx = _internals.LlamaContext(model=host._model, params=params, verbose=False)
        self.n_batch = host.n_batch
        self._batch = llama_cpp.llama_batch_init(max(self.n_batch, n_slots), 0, 1)
        self._slot_tokens: list[list[int]] = [[] for _ in range(n_slots)]
        self._free = set(range(n_slots))
        self._active: dict[int, _Job] = {}
        self._jobs = jobs
        self._thread = threading.Thread(target=self._serve, name="ihl-local-engine", daemon=True)
        self._thread.start()

    # -- the scheduler thread ------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            admitted = self._jobs.take(len(self._free), wait=not self._active)
            if admitted is None:
                break
            for job in admitted:
                if job.future.set_running_or_notify_cancel():
                    self._guard([job], self._start, job)
            if self._active:
                self._guard(list(self._active.values()), self._step)
        for job in list(self._active.values()):
            self._fail(job, RuntimeError("the local model has been shut down"))

    def _guard(self, jobs: list[_Job], action: Any, *args: Any) -> None:
        """Run ``action``; if it raises, fail ``jobs`` (and only them) and keep serving."""
        try:
            action(*args)
        except Exception as error:  # noqa: BLE001 - handed to the callers waiting on these jobs
            for job in jobs:
                if not job.future.done():
                    self._fail(job, error)

    def _fail(self, job: _Job, error: BaseException) -> None:
        if job.slot >= 0:
            self._release(job)
            self._ctx.kv_cache_seq_rm(job.slot, 0, -1)
            self._slot_tokens[job.slot] = []
        job.future.set_exception(error)

    def _release(self, job: _Job) -> None:
        self._active.pop(job.slot, None)
        self._free.add(job.slot)

    def _start(self, job: _Job) -> None:
        """Give ``job`` the free slot with the longest common prefix, evaluate the rest of its prompt, sample."""
        job.sampler = self._sampler(job.params)
        best, slot = -1, -1
        for candidate in sorted(self._free):
            common = _common_prefix(self._slot_tokens[candidate], job.prompt)
            if common > best:
                best, slot = common, candidate
        self._free.discard(slot)
        job.slot = slot
        self._active[slot] = job
        # As Llama.generate: a fully cached prompt still re-evaluates its last token, for fresh logits.
        keep = best - 1 if best == len(job.prompt) else best
        if keep > 0 and not self._ctx.kv_cache_seq_rm(slot, keep, -1):
            keep = 0
        if keep == 0:
            self._ctx.kv_cache_seq_rm(slot, 0, -1)
        evaluated = self._slot_tokens[slot] = job.prompt[:keep]
        rest = job.prompt[keep:]
        for start in range(0, len(rest), self.n_batch):
            chunk = rest[start : start + self.n_batch]
            self._batch.n_tokens = 0
            for offset, token in enumerate(chunk):
                # As Llama.eval: logits for the last token of each chunk only.
                self._add(token, len(evaluated) + offset, slot, offset == len(chunk) - 1)
            self._decode()
            evaluated.extend(chunk)
        self._accept(job, job.sampler.sample(self._ctx, self._batch.n_tokens - 1))

    def _step(self) -> None:
        """Decode the last sampled token of every active sequence together, then sample each one's next."""
        jobs = [self._active[slot] for slot in sorted(self._active)]
        self._batch.n_tokens = 0
        for job in jobs:
            self._add(job.next_token, len(self._slot_tokens[job.slot]), job.slot, True)
        self._decode()
        for index, job in enumerate(jobs):
            self._slot_tokens[job.slot].append(job.next_token)
            self._guard([job], lambda j=job, i=index: self._accept(j, j.sampler.sample(self._ctx, i)))

    def _add(self, token: int, pos: int, seq: int, logits: bool) -> None:
        batch, i = self._batch, self._batch.n_tokens
        batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, pos, 1, logits
        batch.seq_id[i][0] = seq
        batch.n_tokens += 1

    def _decode(self) -> None:
        status = self._llama_cpp.llama_decode(self._ctx.ctx, self._batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status} for a batch of {self._batch.n_tokens} tokens")

    # -- Llama._create_completion's loop, per sequence --------------------------------------

    def _accept(self, job: _Job, token: int) -> None:
        """Take one sampled token; finish the job when ``_create_completion`` would stop."""
        host = self.host
        criteria = job.params.get("stopping_criteria")
        if criteria is not None and criteria(np.asarray(self._slot_tokens[job.slot], dtype=np.intc), None):
            return self._finish(job, host.detokenize(job.completion, prev_tokens=job.prompt), "stop")
        if self._llama_cpp.llama_vocab_is_eog(host._model.vocab, token):
            return self._finish(job, host.detokenize(job.completion, prev_tokens=job.prompt), "stop")
        job.completion.append(token)
        all_text = host.detokenize(job.completion, prev_tokens=job.prompt)
        for k, char in enumerate(all_text[-3:]):
            k = 3 - k
            for num, pattern in ((2, 192), (3, 224), (4, 240)):
                if num > k and pattern & char == pattern:
                    job.multibyte_fix = num - k
        if job.multibyte_fix > 0:
            job.multibyte_fix -= 1
            return self._continue(job, token)
        stops = [s for s in job.stop_sequences if s in all_text]
        if stops:
            return self._finish(job, all_text[: all_text.index(stops[0])], "stop")
        if len(job.completion) >= job.max_tokens:
            return self._finish(job, host.detokenize(job.completion, prev_tokens=job.prompt), "length")
        return self._continue(job, token)

    def _continue(self, job: _Job, token: int) -> None:
        if len(self._slot_tokens[job.slot]) + 1 >= self.n_ctx:  # the slot's window is full
            return self._finish(job, self.host.detokenize(job.completion, prev_tokens=job.prompt), "length")
        job.next_token = token

    def _finish(self, job: _Job, text: bytes, finish_reason: str) -> None:
        criteria = job.params.get("stopping_criteria")
        if criteria is not None and criteria(np.asarray(self._slot_tokens[job.slot], dtype=np.intc), None):
            text, finish_reason = self.host.detokenize(job.completion, prev_tokens=job.prompt), "stop"
        self._release(job)
        job.future.set_result(
            {
                "id": f"cmpl-{uuid.uuid4()}",
                "object": "text_completion",
                "created": int(time.time()),
                "model": self.host.model_path,
                "choices": [{"text": text.decode("utf-8", errors="ignore"), "index": 0, "logprobs": None, "finish_reason": finish_reason}],
                "usage": {
                    "prompt_tokens": len(job.prompt),
                    "completion_tokens": len(job.completion),
                    "total_tokens": len(job.prompt) + len(job.completion),
                },
            }
        )

    _sampler_lock = threading.Lock()

    def _sampler(self, params: dict[str, Any]) -> Any:
        """The sampler chain ``Llama.generate`` would build for these settings."""
        host = self.host
        with self._sampler_lock:  # the host's seed is shared state
            seed = params.get("seed")
            host.set_seed(seed if seed is not None else random.Random(host._seed).randint(0, 2**32))
            settings = {k: params[k] for k in _SAMPLING if k in params}
            return host._init_sampler(temp=params.get("temperature", 0.8), grammar=params.get("grammar"), **settings)

    # -- callers -----------------------------------------------------------------------------

    @staticmethod
    def make_job(host: Any, request: dict[str, Any]) -> _Job:
        """Check a captured ``create_completion`` request and turn it into a job (as ``_create_completion`` begins)."""
        unknown = sorted(k for k in request if k not in _HANDLED and k not in _IGNORED_IF_EMPTY)
        unused = sorted(k for k in _IGNORED_IF_EMPTY if request.get(k) not in (None, False, {}, []) and k != "model")
        if unknown or unused or request.get("stream"):
            raise UnsupportedCompletionParameter(f"the batched local engine does not support {', '.join(unknown + unused) or 'stream'}")
        prompt = list(request["prompt"])
        n_ctx = host.n_ctx()
        if len(prompt) >= n_ctx:
            raise ValueError(f"Requested tokens ({len(prompt)}) exceed context window of {n_ctx}")
        max_tokens = request.get("max_tokens", 16)
        if max_tokens is None or max_tokens <= 0:
            max_tokens = n_ctx - len(prompt)
        max_tokens = max_tokens if max_tokens + len(prompt) < n_ctx else n_ctx - len(prompt)
        stop = request.get("stop") or []
        stop = stop if isinstance(stop, list) else [stop]
        return _Job(
            prompt=prompt,
            max_tokens=max_tokens,
            stop_sequences=[s.encode("utf-8") for s in stop],
            params=request,
            future=concurrent.futures.Future(),
        )

    def close(self) -> None:
        """Stop the scheduler thread (after :meth:`JobQueue.close`) and free the context."""
        self._thread.join(timeout=30)
        if not self._thread.is_alive():
            self._llama_cpp.llama_batch_free(self._batch)
            self._ctx.close()


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
