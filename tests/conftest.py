"""Shared fixtures: a real OpenAI-compatible server on loopback, and an isolated cache."""

from __future__ import annotations

import pytest

from ihl_lib.llm import ResponseCache
from ihl_lib.testing.openai_server import LoopbackServer

FAKE_KEY = "sk-loopback-test-key-5f3c9a1e7d2b"


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


def load_tool(name: str):
    """A script of ``tools/`` imported as a module (they are scripts, not a package)."""
    import importlib.util

    from ihl_lib.paths import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]
