"""Which models to run: the study's eight, the embedded default, or any litellm id.

Choose models with a notebook parameter or the env var ``IHL_MODELS``
(comma-separated). Each entry is a litellm model id, an alias from
:data:`STUDY_MODELS`, or ``study`` for all eight. A self-hosted or
OpenAI-compatible server is written ``<litellm id>@<api_base>``, e.g.
``openai/llama3@http://127.0.0.1:8000/v1`` or ``ollama/llama3@http://127.0.0.1:11434``.

Before any call, :func:`check_keys` names every missing key env var, and
:func:`plan` shows what the run will cost.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from ihl_lib import DEFAULT_MODEL
from ihl_lib.llm import ChatRequest, InvalidRequestError, clean_api_base, get_cache, cache_key, missing_key_env_vars, validate_request

__all__ = ["STUDY_MODELS", "MissingKeyError", "ModelSpec", "check_keys", "parse_models", "plan"]

# The eight models of the original study, pinned to dated versions where providers have them.
# Several have since been retired by their providers (by late 2026 litellm's bundled price map
# no longer lists the direct Anthropic and Gemini 2.0 ids, so their cost shows as unknown).
STUDY_MODELS: dict[str, str] = {
    "o3-mini": "openai/o3-mini-2025-01-31",
    "gpt-4o": "openai/gpt-4o-2024-08-06",
    "claude-3-5-sonnet": "anthropic/claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet": "anthropic/claude-3-7-sonnet-20250219",
    "gemini-2.0-flash": "gemini/gemini-2.0-flash-001",
    "llama-3.3-70b-instruct": "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "mistral-large": "mistral/mistral-large-2411",
    "qwen-2.5-72b-instruct": "together_ai/Qwen/Qwen2.5-72B-Instruct-Turbo",
}


class MissingKeyError(RuntimeError):
    """Some chosen models have no API key in the environment."""


@dataclass(frozen=True)
class ModelSpec:
    """A model to call: a litellm id and, for self-hosted servers, an api_base."""

    model: str
    api_base: str | None = None

    @property
    def label(self) -> str:
        """How the model is named in results: the id, plus the (credential-free) server."""
        return self.model if not self.api_base else f"{self.model}@{clean_api_base(self.api_base)}"

    @staticmethod
    def parse(entry: str) -> "ModelSpec":
        entry = entry.strip()
        model, _, api_base = entry.partition("@")
        model = STUDY_MODELS.get(model, model)
        return ModelSpec(model=model, api_base=api_base or None)


def parse_models(models: str | Sequence[str | ModelSpec] | None = None) -> list[ModelSpec]:
    """Resolve the models to run.

    Args:
        models: comma-separated ids or a list; None reads ``IHL_MODELS``, and
            falls back to the embedded ``local/smollm2-135m``.

    Raises:
        InvalidRequestError: a model id litellm cannot route, or an empty list.
    """
    if models is None:
        models = os.environ.get("IHL_MODELS") or DEFAULT_MODEL
    entries: list[str | ModelSpec] = [m for m in models.split(",") if m.strip()] if isinstance(models, str) else list(models)
    specs: list[ModelSpec] = []
    for entry in entries:
        if isinstance(entry, ModelSpec):
            specs.append(entry)
        elif entry.strip() == "study":
            specs.extend(ModelSpec(m) for m in STUDY_MODELS.values())
        else:
            specs.append(ModelSpec.parse(entry))
    if not specs:
        raise InvalidRequestError("no models chosen")
    unique = list(dict.fromkeys(specs))
    for spec in unique:
        # Routing check only: a throwaway request with the model's id.
        validate_request(ChatRequest(model=spec.model, messages=[{"role": "user", "content": "x"}], api_base=spec.api_base))
    return unique


def check_keys(models: Iterable[ModelSpec]) -> None:
    """Raise :class:`MissingKeyError` naming every missing env var, before any call."""
    problems = []
    for spec in models:
        missing = missing_key_env_vars(spec.model, spec.api_base)
        if missing:
            problems.append(f"  {spec.label}: set {' or '.join(missing)}")
    if problems:
        raise MissingKeyError(
            "API keys are missing for the chosen models (no call was made):\n" + "\n".join(problems)
            + "\nSet them in the environment, or run on the embedded model: IHL_MODELS=local/smollm2-135m"
        )


CHARS_PER_TOKEN = 4.0  # a rough English average; the plan says it is an estimate


def plan(requests_by_model: dict[ModelSpec, list[ChatRequest]], cache: object = None) -> pd.DataFrame:
    """What a run will do: calls per model, how many are cached, tokens and cost.

    Tokens are estimated at 4 characters a token for the input, and at most
    ``max_tokens`` for the output; cost uses litellm's price map and is left
    empty (NaN) where the price is unknown.

    Returns:
        One row per model: calls, cached, to_call, est_input_tokens,
        max_output_tokens, est_max_cost_usd.
    """
    import litellm

    store = get_cache(cache)  # type: ignore[arg-type]
    rows = []
    for spec, reqs in requests_by_model.items():
        to_call = [r for r in reqs if cache_key(r) not in store]
        input_tokens = int(sum(sum(len(m["content"]) for m in r.messages) for r in to_call) / CHARS_PER_TOKEN)
        output_tokens = sum(r.max_tokens for r in to_call)
        cost = None
        if to_call:
            try:
                prompt_cost, completion_cost = litellm.cost_per_token(model=spec.model, prompt_tokens=input_tokens, completion_tokens=output_tokens)
                cost = (prompt_cost + completion_cost) or None
            except Exception:
                cost = None
        else:
            cost = 0.0  # nothing to call: this one really is free
        rows.append(
            {
                "model": spec.label,
                "calls": len(reqs),
                "cached": len(reqs) - len(to_call),
                "to_call": len(to_call),
                "est_input_tokens": input_tokens,
                "max_output_tokens": output_tokens,
                "est_max_cost_usd": cost,
            }
        )
    return pd.DataFrame(rows).set_index("model")
