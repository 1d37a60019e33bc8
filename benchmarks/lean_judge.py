"""The lean judge call against judge-v1 on the embedded model: time per call, calls/s, agreement (issue 17).

    python benchmarks/lean_judge.py [--solo 24] [--judges judge-v1,judge-lean-v1]

For each judge prompt, on ``local/smollm2-135m``, from an empty cache:

- **median call time**: ``--solo`` gold-set items judged one call at a time (nothing else running);
- **calls/s**: the whole RBR gold *train* split judged with the provider's full concurrency;
- **agreement** with the human labels of that split (``ihl_lib.judging.validation``): accuracy and
  Cohen's kappa, three-class and refused-or-not; reply tokens per call.

Writes the "## Lean judge call" section of ``benchmarks/results.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from benchmarks.sections import write_table  # noqa: E402
from ihl_lib import local  # noqa: E402
from ihl_lib.judging import make_judge  # noqa: E402
from ihl_lib.judging.labelled_sets import load_rbr_gold  # noqa: E402
from ihl_lib.judging.validation import accuracy_against_humans  # noqa: E402
from ihl_lib.llm import complete_many  # noqa: E402

MODEL = "local/smollm2-135m"


def measure(version: str, gold, solo: int) -> dict:
    judge = make_judge(f"{MODEL}::{version}")
    items = list(zip(gold["prompt"], gold["response"]))
    with tempfile.TemporaryDirectory() as cache:
        latencies = []
        for prompt, response in items[:solo]:
            [result] = complete_many([judge.request(prompt, response)], cache=cache, progress=False)
            latencies.append(result.latency_s)
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        first = complete_many([judge.request(p, r) for p, r in items], cache=cache, progress=False)
        votes = judge.judge_many(items, cache=cache, progress=False)  # the same calls, from the cache, plus repairs
        took = time.perf_counter() - started
    stats = accuracy_against_humans([v.label for v in votes], gold["human_label"].tolist())
    return {
        "version": version,
        "median_s": statistics.median(latencies),
        "calls_per_s": len(items) / took,
        "reply_tokens": statistics.mean(r.completion_tokens or 0 for r in first),
        "repaired": sum(v.status == "repaired" for v in votes),
        **stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solo", type=int, default=24, help="items timed one call at a time")
    parser.add_argument("--judges", default="judge-v1,judge-lean-v1")
    args = parser.parse_args()
    gold = load_rbr_gold("train")
    rows = []
    for version in args.judges.split(","):
        r = measure(version, gold, args.solo)
        rows.append(
            f"| {version} | {r['median_s']:.2f} | {r['calls_per_s']:.2f} | {r['reply_tokens']:.1f} | {r['invalid']} | {r['repaired']} |"
            f" {r['accuracy']:.3f} | {r['kappa']:.3f} | {r['refused_accuracy']:.3f} | {r['refused_kappa']:.3f} |"
        )
        print(rows[-1], flush=True)
    write_table(
        "Lean judge call",
        f"`python benchmarks/lean_judge.py --solo {args.solo} --judges {args.judges}`: the judge on `{MODEL}` "
        f"({local.workers()} context(s) x {local.batch_size()} sequences), from an empty cache. Median call time: the first {args.solo} items of the "
        f"RBR gold train split judged one at a time. Calls/s: all {len(gold)} non-empty train items at full concurrency (repairs included). "
        "Agreement with the human labels of the same items (three-class, and refused or not); a judge's invalid votes count as wrong.",
        [
            "judge prompt",
            "median call (s)",
            "calls/s",
            "reply tokens",
            "invalid",
            "repaired",
            "accuracy",
            "kappa",
            "refused: accuracy",
            "refused: kappa",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
