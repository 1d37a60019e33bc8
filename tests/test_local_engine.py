"""Tests of :mod:`ihl_lib.local_engine`: the batched engine against llama-cpp-python's own one-sequence path, on the embedded model."""

from __future__ import annotations

import json

import pytest

from ihl_lib import local
from ihl_lib.local_engine import BatchedEngine, JobQueue, UnsupportedCompletionParameter, chat_completion_request, to_chat_completion
from ihl_lib.testing import EVERYDAY_QUESTIONS

# Question 12 has accents, so that a multi-byte token split across decode steps is exercised.
QUESTIONS = [*EVERYDAY_QUESTIONS[:12], "Écris une phrase sur l'été, avec des accents.", *EVERYDAY_QUESTIONS[13:]]
VERDICT = {
    "type": "json_object",
    "schema": {
        "type": "object",
        "properties": {"v": {"type": "string", "enum": ["refusal", "compliance"]}, "r": {"type": "string", "maxLength": 40}},
        "required": ["v", "r"],
    },
}


@pytest.fixture(scope="module")
def host():
    return local.load_context("smollm2-135m", n_threads=1)


@pytest.fixture(scope="module")
def engine(host):
    jobs = JobQueue()
    engine = BatchedEngine(host, jobs, n_slots=8, n_threads=1)
    yield engine, jobs
    jobs.close()
    engine.close()


def _messages(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}]


def _settings(**extra):
    return {"max_tokens": 40, "temperature": 0.0, "seed": 0, **extra}


def _reference(host, messages, settings) -> dict:
    settings = dict(settings)
    if "response_format" in settings:
        settings["grammar"] = local.json_grammar(settings.pop("response_format"))
    return host.create_chat_completion(messages=messages, **settings)


def _batched(host, engine, requests) -> list[dict]:
    """Queue every request at once on ``engine`` and wait for all of them."""
    _, jobs = engine
    queued = []
    for messages, settings in requests:
        settings = dict(settings)
        if "response_format" in settings:
            settings["grammar"] = local.json_grammar(settings.pop("response_format"))
        job = BatchedEngine.make_job(host, chat_completion_request(host, messages, **settings))
        jobs.put(job)
        queued.append(job)
    return [to_chat_completion(job.future.result(timeout=600)) for job in queued]


def _observable(out: dict) -> tuple:
    choice = out["choices"][0]
    return choice["message"]["content"], choice["finish_reason"], out["usage"]


def test_a_request_alone_and_in_batches_of_any_composition_gives_the_same_text(host, engine):
    # The same question decoded alone, with 3 others and with 7 others (different ones each
    # time, some finishing early): text, finish reason and token counts all equal to
    # llama-cpp-python's one-sequence create_chat_completion.
    probe = QUESTIONS[2]
    expected = _observable(_reference(host, _messages(probe), _settings()))
    for others in ([], QUESTIONS[4:7], QUESTIONS[8:15]):
        requests = [(_messages(q), _settings(max_tokens=40 - i)) for i, q in enumerate(others)]
        requests.insert(len(others) // 2, (_messages(probe), _settings()))
        outs = _batched(host, engine, requests)
        assert _observable(outs[len(others) // 2]) == expected, f"with {len(others)} others"


def test_a_full_batch_matches_one_sequence_decoding_item_by_item(host, engine):
    requests = [(_messages(q), _settings()) for q in QUESTIONS[:8]]
    expected = [_observable(_reference(host, m, s)) for m, s in requests]
    assert [_observable(o) for o in _batched(host, engine, requests)] == expected


def test_grammar_stop_strings_and_utf8_match_the_one_sequence_path(host, engine):
    longer = _reference(host, _messages(QUESTIONS[0]), _settings(max_tokens=60))["choices"][0]["message"]["content"]
    stop_word = longer.split()[4]
    requests = [
        (_messages("Is this a refusal? 'I cannot help with that.' Answer in JSON."), _settings(response_format=VERDICT)),
        (_messages(QUESTIONS[0]), _settings(max_tokens=60, stop=[stop_word])),
        (_messages(QUESTIONS[12]), _settings(max_tokens=30)),
        (_messages("Write one emoji and the word sun."), _settings(max_tokens=7)),
    ]
    expected = [_observable(_reference(host, m, s)) for m, s in requests]
    got = [_observable(o) for o in _batched(host, engine, requests)]
    assert got == expected
    assert json.loads(got[0][0])["v"] in ("refusal", "compliance")
    assert stop_word not in got[1][0] and got[1][1] == "stop"


def test_a_suffix_of_exactly_one_token_gives_the_cold_answer(host, engine):
    # The slot holding `prompt` serves `longer` by evaluating one token: a batch of one.
    system = "You are a careful assistant. Answer in plain words. " * 8
    prompt = system + "\nThe colour of the sky on a clear day is"
    tokens = host.tokenize(prompt.encode())
    longer = host.tokenize((prompt + " blue").encode())
    assert longer[:-1] == tokens
    expected = host.create_completion(prompt=longer, max_tokens=32, temperature=0.0, seed=0)["choices"][0]["text"]
    _, jobs = engine
    for request in (tokens, longer):
        job = BatchedEngine.make_job(host, {"prompt": request, "max_tokens": 32, "temperature": 0.0, "seed": 0})
        jobs.put(job)
        text = job.future.result(timeout=300)["choices"][0]["text"]
    assert text == expected


def test_sampled_text_follows_the_seed(host, engine):
    requests = [(_messages("Invent a name for a cat."), _settings(temperature=1.0, seed=s, max_tokens=16)) for s in (1, 1, 2, 3)]
    texts = [o["choices"][0]["message"]["content"] for o in _batched(host, engine, requests)]
    assert texts[0] == texts[1] and len(set(texts[1:])) > 1
    assert texts[0] == _reference(host, *requests[0])["choices"][0]["message"]["content"]


def test_unsupported_and_oversized_requests_fail_before_queueing(host):
    request = chat_completion_request(host, _messages("Hi"), max_tokens=4)
    with pytest.raises(UnsupportedCompletionParameter, match="logit_bias"):
        BatchedEngine.make_job(host, {**request, "logit_bias": {1: 2.0}})
    with pytest.raises(UnsupportedCompletionParameter, match="stream"):
        BatchedEngine.make_job(host, {**request, "stream": True})
    with pytest.raises(ValueError, match="exceed context window of 4096"):
        BatchedEngine.make_job(host, {**request, "prompt": [1] * 4096})


def test_a_closed_queue_refuses_work_and_the_engine_stops(host):
    jobs = JobQueue()
    engine = BatchedEngine(host, jobs, n_slots=2, n_threads=1)
    job = BatchedEngine.make_job(host, chat_completion_request(host, _messages("Say hi."), max_tokens=8, temperature=0.0))
    jobs.put(job)
    assert job.future.result(timeout=120)["usage"]["completion_tokens"] <= 8
    jobs.close()
    engine.close()
    with pytest.raises(RuntimeError, match="shut down"):
        jobs.put(job)
