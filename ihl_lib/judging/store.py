"""The judging stage: a panel over a run's stored responses, saved beside them.

Writes into ``data/results/<run>/``:

- ``judgments.parquet``: every judge's raw output, parsed label and status per item;
- ``verdicts.parquet``: the panel's majority verdict per item;
- ``audit.csv``: a stratified random sample of judged items plus every item the
  judges disagree on (:func:`ihl_lib.judging.audit.audit_sample`), with empty
  columns for a human. A human's filled labels are never overwritten: new items
  are appended.
- a ``judging`` section in ``run.json``: judge ids, judge-prompt versions and text
  hashes, parse failures, agreement, time and environment.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ihl_lib.judging.agreement import judge_agreement
from ihl_lib.judging.audit import HUMAN_COLUMNS, audit_sample
from ihl_lib.judging.definitions import INVALID, ITEM_KEY, Judge
from ihl_lib.judging.learned import LearnedJudge
from ihl_lib.judging.llm_judge import LLMJudge
from ihl_lib.judging.panel import DEFAULT_PANEL, STUDY, check_responses, judge_responses, make_judge, panel_verdicts, study_panel
from ihl_lib.llm import InvalidRequestError
from ihl_lib.models import check_keys
from ihl_lib.provenance import environment_stamp, file_sha256, now_utc, text_sha256, write_json_atomic, write_parquet_atomic
from ihl_lib.runs import MANIFEST_FILE, load_manifest, load_responses, run_dir
from ihl_lib.schema import upgrade_legacy_names

__all__ = ["judge_or_load", "judge_run", "load_audit", "load_judgments", "load_verdicts"]

JUDGMENTS_FILE = "judgments.parquet"
VERDICTS_FILE = "verdicts.parquet"
AUDIT_FILE = "audit.csv"


def _merge_audit(new: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Keep every row a human has touched; add the new items."""
    if not path.is_file():
        return new
    old = _read_audit(path)
    for column in HUMAN_COLUMNS:
        if column not in old.columns:
            old[column] = ""
    keyed_old = old.set_index(ITEM_KEY)
    fresh = new.astype({c: str for c in ITEM_KEY}).set_index(ITEM_KEY)
    fresh = fresh[~fresh.index.isin(keyed_old.index)]
    return pd.concat([keyed_old, fresh]).reset_index()


def judge_run(
    run_name: str,
    judges: Iterable[str | Judge] | str = DEFAULT_PANEL,
    *,
    results_root: Path | None = None,
    cache: Any = None,
    max_concurrency: int = 4,
    progress: bool = True,
    responses: pd.DataFrame | None = None,
    audit_size: int = 100,
) -> dict[str, pd.DataFrame]:
    """Judge every stored response of a run with a panel, and save the results.

    Args:
        run_name: the run folder under ``data/results``.
        judges: judge ids (see :func:`ihl_lib.judging.make_judge`) or judge objects; or ``"study"``
            for a per-model panel of three vendors other than the judged model's
            (:func:`ihl_lib.judging.study_panel`).
        results_root: override ``data/results``.
        cache: the model-call cache.
        max_concurrency: parallel judge calls.
        progress: show progress bars.
        responses: judge these rows instead of the whole run (e.g. a sample).
        audit_size: the random part of the audit sheet (seed 0, stratified by model, condition,
            prompt set and panel label); the judges' disagreements are added to it.

    Returns:
        ``judgments``, ``verdicts`` and ``audit`` frames.
    """

    frame = responses if responses is not None else load_responses(run_name, results_root)
    panels = _panels(judges, frame)
    everyone = list({j.judge_id: j for panel in panels.values() for j in panel}.values())
    check_keys([j.model for j in everyone if isinstance(j, LLMJudge)])  # every panel's keys, before any call
    by_panel: dict[tuple[str, ...], list[str]] = {}
    for model, panel in panels.items():
        by_panel.setdefault(tuple(j.judge_id for j in panel), []).append(model)
    judgments = pd.concat(
        [
            judge_responses(
                frame[frame["model"].isin(models)], panels[models[0]], cache=cache, max_concurrency=max_concurrency, progress=progress
            )
            for models in by_panel.values()
        ],
        ignore_index=True,
    )
    carried = [c for c in frame.columns if c in ("rule_id", "variant", "should_comply", "language", "defeat_type")]
    verdicts = panel_verdicts(judgments).merge(frame[[*ITEM_KEY, *carried]], on=ITEM_KEY, how="left", validate="one_to_one")
    folder = run_dir(run_name, results_root)
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(judgments, folder / JUDGMENTS_FILE)
    write_parquet_atomic(verdicts, folder / VERDICTS_FILE)
    audit = _merge_audit(audit_sample(verdicts, frame, n=audit_size), folder / AUDIT_FILE)
    audit.to_csv(folder / AUDIT_FILE, index=False)

    agreement = judge_agreement(judgments)
    manifest = load_manifest(run_name, results_root) or {"run_name": run_name}
    manifest["judging"] = {
        "judges": [_judge_record(j) for j in everyone],
        "panels": {model: [j.judge_id for j in panel] for model, panel in panels.items()},
        "policy": "strict majority of >= 2 valid votes; ties and no-quorum items are 'unresolved' and stay in the denominator",
        "n_items": int(len(verdicts)),
        "labels": {k: int(v) for k, v in verdicts["label"].value_counts().items()},
        "invalid_votes": {k: int(v) for k, v in judgments[judgments["label"].isin(INVALID)].groupby("judge_id").size().items()},
        "fleiss_kappa": agreement["fleiss_kappa"],
        "unanimous_share": agreement["unanimous_share"],
        "audit_rows": int(len(audit)),
        "judged_at": now_utc(),
        "environment": environment_stamp(),
    }
    write_json_atomic(folder / MANIFEST_FILE, manifest)
    return {"judgments": judgments, "verdicts": verdicts, "audit": audit}


