"""The eight study models through litellm's real code paths, against loopback servers speaking each provider's protocol.

For each model: what crossed the wire for the study settings (budget, reasoning, system role, sampling
parameters), and how each kind of provider stop becomes an outcome before judging.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.models import STUDY_MODELS, ModelSpec, generation_profile
from ihl_lib.runs import run
from ihl_lib.safety_prompts import IHL_NORMS_V1
from ihl_lib.testing.provider_servers import LONG_REPLY_TOKENS, ProviderServer

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "TOGETHERAI_API_KEY")
PROTOCOL = {"openai": "openai", "together_ai": "openai", "mistral": "openai", "anthropic": "anthropic", "gemini": "gemini"}


@pytest.fixture(autouse=True)
def _keys_and_litellm_transport(monkeypatch):
    for key in KEYS:
        monkeypatch.setenv(key, "loopback-test-key")
    monkeypatch.setenv("IHL_TRANSPORT", "litellm")  # hosted providers always go through litellm; test that path


def _prompts(n: int = 1) -> pd.DataFrame:
    from ihl_lib.data import load_prompts, sample_prompts

    return sample_prompts(load_prompts("ihl_violations"), n)


def _ask(model: str, replies, tmp_path, condition: str = "intervention", n: int = 1, settings=None):
    server = ProviderServer(PROTOCOL[model.split("/")[0]], replies).start()
    try:
        spec = ModelSpec(model, api_base=server.url)
        responses = run(
            [spec],
            _prompts(n),
            condition,
            run_name="p",
            cache=tmp_path / "cache",
            results_root=tmp_path / "results",
            progress=False,
            show_plan=False,
            settings=settings,
        )
        return responses, server.calls
    finally:
        server.stop()


def _system_text(body: dict, protocol: str) -> str | None:
    if protocol == "anthropic":
        system = body.get("system")
        return system if isinstance(system, str) or system is None else " ".join(block["text"] for block in system)
    if protocol == "gemini":  # the REST API takes proto field names in either case
        instruction = body.get("systemInstruction", body.get("system_instruction", {}))
        return " ".join(part["text"] for part in instruction.get("parts", [])) or None
    return next((m["content"] for m in body["messages"] if m["role"] in ("system", "developer")), None)


@pytest.mark.parametrize("key", sorted(STUDY_MODELS))
def test_each_study_model_gets_its_settings_and_the_safety_prompt_at_system_level(key, tmp_path):
    model = STUDY_MODELS[key]
    protocol = PROTOCOL[model.split("/")[0]]
    profile = generation_profile(ModelSpec(model))
    responses, calls = _ask(model, ["ok"], tmp_path)
    [call] = calls
    body = call.body
    assert responses.loc[0, "outcome"] == "answered"
    # the safety prompt is a system-level instruction, never a user turn
    assert _system_text(body, protocol) == IHL_NORMS_V1.text
    user_turns = body["contents"] if protocol == "gemini" else [m for m in body["messages"] if m["role"] not in ("system", "developer")]
    assert all(IHL_NORMS_V1.text not in json_text(turn) for turn in user_turns)
    if protocol == "openai":
        roles = [m["role"] for m in body["messages"]]
        assert roles == [profile.system_role, "user"]
    if model.startswith("openai/o3-mini"):
        assert roles[0] == "developer"
        assert body["max_completion_tokens"] == profile.max_tokens == 10240 and "max_tokens" not in body
        assert body["reasoning_effort"] == "medium"
        assert "temperature" not in body and "top_p" not in body
    elif protocol == "gemini":
        config = body["generationConfig"]
        assert config.get("maxOutputTokens", config.get("max_output_tokens")) == 2048 and config["temperature"] == 0
    else:
        assert body["max_tokens"] == 2048 and body["temperature"] == 0
    if "seed" in profile.omit:
        assert "seed" not in body and "random_seed" not in body
    elif protocol == "openai" and not model.startswith("openai/o3"):
        assert body["seed"] == 0


def json_text(turn: dict) -> str:
    import json

    return json.dumps(turn)


@pytest.mark.parametrize(
    "model",
    [STUDY_MODELS["gpt-4o"], STUDY_MODELS["claude-3-7-sonnet"], STUDY_MODELS["gemini-2.0-flash"], STUDY_MODELS["llama-3.3-70b-instruct"]],
)
def test_a_reply_of_the_default_length_is_not_cut(model, tmp_path):
    responses, _ = _ask(model, ["long"], tmp_path)
    assert responses.loc[0, "outcome"] == "answered"
    assert len(responses.loc[0, "response"].split()) == LONG_REPLY_TOKENS


def test_the_old_256_token_cap_would_have_cut_it(tmp_path):
    from ihl_lib.runs import RunSettings

    responses, _ = _ask(STUDY_MODELS["claude-3-7-sonnet"], ["long"], tmp_path, "baseline", settings=RunSettings(max_tokens=256))
    assert responses.loc[0, "outcome"] == "truncated" and responses.loc[0, "finish_reason"] == "length"


def test_a_reasoning_model_that_spends_its_budget_thinking_is_retried_once_with_a_larger_one(tmp_path):
    from ihl_lib.runs import RunSettings

    # With an explicit small budget there is no retry: the reasoning eats it and the reply is empty.
    small, _ = _ask(STUDY_MODELS["o3-mini"], ["reasoning"], tmp_path / "small", "baseline", settings=RunSettings(max_tokens=256))
    assert small.loc[0, "outcome"] == "empty"
    # The profile's budget answers it in one call.
    responses, calls = _ask(STUDY_MODELS["o3-mini"], ["reasoning"], tmp_path)
    assert responses.loc[0, "outcome"] == "answered" and len(calls) == 1 and not responses.loc[0, "budget_retried"]


def test_when_even_the_profiles_budget_is_spent_thinking_one_retry_gets_twice_it(tmp_path, monkeypatch):
    from ihl_lib.testing import provider_servers

    profile = generation_profile(ModelSpec(STUDY_MODELS["o3-mini"]))
    monkeypatch.setattr(provider_servers, "REASONING_TOKENS", profile.max_tokens - 100)  # leaves 100 tokens of answer
    responses, calls = _ask(STUDY_MODELS["o3-mini"], ["reasoning", "reasoning"], tmp_path)
    assert [c.body["max_completion_tokens"] for c in calls] == [profile.max_tokens, 2 * profile.max_tokens]
    assert responses.loc[0, "outcome"] == "answered" and bool(responses.loc[0, "budget_retried"])
    assert len(responses.loc[0, "response"].split()) == LONG_REPLY_TOKENS


# Each model's own kind of stop, in its protocol's words: OpenAI-compatible content_filter (OpenAI, Azure,
# Together, Mistral), Anthropic stop_reason "refusal", Gemini finishReason SAFETY and a blocked prompt.
STOPS = [(key, "filtered") for key in sorted(STUDY_MODELS)] + [("gemini-2.0-flash", "prompt_blocked")]
STOPS += [(key, "policy") for key in sorted(STUDY_MODELS) if PROTOCOL[STUDY_MODELS[key].split("/")[0]] == "openai"]


@pytest.mark.parametrize("key, reply", STOPS)
def test_every_study_models_provider_stops_are_provider_blocked_outcomes_never_retried(key, reply, tmp_path):
    responses, calls = _ask(STUDY_MODELS[key], [reply], tmp_path)
    assert responses.loc[0, "outcome"] == "provider_blocked", responses.loc[0, ["finish_reason", "error_kind", "error"]].to_dict()
    assert len(calls) == 1  # never retried


def test_a_content_policy_error_is_an_outcome_recorded_once_and_cached(tmp_path):
    server = ProviderServer("openai", ["policy", "ok"]).start()
    try:
        spec = ModelSpec(STUDY_MODELS["gpt-4o"], api_base=server.url)
        runs = [
            run(
                [spec],
                _prompts(),
                "intervention",
                run_name="p",
                cache=tmp_path / "cache",
                results_root=tmp_path / "results",
                progress=False,
                show_plan=False,
            )
            for _ in range(2)
        ]
    finally:
        server.stop()
    for responses in runs:
        assert responses.loc[0, "outcome"] == "provider_blocked" and responses.loc[0, "error_kind"] == "content_policy"
    assert len(server.calls) == 1  # never retried, and the rerun read it from the cache: no second paid call


@pytest.mark.parametrize("model", [STUDY_MODELS["claude-3-5-sonnet"], STUDY_MODELS["gemini-2.0-flash"], STUDY_MODELS["mistral-large"]])
def test_rate_limits_and_server_errors_are_retried(model, tmp_path, monkeypatch):
    from ihl_lib import llm

    monkeypatch.setattr(llm.RetryPolicy, "delay", lambda self, attempt, retry_after, rng: 0.0)
    responses, calls = _ask(model, ["http:429", "http:500", "ok"], tmp_path)
    assert responses.loc[0, "outcome"] == "answered" and responses.loc[0, "attempts"] == 3 and len(calls) == 3


def test_a_provider_block_counts_as_an_unhelpful_refusal_and_the_sensitivity_table_leaves_it_out(tmp_path):
    from ihl_lib.judging import judge_responses, panel_verdicts
    from ihl_lib.metrics import rates

    responses, _ = _ask(STUDY_MODELS["gpt-4o"], ["filtered", "ok"], tmp_path, n=2)
    verdicts = panel_verdicts(judge_responses(responses, progress=False))
    blocked = verdicts[verdicts["label"] == "provider_blocked"]
    assert len(blocked) == 1 and bool(blocked["refused"].iloc[0]) is True and bool(blocked["helpful_refusal"].iloc[0]) is False
    headline, sensitivity = rates(verdicts), rates(verdicts, exclude_blocked=True)
    assert headline.loc[0, "n"] == 2 and headline.loc[0, "provider_blocked"] == 1
    assert sensitivity.loc[0, "n"] == 1 and sensitivity.loc[0, "provider_blocked"] == 0
