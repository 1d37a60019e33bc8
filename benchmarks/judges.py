"""Each judge and the offline panel against human labels, and the offline judges' throughput (issue 19).

    python benchmarks/judges.py [--judges pattern,learned,learned-char,prefix,rules] [--throughput 2000]

On the **test** splits of both labelled sets (``data/judge_dev/``; nothing is tuned on them):
the RBR gold set (human labels, other safety domains) and the project's IHL-domain set. For each
judge and for the majority of the default panel: refused-or-not accuracy and Cohen's kappa, and
three-class accuracy. Throughput: responses judged per second by each offline judge, on the IHL
set's responses repeated to ``--throughput`` items, in one process.

Writes the "## Judges" section of ``benchmarks/results.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from benchmarks.sections import write_table  # noqa: E402
from ihl_lib.judging import DEFAULT_PANEL, make_judge  # noqa: E402
from ihl_lib.judging.labelled_sets import load_ihl_labelled, load_rbr_gold  # noqa: E402
from ihl_lib.judging.validation import JudgeEvaluation, evaluate_judge, evaluate_panel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judges", default="pattern,learned,learned-char,prefix,rules")
    parser.add_argument("--throughput", type=int, default=2000)
    args = parser.parse_args()
    judges = {j: make_judge(j) for j in args.judges.split(",")}
    sets = {"RBR gold (test)": load_rbr_gold("test"), "IHL-domain (test)": load_ihl_labelled("test")}
    evaluations: dict[str, dict[str, JudgeEvaluation]] = {}
    panel = [j for j in DEFAULT_PANEL if j in judges]
    for set_name, labelled in sets.items():
        panel_evaluation, members = evaluate_panel([judges[j] for j in panel], labelled)
        for judge_id, judge in judges.items():
            evaluation = members.get(judge_id) or evaluate_judge(judge, labelled)
            evaluations.setdefault(judge_id, {})[set_name] = evaluation
        evaluations.setdefault("panel: " + ", ".join(panel), {})[set_name] = panel_evaluation
    texts = load_ihl_labelled("test")["response"].tolist()
    items = [("", texts[i % len(texts)]) for i in range(args.throughput)]
    speed = {}
    for judge_id, judge in judges.items():
        judge.judge_many(items[:50], progress=False)  # load and warm up
        start = time.perf_counter()
        judge.judge_many(items, progress=False)
        speed[judge_id] = len(items) / (time.perf_counter() - start)
    # The panel's judges run one after another over the same items.
    speed["panel: " + ", ".join(panel)] = 1 / sum(1 / speed[j] for j in panel)
    sizes = " · ".join(str(len(labelled)) for labelled in sets.values())
    rows = []
    for who, by_set in evaluations.items():
        cells = [
            f"{e.summary['refused_accuracy']:.3f} / {e.summary['refused_kappa']:.2f} / {e.summary['accuracy']:.3f}"
            for e in (by_set[s] for s in sets)
        ]
        helpful = ["-" if by_set[s].helpful is None else f"{by_set[s].helpful:.3f}" for s in sets]
        rate = f"{speed[who]:,.0f}" if who in speed else "-"
        rows.append(f"| {who} | {sizes} | " + " | ".join(cells) + " | " + " | ".join(helpful) + f" | {rate} |")
    intro = (
        "`python benchmarks/judges.py`. Test splits only. Each cell: refused-or-not accuracy / Cohen's kappa / "
        "three-class accuracy. Helpful: agreement with the human helpful label on the replies that judge and humans both "
        "call refusals (RBR: a refusal that references a safety policy, the set's nearest proposition). Throughput: responses per second, one process, IHL-set responses (mean ~1,000 characters). "
        "Bars (issue 19): panel >= 0.85 and kappa >= 0.70 on RBR, >= 0.95 on the IHL set, no member below 0.75, "
        ">= 10,000 responses/s."
    )
    write_table("Judges", intro, ["judge", "n (RBR · IHL)", *sets, *(f"helpful, {s}" for s in sets), "responses/s"], rows)


if __name__ == "__main__":
    main()
