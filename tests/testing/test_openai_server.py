"""Tests of :mod:`ihl_lib.testing.openai_server`: the loopback server answers by its plan, and records what crossed the wire."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from ihl_lib.testing.openai_server import Action, FaultPlan, LoopbackServer, echo_text, request_fingerprint
from tests.helpers import LOOPBACK_OPENER, post_json


def _ask(server: LoopbackServer, text: str = "hi", **extra) -> tuple[int, dict, bytes]:
    body = {"model": "loop", "messages": [{"role": "user", "content": text}], **extra}
    return post_json(server.url + "/chat/completions", body)


def _content(raw: bytes) -> str:
    return json.loads(raw)["choices"][0]["message"]["content"]


def test_a_sequence_of_actions_is_played_in_order_then_every_request_is_answered():
    with LoopbackServer([Action.error(503, retry_after=0.25), Action.empty(), Action.ok("fixed")]) as srv:
        status, headers, _ = _ask(srv)
        assert status == 503 and headers["Retry-After"] == "0.25" and headers["retry-after-ms"] == "250"
        assert _content(_ask(srv)[2]) == ""
        assert _content(_ask(srv)[2]) == "fixed"
        assert _content(_ask(srv, "again")[2]) == "echo: again"
        assert srv.request_count == 4 and [r.action.kind for r in srv.requests] == ["status", "empty", "ok", "ok"]
        assert [r.n for r in srv.requests] == [0, 1, 2, 3]


def test_a_plan_function_sees_the_request_number_and_body():
    seen = []

    def plan(n, body):
        seen.append((n, body["messages"][-1]["content"]))
        return Action.error(404) if "missing" in body["messages"][-1]["content"] else Action.ok(f"reply {n}")

    with LoopbackServer(plan) as srv:
        assert _ask(srv, "first")[2] and _content(_ask(srv, "second")[2]) == "reply 1"
        status, _, raw = _ask(srv, "missing model")
        assert status == 404 and json.loads(raw)["error"]["code"] == 404 and "Retry-After" not in _ask(srv, "missing")[1]
    assert seen[:3] == [(0, "first"), (1, "second"), (2, "missing model")]


def test_an_answer_is_a_chat_completion_with_usage_counted_in_words():
    body = {
        "model": "openai-name",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "two words"},
        ],
    }
    with LoopbackServer() as srv:
        status, _, raw = post_json(srv.url + "/chat/completions", body)
        reply = json.loads(raw)
    assert status == 200 and reply["object"] == "chat.completion" and reply["model"] == "openai-name"
    [choice] = reply["choices"]
    assert choice["message"] == {"role": "assistant", "content": "echo: two words"} and choice["finish_reason"] == "stop"
    assert reply["usage"] == {"prompt_tokens": 2 + 2 + 1 + 2, "completion_tokens": 3, "total_tokens": 10}


def test_a_reply_as_long_as_the_budget_is_cut_and_the_model_name_can_be_fixed():
    with LoopbackServer(model_name="served-model") as srv:
        cut = json.loads(_ask(srv, "one two three", max_tokens=3)[2])
        whole = json.loads(_ask(srv, "one two three", max_tokens=5)[2])
        reasoning = json.loads(_ask(srv, "one", max_completion_tokens=2)[2])
        listed = json.loads(LOOPBACK_OPENER.open(srv.url + "/models", timeout=10).read())
    assert cut["choices"][0]["finish_reason"] == "length" and whole["choices"][0]["finish_reason"] == "stop"
    assert reasoning["choices"][0]["finish_reason"] == "length"  # max_completion_tokens counts as the budget too
    assert cut["model"] == "served-model" and listed["data"][0]["id"] == "served-model"


def test_a_malformed_reply_is_not_json_and_a_request_that_is_not_json_is_refused_uncounted():
    with LoopbackServer([Action.malformed()]) as srv:
        status, _, raw = _ask(srv)
        assert status == 200
        with pytest.raises(ValueError):
            json.loads(raw)
        status, _, raw = post_json(srv.url + "/chat/completions", b"{not json")
        assert status == 400 and json.loads(raw)["error"]["type"] == "invalid_request_error"
        assert srv.request_count == 1 and len(srv.requests) == 1


def test_both_paths_are_served_and_what_arrived_is_recorded():
    with LoopbackServer() as srv:
        base = srv.url.removesuffix("/v1")
        assert post_json(base + "/chat/completions", {"messages": [{"role": "user", "content": "a"}]})[0] == 200
        assert post_json(srv.url + "/chat/completions", {"messages": [{"role": "user", "content": "b"}]}, key=None)[0] == 200
        first, second = srv.requests
    assert first.body["messages"][0]["content"] == "a" and second.body["messages"][0]["content"] == "b"
    assert first.authorization_present and not second.authorization_present
    assert first.completed and second.completed and first.arrived <= second.arrived


def test_without_recorded_bodies_the_fingerprint_is_still_kept():
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 0}
    with LoopbackServer(record_bodies=False) as srv:
        post_json(srv.url + "/chat/completions", body)
        [recorded] = srv.requests
    assert recorded.body == {} and recorded.fingerprint == request_fingerprint(body)


def test_the_fingerprint_covers_the_content_of_a_request_and_nothing_else():
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 0, "max_tokens": 5}
    same = {"max_tokens": 5, "temperature": 0, "messages": [{"role": "user", "content": "x"}], "model": "m", "stream": False}
    assert request_fingerprint(body) == request_fingerprint(same)  # key order and fields outside the content do not count
    changes = (
        {"temperature": 1},
        {"max_tokens": 6},
        {"seed": 1},
        {"stop": ["END"]},
        {"top_p": 0.5},
        {"model": "n"},
        {"messages": [{"role": "user", "content": "y"}]},
    )
    for change in changes:
        assert request_fingerprint({**body, **change}) != request_fingerprint(body), change


def test_echo_text_reads_the_last_user_turn_in_either_content_form():
    assert echo_text({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}) == "echo: a"
    parts = [{"type": "text", "text": "hello"}, {"type": "text", "text": "there"}]
    assert echo_text({"messages": [{"role": "user", "content": parts}]}) == "echo: hello there"
    assert echo_text({"messages": [{"role": "system", "content": "s"}]}) == "echo: " and echo_text({}) == "echo: "


def test_latency_hangs_and_requests_in_flight_are_measured():
    with LoopbackServer(latency=0.3) as srv:
        threads = [threading.Thread(target=_ask, args=(srv, f"q{i}")) for i in range(4)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert time.monotonic() - started < 4 * 0.3  # answered concurrently: no limit of its own
        assert srv.max_in_flight == 4 and srv.in_flight == 0 and len(srv.successes()) == 4
    with LoopbackServer([Action.hang(0.4)]) as srv:
        started = time.monotonic()
        assert _content(_ask(srv, "slow")[2]) == "echo: slow"
        assert time.monotonic() - started >= 0.4 and [r.action.kind for r in srv.successes()] == ["hang"]


def test_only_well_formed_answers_count_as_successes_and_reset_starts_the_plan_again():
    with LoopbackServer([Action.error(500), Action.malformed(), Action.ok("third")]) as srv:
        for _ in range(3):
            _ask(srv)
        assert [r.action.kind for r in srv.successes()] == ["ok"]
        srv.reset()
        assert srv.request_count == 0 and srv.requests == [] and srv.successes() == []
        assert _ask(srv)[0] == 500  # the sequence plays from its start again


def test_a_fault_plan_is_the_same_for_the_same_seed_and_request_number():
    shares = dict(p429=0.2, p500=0.1, phang=0.05, pmalformed=0.05)
    plan = FaultPlan(seed=7, retry_after=0.5, hang_seconds=2.0, **shares)
    actions = [plan(n, {}) for n in range(4000)]
    assert actions == [FaultPlan(seed=7, retry_after=0.5, hang_seconds=2.0, **shares)(n, {"any": "body"}) for n in range(4000)]
    assert actions != [FaultPlan(seed=8, **shares)(n, {}) for n in range(4000)]
    counts = Counter((a.kind, a.status) for a in actions)
    for (kind, status), share in (
        (("status", 429), 0.2),
        (("status", 500), 0.1),
        (("hang", 200), 0.05),
        (("malformed", 200), 0.05),
        (("ok", 200), 0.6),
    ):
        assert abs(counts[(kind, status)] / 4000 - share) < 0.03, (kind, status, counts)
    assert {a.retry_after for a in actions if a.status == 429} == {0.5} and {a.seconds for a in actions if a.kind == "hang"} == {2.0}
    assert {FaultPlan()(n, {}).kind for n in range(100)} == {"ok"} and {FaultPlan(p500=1.0)(n, {}).status for n in range(100)} == {500}


def test_the_command_line_server_prints_its_port_and_serves_its_fault_plan():
    process = subprocess.Popen(
        [sys.executable, "-m", "ihl_lib.testing.openai_server", "--p500", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("PORT "), process.stderr.read()
        port = int(line.split()[1])
        status, _, raw = post_json(f"http://127.0.0.1:{port}/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]})
        assert status == 500 and json.loads(raw)["error"]["message"] == "injected HTTP 500"
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


def test_a_request_asked_again_after_its_first_good_answer_is_a_repeat():
    with LoopbackServer([Action.error(500), Action.ok("a"), Action.ok("b"), Action.ok("c")]) as srv:
        _ask(srv, "one")  # 500: not answered yet, so its retry is no repeat
        _ask(srv, "one")
        _ask(srv, "two")
        first = srv.first_success_times()
        _ask(srv, "one")  # asked again after a good answer: a repeat
    assert set(first) == {request_fingerprint({"model": "loop", "messages": [{"role": "user", "content": t}]}) for t in ("one", "two")}
    repeats = srv.repeats_of(first)
    assert len(repeats) == 1 and repeats[0].fingerprint == srv.requests[1].fingerprint
