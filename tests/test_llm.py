"""Model calls against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from conftest import FAKE_KEY, user

from ihl_lib.llm import (
    ChatRequest,
    InvalidRequestError,
    ModelCallError,
    RetryPolicy,
    cache_key,
    complete,
    complete_many,
    usage_totals,
)
from ihl_lib.testing.openai_server import Action, LoopbackServer

FAST = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05)


@pytest.fixture(autouse=True, params=["direct", "litellm"])
def transport(request, monkeypatch):
    """Every test here runs on both paths to an OpenAI-compatible server: ours and litellm's."""
    monkeypatch.setenv("IHL_TRANSPORT", request.param)
    return request.param


def req(server: LoopbackServer, text: str, **kw) -> ChatRequest:
    return ChatRequest(model="openai/loop", messages=user(text), api_base=server.url, timeout=kw.pop("timeout", 5.0), **kw)


def test_answer_round_trip_and_typed_fields(api_key, cache, server):
    [r] = complete_many([req(server, "hello")], cache=cache, progress=False)
    assert r.ok and r.text == "echo: hello"
    assert r.finish_reason == "stop"
    assert r.response_model == "loop"
    assert r.prompt_tokens == 1 and r.completion_tokens == 2
    assert r.cost_usd is None  # no price known for a loopback model: never a made-up 0
    assert r.latency_s is not None and r.latency_s > 0
    assert r.from_cache is False and r.attempts == 1


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
        assert gap >= 0.6, gap  # FAST's own backoff would wait at most 0.05 s
        assert elapsed >= 0.6


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


@pytest.mark.parametrize("status,kind", [(400, "bad_request"), (403, "auth"), (404, "not_found")])
def test_other_client_errors_fail_fast(api_key, cache, status, kind):
    with LoopbackServer(lambda n, body: Action.error(status)) as srv:
        [r] = complete_many([req(srv, "x")], cache=cache, retry=FAST, progress=False)
        assert r.error_kind == kind and srv.request_count == 1
        assert "openai/loop" in r.error


def test_missing_key_names_the_env_var(monkeypatch, cache, server):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelCallError, match="OPENAI_API_KEY"):
        complete("openai/loop", user("x"), api_base=server.url, cache=cache, retry=FAST)


def test_errors_and_empty_replies_are_not_cached(api_key, cache):
    with LoopbackServer([Action.error(500), Action.empty()]) as srv:
        one = RetryPolicy(max_attempts=1)
        [failed] = complete_many([req(srv, "a")], cache=cache, retry=one, progress=False)
        [empty] = complete_many([req(srv, "b")], cache=cache, retry=one, progress=False)
        assert failed.error_kind == "server" and empty.error_kind == "empty"
        assert len(cache) == 0
        again = complete_many([req(srv, "a"), req(srv, "b")], cache=cache, retry=one, progress=False)
        assert all(r.ok and not r.from_cache for r in again)
        assert srv.request_count == 4 and len(cache) == 2


def test_cached_rerun_makes_no_network_call(api_key, cache, server):
    batch = [req(server, f"prompt {i}") for i in range(20)]
    first = complete_many(batch, cache=cache, progress=False)
    sent = server.request_count
    assert sent == 20
    second = complete_many(batch, cache=cache, progress=False)
    assert server.request_count == sent
    assert all(r.from_cache for r in second)
    assert [r.text for r in second] == [r.text for r in first]


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


def test_api_key_never_reaches_the_cache_directory(api_key, cache, server, tmp_path):
    complete_many([req(server, f"k{i}") for i in range(5)], cache=cache, progress=False)
    cache.close()
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert files, "the cache wrote nothing"
    for path in files:
        assert FAKE_KEY.encode() not in path.read_bytes(), path
    assert all(r.authorization_present for r in server.requests)  # the key was really in use


def test_cache_key_covers_what_changes_the_answer():
    base = ChatRequest(model="openai/m", messages=user("x"), api_base="http://127.0.0.1:9/v1")
    variants = [
        dict(model="openai/n"),
        dict(messages=user("y")),
        dict(temperature=0.5),
        dict(max_tokens=7),
        dict(top_p=0.9),
        dict(seed=1),
        dict(stop=["\n"]),
        dict(api_base="http://127.0.0.1:10/v1"),
        dict(sample_index=1),
        dict(namespace="judge-v2"),
        dict(response_format={"type": "json_object"}),
    ]
    keys = {cache_key(base)}
    for change in variants:
        keys.add(cache_key(ChatRequest(**{**base.__dict__, **change})))
    assert len(keys) == len(variants) + 1
    # What does not change the answer does not change the key.
    assert cache_key(ChatRequest(**{**base.__dict__, "timeout": 9, "tag": "t"})) == cache_key(base)
    # Credentials embedded in api_base never enter the key.
    with_creds = ChatRequest(**{**base.__dict__, "api_base": "http://user:secret@127.0.0.1:9/v1/"})
    assert cache_key(with_creds) == cache_key(base)


