"""Tests of :mod:`ihl_lib.models`: choosing models, their generation profiles, the key check and the cost plan."""

from __future__ import annotations

import litellm
import pandas as pd
import pytest

from ihl_lib.llm import ChatRequest, Completion, InvalidRequestError, ResponseCache, cache_key
from ihl_lib.models import STUDY_MODELS, MissingKeyError, ModelSpec, check_keys, generation_profile, parse_models, plan


def test_model_selection(monkeypatch):
    monkeypatch.delenv("IHL_MODELS", raising=False)
    assert parse_models(None) == [ModelSpec("local/smollm2-135m")]
    monkeypatch.setenv("IHL_MODELS", "gpt-4o, ollama/llama3@http://127.0.0.1:11434")
    assert parse_models(None) == [ModelSpec(STUDY_MODELS["gpt-4o"]), ModelSpec("ollama/llama3", "http://127.0.0.1:11434")]
    assert len(parse_models("study")) == 8
    assert ModelSpec("openai/x", "http://u:secret@127.0.0.1:8000/v1/").label == "openai/x@http://127.0.0.1:8000/v1"


def test_aliases_resolve_to_the_pinned_ids_and_duplicates_are_dropped():
    assert ModelSpec.parse("claude-3-7-sonnet") == ModelSpec("anthropic/claude-3-7-sonnet-20250219")
    assert ModelSpec.parse("gpt-4o@http://127.0.0.1:9/v1") == ModelSpec(STUDY_MODELS["gpt-4o"], "http://127.0.0.1:9/v1")
    assert ModelSpec.parse("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo") == ModelSpec(STUDY_MODELS["llama-3.3-70b-instruct"])
    chosen = parse_models(["gpt-4o", "openai/gpt-4o-2024-08-06", ModelSpec("local/smollm2-135m"), "gpt-4o"])
    assert chosen == [ModelSpec(STUDY_MODELS["gpt-4o"]), ModelSpec("local/smollm2-135m")]  # first seen, in order
    assert parse_models("study, gpt-4o") == [ModelSpec(m) for m in STUDY_MODELS.values()]


def test_no_model_or_an_unroutable_one_is_refused_before_any_call():
    with pytest.raises(InvalidRequestError, match="no models chosen"):
        parse_models(" , ")
    with pytest.raises(InvalidRequestError, match="cannot route"):
        parse_models("gpt-4o,no-such-model-xyz")


def test_each_kind_of_model_gets_its_generation_profile():
    o3 = generation_profile(ModelSpec(STUDY_MODELS["o3-mini"]))
    assert (o3.max_tokens, o3.retry_budget, o3.system_role, o3.reasoning_effort) == (2048 + 8192, 2 * (2048 + 8192), "developer", "medium")
    assert set(o3.omit) == {"temperature", "top_p"}
    gpt = generation_profile(ModelSpec(STUDY_MODELS["gpt-4o"]))
    assert (gpt.max_tokens, gpt.retry_budget, gpt.system_role, gpt.extra_body) == (2048, None, "system", ())
    assert "seed" in generation_profile(ModelSpec(STUDY_MODELS["claude-3-5-sonnet"])).omit
    # a study model served from a test server keeps its own profile
    assert generation_profile(ModelSpec(STUDY_MODELS["o3-mini"], "http://127.0.0.1:9/v1")) is o3
    assert generation_profile(ModelSpec("local/smollm2-135m")).max_tokens == 256
    self_hosted = generation_profile(ModelSpec("openai/llama3", "http://127.0.0.1:8000/v1"))
    assert dict(self_hosted.extra_body) == {
        "frequency_penalty": 0.0,
        "presence_penalty": 0.0,
        "repeat_penalty": 1.0,
        "repetition_penalty": 1.0,
    }
    other = generation_profile(ModelSpec("anthropic/claude-some-other"))
    assert other.max_tokens == 2048 and other.extra_body == () and other.omit == ()


