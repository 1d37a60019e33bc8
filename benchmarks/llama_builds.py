"""Compare llama.cpp builds on the embedded model: speed, cold-equals-warm, and identical answers.

    python benchmarks/llama_builds.py --build native=/path/to/other-venv/bin/python [--rounds 5]

Each ``--build LABEL=PYTHON`` names a Python whose ``llama_cpp`` is the build to measure; the
project's own (the pinned build) is always included as ``pinned``. To get a native build for
comparison: ``python -m venv /tmp/native && /tmp/native/bin/pip install numpy jinja2 diskcache
typing-extensions && /tmp/native/bin/pip install --no-deps --no-cache-dir llama-cpp-python==<locked>``
(llama.cpp's default build: ``GGML_NATIVE`` on, llamafile on).

For each build, in a child process with one thread, as one context of the project's pool:

- prompt processing (tokens/s): a 400-token prompt evaluated in one batch, on a fresh KV cache;
- generation (tokens/s): 128 tokens decoded one by one, greedy (argmax of the logits);
- cold equals warm: the chat answer to a question on a fresh context, against the answer
  from a context that evaluated the same prompt before (its last token then runs alone);
- the greedy answers to a few chat prompts, to compare builds text for text.

Rounds are interleaved build by build so that drift in the machine's speed hits all alike.
Writes the section "## llama.cpp builds" of benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sections import write_section  # noqa: E402
from ihl_lib.llama_build import cpu_model  # noqa: E402
from ihl_lib.local import local_model_path  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.md"
SECTION = "llama.cpp builds"

WORKER = r"""
import json, sys, time
import numpy as np
import llama_cpp
from llama_cpp import Llama

path, mode = sys.argv[1], sys.argv[2]
llm = Llama(model_path=path, n_ctx=2048, n_threads=1, n_threads_batch=1, seed=0, verbose=False)
vocab = llm.n_vocab()
text = " ".join(f"Rule {i}: the parties to the conflict must at all times distinguish between civilians and combatants." for i in range(40))
prompt = llm.tokenize(text.encode())[:400]

def argmax():
    return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocab,))))

def chat(context, question):
    out = context.create_chat_completion(messages=[{"role": "user", "content": question}], max_tokens=64, temperature=0.0, seed=0)
    return out["choices"][0]["message"]["content"]

if mode == "speed":
    llm.reset()
    started = time.perf_counter(); llm.eval(prompt); pp = len(prompt) / (time.perf_counter() - started)
    llm.reset(); llm.eval(llm.tokenize(b"Once upon a time"))
    started = time.perf_counter()
    for _ in range(128):
        llm.eval([argmax()])
    tg = 128 / (time.perf_counter() - started)
    print(json.dumps({"pp": pp, "tg": tg}))
else:
    questions = ["Name three colours.", "Why do rivers flow to the sea?", "What is the Geneva Convention?",
                 "Write a haiku about snow.", "How do I bake bread?", "Explain what a treaty is."]
    cold = []
    for q in questions:
        fresh = Llama(model_path=path, n_ctx=2048, n_threads=1, seed=0, verbose=False)
        cold.append(chat(fresh, q))
        del fresh
    warm = []
    for q in questions:  # each prompt twice in a row: the second time only its last token is evaluated, alone
        chat(llm, q)
        warm.append(chat(llm, q))
    print(json.dumps({"system_info": llama_cpp.llama_print_system_info().decode().strip(), "version": llama_cpp.__version__,
                      "answers": cold, "warm_equals_cold": sum(a == b for a, b in zip(cold, warm)), "n": len(questions)}))
"""


def run_worker(python: str, model: Path, mode: str) -> dict:
    out = subprocess.run([python, "-c", WORKER, str(model), mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="append", default=[], help="LABEL=PYTHON, a Python whose llama_cpp is another build")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    builds = {"pinned": sys.executable, **dict(b.split("=", 1) for b in args.build)}
    model = local_model_path("smollm2-135m")
    speed: dict[str, list[dict]] = {label: [] for label in builds}
    for round_ in range(args.rounds):
        for label, python in builds.items():
            speed[label].append(run_worker(python, model, "speed"))
            print(f"[round {round_ + 1}] {label}: {speed[label][-1]}", flush=True)
    checks = {label: run_worker(python, model, "answers") for label, python in builds.items()}

    reference = checks["pinned"]["answers"]
    lines = [
        f"Written by `benchmarks/llama_builds.py --rounds {args.rounds}` on {cpu_model()}; one thread per context, "
        "medians of interleaved rounds (each round a fresh process).",
        "",
        "| build | CPU features (llama_print_system_info) | prompt tokens/s | generated tokens/s | pinned / this build, generation | warm = cold | answers = pinned |",
        "|---|---|---|---|---|---|---|",
    ]
    pinned_tg = statistics.median(r["tg"] for r in speed["pinned"])
    for label in builds:
        pp = statistics.median(r["pp"] for r in speed[label])
        tg = statistics.median(r["tg"] for r in speed[label])
        check = checks[label]
        same = sum(a == b for a, b in zip(check["answers"], reference))
        features = check["system_info"].replace("CPU : ", "").replace(" | ", ", ").strip(" |,")
        lines.append(
            f"| {label} ({check['version']}) | {features} | {pp:.0f} | {tg:.1f} | {pinned_tg / tg:.2f} |"
            f" {check['warm_equals_cold']}/{check['n']} | {same}/{len(reference)} |"
        )
    print("\n".join(lines))
    write_section(RESULTS, SECTION, lines)


if __name__ == "__main__":
    main()