@pytest.mark.parametrize(
    "change,field",
    [
        (dict(model="gpt-9-turbo-unknown"), "model"),
        (dict(model="local/no-such-model"), "model"),
        (dict(messages=[]), "messages"),
        (dict(messages="hello"), "messages"),
        (dict(messages=[{"role": "robot", "content": "x"}]), "role"),
        (dict(messages=[{"role": "user", "content": ""}]), "content"),
        (dict(messages=[{"role": "system", "content": "s"}]), "messages"),
        (dict(temperature=-0.1), "temperature"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(max_tokens=0), "max_tokens"),
        (dict(max_tokens=10**9), "max_tokens"),
        (dict(max_tokens=1.5), "max_tokens"),
        (dict(top_p=0), "top_p"),
        (dict(seed=-1), "seed"),
        (dict(timeout=0), "timeout"),
        (dict(stop=["a", "b", "c", "d", "e"]), "stop"),
        (dict(api_base="127.0.0.1:8000"), "api_base"),
        (dict(response_format={"type": "xml"}), "response_format"),
    ],
)
def test_bad_input_fails_before_any_call(api_key, cache, server, change, field):
    good = dict(model="openai/loop", messages=user("fine"), api_base=server.url)
    batch = [ChatRequest(**good), ChatRequest(**{**good, **change})]
    with pytest.raises(InvalidRequestError, match=field) as info:
        complete_many(batch, cache=cache, progress=False)
    assert "request 1" in str(info.value)
    assert server.request_count == 0


def test_bad_concurrency_and_unknown_parameter(api_key, cache, server):
    with pytest.raises(InvalidRequestError, match="max_concurrency"):
        complete_many([req(server, "x")], cache=cache, max_concurrency=0, progress=False)
    with pytest.raises(InvalidRequestError, match="temprature"):
        complete("openai/loop", user("x"), api_base=server.url, cache=cache, temprature=0)
    assert server.request_count == 0


def test_usage_totals_per_model(api_key, cache, server):
    batch = [req(server, "one two"), req(server, "three")]
    first = complete_many(batch, cache=cache, progress=False)
    second = complete_many(batch + [req(server, "four")], cache=cache, progress=False)
    totals = usage_totals(first + second)
    row = totals.loc["openai/loop"]
    assert row["calls"] == 5 and row["cached"] == 2 and row["failed"] == 0
    assert row["prompt_tokens"] == 2 * (2 + 1) + 1
    assert row["cost_known"] == 0 and pd.isna(row["cost_usd"])  # unknown, not 0


def test_cost_comes_from_litellm_prices_when_known(api_key, cache, server):
    # A priced model id, served by the loopback server: litellm prices its usage.
    r = complete("openai/gpt-4o-mini-2024-07-18", user("price me please"), api_base=server.url, cache=cache)
    assert r.cost_usd is not None and 0 < r.cost_usd < 0.001
    totals = usage_totals([r])
    assert totals.loc["openai/gpt-4o-mini-2024-07-18", "cost_usd"] == pytest.approx(r.cost_usd)


def test_model_calls_can_be_disabled_for_analysis_only_paths(api_key, cache, server, monkeypatch):
    complete_many([req(server, "cached one")], cache=cache, progress=False)
    monkeypatch.setenv("IHL_NO_MODEL_CALLS", "1")
    [hit] = complete_many([req(server, "cached one")], cache=cache, progress=False)
    assert hit.from_cache
    with pytest.raises(ModelCallError, match="IHL_NO_MODEL_CALLS"):
        complete_many([req(server, "cached one"), req(server, "new one")], cache=cache, progress=False)
    assert server.request_count == 1


def test_both_paths_send_the_same_body(api_key, cache, server, monkeypatch, tmp_path):
    from ihl_lib.llm import self_hosted

    params = dict(temperature=0.3, max_tokens=17, top_p=0.9, seed=5, stop=["END"], response_format={"type": "json_object"})
    bodies = {}
    for path in ("direct", "litellm"):
        monkeypatch.setenv("IHL_TRANSPORT", path)
        server.reset()
        complete("openai/loop", user("same body"), api_base=server.url, cache=tmp_path / path, **params)
        [seen] = server.requests
        assert seen.authorization_present
        bodies[path] = seen.body
    assert bodies["direct"] == {k: v for k, v in bodies["litellm"].items() if k in bodies["direct"]}
    assert set(bodies["direct"]) == {"model", "messages", *params}
    assert self_hosted.uses_direct_path("openai", server.url) is False  # IHL_TRANSPORT=litellm is still set
    monkeypatch.delenv("IHL_TRANSPORT")
    assert self_hosted.uses_direct_path("openai", server.url) and not self_hosted.uses_direct_path("openai", None)
    assert not self_hosted.uses_direct_path("anthropic", server.url)
