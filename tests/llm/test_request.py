"""Tests of :mod:`ihl_lib.llm.request`: every malformed request is refused, naming the field, before any call."""

from __future__ import annotations

import pytest

from ihl_lib.llm import ChatRequest, InvalidRequestError, clean_api_base, complete_many, validate_request
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


@pytest.mark.parametrize(
    "change,field",
    [
        (dict(reasoning_effort="extreme"), "reasoning_effort"),
        (dict(omit=("temperature", "max_tokens")), "omit"),
        (dict(omit=["seed"]), "omit"),
        (dict(max_tokens=100, retry_budget=100), "retry_budget"),
        (dict(retry_budget=2.5), "retry_budget"),
    ],
)
def test_bad_reasoning_settings_are_refused_naming_the_field(change, field):
    request = ChatRequest(model="openai/loop", messages=user("fine"), api_base="http://127.0.0.1:9/v1", **change)
    with pytest.raises(InvalidRequestError, match=rf"^request 3: field '{field}': "):
        validate_request(request, 3)


def test_the_edges_of_every_range_are_accepted():
    edges = ChatRequest(
        model="openai/loop",
        messages=[{"role": "developer", "content": "d"}, *user("fine")],
        api_base="http://127.0.0.1:9/v1",
        temperature=2,
        max_tokens=100,
        retry_budget=101,
        top_p=1,
        seed=0,
        stop=["a", "b", "c", "d"],
        timeout=3600,
        reasoning_effort="high",
        omit=("temperature", "top_p", "seed"),
    )
    validate_request(edges)  # raises on any bound that is off by one


def test_the_api_base_in_a_key_or_a_label_keeps_no_credential():
    assert clean_api_base("https://user:pw@host.example:8443/v1/?api-key=secret#frag") == "https://host.example:8443/v1"
    assert clean_api_base("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1"
    assert clean_api_base("") is None and clean_api_base(None) is None
