"""Does this machine reproduce a shipped run? What ``make verify`` runs.

A stratified sample of a run's responses (the same share of every prompt set and
condition) is regenerated from an empty cache with the run's exact requests: the
model, the condition's system prompt from the manifest, the prompt and the recorded
settings. Each new text is compared with the shipped one. For a response that
differs, the run's own judge panel judges the new text, and the report says whether
the panel's verdict is unchanged.

At temperature 0 the embedded model decodes greedily, so with the pinned llama.cpp
build (:mod:`ihl_lib.llama_build`) every x86-64-v3 machine should give identical text.
A difference means another build, or a request that is not the run's (the cache keys
tell them apart: a key covers the request and, for local models, the build).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ihl_lib.judging import ITEM_KEY, judge_responses, load_verdicts, panel_verdicts
from ihl_lib.llm import ChatRequest, ResponseCache, cache_key, complete_many
from ihl_lib.paths import PROJECT_ROOT
from ihl_lib.provenance import environment_stamp, write_json_atomic
from ihl_lib.runs import REFERENCE_RUN, load_manifest, load_responses

__all__ = ["VerifyReport", "rebuild_requests", "stratified_sample", "verify_run"]

STRATA = ["prompt_set", "condition"]
DEFAULT_RUN = REFERENCE_RUN
DEFAULT_N = 60


def stratified_sample(responses: pd.DataFrame, n: int | None, seed: int = 0) -> pd.DataFrame:
    """``n`` answered rows spread evenly over (prompt set, condition); all of them when ``n`` is None.

    Each stratum gets ``n // strata`` rows (the remainder goes to the largest strata), or all
    of its rows if it has fewer; what a small stratum cannot take goes to the others.
    """
    answered = responses[responses["error"].isna() & responses["response"].notna()] if "error" in responses else responses
    if n is None or n >= len(answered):
        return answered.sort_values(ITEM_KEY).reset_index(drop=True)
    if n < 1:
        raise ValueError(f"the sample size must be at least 1, got {n}")
    sizes = answered.groupby(STRATA).size().sort_values(ascending=False, kind="stable")
    quota = pd.Series(0, index=sizes.index)
    left = n
    while left > 0:
        open_strata = sizes[quota < sizes].index
        share, extra = divmod(left, len(open_strata))
        for i, stratum in enumerate(open_strata):
            take = min(share + (1 if i < extra else 0), int(sizes[stratum] - quota[stratum]))
            quota[stratum] += take
            left -= take
    parts = [group.sample(n=int(quota[key]), random_state=seed) for key, group in answered.groupby(STRATA) if quota[key] > 0]
    return pd.concat(parts).sort_values(ITEM_KEY).reset_index(drop=True)


def _settings_for(manifest: dict[str, Any], condition: str, prompt_set: str) -> dict[str, Any]:
    for entry in reversed(manifest.get("history", [])):
        if entry.get("condition") == condition and entry.get("prompt_set") == prompt_set:
            return dict(entry["settings"])
    if isinstance(manifest.get("settings"), dict):
        return dict(manifest["settings"])
    raise ValueError(f"the run's manifest records no settings for {prompt_set}/{condition}")


def rebuild_requests(rows: pd.DataFrame, manifest: dict[str, Any]) -> list[ChatRequest]:
    """The requests that produced ``rows``, rebuilt from the run's manifest.

    Raises:
        ValueError: the manifest lacks the model, condition or settings of a row.
    """
    requests = []
    for row in rows.itertuples(index=False):
        model = manifest.get("models", {}).get(row.model)
        conditions = manifest.get("conditions", {}).get(row.condition)
        if model is None or conditions is None or row.model not in conditions:
            raise ValueError(f"run.json does not record model {row.model!r} under condition {row.condition!r}")
        system = conditions[row.model]
        settings = _settings_for(manifest, row.condition, row.prompt_set)
        # How the model was asked (runs.generation_record); runs made before it existed used the settings alone.
        generation = model.get("generation") or {}
        role = generation.get("system_role", "system")
        messages = ([{"role": role, "content": system["text"]}] if system else []) + [{"role": "user", "content": row.prompt}]
        requests.append(
            ChatRequest(
                model=model["model"],
                messages=messages,
                temperature=settings["temperature"],
                max_tokens=settings["max_tokens"] or generation["max_tokens"],
                top_p=settings.get("top_p"),
                seed=settings.get("seed"),
                api_base=model.get("api_base"),
                timeout=settings.get("timeout", 120.0),
                tag=tuple(getattr(row, k) for k in ITEM_KEY),
                reasoning_effort=generation.get("reasoning_effort"),
                omit=tuple(generation.get("not_sent", ())),
                extra_body=generation.get("extra_body") or None,
                retry_budget=generation.get("retry_budget"),
            )
        )
    return requests


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_run`: one row per regenerated response, and totals."""

    run_name: str
    items: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.items)

    @property
    def identical(self) -> int:
        return int(self.items["identical"].sum())

    def by_stratum(self) -> pd.DataFrame:
        return self.items.groupby(STRATA).agg(n=("identical", "size"), identical=("identical", "sum")).reset_index()

    def summary(self) -> str:
        differ = self.items[~self.items["identical"]]
        lines = [f"identical text: {self.identical}/{self.n} ({100 * self.identical / max(self.n, 1):.1f}%)"]
        if len(differ):
            same_verdict = int(differ["verdict_unchanged"].sum())
            lines.append(f"differing: {len(differ)}; the panel's verdict is unchanged for {same_verdict} of them")
        keys = int(self.items["same_cache_key"].sum())
        if keys < self.n:
            lines.append(f"cache keys differ for {self.n - keys} of {self.n}: another llama.cpp build, or requests that are not the run's")
        return "\n".join(lines)


