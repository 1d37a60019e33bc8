"""The response cache: the request's key (never a credential) and the answers stored on disk."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import ihl_lib  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm is imported)
from ihl_lib import llama_build, local
from ihl_lib.llm.outcomes import Completion
from ihl_lib.llm.request import ChatRequest, clean_api_base
from ihl_lib.paths import cache_dir

CACHE_SCHEMA = 1


def cache_key(req: ChatRequest) -> str:
    """sha256 of canonical JSON of everything that changes the answer (never an API key)."""
    stop = [req.stop] if isinstance(req.stop, str) else (list(req.stop) if req.stop else None)
    payload = {
        "schema": CACHE_SCHEMA,
        "model": req.model,
        "api_base": clean_api_base(req.api_base),
        "messages": [{"role": m["role"], "content": m["content"]} for m in req.messages],
        "temperature": float(req.temperature),
        "max_tokens": int(req.max_tokens),
        "top_p": None if req.top_p is None else float(req.top_p),
        "seed": req.seed,
        "stop": stop,
        "sample_index": int(req.sample_index),
        "namespace": req.namespace,
        "response_format": req.response_format,
    }
    # Added only when set, so that the keys of requests without them (every cached answer made before
    # they existed) stay the same.
    for name, value in (
        ("reasoning_effort", req.reasoning_effort),
        ("omit", sorted(req.omit) or None),
        ("extra_body", dict(req.extra_body) if req.extra_body else None),
        ("retry_budget", req.retry_budget),
    ):
        if value is not None:
            payload[name] = value
    if req.model.startswith(local.PROVIDER + "/"):
        payload["local_build"] = llama_build.build_id()  # another llama.cpp build may answer differently
        if req.response_format is not None:
            payload["local_grammar"] = local.GRAMMAR_VERSION  # how the local grammar is built changes the answer
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_CACHED_FIELDS = ("text", "finish_reason", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s", "response_model")
# Stored only when set (older entries lack them): a provider block is a final answer, and so is a reply
# that needed the larger budget.
_CACHED_IF_SET = ("error", "error_kind", "budget_retried")


class ResponseCache:
    """Successful model answers on disk (a thin layer over ``diskcache.Cache``).

    Only the fields of :class:`Completion` listed in ``_CACHED_FIELDS`` are
    stored: never the request's credentials.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        import diskcache

        self.directory = Path(directory) if directory is not None else cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        # size_limit: research caches are small but must never be evicted silently.
        self._cache = diskcache.Cache(str(self.directory), size_limit=2**40, eviction_policy="none")

    def get(self, key: str) -> dict[str, Any] | None:
        stored: dict[str, Any] | None = self._cache.get(key)
        return stored

    def set(self, result: Completion) -> None:
        if result.outcome not in ("answered", "truncated", "provider_blocked"):
            raise ValueError(f"only answers and provider blocks are cached, not {result.outcome!r}")
        stored = {f: getattr(result, f) for f in _CACHED_FIELDS}
        stored.update({f: getattr(result, f) for f in _CACHED_IF_SET if getattr(result, f)})
        self._cache.set(result.cache_key, stored)

    def __contains__(self, key: str) -> bool:
        return key in self._cache

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        self._cache.close()


_default_caches: dict[Path, ResponseCache] = {}


def get_cache(cache: ResponseCache | str | os.PathLike[str] | None) -> ResponseCache:
    if isinstance(cache, ResponseCache):
        return cache
    directory = Path(cache) if cache is not None else cache_dir()
    key = directory.resolve()
    if key not in _default_caches:
        _default_caches[key] = ResponseCache(directory)
    return _default_caches[key]
