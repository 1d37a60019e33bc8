"""Batched local decoding against the one-sequence-per-context pool it replaced (issue 17).

    python benchmarks/local_batching.py [--n 32] [--max-tokens 128] [--sizes 1,2,4,8,16,32]

Study prompts (the main set, baseline condition) are answered greedily, as the study does:

- **pool**: the provider before batching, one ``llama_cpp.Llama`` per core on one thread each,
  ``create_chat_completion`` per request, as many requests in flight as contexts;
- **batched**: :class:`ihl_lib.local_engine.BatchedEngine`, at each number of sequences in
  flight, laid out as one context on every core, or as one single-threaded context per core
  sharing the queue.

Tokens/s is completion tokens over wall time, prompt evaluation included. Every batched answer
is compared with the pool's answer to the same prompt; the table reports how many differ.
Writes the "## Batched local decoding" section of ``benchmarks/results.md``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from benchmarks.sections import write_table  # noqa: E402
from ihl_lib import local  # noqa: E402
from ihl_lib.data import load_prompts  # noqa: E402
from ihl_lib.local_engine import BatchedEngine, JobQueue, chat_completion_request  # noqa: E402

MODEL = "smollm2-135m"


def pool(questions: list[str], max_tokens: int, cores: int) -> tuple[list[str], int, float]:
    contexts = [local.load_context(MODEL, n_threads=1) for _ in range(cores)]
    free = list(contexts)

    def answer(question: str) -> dict:
        context = free.pop()
        try:
            return context.create_chat_completion(
                messages=[{"role": "user", "content": question}], max_tokens=max_tokens, temperature=0.0, seed=0
            )
        finally:
            free.append(context)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(cores) as threads:
        outs = list(threads.map(answer, questions))
    took = time.perf_counter() - started
    return (
        [o["choices"][0]["text"] if "text" in o["choices"][0] else o["choices"][0]["message"]["content"] for o in outs],
        sum(o["usage"]["completion_tokens"] for o in outs),
        took,
    )


def batched(host, questions: list[str], max_tokens: int, engines: int, slots: int, threads: int) -> tuple[list[str], int, float]:
    jobs = JobQueue()
    running = [BatchedEngine(host, jobs, n_slots=slots, n_threads=threads) for _ in range(engines)]
    try:
        prepared = [
            BatchedEngine.make_job(
                host, chat_completion_request(host, [{"role": "user", "content": q}], max_tokens=max_tokens, temperature=0.0, seed=0)
            )
            for q in questions
        ]
        started = time.perf_counter()
        for job in prepared:
            jobs.put(job)
        outs = [job.future.result() for job in prepared]
        took = time.perf_counter() - started
    finally:
        jobs.close()
        for engine in running:
            engine.close()
    return [o["choices"][0]["text"] for o in outs], sum(o["usage"]["completion_tokens"] for o in outs), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="prompts answered per configuration")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--sizes", default="1,2,4,8,16,32", help="sequences in flight")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    questions = load_prompts("ihl_violations")["prompt"].tolist()[: args.n]
    host = local.load_context(MODEL, n_threads=cores)
    base_texts, base_tokens, base_time = pool(questions, args.max_tokens, cores)
    base = base_tokens / base_time
    rows = [f"| pool: {cores} contexts x 1 thread, 1 sequence each | {cores} | {base:.1f} | 1.00 | - | - |"]
    print(rows[-1], flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        layouts = [(1, size, cores)] + ([(cores, size // cores, 1)] if size >= cores and size % cores == 0 and cores > 1 else [])
        for engines, slots, threads in layouts:
            texts, tokens, took = batched(host, questions, args.max_tokens, engines, slots, threads)
            differ = sum(a != b for a, b in zip(texts, base_texts))
            rows.append(
                f"| batched: {engines} context{'s' if engines > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}, "
                f"{slots} sequences each | {engines * slots} | {tokens / took:.1f} | {tokens / took / base:.2f} | {differ}/{len(texts)} | {tokens} |"
            )
            print(rows[-1], flush=True)
    write_table(
        "Batched local decoding",
        f"`python benchmarks/local_batching.py --n {args.n} --max-tokens {args.max_tokens} --sizes {args.sizes}`: the first {args.n} prompts of "
        f"`ihl_violations`, greedy, at most {args.max_tokens} new tokens each, all queued at once; tokens/s = completion tokens / wall time "
        '(prompt evaluation included); ratios against the pool in the same run. "Differ" counts answers whose text is not the pool\'s.',
        ["layout", "sequences in flight", "tokens/s", "vs pool", "differ from pool", "completion tokens"],
        rows,
    )


if __name__ == "__main__":
    main()
