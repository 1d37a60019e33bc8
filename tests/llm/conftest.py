"""Every test of :mod:`ihl_lib.llm` runs on both paths to an OpenAI-compatible server."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, params=["direct", "litellm"])
def transport(request, monkeypatch):
    """Every test here runs on both paths to an OpenAI-compatible server: ours and litellm's."""
    monkeypatch.setenv("IHL_TRANSPORT", request.param)
    return request.param