def verify_run(
    run_name: str = DEFAULT_RUN,
    n: int | None = DEFAULT_N,
    *,
    seed: int = 0,
    max_concurrency: int = 4,
    results_root: Path | None = None,
    progress: bool = True,
) -> VerifyReport:
    """Regenerate a stratified sample of a run from an empty cache and compare it with the shipped text.

    Args:
        run_name: the run folder under ``data/results``.
        n: responses to regenerate; None for all.
        seed: which sample.
        max_concurrency: parallel calls.
        results_root: override ``data/results``.
        progress: show progress bars.

    Returns:
        A :class:`VerifyReport`; differing items carry the new text and both verdicts.
    """
    manifest = load_manifest(run_name, results_root)
    if not manifest:
        raise FileNotFoundError(f"run {run_name!r} has no run.json")
    shipped = stratified_sample(load_responses(run_name, results_root), n, seed)
    requests = rebuild_requests(shipped, manifest)
    with tempfile.TemporaryDirectory(prefix="ihl-verify-") as empty:
        cache = ResponseCache(Path(empty) / "cache")
        try:
            results = complete_many(requests, max_concurrency=max_concurrency, cache=cache, progress=progress, description="regenerate")
            items = shipped[[*ITEM_KEY, "prompt", "response"]].rename(columns={"response": "shipped"})
            items["regenerated"] = [r.text for r in results]
            items["error"] = [r.error for r in results]
            items["identical"] = items["regenerated"] == items["shipped"]
            items["same_cache_key"] = [cache_key(r) == k for r, k in zip(requests, shipped["cache_key"])]
            items["verdict_unchanged"] = pd.NA
            differ = items[~items["identical"] & items["error"].isna()]
            panels = manifest.get("judging", {}).get("panels", {})
            if len(differ) and panels:
                items.loc[differ.index, "verdict_unchanged"] = _verdicts_agree(
                    run_name, differ, panels, cache, max_concurrency, progress, results_root
                )
        finally:
            cache.close()
    return VerifyReport(run_name, items)


def _verdicts_agree(
    run_name: str,
    differ: pd.DataFrame,
    panels: dict[str, list[str]],
    cache: ResponseCache,
    max_concurrency: int,
    progress: bool,
    results_root: Path | None,
) -> list[bool]:
    new = differ.rename(columns={"regenerated": "response"})[[*ITEM_KEY, "prompt", "response"]]
    judgments = pd.concat(
        [
            judge_responses(new[new["model"] == model], panel, cache=cache, max_concurrency=max_concurrency, progress=progress)
            for model, panel in panels.items()
            if (new["model"] == model).any()
        ],
        ignore_index=True,
    )
    old = load_verdicts(run_name, results_root)[[*ITEM_KEY, "label"]]
    merged = panel_verdicts(judgments)[[*ITEM_KEY, "label"]].merge(old, on=ITEM_KEY, how="left", suffixes=("", "_shipped"))
    agree = dict(zip(map(tuple, merged[ITEM_KEY].to_numpy()), merged["label"] == merged["label_shipped"]))
    return [bool(agree.get(tuple(key), False)) for key in differ[ITEM_KEY].to_numpy()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ihl_lib.verify", description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=DEFAULT_RUN, help="the run folder under data/results (default: %(default)s)")
    parser.add_argument("--n", default=str(DEFAULT_N), help="responses to regenerate, or 'all' (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "executed", help="folder for the JSON report")
    args = parser.parse_args(argv)
    n = None if args.n.strip().lower() == "all" else int(args.n)
    report = verify_run(args.run, n, seed=args.seed)
    manifest = load_manifest(args.run)
    here, theirs = environment_stamp(), manifest.get("environment") or {}
    print(f"\n{args.run}: {report.n} responses regenerated from an empty cache, stratified by prompt set x condition")
    for who, env in (("this machine", here), ("the run's   ", theirs)):
        build = env.get("llama_cpp") or {}
        print(
            f"{who}: {env.get('cpu_model', 'not recorded')}; "
            f"llama.cpp features {json.dumps(build.get('compiled_features', 'not recorded'))}"
        )
    print(report.by_stratum().to_string(index=False))
    print(report.summary())
    out = args.out / f"verify-{args.run}.json"
    write_json_atomic(
        out,
        {
            "run": args.run,
            "n": report.n,
            "identical": report.identical,
            "environment": here,
            "items": report.items.drop(columns=["prompt"]).to_dict("records"),
        },
    )
    print(f"report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