def _judge_record(judge: Judge) -> dict[str, Any]:
    """What the manifest says of a judge: enough to know which judge, exactly, gave the votes."""
    if isinstance(judge, LLMJudge):
        return {
            "judge_id": judge.judge_id,
            "kind": "llm",
            "model": judge.model.model,
            "prompt_version": judge.prompt.version,
            "prompt_sha256": text_sha256(judge.prompt.system + "\n" + judge.prompt.user_template),
        }
    if isinstance(judge, LearnedJudge):
        return {"judge_id": judge.judge_id, "kind": "learned", "model_file": judge.path.name, "model_sha256": file_sha256(judge.path)}
    return {"judge_id": judge.judge_id, "kind": "hand-written"}  # pattern, keyword, prefix: their code at the recorded revision


def _panels(judges: Iterable[str | Judge] | str, responses: pd.DataFrame) -> dict[str, list[Judge]]:
    """The panel of each judged model: the same for all, or a study panel per model."""
    check_responses(responses)  # before any judge is built or called
    models = list(dict.fromkeys(responses["model"].astype(str)))
    if not models:
        raise InvalidRequestError("there are no responses to judge")
    if isinstance(judges, str) and judges.strip() == STUDY:
        made: dict[str, Judge] = {}
        return {m: [made.setdefault(j, make_judge(j)) for j in study_panel(m)] for m in models}
    if isinstance(judges, str):
        judges = [j.strip() for j in judges.split(",") if j.strip()]
    panel = [make_judge(j) if isinstance(j, str) else j for j in judges]
    return {m: panel for m in models}


def load_judgments(run_name: str, results_root: Path | None = None) -> pd.DataFrame:
    return _read(run_name, JUDGMENTS_FILE, results_root)


def load_verdicts(run_name: str, results_root: Path | None = None) -> pd.DataFrame:
    return _read(run_name, VERDICTS_FILE, results_root)


def load_audit(run_name: str, results_root: Path | None = None) -> pd.DataFrame:
    path = run_dir(run_name, results_root) / AUDIT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no audit sheet for run {run_name!r}: {path}")
    return _read_audit(path)


def _read_audit(path: Path) -> pd.DataFrame:
    """An audit sheet under the current column names, with the ``why`` column."""
    return _with_why(upgrade_legacy_names(pd.read_csv(path, dtype=str, keep_default_na=False)))


def _with_why(sheet: pd.DataFrame) -> pd.DataFrame:
    """Sheets written before the random sample (issue 19) held the judges' disagreements only."""
    if "why" not in sheet.columns:
        sheet.insert(len(ITEM_KEY), "why", "disagreement")
    return sheet


def _read(run_name: str, filename: str, results_root: Path | None) -> pd.DataFrame:
    path = run_dir(run_name, results_root) / filename
    if not path.is_file():
        raise FileNotFoundError(f"run {run_name!r} has no {filename} yet ({path}); run the judging notebook (04) first")
    return upgrade_legacy_names(pd.read_parquet(path))


def judge_or_load(
    run_name: str, judges: str | None = None, *, allow_model_calls: bool = True, max_concurrency: int = 4, results_root: Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the notebooks call: judge the run with a panel, or, on the analysis-only path, load stored judgments.

    Args:
        run_name: the run (its folder under ``data/results/``).
        judges: comma-separated judge ids, ``"study"`` for per-model study panels, or None for
            :data:`ihl_lib.judging.DEFAULT_PANEL`.
        allow_model_calls: False reads ``judgments.parquet`` and ``verdicts.parquet`` instead.

    Returns:
        (judgments, verdicts).
    """
    if not allow_model_calls:
        return load_judgments(run_name, results_root), load_verdicts(run_name, results_root)
    out = judge_run(run_name, judges or DEFAULT_PANEL, max_concurrency=max_concurrency, results_root=results_root)
    return out["judgments"], out["verdicts"]
