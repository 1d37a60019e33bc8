"""Tests of :mod:`ihl_lib.llm.self_hosted`: the direct path sends what litellm sends, and is chosen only for a self-hosted server."""

from __future__ import annotations

from ihl_lib.llm import ChatRequest, complete
from tests.helpers import user


def test_both_paths_send_the_same_body(api_key, cache, server, monkeypatch, tmp_path):
    from ihl_lib.llm import self_hosted

    params = dict(temperature=0.3, max_tokens=17, top_p=0.9, seed=5, stop=["END"], response_format={"type": "json_object"})
    bodies = {}
    for path in ("direct", "litellm"):
        monkeypatch.setenv("IHL_TRANSPORT", path)
        server.reset()
        complete("openai/loop", user("same body"), api_base=server.url, cache=tmp_path / path, **params)
        [seen] = server.requests
        assert seen.authorization_present
        bodies[path] = seen.body
    assert bodies["direct"] == {k: v for k, v in bodies["litellm"].items() if k in bodies["direct"]}
    assert set(bodies["direct"]) == {"model", "messages", *params}
    assert self_hosted.uses_direct_path("openai", server.url) is False  # IHL_TRANSPORT=litellm is still set
    monkeypatch.delenv("IHL_TRANSPORT")
    assert self_hosted.uses_direct_path("openai", server.url) and not self_hosted.uses_direct_path("openai", None)
    assert not self_hosted.uses_direct_path("anthropic", server.url)


def test_the_direct_body_names_the_served_model_and_sends_only_what_is_set(monkeypatch):
    from ihl_lib.llm import self_hosted

    request = ChatRequest(
        model="openai/meta-llama/Llama-3.3-70B-Instruct",
        messages=user("x"),
        api_base="http://127.0.0.1:9/v1",
        temperature=0.7,
        seed=4,
        omit=("seed",),
        stop=("a", "b"),
        response_format={"type": "json_object"},
    )
    assert self_hosted.body(request) == {
        "model": "meta-llama/Llama-3.3-70B-Instruct",  # the served name keeps its "/": only the provider prefix goes
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 512,
        "temperature": 0.7,
        "stop": ["a", "b"],
        "response_format": {"type": "json_object"},
    }
    monkeypatch.setenv("IHL_TRANSPORT", "LiteLLM")  # the switch is read whatever its case
    assert not self_hosted.uses_direct_path("openai", "http://127.0.0.1:9/v1")
