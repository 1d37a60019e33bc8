"""Which models to run (the paper's eight study models, the embedded default, or any litellm id) and how each is asked.

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
from ihl_lib.llm import ChatRequest, InvalidRequestError, cache_key, clean_api_base, get_cache, missing_key_env_vars, validate_request
from ihl_lib.schema import parse_model_id

__all__ = [
    "GENERATION_PROFILES",
    "STUDY_MODELS",
    "GenerationProfile",
    "MissingKeyError",
    "ModelSpec",
    "check_keys",
    "generation_profile",
    "parse_models",
    "plan",
]

# The paper's eight study models, pinned to dated versions where providers have them.
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


@dataclass(frozen=True)
class GenerationProfile:
    """How one model is asked: its token budget, reasoning settings, system role, and what its provider ignores.

    Attributes:
        answer_tokens: the budget for the visible answer. Study models get 2,048, which no refusal or
            explanation needs to reach (a test fails if a reply of that length is cut); the embedded
            model keeps 256, what holds ``make reproduce`` to its time bar (the share it cuts is reported).
        reasoning_tokens: extra budget for hidden reasoning (reasoning models bill it within
            ``max_completion_tokens``, which litellm sends for ``max_tokens``); 0 for other models.
        reasoning_effort: sent as ``reasoning_effort`` (reasoning models only).
        system_role: the role that carries the system prompt (``developer`` for OpenAI's o-series).
        omit: sampling parameters the provider rejects or ignores: not sent, and recorded.
        extra_body: provider-specific fields, e.g. the sampling defaults a self-hosted server would
            otherwise add.
        evidence: why these settings.
    """

    answer_tokens: int = 2048
    reasoning_tokens: int = 0
    reasoning_effort: str | None = None
    system_role: str = "system"
    omit: tuple[str, ...] = ()
    extra_body: tuple[tuple[str, float], ...] = ()
    evidence: str = ""

    @property
    def max_tokens(self) -> int:
        """What the request's ``max_tokens`` is: the answer budget plus the reasoning budget."""
        return self.answer_tokens + self.reasoning_tokens

    @property
    def retry_budget(self) -> int | None:
        """A reasoning model's one retry, when its reply comes back truncated or empty: twice the budget."""
        return 2 * self.max_tokens if self.reasoning_tokens else None


_STUDY_DEFAULT = GenerationProfile(
    evidence="chat model: temperature 0, seed 0, a 2,048-token answer budget (no refusal or explanation needs more)"
)
GENERATION_PROFILES: dict[str, GenerationProfile] = {
    "openai/o3-mini-2025-01-31": GenerationProfile(
        answer_tokens=2048,
        reasoning_tokens=8192,
        reasoning_effort="medium",
        system_role="developer",
        omit=("temperature", "top_p"),
        evidence="OpenAI reasoning model: the API rejects temperature other than 1 and top_p, bills hidden reasoning "
        "within max_completion_tokens (litellm sends max_tokens as that), and defaults reasoning_effort to "
        "medium, which the paper does not say it changed; system-level instructions are the developer "
        "message (litellm would send a system message as a user turn, as o3-mini's price-map entry lacks "
        "supports_system_messages)",
    ),
    "openai/gpt-4o-2024-08-06": _STUDY_DEFAULT,
    "anthropic/claude-3-5-sonnet-20241022": GenerationProfile(
        omit=("seed",), evidence="Anthropic Messages API: no seed parameter; the system prompt is the top-level system field"
    ),
    "anthropic/claude-3-7-sonnet-20250219": GenerationProfile(
        omit=("seed",),
        evidence="Anthropic Messages API: no seed parameter; extended thinking is off by default and stays "
        "off (the paper does not mention it); the system prompt is the top-level system field",
    ),
    "gemini/gemini-2.0-flash-001": GenerationProfile(
        evidence="Gemini generateContent: temperature, seed and maxOutputTokens in generationConfig; the system prompt is systemInstruction"
    ),
    "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo": _STUDY_DEFAULT,
    "mistral/mistral-large-2411": GenerationProfile(
        omit=("seed",), evidence="Mistral's chat API names its seed random_seed; litellm drops seed, so it is recorded as not sent"
    ),
    "together_ai/Qwen/Qwen2.5-72B-Instruct-Turbo": _STUDY_DEFAULT,
}
EMBEDDED_PROFILE = GenerationProfile(
    answer_tokens=256, evidence="the embedded model demonstrates the pipeline; 256 tokens keeps make reproduce within its time bar"
)
# llama.cpp's server and Ollama add a repeat penalty of 1.1 unless told otherwise (llama.cpp's server answered 0 of 10
# prompts as the embedded model does without this, 10 of 10 with it); vLLM's name for it is repetition_penalty.
SELF_HOSTED_PINNED = (("frequency_penalty", 0.0), ("presence_penalty", 0.0), ("repeat_penalty", 1.0), ("repetition_penalty", 1.0))


def generation_profile(spec: ModelSpec) -> GenerationProfile:
    """The profile of a model: its own, the embedded model's, a self-hosted server's (penalties pinned), or the default."""
    if spec.model in GENERATION_PROFILES:
        return GENERATION_PROFILES[spec.model]
    if spec.model.startswith("local/"):
        return EMBEDDED_PROFILE
    if spec.api_base is not None:
        return GenerationProfile(
            extra_body=SELF_HOSTED_PINNED,
            evidence="self-hosted server: sampling penalties pinned to neutral so it answers as the model does",
        )
    return _STUDY_DEFAULT


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
    def parse(entry: str) -> ModelSpec:
        parsed = parse_model_id(entry)
        return ModelSpec(model=STUDY_MODELS.get(parsed.litellm_id, parsed.litellm_id), api_base=parsed.server)


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
            "API keys are missing for the chosen models (no call was made):\n"
            + "\n".join(problems)
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
                prompt_cost, completion_cost = litellm.cost_per_token(
                    model=spec.model, prompt_tokens=input_tokens, completion_tokens=output_tokens
                )
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
