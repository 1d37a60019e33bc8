"""Tests of :mod:`ihl_lib.llm.transports`: the completion each path (direct HTTP and litellm) makes of a server's reply."""

from __future__ import annotations

import time

import litellm
import pytest

from ihl_lib.llm import RetryPolicy, complete, complete_many, usage_totals
from ihl_lib.testing.openai_server import Action, LoopbackServer
from tests.helpers import req, user


def test_answer_round_trip_and_typed_fields(api_key, cache, server):
    [r] = complete_many([req(server, "hello")], cache=cache, progress=False)
    assert r.ok and r.text == "echo: hello"
    assert r.finish_reason == "stop"
    assert r.response_model == "loop"
    assert r.prompt_tokens == 1 and r.completion_tokens == 2
    assert r.cost_usd is None  # no price known for a loopback model: never a made-up 0
    assert r.latency_s is not None and r.latency_s > 0
    assert r.from_cache is False and r.attempts == 1


def test_cost_comes_from_litellm_prices_when_known(api_key, cache, server):
    # A priced model id, served by the loopback server: litellm prices its usage.
    r = complete("openai/gpt-4o-mini-2024-07-18", user("price me please"), api_base=server.url, cache=cache)
    assert (r.prompt_tokens, r.completion_tokens) == (3, 4)  # "price me please" -> "echo: price me please"
    prompt_cost, completion_cost = litellm.cost_per_token(model="openai/gpt-4o-mini-2024-07-18", prompt_tokens=3, completion_tokens=4)
    assert r.cost_usd == pytest.approx(prompt_cost + completion_cost)  # each token at its own price
    totals = usage_totals([r])
    assert totals.loc["openai/gpt-4o-mini-2024-07-18", "cost_usd"] == pytest.approx(r.cost_usd)


def test_a_price_of_zero_reads_as_unknown_not_free(api_key, cache, server):
    # litellm's map prices this model at 0 a token: as often "no price known" as "free", so it is reported unknown.
    r = complete("openai/omni-moderation-latest", user("hi there"), api_base=server.url, cache=cache)
    assert r.ok and r.prompt_tokens == 2 and r.cost_usd is None


def test_the_request_crosses_the_wire_with_omitted_parameters_left_out(api_key, cache, server):
    messages = [{"role": "system", "content": "be brief"}, *user("hi there")]
    complete(
        "openai/loop",
        messages,
        api_base=server.url,
        cache=cache,
        max_tokens=33,
        temperature=0.2,
        seed=3,
        top_p=0.5,
        omit=("seed", "top_p"),
        extra_body={"repeat_penalty": 1.0},
        reasoning_effort="low",
        stop="END",
    )
    [seen] = server.requests
    assert seen.body == {
        "model": "loop",  # the provider prefix is litellm's routing, not the server's model name
        "messages": messages,
        "max_tokens": 33,
        "temperature": 0.2,
        "reasoning_effort": "low",
        "repeat_penalty": 1.0,
        "stop": "END",
    }


def test_a_reply_cut_by_the_budget_comes_back_truncated(api_key, cache, server):
    [r] = complete_many([req(server, "one two three", max_tokens=2)], cache=cache, progress=False)
    assert r.ok and r.text == "echo: one two three" and r.finish_reason == "length" and r.outcome == "truncated"
    assert r.usage == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def test_an_attempt_is_bounded_by_the_requests_timeout(api_key, cache):
    with LoopbackServer([Action.hang(2.0)]) as srv:
        started = time.monotonic()
        [r] = complete_many([req(srv, "slow", timeout=0.3)], cache=cache, retry=RetryPolicy(max_attempts=1), progress=False)
        elapsed = time.monotonic() - started
    assert not r.ok and r.error_kind == "timeout" and r.attempts == 1
    assert elapsed < 1.5  # the hang lasts 2 s: the client gave up at its own timeout
