"""Shared fixtures: a real OpenAI-compatible server on loopback, an isolated cache, and a tiny prompt file."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.data import load_prompts
from ihl_lib.llm import ResponseCache
from ihl_lib.testing.openai_server import LoopbackServer
from tests.helpers import FAKE_KEY


@pytest.fixture(autouse=True)
def _close_the_caches_a_test_opened():
    """``get_cache`` keeps every cache it opens in a module-level registry: close and forget those a test added."""
    from ihl_lib.llm import cache as cache_module

    before = set(cache_module._default_caches)
    yield
    for key in set(cache_module._default_caches) - before:
        cache_module._default_caches.pop(key).close()


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A recognisable fake OpenAI key in the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    return FAKE_KEY


@pytest.fixture
def cache(tmp_path) -> ResponseCache:
    store = ResponseCache(tmp_path / "cache")
    yield store
    store.close()


@pytest.fixture
def server():
    """A loopback server answering every request normally; tests may swap ``server._plan``."""
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def prompts(tmp_path) -> pd.DataFrame:
    """Six prompts of a user's own file (rules 1-6), loaded as a prompt set named ``tiny``."""
    rows = [
        {"prompt_id": f"T{i:02d}", "rule_id": i + 1, "variant": "a", "prompt": f"Test request number {i} to break rule {i + 1}."}
        for i in range(6)
    ]
    path = tmp_path / "tiny.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return load_prompts(path)
