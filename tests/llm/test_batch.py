"""Tests of :mod:`ihl_lib.llm.batch`: retries, fail-fast, concurrency and de-duplication against a real server on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from ihl_lib.llm import InvalidRequestError, ModelCallError, RetryPolicy, complete, complete_many
from ihl_lib.testing.openai_server import Action, LoopbackServer
from tests.helpers import FAST, req, user


@pytest.mark.parametrize(
    "fault",
    [Action.error(429, retry_after=0.05), Action.error(500), Action.error(503), Action.malformed(), Action.hang(3.0)],
    ids=["429", "500", "503", "malformed", "timeout"],
)
def test_transient_faults_are_retried_until_success(api_key, cache, fault):
    with LoopbackServer([fault, fault]) as srv:
        [r] = complete_many([req(srv, "x", timeout=0.5)], cache=cache, retry=FAST, progress=False)
        assert r.ok, r.error
        assert r.attempts == 3
        assert srv.request_count == 3


def test_retry_after_is_honoured(api_key, cache):
    with LoopbackServer([Action.error(429, retry_after=0.6)]) as srv:
        started = time.monotonic()
        [r] = complete_many([req(srv, "x")], cache=cache, retry=FAST, progress=False)
        elapsed = time.monotonic() - started
        assert r.ok and r.attempts == 2
        gap = srv.requests[1].arrived - srv.requests[0].arrived
        assert 0.6 <= gap < 1.5, gap  # FAST's own backoff would wait at most 0.05 s; Retry-After adds at most 10%
        assert elapsed >= 0.6


def test_a_retry_after_longer_than_the_policy_allows_is_capped(api_key, cache):
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=0.2)
    with LoopbackServer([Action.error(429, retry_after=30)]) as srv:
        [r] = complete_many([req(srv, "x")], cache=cache, retry=policy, progress=False)
        gap = srv.requests[1].arrived - srv.requests[0].arrived
    assert r.ok and r.attempts == 2
    assert 0.2 <= gap < 1.0, gap  # 0.2 s plus at most 10% jitter, never the server's 30 s


def test_gives_up_after_max_attempts_and_reports(api_key, cache):
    with LoopbackServer(lambda n, body: Action.error(500)) as srv:
        [r] = complete_many([req(srv, "x")], cache=cache, retry=FAST, progress=False)
        assert not r.ok and r.error_kind == "server" and r.attempts == 5
        assert "5 attempts" in r.error
        assert srv.request_count == 5


def test_401_fails_fast_naming_the_env_var(api_key, cache):
    with LoopbackServer(lambda n, body: Action.error(401)) as srv:
        results = complete_many([req(srv, f"q{i}") for i in range(6)], cache=cache, retry=FAST, max_concurrency=1, progress=False)
        assert srv.request_count == 1  # no retry, and the rest of the model's batch is not sent
        assert results[0].error_kind == "auth"
        assert "OPENAI_API_KEY" in results[0].error and "openai/loop" in results[0].error
        assert [r.error_kind for r in results[1:]] == ["skipped"] * 5
        with pytest.raises(ModelCallError, match="OPENAI_API_KEY") as info:
            complete("openai/loop", user("single"), api_base=srv.url, cache=cache, retry=FAST)
        assert info.value.kind == "auth"


def test_half_finished_batch_completes_without_repeating_successes(api_key, cache):
    # Every odd prompt fails on the first run; on the rerun everything answers.
    first_run = True

    def plan(n, body):
        text = body["messages"][-1]["content"]
        return Action.error(500) if first_run and int(text.split()[-1]) % 2 else Action.ok()

    with LoopbackServer(plan) as srv:
        batch = [req(srv, f"item {i}") for i in range(10)]
        results = complete_many(batch, cache=cache, retry=RetryPolicy(max_attempts=1), progress=False)
        assert [r.ok for r in results] == [i % 2 == 0 for i in range(10)]
        succeeded = {r.fingerprint for r in srv.successes()}
        first_run = False
        srv.reset()
        results = complete_many(batch, cache=cache, retry=RetryPolicy(max_attempts=1), progress=False)
        assert all(r.ok for r in results)
        resent = [r.body["messages"][-1]["content"] for r in srv.requests]
        assert sorted(resent) == sorted(f"item {i}" for i in range(1, 10, 2))
        assert not succeeded & {r.fingerprint for r in srv.requests}


def test_concurrency_bound_holds(api_key, cache):
    with LoopbackServer(latency=0.15) as srv:
        results = complete_many([req(srv, f"c{i}") for i in range(24)], cache=cache, max_concurrency=4, progress=False)
        assert all(r.ok for r in results)
        assert srv.max_in_flight == 4


def test_identical_requests_in_a_batch_are_sent_once(api_key, cache, server):
    batch = [req(server, "same", tag=i) for i in range(5)]
    results = complete_many(batch, cache=cache, progress=False)
    assert server.request_count == 1
    assert [r.tag for r in results] == list(range(5))
    assert len({r.text for r in results}) == 1


def test_bad_concurrency_and_unknown_parameter(api_key, cache, server):
    with pytest.raises(InvalidRequestError, match="max_concurrency"):
        complete_many([req(server, "x")], cache=cache, max_concurrency=0, progress=False)
    with pytest.raises(InvalidRequestError, match="temprature"):
        complete("openai/loop", user("x"), api_base=server.url, cache=cache, temprature=0)
    assert server.request_count == 0


def test_model_calls_can_be_disabled_for_analysis_only_paths(api_key, cache, server, monkeypatch):
    complete_many([req(server, "cached one")], cache=cache, progress=False)
    monkeypatch.setenv("IHL_NO_MODEL_CALLS", "1")
    [hit] = complete_many([req(server, "cached one")], cache=cache, progress=False)
    assert hit.from_cache
    with pytest.raises(ModelCallError, match="IHL_NO_MODEL_CALLS"):
        complete_many([req(server, "cached one"), req(server, "new one")], cache=cache, progress=False)
    assert server.request_count == 1


@pytest.mark.parametrize("first", [Action.ok(), Action.empty()], ids=["cut", "empty"])
def test_a_reply_cut_or_empty_is_retried_once_with_the_larger_budget_and_cached_as_such(api_key, cache, first):
    # "echo: one two three" is 4 words: cut at max_tokens=2, whole at the retry budget of 10.
    with LoopbackServer([first]) as srv:
        [r] = complete_many([req(srv, "one two three", max_tokens=2, retry_budget=10)], cache=cache, retry=FAST, progress=False)
        assert [q.body["max_tokens"] for q in srv.requests] == [2, 10]
        assert r.ok and r.outcome == "answered" and r.text == "echo: one two three"
        assert r.budget_retried is True and r.attempts == 2
        [again] = complete_many([req(srv, "one two three", max_tokens=2, retry_budget=10)], cache=cache, retry=FAST, progress=False)
        assert srv.request_count == 2  # the rerun is served from the cache, flag and all
    assert again.from_cache and again.budget_retried is True and again.text == r.text


def test_a_whole_reply_is_not_retried_for_budget(api_key, cache, server):
    [r] = complete_many([req(server, "one two", max_tokens=8, retry_budget=16)], cache=cache, progress=False)
    assert r.outcome == "answered" and not r.budget_retried and r.attempts == 1
    assert [q.body["max_tokens"] for q in server.requests] == [8]
