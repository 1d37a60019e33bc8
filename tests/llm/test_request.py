"""Tests of :mod:`ihl_lib.llm.request`: every malformed request is refused, naming the field, before any call."""

from __future__ import annotations

import pytest

from ihl_lib.llm import ChatRequest, InvalidRequestError, complete_many
from tests.helpers import user


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
