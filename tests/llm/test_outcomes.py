"""Tests of :mod:`ihl_lib.llm.outcomes`: how failures are classified and worded, and usage totals per model."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.llm import ModelCallError, complete, complete_many, usage_totals
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
