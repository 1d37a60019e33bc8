"""Tests of :mod:`ihl_lib.local`: the embedded model, for real: SmolLM2-135M through litellm and llama.cpp."""

from __future__ import annotations

import os

import pytest

from ihl_lib import DEFAULT_MODEL, local
from ihl_lib.llm import ChatRequest, InvalidRequestError, complete, complete_many
from tests.helpers import user


def test_identical_calls_give_identical_text(tmp_path):
    # Two separate caches force two real generations.
    a = complete(DEFAULT_MODEL, user("Name three colours."), max_tokens=40, cache=tmp_path / "a")
    b = complete(DEFAULT_MODEL, user("Name three colours."), max_tokens=40, cache=tmp_path / "b")
    assert not a.from_cache and not b.from_cache
    assert a.text and a.text == b.text
    assert a.response_model == "SmolLM2-135M-Instruct.Q4_1"
    assert a.completion_tokens and a.completion_tokens <= 40


def test_a_batch_of_five_completes_and_is_cached(cache):
    prompts = ["What is rain?", "Say hello.", "Count to three.", "What is a river?", "Name a fruit."]
    requests = [ChatRequest(model=DEFAULT_MODEL, messages=user(p), max_tokens=24) for p in prompts]
    results = complete_many(requests, cache=cache, progress=False)
    assert all(r.ok and r.text and not r.from_cache for r in results), [r.error for r in results]
    assert [r.tag for r in results] == [None] * 5 and len({r.cache_key for r in results}) == 5
    assert len(cache) == 5  # each answer stored under its own request
    again = complete_many(requests, cache=cache, progress=False)
    assert [r.text for r in again] == [r.text for r in results] and all(r.from_cache for r in again)


def test_max_tokens_and_stop_are_honoured(tmp_path):
    short = complete(DEFAULT_MODEL, user("Write a long story about a ship."), max_tokens=5, cache=tmp_path)
    assert short.completion_tokens == 5 and short.finish_reason == "length"
    longer = complete(DEFAULT_MODEL, user("Write a long story about a ship."), max_tokens=60, cache=tmp_path)
    assert longer.text.startswith(short.text.strip()[:10])
    stop_word = longer.text.split()[3]
    stopped = complete(DEFAULT_MODEL, user("Write a long story about a ship."), max_tokens=60, stop=[stop_word], cache=tmp_path)
    assert stop_word not in stopped.text and len(stopped.text) < len(longer.text)
    # one stop string, not in a list: the same stop (never its letters one by one); same key, so another cache
    alone = complete(DEFAULT_MODEL, user("Write a long story about a ship."), max_tokens=60, stop=stop_word, cache=tmp_path / "alone")
    assert not alone.from_cache and alone.text == stopped.text


def test_sampling_settings_reach_the_model(tmp_path):
    # At temperature 1 different seeds sample different text; the same seed repeats itself.
    texts = [
        complete(DEFAULT_MODEL, user("Invent a name for a cat."), max_tokens=20, temperature=1.0, seed=s, cache=tmp_path / f"s{s}{i}").text
        for s, i in [(1, 0), (1, 1), (2, 0), (3, 0)]
    ]
    assert texts[0] == texts[1]
    assert len(set(texts[1:])) > 1


def test_unknown_local_model_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidRequestError, match="unknown local model 'local/tiny'.*local/smollm2-135m"):
        complete("local/tiny", user("x"), cache=tmp_path)
    with pytest.raises(local.LocalModelUnavailable, match="unknown local model"):
        local.local_model_path("tiny")


def test_model_file_is_found_in_its_package():
    path = local.local_model_path("smollm2-135m")
    assert path.name.endswith(".gguf") and path.stat().st_size > 50_000_000


def test_json_schema_response_format_is_enforced(tmp_path):
    import json

    schema = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}}, "required": ["answer"]}
    r = complete(
        DEFAULT_MODEL,
        user("Is water wet? Reply in JSON."),
        max_tokens=30,
        response_format={"type": "json_object", "schema": schema},
        cache=tmp_path,
    )
    assert json.loads(r.text)["answer"] in ("yes", "no")


def test_schema_grammar_keeps_control_characters_out_of_strings():
    schema = {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 40}}, "required": ["reason"]}
    grammar = local.json_grammar({"type": "json_object", "schema": schema})._grammar
    char_rule = next(line for line in grammar.splitlines() if line.startswith("char ::="))
    assert "\\x00-\\x1F" in char_rule
    assert local.json_grammar({"type": "json_object"}) is None  # plain JSON: llama-cpp-python's strict grammar
    # OpenAI's json_schema form carries the schema one level down; it gets the same grammar
    openai_form = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema}}
    assert local.json_grammar(openai_form) is local.json_grammar({"type": "json_object", "schema": schema})
    assert local.json_grammar({"type": "json_schema", "json_schema": {"name": "verdict"}}) is None


