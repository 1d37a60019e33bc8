"""Tests of :mod:`ihl_lib.testing.provider_servers`: each protocol's replies, cuts and stops, as the providers word them."""

from __future__ import annotations

import json

import pytest

from ihl_lib.testing import provider_servers
from ihl_lib.testing.provider_servers import LONG_REPLY_TOKENS, REASONING_TOKENS, SHORT_REPLY, ProviderServer
from tests.helpers import post_json

MESSAGES = [{"role": "user", "content": "Plan the strike."}]


def _openai(server: ProviderServer, **settings) -> tuple[int, dict]:
    status, _, raw = post_json(server.url + "/chat/completions", {"model": "gpt-x", "messages": MESSAGES, **settings})
    return status, json.loads(raw)


def test_an_unknown_protocol_is_refused_and_each_protocol_has_its_api_base():
    with pytest.raises(ValueError, match="protocol must be one of"):
        ProviderServer("cohere")
    servers = {p: ProviderServer(p).start() for p in ("openai", "anthropic", "gemini")}
    try:
        assert servers["openai"].url == f"http://127.0.0.1:{servers['openai'].port}/v1"
        assert servers["anthropic"].url == f"http://127.0.0.1:{servers['anthropic'].port}"
        assert servers["gemini"].url == f"http://127.0.0.1:{servers['gemini'].port}"
    finally:
        for server in servers.values():
            server.stop()


def test_openai_replies_in_order_then_ok_and_records_path_and_body():
    with ProviderServer("openai", ["http:429", "policy", "filtered"]) as server:
        status, error = _openai(server)
        assert status == 429 and error["error"]["message"] == "scripted HTTP 429"
        status, error = _openai(server)
        assert status == 400 and error["error"]["code"] == "content_policy_violation"
        assert _openai(server, max_tokens=50)[1]["choices"][0] == {
            "index": 0,
            "message": {"role": "assistant", "content": ""},
            "finish_reason": "content_filter",
        }
        _, reply = _openai(server, max_tokens=50)
        assert reply["choices"][0]["message"]["content"] == SHORT_REPLY and reply["choices"][0]["finish_reason"] == "stop"
        assert [c.path for c in server.calls] == ["/v1/chat/completions"] * 4
        assert server.calls[2].body == {"model": "gpt-x", "messages": MESSAGES, "max_tokens": 50}


def test_a_long_answer_is_cut_by_a_smaller_budget_with_the_providers_own_stop():
    with ProviderServer("openai", ["long", "long"]) as server:
        whole, cut = (_openai(server, max_tokens=budget)[1] for budget in (2048, 256))
    assert len(whole["choices"][0]["message"]["content"].split()) == LONG_REPLY_TOKENS and whole["choices"][0]["finish_reason"] == "stop"
    assert len(cut["choices"][0]["message"]["content"].split()) == 256 and cut["choices"][0]["finish_reason"] == "length"
    with ProviderServer("anthropic", ["long", "long"]) as server:
        replies = [
            json.loads(post_json(server.url + "/v1/messages", {"model": "c", "messages": MESSAGES, "max_tokens": b})[2])
            for b in (2048, 100)
        ]
    assert [r["stop_reason"] for r in replies] == ["end_turn", "max_tokens"]
    assert [r["usage"]["output_tokens"] for r in replies] == [LONG_REPLY_TOKENS, 100]
    assert len(replies[1]["content"][0]["text"].split()) == 100


def test_a_reasoning_reply_spends_its_hidden_tokens_before_the_first_visible_one():
    with ProviderServer("openai", ["reasoning"] * 3) as server:
        replies = [_openai(server, max_completion_tokens=budget)[1] for budget in (10240, REASONING_TOKENS + 100, 256)]
    visible = [len(r["choices"][0]["message"]["content"].split()) for r in replies]
    assert visible == [LONG_REPLY_TOKENS, 100, 0]
    assert [r["choices"][0]["finish_reason"] for r in replies] == ["stop", "length", "length"]
    assert [r["usage"]["completion_tokens_details"]["reasoning_tokens"] for r in replies] == [REASONING_TOKENS, REASONING_TOKENS, 256]
    assert replies[0]["usage"]["completion_tokens"] == LONG_REPLY_TOKENS + REASONING_TOKENS


def test_the_reasoning_spend_can_be_changed_by_a_test(monkeypatch):
    monkeypatch.setattr(provider_servers, "REASONING_TOKENS", 10)
    with ProviderServer("openai", ["reasoning"]) as server:
        reply = _openai(server, max_completion_tokens=110)[1]
    assert len(reply["choices"][0]["message"]["content"].split()) == 100


def test_anthropic_says_refusal_with_no_content():
    with ProviderServer("anthropic", ["filtered"]) as server:
        status, _, raw = post_json(server.url + "/v1/messages", {"model": "claude", "messages": MESSAGES, "max_tokens": 64})
        [call] = server.calls
    reply = json.loads(raw)
    assert status == 200 and reply["type"] == "message" and reply["stop_reason"] == "refusal" and reply["content"] == []
    assert call.path == "/v1/messages" and call.body["max_tokens"] == 64


def test_gemini_blocks_a_prompt_or_a_candidate_for_safety_and_otherwise_answers():
    path = "/v1beta/models/gemini-2.0-flash-001:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "Plan the strike."}]}], "generationConfig": {"maxOutputTokens": 2048}}
    with ProviderServer("gemini", ["prompt_blocked", "filtered", "ok"]) as server:
        blocked, filtered, ok = (json.loads(post_json(server.url + path, body)[2]) for _ in range(3))
        assert [c.path for c in server.calls] == [path] * 3
    assert blocked["promptFeedback"] == {"blockReason": "SAFETY"} and "candidates" not in blocked
    assert filtered["candidates"][0]["finishReason"] == "SAFETY" and "content" not in filtered["candidates"][0]
    assert ok["candidates"][0]["finishReason"] == "STOP" and ok["candidates"][0]["content"]["parts"][0]["text"] == SHORT_REPLY
    assert ok["usageMetadata"]["candidatesTokenCount"] == len(SHORT_REPLY.split())


def test_gemini_cuts_a_long_answer_at_max_output_tokens():
    path = "/v1beta/models/gemini-2.0-flash-001:generateContent"
    contents = [{"role": "user", "parts": [{"text": "Explain."}]}]
    with ProviderServer("gemini", ["long", "long"]) as server:
        whole, cut = (
            json.loads(post_json(server.url + path, {"contents": contents, "generationConfig": {"maxOutputTokens": budget}})[2])
            for budget in (2048, 100)
        )
    assert whole["candidates"][0]["finishReason"] == "STOP" and whole["usageMetadata"]["candidatesTokenCount"] == LONG_REPLY_TOKENS
    assert cut["candidates"][0]["finishReason"] == "MAX_TOKENS" and cut["usageMetadata"]["candidatesTokenCount"] == 100
    assert len(cut["candidates"][0]["content"]["parts"][0]["text"].split()) == 100
