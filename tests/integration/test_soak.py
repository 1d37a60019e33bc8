"""Fault soak (small): injected 429s, 500s, hangs and malformed bodies lose nothing,
and a run SIGKILLed half way resumes from the cache without repeating finished calls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from ihl_lib.llm import ChatRequest, RetryPolicy, complete_many
from ihl_lib.testing.openai_server import FaultPlan, LoopbackServer, echo_text
from tests.helpers import FAKE_KEY

FAULTS = dict(p429=0.20, p500=0.05, phang=0.02, pmalformed=0.02, retry_after=0.02, hang_seconds=3.0)
POLICY = RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.05)


def _requests(url: str, n: int) -> list[ChatRequest]:
    return [
        ChatRequest(model="openai/soak", messages=[{"role": "user", "content": f"item {i}"}], api_base=url, timeout=0.5, tag=i)
        for i in range(n)
    ]


def test_faults_are_retried_and_every_item_is_answered_once(api_key, cache):
    n = 300
    with LoopbackServer(FaultPlan(seed=1, **FAULTS), record_bodies=False) as srv:
        results = complete_many(_requests(srv.url, n), cache=cache, retry=POLICY, max_concurrency=16, progress=False)
        assert [r.tag for r in results] == list(range(n))  # each item exactly once, in order
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        assert [r.text for r in results] == [f"echo: item {i}" for i in range(n)]
        retried = sum(r.attempts - 1 for r in results)
        assert srv.request_count == sum(r.attempts for r in results)  # every attempt reached the server once
        kinds = {r.action.kind for r in srv.requests}
        assert {"status", "hang", "malformed"} <= kinds and retried >= 0.2 * n


CHILD = textwrap.dedent(
    """
    import json, sys
    from ihl_lib.llm import ChatRequest, RetryPolicy, complete_many
    url, n, cache = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    reqs = [ChatRequest(model="openai/soak", messages=[{"role": "user", "content": f"item {i}"}], api_base=url, timeout=0.5, tag=i)
            for i in range(n)]
    out = complete_many(reqs, cache=cache, retry=RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.05),
                        max_concurrency=4, progress=False)
    print(json.dumps([[r.tag, r.text, r.error] for r in out]))
    """
)


def test_sigkill_half_way_then_rerun_loses_and_repeats_nothing(tmp_path):
    n = 200
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY}
    with LoopbackServer(FaultPlan(seed=2, **FAULTS), latency=0.03, record_bodies=True) as srv:
        cmd = [sys.executable, "-c", CHILD, srv.url, str(n), str(tmp_path / "cache")]
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while len({r.fingerprint for r in srv.successes()}) < n // 2:
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the child never reached half way"
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        child.wait()
        first_successes = srv.first_success_times()
        done_before_kill = len(first_successes)
        assert n // 2 <= done_before_kill < n

        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        results = json.loads(rerun.stdout.strip().splitlines()[-1])

    # The final results equal an undisturbed run's: every item, once, answered.
    assert [tag for tag, _, _ in results] == list(range(n))
    assert [text for _, text, _ in results] == [echo_text({"messages": [{"role": "user", "content": f"item {i}"}]}) for i in range(n)]
    assert all(error is None for _, _, error in results)
    # No request was sent again after it had succeeded, except one still in flight when the
    # process died (answered by the server but never received: it cannot have been cached).
    repeats = srv.repeats_of(first_successes)
    in_flight_window = 0.5 + 0.1  # the client timeout plus a margin
    assert all(first_successes[r.fingerprint] > killed_at - in_flight_window for r in repeats), len(repeats)
    assert len({r.fingerprint for r in repeats}) <= 4  # at most max_concurrency calls were in flight
