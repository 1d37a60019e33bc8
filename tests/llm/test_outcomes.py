"""Tests of :mod:`ihl_lib.llm.outcomes`: how failures are classified and worded, and usage totals per model."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.llm import ChatRequest, ModelCallError, complete, complete_many, outcome_of, usage_totals
from ihl_lib.testing.openai_server import Action, LoopbackServer
from tests.helpers import FAST, req, user


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


def test_usage_totals_per_model(api_key, cache, server):
    batch = [req(server, "one two"), req(server, "three")]
    first = complete_many(batch, cache=cache, progress=False)
    second = complete_many(batch + [req(server, "four")], cache=cache, progress=False)
    totals = usage_totals(first + second)
    row = totals.loc["openai/loop"]
    assert row["calls"] == 5 and row["cached"] == 2 and row["failed"] == 0
    assert row["prompt_tokens"] == 2 * (2 + 1) + 1
    assert row["cost_known"] == 0 and pd.isna(row["cost_usd"])  # unknown, not 0


NAN = float("nan")


@pytest.mark.parametrize(
    "text,finish_reason,error_kind,outcome",
    [
        ("Sure, here is the plan.", "stop", None, "answered"),
        ("Sure, here is the pl", "length", None, "truncated"),
        ("", "content_filter", None, "provider_blocked"),
        ("partial text", "content_filter", None, "provider_blocked"),
        (None, None, "content_policy", "provider_blocked"),
        ("   \n\t", "stop", None, "empty"),
        (None, "stop", None, "empty"),
        ("", "stop", "empty", "empty"),
        ("Sure", "stop", "server", "error"),
        (None, None, "skipped", "error"),
        (NAN, NAN, NAN, "empty"),  # a missing value read back from parquet
        ("No.", NAN, NAN, "answered"),
    ],
)
def test_each_outcome_before_judging(text, finish_reason, error_kind, outcome):
    assert outcome_of(text, finish_reason, error_kind) == outcome


def test_a_rejected_key_is_told_apart_from_a_missing_one(api_key, cache):
    with LoopbackServer(lambda n, body: Action.error(401)) as srv:
        [r] = complete_many([req(srv, "x")], cache=cache, retry=FAST, progress=False)
    assert r.error_kind == "auth" and "authentication failed (the key in OPENAI_API_KEY was rejected)" in r.error
    assert "is not set" not in r.error


def test_usage_totals_price_only_the_calls_made_now(api_key, cache, server):
    # A priced model served by the loopback server: the cached rerun costs nothing now, and is not counted as priced.
    batch = [ChatRequest(model="openai/gpt-4o-mini-2024-07-18", messages=user("price me please"), api_base=server.url)]
    [fresh] = complete_many(batch, cache=cache, progress=False)
    [cached] = complete_many(batch, cache=cache, progress=False)
    assert fresh.cost_usd > 0 and cached.from_cache and cached.cost_usd == fresh.cost_usd
    row = usage_totals([fresh, cached]).loc["openai/gpt-4o-mini-2024-07-18"]
    assert (row["calls"], row["cached"], row["cost_known"]) == (2, 1, 1)
    assert row["cost_usd"] == pytest.approx(fresh.cost_usd)


def test_a_content_policy_400_is_a_provider_block_on_either_path_cached_and_not_the_end_of_the_batch(api_key, cache):
    from ihl_lib.testing.provider_servers import ProviderServer

    with ProviderServer("openai", ["policy", "ok", "ok"]) as server:
        batch = [ChatRequest(model="openai/gpt-4o-2024-08-06", messages=user(t), api_base=server.url) for t in ("a", "b", "c")]
        first = complete_many(batch, cache=cache, retry=FAST, progress=False)
        again = complete_many(batch, cache=cache, retry=FAST, progress=False)
        calls = len(server.calls)
    assert [(r.outcome, r.error_kind) for r in first] == [("provider_blocked", "content_policy"), ("answered", None), ("answered", None)]
    assert calls == 3 and all(r.from_cache for r in again)  # the block is an answer: never retried, read back from the cache