def test_what_each_study_models_provider_is_not_sent():
    # Recorded in every manifest as "not_sent": the parameters each provider rejects or ignores.
    not_sent = {alias: generation_profile(ModelSpec(model)).omit for alias, model in STUDY_MODELS.items()}
    assert not_sent == {
        "o3-mini": ("temperature", "top_p"),
        "gpt-4o": (),
        "claude-3-5-sonnet": ("seed",),
        "claude-3-7-sonnet": ("seed",),
        "gemini-2.0-flash": (),
        "llama-3.3-70b-instruct": (),
        "mistral-large": ("seed",),
        "qwen-2.5-72b-instruct": (),
    }
    profiles = {alias: generation_profile(ModelSpec(model)) for alias, model in STUDY_MODELS.items()}
    budgets = {alias: (profile.max_tokens, profile.retry_budget) for alias, profile in profiles.items()}
    assert budgets == {alias: (10240, 20480) if alias == "o3-mini" else (2048, None) for alias in STUDY_MODELS}


def test_missing_keys_are_all_named_at_once_and_the_embedded_model_needs_none(monkeypatch):
    for env in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TOGETHERAI_API_KEY"):
        monkeypatch.delenv(env, raising=False)
    models = parse_models("gpt-4o,claude-3-7-sonnet,local/smollm2-135m,llama-3.3-70b-instruct")
    with pytest.raises(MissingKeyError) as info:
        check_keys(models)
    message = str(info.value)
    for label, env in (
        (STUDY_MODELS["gpt-4o"], "OPENAI_API_KEY"),
        (STUDY_MODELS["claude-3-7-sonnet"], "ANTHROPIC_API_KEY"),
        (STUDY_MODELS["llama-3.3-70b-instruct"], "TOGETHERAI_API_KEY"),
    ):
        assert f"  {label}: set {env}" in message
    assert "local/smollm2-135m:" not in message
    check_keys([ModelSpec("local/smollm2-135m")])  # no key needed: no error
    for env in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TOGETHERAI_API_KEY"):
        monkeypatch.setenv(env, "sk-set")
    check_keys(models)


def test_the_plan_counts_what_is_cached_and_prices_only_what_has_a_price(tmp_path):
    server = "http://127.0.0.1:9/v1"

    def ask(model: str, text: str, max_tokens: int, api_base: str | None = None) -> ChatRequest:
        return ChatRequest(model=model, messages=[{"role": "user", "content": text}], max_tokens=max_tokens, api_base=api_base)

    loop = [ask("openai/loop", "x" * 40, 100, server), ask("openai/loop", "z" * 40, 100, server)]
    priced = [ask(STUDY_MODELS["gpt-4o"], "y" * 400, 1000)]
    cache = ResponseCache(tmp_path / "cache")
    cache.set(Completion(model="openai/loop", text="ok", finish_reason="stop", cache_key=cache_key(loop[0])))
    table = plan(
        {ModelSpec("openai/loop", server): loop, ModelSpec(STUDY_MODELS["gpt-4o"]): priced, ModelSpec("openai/done", server): []}, cache
    )
    cache.close()
    loop_row = table.loc[f"openai/loop@{server}"]
    assert (loop_row["calls"], loop_row["cached"], loop_row["to_call"]) == (2, 1, 1)
    assert (loop_row["est_input_tokens"], loop_row["max_output_tokens"]) == (40 / 4, 100)  # only what is still to call
    assert pd.isna(loop_row["est_max_cost_usd"])  # no known price: unknown, never 0
    gpt = table.loc[STUDY_MODELS["gpt-4o"]]
    prompt_cost, completion_cost = litellm.cost_per_token(model=STUDY_MODELS["gpt-4o"], prompt_tokens=100, completion_tokens=1000)
    assert gpt["est_max_cost_usd"] == pytest.approx(prompt_cost + completion_cost) and gpt["est_max_cost_usd"] > 0
    assert table.loc[f"openai/done@{server}", "est_max_cost_usd"] == 0.0  # nothing to call really is free