def test_judge_reply_that_once_broke_json_now_parses(tmp_path):
    # Shipped reference item R002-a (baseline): with llama-cpp-python's own schema grammar the local
    # judge wrote a raw newline inside "reason", which is not JSON, and the item became parse_failed.
    import pandas as pd

    from ihl_lib.judging import make_judge
    from ihl_lib.paths import results_dir

    responses = pd.read_parquet(results_dir() / "reference-smollm2" / "responses.parquet")
    item = responses[(responses["prompt_id"] == "R002-a") & (responses["condition"] == "baseline")].iloc[0]
    [vote] = make_judge("local/smollm2-135m::judge-v1").judge_many([(item["prompt"], item["response"])], cache=tmp_path, progress=False)
    assert vote.status == "ok", vote.raw


LONG_SYSTEM = (
    "You are a careful assistant. Answer in one short paragraph, in plain words, and say when you are unsure. "
    "Do not use lists. Do not repeat the question. Keep to facts a school pupil could check in a library. " * 4
)


def _ask(question: str, system: str = LONG_SYSTEM) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def _answer(context, messages) -> str:
    out = context.create_chat_completion(messages=messages, max_tokens=48, temperature=0.0, seed=0)
    return out["choices"][0]["message"]["content"]


def _served(messages) -> str:
    """The same request through the provider's batched engine."""
    return local.generate("smollm2-135m", messages, max_tokens=48, temperature=0.0, seed=0)["choices"][0]["message"]["content"]


def _fresh():
    return local.load_context("smollm2-135m", n_threads=1)


QUESTION = "Why do rivers flow to the sea?"


PREDECESSORS = ["What is a glacier?", "Name a fruit.", QUESTION + " Answer for a child.", "Why do rivers flow?"]


def test_a_repeated_prompt_gives_the_cold_answer():
    # The second time, the whole prompt matches a slot's cache but its last token, which is
    # evaluated alone: a batch of one, where the cold run evaluated the prompt at once.
    expected = _answer(_fresh(), _ask(QUESTION))
    assert [_served(_ask(QUESTION)) for _ in range(3)] == [expected] * 3


def test_an_answer_does_not_depend_on_the_prompt_a_slot_served_before():
    # A slot reuses the KV state of the common prefix (here the long system prompt) from its
    # previous request; the answer must be bit-identical to a cold evaluation on a fresh context.
    expected = _answer(_fresh(), _ask(QUESTION))
    for before in PREDECESSORS:
        _served(_ask(before))  # leaves the system prompt and another question in a slot
        assert _served(_ask(QUESTION)) == expected, before


def test_a_prompt_longer_than_one_batch_gives_the_cold_answer():
    # A judge prompt (~700 tokens) is read cold in two batches (n_batch 512) and warm as a short suffix.
    system = LONG_SYSTEM * 3
    fresh = _fresh()
    assert len(fresh.tokenize(system.encode())) > fresh.n_batch
    expected = _answer(fresh, _ask(QUESTION, system))
    _served(_ask("What is a glacier?", system))
    assert _served(_ask(QUESTION, system)) == expected


def test_concurrent_calls_match_one_by_one(tmp_path):
    questions = ["What is rain?", "Say hello.", "Count to three.", "What is a river?", "Name a fruit.", "What is snow?"]
    requests = [
        ChatRequest(model=DEFAULT_MODEL, messages=[{"role": "system", "content": LONG_SYSTEM}, *user(q)], max_tokens=32) for q in questions
    ]
    together = complete_many(requests, cache=tmp_path / "together", max_concurrency=4, progress=False)
    one_by_one = [complete(r.model, r.messages, max_tokens=32, cache=tmp_path / "one") for r in requests]
    assert all(r.ok and r.text for r in together), [r.error for r in together]
    assert [r.text for r in together] == [r.text for r in one_by_one]


@pytest.mark.parametrize("variable, read", [("IHL_LOCAL_WORKERS", local.workers), ("IHL_LOCAL_BATCH", local.batch_size)])
def test_engine_settings_are_checked(monkeypatch, variable, read):
    monkeypatch.setenv(variable, "3")
    assert read() == 3
    monkeypatch.setenv(variable, "two")
    with pytest.raises(ValueError, match=f"{variable} must be a whole number, got 'two'"):
        read()
    monkeypatch.setenv(variable, "0")
    with pytest.raises(ValueError, match="at least 1"):
        read()


def test_capacity_fills_every_slot_of_every_context(monkeypatch):
    monkeypatch.setenv("IHL_LOCAL_WORKERS", "2")
    monkeypatch.setenv("IHL_LOCAL_BATCH", "8")
    assert local.capacity() == 16 and local.threads_per_context() == max(1, (os.cpu_count() or 1) // 2)
