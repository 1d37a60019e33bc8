"""Tests of :mod:`ihl_lib.llm.cache`: what the key covers, what is stored (never errors, never a credential), and cached reruns."""

from __future__ import annotations

from ihl_lib.llm import ChatRequest, RetryPolicy, cache_key, complete_many
from ihl_lib.testing.openai_server import Action, LoopbackServer
from tests.helpers import FAKE_KEY, req, user


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
        dict(reasoning_effort="low"),
        dict(omit=("seed",)),
        dict(extra_body={"repeat_penalty": 1.0}),
        dict(retry_budget=1024),
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
