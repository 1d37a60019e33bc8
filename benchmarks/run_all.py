"""Benchmarks: throughput against the physical limit, warm-cache reads, the local model,
memory, a fault soak with SIGKILL, and end-to-end wall times. Writes benchmarks/results.md.

    python benchmarks/run_all.py            # everything (about 20-30 minutes on 2 cores)
    python benchmarks/run_all.py --quick    # smaller sizes, for a smoke run

These are measurements, not tests: nothing here fails on a slow machine. The soak's
correctness claims are also checked, at a smaller size, by tests/integration/test_soak.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-not-a-real-key")

from benchmarks.sections import join_sections, split_sections  # noqa: E402
from ihl_lib.provenance import environment_stamp  # noqa: E402

LATENCY = 0.2


def start_server(*extra: str) -> tuple[subprocess.Popen, str]:
    """The loopback server in its own process, so that it never shares our GIL."""
    proc = subprocess.Popen([sys.executable, "-m", "ihl_lib.testing.openai_server", *extra], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline().strip()
    assert line.startswith("PORT "), line
    return proc, f"http://127.0.0.1:{line.split()[1]}/v1"


async def _raw_load(url: str, n: int, concurrency: int) -> float:
    import aiohttp

    body = {"model": "bench", "messages": [{"role": "user", "content": "hi"}]}
    sem = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            async with sem:
                async with session.post(url + "/chat/completions", json={**body, "messages": [{"role": "user", "content": f"{i}"}]}) as r:
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - started)


def bench_throughput(rows: list[dict], quick: bool) -> None:
    from ihl_lib.llm import ChatRequest, complete_many

    proc, url = start_server("--latency", str(LATENCY))
    try:
        raw = asyncio.run(_raw_load(url, 2000, 128))
        rows.append(
            {
                "benchmark": "server alone (raw aiohttp client, C=128)",
                "value": f"{raw:.0f} req/s",
                "target": f">= ideal {128 / LATENCY:.0f} req/s: server is not the bottleneck",
                "met": raw >= 0.9 * 128 / LATENCY,
            }
        )
        # The default path to an OpenAI-compatible api_base (ihl_lib.llm.self_hosted), then litellm's for comparison.
        for transport, sizes in (("direct", (1, 8, 32, 128)), ("litellm", (32, 128))):
            os.environ["IHL_TRANSPORT"] = transport
            for c in sizes:
                n = 2000 if not (quick or c == 1) else (100 if c == 1 else 500)
                if transport == "litellm":
                    n = min(n, 1000)
                reqs = [
                    ChatRequest(model="openai/bench", messages=[{"role": "user", "content": f"t{c}-{i}-{time.time_ns()}"}], api_base=url)
                    for i in range(n)
                ]
                with tempfile.TemporaryDirectory() as cache:
                    cpu, started = time.process_time(), time.perf_counter()
                    results = complete_many(reqs, cache=cache, max_concurrency=c, progress=False)
                    rate, cpu_ms = n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1000
                ok = sum(r.ok for r in results)
                ideal = c / LATENCY
                default = transport == "direct"
                rows.append(
                    {
                        "benchmark": f"throughput C={c} (N={n}, L={LATENCY * 1000:.0f} ms){'' if default else ', through litellm'}",
                        "value": f"{rate:.1f} req/s = {rate / ideal:.2f} of ideal {ideal:.0f}",
                        "target": ">= 0.9 of ideal" if (default and c in (32, 128)) else "(reported)",
                        "met": (rate / ideal >= 0.9) if (default and c in (32, 128)) else None,
                        "note": f"{ok}/{n} answered; client CPU {cpu_ms:.2f} ms/request",
                    }
                )
    finally:
        os.environ.pop("IHL_TRANSPORT", None)
        proc.terminate()


def bench_warm_cache(rows: list[dict], quick: bool) -> None:
    import diskcache

    from ihl_lib.llm import ChatRequest, Completion, ResponseCache, cache_key, complete_many

    n = 2000 if quick else 10_000
    with tempfile.TemporaryDirectory() as folder:
        store = ResponseCache(folder)
        reqs = [
            ChatRequest(model="openai/bench", messages=[{"role": "user", "content": f"warm {i}"}], api_base="http://127.0.0.1:9/v1")
            for i in range(n)
        ]
        keys = [cache_key(r) for r in reqs]
        for r, k in zip(reqs, keys):
            store.set(
                Completion(model=r.model, text=f"answer {k[:8]}", finish_reason="stop", prompt_tokens=2, completion_tokens=2, cache_key=k)
            )
        started = time.perf_counter()
        results = complete_many(reqs, cache=store, progress=False)
        ours = n / (time.perf_counter() - started)
        assert all(r.from_cache for r in results)
        raw = diskcache.Cache(folder)
        started = time.perf_counter()
        for k in keys:
            raw.get(k)
        raw_rate = n / (time.perf_counter() - started)
    rows.append(
        {
            "benchmark": f"warm cache, {n} items through complete_many",
            "value": f"{ours:,.0f} items/s (raw diskcache get: {raw_rate:,.0f}/s)",
            "target": ">= 20,000 items/s",
            "met": ours >= 20_000,
        }
    )


def bench_local_model(rows: list[dict], quick: bool) -> None:
    from ihl_lib import local
    from ihl_lib.llm import ChatRequest, complete_many

    prompts = [
        "Describe a river.",
        "What is a library for?",
        "Explain rain to a child.",
        "Name three trees and why they matter.",
        "Write a short note about the sea.",
    ][: 3 if quick else 5]
    max_tokens = 96
    # The same threads as one context of the provider, so that the ratio measures our layers only
    # (one request at a time: the batched engine decodes it alone).
    llm = local.load_context("smollm2-135m", n_threads=local.threads_per_context())
    direct_tokens, direct_time, ours_tokens, ours_time = 0, 0.0, 0, 0.0
    with tempfile.TemporaryDirectory() as cache:
        # Warm-up outside the timing: the first call imports litellm and registers the provider.
        complete_many(
            [ChatRequest(model="local/smollm2-135m", messages=[{"role": "user", "content": "Warm up."}], max_tokens=4)],
            cache=cache,
            progress=False,
        )
        # Interleaved, prompt by prompt and over rounds, so that drift in the machine's speed hits both alike.
        for round_ in range(1 if quick else 3):
            for p in prompts:
                llm.reset()
                started = time.perf_counter()
                out = llm.create_chat_completion(messages=[{"role": "user", "content": p}], max_tokens=max_tokens, temperature=0.0, seed=0)
                direct_time += time.perf_counter() - started
                direct_tokens += out["usage"]["completion_tokens"]
                req = ChatRequest(
                    model="local/smollm2-135m", messages=[{"role": "user", "content": p}], max_tokens=max_tokens, sample_index=round_
                )
                started = time.perf_counter()
                [result] = complete_many([req], cache=cache, progress=False, max_concurrency=1)
                ours_time += time.perf_counter() - started
                ours_tokens += result.completion_tokens or 0
    direct, ours = direct_tokens / direct_time, ours_tokens / ours_time
    rows.append(
        {
            "benchmark": "local model tokens/s (litellm + our provider vs llama-cpp direct)",
            "value": f"{ours:.1f} vs {direct:.1f} tok/s = {ours / direct:.2f}",
            "target": ">= 0.9",
            "met": ours / direct >= 0.9,
        }
    )

    # Throughput of the provider (batched engines at full concurrency) against one context on every core,
    # one request at a time. Distinct questions: a repeated request would be answered from the cache.
    requests = [
        ChatRequest(model="local/smollm2-135m", messages=[{"role": "user", "content": f"{p} ({k})"}], max_tokens=max_tokens)
        for k in range(1 if quick else 2)
        for p in prompts
    ]
    whole = local.load_context("smollm2-135m", n_threads=os.cpu_count() or 1)
    started = time.perf_counter()
    single_tokens = sum(
        whole.create_chat_completion(messages=r.messages, max_tokens=max_tokens, temperature=0.0, seed=0)["usage"]["completion_tokens"]
        for r in requests
    )
    single = single_tokens / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        results = complete_many(requests, cache=cache, progress=False)
        pooled = sum(r.completion_tokens or 0 for r in results) / (time.perf_counter() - started)
    rows.append(
        {
            "benchmark": f"local model throughput, {local.workers()} contexts x {local.batch_size()} sequences vs one context on all cores",
            "value": f"{pooled:.1f} vs {single:.1f} tok/s = {pooled / single:.2f}",
            "target": "(reported)",
            "met": None,
        }
    )


MEMORY_CHILD = textwrap.dedent(
    """
    import os, resource, sys, tempfile, time
    os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark")
    from ihl_lib.llm import ChatRequest, complete_many
    url, n = sys.argv[1], int(sys.argv[2])
    reqs = [ChatRequest(model="openai/bench", messages=[{"role": "user", "content": f"mem {i} {time.time_ns()}"}], api_base=url) for i in range(n)]
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        out = complete_many(reqs, cache=cache, max_concurrency=128, progress=False)
        took = time.perf_counter() - started
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec, so a parent
    # that had loaded the local model would show through.
    peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(peak_kib, sum(r.ok for r in out), took)
    """
)


def bench_memory(rows: list[dict], quick: bool) -> None:
    n = 2000 if quick else 10_000
    proc, url = start_server()
    try:
        out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, url, str(n)], capture_output=True, text=True, cwd=ROOT, timeout=3600)
        rss_kb, ok, took = out.stdout.split()
    finally:
        proc.terminate()
    mib = int(rss_kb) / 1024
    rows.append(
        {
            "benchmark": f"peak RSS, {n}-request run (C=128)",
            "value": f"{mib:.0f} MiB ({ok}/{n} answered in {float(took):.0f} s)",
            "target": "< 1024 MiB",
            "met": mib < 1024,
        }
    )


SOAK_CHILD = textwrap.dedent(
    """
    import json, sys
    from ihl_lib.llm import ChatRequest, RetryPolicy, complete_many
    url, n, cache = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    reqs = [ChatRequest(model="openai/soak", messages=[{"role": "user", "content": f"soak {i}"}], api_base=url, timeout=1.0, tag=i) for i in range(n)]
    out = complete_many(reqs, cache=cache, retry=RetryPolicy(max_attempts=15, base_delay=0.05, max_delay=1.0), max_concurrency=32, progress=False)
    print(json.dumps({"tags": [r.tag for r in out], "texts": [r.text for r in out], "errors": sum(r.error is not None for r in out),
                      "retries": sum(max(r.attempts - 1, 0) for r in out)}))
    """
)


def bench_soak(rows: list[dict], quick: bool) -> None:
    """2,000 requests with 20% 429 / 5% 500 / 2% hangs / 2% malformed; then SIGKILL at ~50% and rerun."""
    from ihl_lib.testing.openai_server import FaultPlan, LoopbackServer

    n = 500 if quick else 2000
    faults = FaultPlan(p429=0.20, p500=0.05, phang=0.02, pmalformed=0.02, retry_after=0.1, hang_seconds=5.0, seed=7)
    expected = [f"echo: soak {i}" for i in range(n)]
    with tempfile.TemporaryDirectory() as folder:
        # Undisturbed run.
        with LoopbackServer(faults, latency=0.05, record_bodies=True) as srv:
            out = subprocess.run(
                [sys.executable, "-c", SOAK_CHILD, srv.url, str(n), f"{folder}/a"], capture_output=True, text=True, cwd=ROOT, timeout=3600
            )
            clean = json.loads(out.stdout.strip().splitlines()[-1])
            faults_seen = {k: sum(1 for r in srv.requests if r.action.kind == k) for k in ("status", "hang", "malformed")}
        # Killed at ~50%, then rerun.
        with LoopbackServer(faults, latency=0.05, record_bodies=True) as srv:
            cmd = [sys.executable, "-c", SOAK_CHILD, srv.url, str(n), f"{folder}/b"]
            child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
            while len({r.fingerprint for r in srv.successes()}) < n // 2 and child.poll() is None:
                time.sleep(0.005)
            os.kill(child.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            child.wait()
            first = srv.first_success_times()
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
            resumed = json.loads(out.stdout.strip().splitlines()[-1])
            repeats = srv.repeats_of(first)
            late = [r for r in repeats if first[r.fingerprint] <= killed_at - 1.2]
    same = clean["texts"] == expected and resumed["texts"] == expected and clean["tags"] == list(range(n)) == resumed["tags"]
    rows.append(
        {
            "benchmark": f"fault soak, {n} requests (20% 429, 5% 500, 2% hang, 2% malformed)",
            "value": f"all answered once: {same and clean['errors'] == 0}; retries {clean['retries']}; faults served {faults_seen}",
            "target": "every item answered, exactly once",
            "met": same and clean["errors"] == 0,
        }
    )
    rows.append(
        {
            "benchmark": "soak: SIGKILL at ~50%, then rerun",
            "value": f"results equal undisturbed: {resumed['texts'] == clean['texts']}; {len(first)} done before kill; "
            f"repeats after success: {len({r.fingerprint for r in repeats})} (all in flight at the kill: {not late})",
            "target": "no finished request repeated",
            "met": resumed["texts"] == clean["texts"] and not late,
        }
    )


def _notebooks_seconds(args: list[str], env: dict[str, str]) -> float:
    """Wall time of ``python -m ihl_lib.notebooks run <args>`` (executed copies to a scratch folder)."""
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "ihl_lib.notebooks", "run", *args, "--out", tempfile.mkdtemp()]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def bench_end_to_end(rows: list[dict], full: bool) -> None:
    seconds = _notebooks_seconds(["--analysis"], {**os.environ})
    rows.append(
        {
            "benchmark": "analysis-only path (make analysis: notebooks 04-08 on shipped results)",
            "value": f"{seconds:.0f} s",
            "target": "< 60 s",
            "met": seconds < 60,
        }
    )
    if full:
        seconds = _notebooks_seconds(["--all", "--run", "bench-e2e"], {**os.environ, "IHL_CACHE_DIR": tempfile.mkdtemp()})
        rows.append(
            {
                "benchmark": "make reproduce (all notebooks, cold cache)",
                "value": f"{seconds / 60:.1f} min",
                "target": "(reported)",
                "met": None,
            }
        )


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "?")
    stamp = environment_stamp()
    return (
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {int(mem) / 1024 / 1024:.1f} GiB\n- Python {stamp['python']} on {stamp['platform']}\n"
        f"- git {stamp['git']['commit']} (dirty: {stamp['git']['dirty']}); litellm {stamp['packages']['litellm']}, "
        f"llama-cpp-python {stamp['packages']['llama_cpp_python']}; recorded {stamp['recorded_at']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="throughput,cache,local,memory,soak,e2e")
    parser.add_argument("--full-e2e", action="store_true", help="also time a cold `make reproduce` (long)")
    args = parser.parse_args()
    rows: list[dict] = []
    steps = {
        "throughput": bench_throughput,
        "cache": bench_warm_cache,
        "local": bench_local_model,
        "memory": bench_memory,
        "soak": bench_soak,
    }
    for name in args.only.split(","):
        print(f"[bench] {name} …", flush=True)
        if name == "e2e":
            bench_end_to_end(rows, args.full_e2e)
        else:
            steps[name](rows, args.quick)
        print(json.dumps(rows[-1], default=str), flush=True)
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`benchmarks/run_all.py`" + (" --quick" if args.quick else "") + ").",
        "",
        machine(),
        "",
        "| benchmark | measured | target | met |",
        "|---|---|---|---|",
    ]
    for r in rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        note = f" ({r['note']})" if r.get("note") else ""
        lines.append(f"| {r['benchmark']} | {r['value']}{note} | {r['target']} | {met} |")
    # Keep the sections that the other scripts in benchmarks/ write.
    results = ROOT / "benchmarks" / "results.md"
    _, sections = split_sections(results.read_text() if results.is_file() else "")
    results.write_text(join_sections("\n".join(lines), sections))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
