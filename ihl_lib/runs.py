"""Baseline and intervention runs: every chosen model over a prompt set, under a condition.

A run is a folder ``data/results/<run-name>/`` holding

- ``responses.parquet``: one row per (model, prompt_set, prompt_id, condition);
- ``run.json``: the manifest (models and the ids their servers reported, settings,
  system-prompt versions and text hashes, dataset hashes, package versions, git
  revision, timestamps).

Calls go through the cache, so a rerun is idempotent and a partial run completes
only the rest. Failed calls are kept as rows with ``error`` set, and retried on
the next run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from ihl_lib.data import BASE_COLUMNS, DATASET_VERSION, PROMPT_SETS, load_prompts, sample_prompts
from ihl_lib.llm import (
    ChatRequest,
    Completion,
    InvalidRequestError,
    ResponseCache,
    complete_many,
    outcome_of,
    usage_totals,
    validate_request,
)
from ihl_lib.models import GenerationProfile, ModelSpec, check_keys, generation_profile, parse_models, plan
from ihl_lib.paths import PROJECT_ROOT, results_dir
from ihl_lib.provenance import environment_stamp, file_sha256, now_utc, text_sha256, write_json_atomic, write_parquet_atomic
from ihl_lib.safety_prompts import SystemPrompt, system_prompt_for
from ihl_lib.schema import ITEM_KEY, OUTCOMES, RESPONSE_COLUMNS, parse_model_id, upgrade_legacy_names

__all__ = [
    "REFERENCE_RUN",
    "PreparedRun",
    "analysis_target",
    "RunSettings",
    "load_manifest",
    "load_responses",
    "prepare",
    "run",
    "run_dir",
    "run_sets",
    "summarize",
]

RESPONSES_FILE = "responses.parquet"
MANIFEST_FILE = "run.json"
REFERENCE_RUN = "reference-smollm2"  # the shipped run (data/results/reference-smollm2/)


@dataclass(frozen=True)
class RunSettings:
    """Generation settings, fixed for a run and recorded in its manifest.

    ``max_tokens=None`` gives each model its own budget (:func:`ihl_lib.models.generation_profile`:
    2,048 answer tokens for study models, plus a reasoning budget for reasoning models; 256 for
    the embedded model); a number overrides it for every model.
    """

    temperature: float = 0.0
    max_tokens: int | None = None
    seed: int = 0
    top_p: float | None = None
    timeout: float = 120.0
    max_concurrency: int = 4


@dataclass
class PreparedRun:
    """A validated run, ready to execute: its requests and its plan."""

    models: list[ModelSpec]
    prompts: pd.DataFrame
    condition: str
    settings: RunSettings
    requests: list[ChatRequest]
    system_prompts: dict[str, SystemPrompt | None] = field(default_factory=dict)

    def plan(self, cache: ResponseCache | str | os.PathLike[str] | None = None) -> pd.DataFrame:
        by_model: dict[ModelSpec, list[ChatRequest]] = {m: [] for m in self.models}
        for spec, req in zip(self._spec_per_request(), self.requests):
            by_model[spec].append(req)
        table = plan(by_model, cache)
        table.insert(0, "condition", self.condition)
        return table

    def _spec_per_request(self) -> list[ModelSpec]:
        return [spec for spec in self.models for _ in range(len(self.prompts))]

    def summary(self) -> str:
        n, m = len(self.prompts), len(self.models)
        return f"{n} prompts x {m} model(s) x 1 condition ({self.condition}) = {n * m} calls"


def run_dir(run_name: str, results_root: Path | None = None) -> Path:
    if not run_name or "/" in run_name or run_name.startswith("."):
        raise ValueError(f"run names are plain folder names, got {run_name!r}")
    return (results_root or results_dir()) / run_name


def _check_prompts(prompts: pd.DataFrame) -> None:
    if not isinstance(prompts, pd.DataFrame):
        raise InvalidRequestError(f"prompts must be a DataFrame (see ihl_lib.data.load_prompts), got {type(prompts).__name__}")
    if prompts.empty:
        raise InvalidRequestError("the prompt set is empty: nothing to run")
    missing = [c for c in (*BASE_COLUMNS, "prompt_set") if c not in prompts.columns]
    if missing:
        raise InvalidRequestError(f"the prompts frame lacks column(s) {missing}; load it with ihl_lib.data.load_prompts")
    dupes = prompts.duplicated(["prompt_set", "prompt_id"])
    if dupes.any():
        raise InvalidRequestError(f"duplicate prompt_id {prompts.loc[dupes, 'prompt_id'].iloc[0]!r} in the prompts frame")


def prepare(
    models: str | Sequence[str | ModelSpec] | None,
    prompts: pd.DataFrame,
    condition: str,
    settings: RunSettings | None = None,
) -> PreparedRun:
    """Validate everything and build the requests; no model is called.

    Raises:
        UnknownConditionError, InvalidRequestError, MissingKeyError: before any call.
    """
    settings = settings or RunSettings()
    specs = parse_models(models)
    _check_prompts(prompts)
    system_prompts = {spec.label: system_prompt_for(condition, spec.model) for spec in specs}
    check_keys(specs)
    requests = []
    for spec in specs:
        system = system_prompts[spec.label]
        profile = generation_profile(spec)
        budget = _budget(profile, settings)
        for row in prompts.itertuples(index=False):
            messages = [{"role": profile.system_role, "content": system.text}] if system is not None else []
            messages.append({"role": "user", "content": row.prompt})
            requests.append(
                ChatRequest(
                    model=spec.model,
                    messages=messages,
                    temperature=settings.temperature,
                    max_tokens=budget.max_tokens,
                    top_p=settings.top_p,
                    seed=settings.seed,
                    api_base=spec.api_base,
                    timeout=settings.timeout,
                    tag=(spec.label, row.prompt_set, row.prompt_id),
                    reasoning_effort=profile.reasoning_effort,
                    omit=profile.omit,
                    extra_body=dict(profile.extra_body) or None,
                    retry_budget=budget.retry_budget,
                )
            )
    prepared = PreparedRun(specs, prompts.reset_index(drop=True), condition, settings, requests, system_prompts)
    # Validate every request now (bounds, messages), so a bad one fails before any call.
    for i, req in enumerate(requests):
        validate_request(req, i)
    return prepared


def _rows(prepared: PreparedRun, completions: list[Completion]) -> pd.DataFrame:
    extra = [c for c in prepared.prompts.columns if c not in (*BASE_COLUMNS, "prompt_set")]
    records = []
    for spec, prompt_row, result in zip(
        prepared._spec_per_request(), prepared.prompts.to_dict("records") * len(prepared.models), completions
    ):
        system = prepared.system_prompts[spec.label]
        records.append(
            {
                "model": spec.label,
                "prompt_set": prompt_row["prompt_set"],
                "prompt_id": prompt_row["prompt_id"],
                "rule_id": int(prompt_row["rule_id"]),
                "variant": prompt_row["variant"],
                "condition": prepared.condition,
                "system_prompt": f"{system.name}/{system.version}" if system else "",
                "system_prompt_sha256": system.sha256 if system else "",
                "prompt": prompt_row["prompt"],
                "response": result.text,
                "finish_reason": result.finish_reason,
                "outcome": result.outcome,
                "budget_retried": result.budget_retried,
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "cost_usd": result.cost_usd,
                "latency_s": result.latency_s,
                "response_model": result.response_model,
                "from_cache": result.from_cache,
                "attempts": result.attempts,
                "error": result.error,
                "error_kind": result.error_kind,
                "cache_key": result.cache_key,
                **{c: prompt_row[c] for c in extra},
            }
        )
    frame = _in_schema_order(records, [*ITEM_KEY, *RESPONSE_COLUMNS, *extra])
    for column in ("prompt_tokens", "completion_tokens", "attempts"):
        frame[column] = frame[column].astype("Int64")
    frame["cost_usd"] = frame["cost_usd"].astype("float64")
    return frame


def _in_schema_order(records: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """The responses frame in :data:`ihl_lib.schema.RESPONSE_COLUMNS` order; a column the schema lacks is a bug."""
    frame = pd.DataFrame.from_records(records, columns=None if records else columns)
    if sorted(frame.columns) != sorted(columns):
        raise RuntimeError(f"responses columns {sorted(set(frame.columns) ^ set(columns))} differ from ihl_lib.schema.RESPONSE_COLUMNS")
    return frame[columns]


def analysis_target(run_name: str, results_root: Path | None = None) -> tuple[str, bool]:
    """The run an analysis notebook reads: ``run_name`` if it exists here, else the shipped reference run.

    On a fresh clone nobody has run notebooks 02-03 yet; rather than fail, an analysis notebook reads
    the shipped reference run, says so, and (the caller's part) makes no model call, so the shipped
    files are never rewritten.

    Returns:
        (the run name to read, whether it fell back to the reference run).
    """
    if (run_dir(run_name, results_root) / RESPONSES_FILE).is_file():
        return run_name, False
    print(
        f"There is no run {run_name!r} here yet (notebooks 02 and 03 make one). Showing the shipped reference run "
        f"{REFERENCE_RUN!r} instead, read-only."
    )
    return REFERENCE_RUN, True


def load_responses(run_name: str, results_root: Path | None = None) -> pd.DataFrame:
    """A run's responses (raises FileNotFoundError naming the path)."""
    path = run_dir(run_name, results_root) / RESPONSES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no responses for run {run_name!r}: {path} does not exist")
    return with_outcomes(upgrade_legacy_names(pd.read_parquet(path)))


def with_outcomes(responses: pd.DataFrame) -> pd.DataFrame:
    """Add the ``outcome`` column to responses saved before it existed (from the same fields, by the same rule)."""
    if "outcome" not in responses.columns:
        missing = pd.Series(None, index=responses.index, dtype=object)
        fields = [responses[c] if c in responses.columns else missing for c in ("response", "finish_reason", "error_kind")]
        responses = responses.assign(outcome=[outcome_of(*row) for row in zip(*fields)])
    return responses


def load_manifest(run_name: str, results_root: Path | None = None) -> dict[str, Any]:
    import json

    path = run_dir(run_name, results_root) / MANIFEST_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _portable(path: str | None) -> str | None:
    """A data file's path relative to the project (the manifest must not depend on where the clone lives)."""
    if not path:
        return path
    try:
        return Path(path).resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return path


def _save(
    prepared: PreparedRun,
    frame: pd.DataFrame,
    completions: list[Completion],
    run_name: str,
    results_root: Path | None,
    started: str,
    dataset_path: str | None,
) -> None:
    folder = run_dir(run_name, results_root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RESPONSES_FILE
    if path.is_file():
        old = load_responses(run_name, results_root)
        frame = pd.concat([old, frame], ignore_index=True).drop_duplicates(ITEM_KEY, keep="last")
    frame = frame.sort_values(ITEM_KEY, kind="stable").reset_index(drop=True)
    write_parquet_atomic(frame, path)

    manifest = load_manifest(run_name, results_root) or {
        "run_name": run_name,
        "created": started,
        "models": {},
        "conditions": {},
        "prompt_sets": {},
        "history": [],
    }
    latest = frame[frame["condition"] == prepared.condition]
    for spec in prepared.models:
        rows = latest[latest["model"] == spec.label]
        entry = manifest["models"].setdefault(spec.label, {"model": spec.model, "api_base": parse_model_id(spec.label).server})
        entry["response_models"] = sorted(set(entry.get("response_models", [])) | set(rows["response_model"].dropna()))
        entry["generation"] = generation_record(spec, prepared.settings)
    for label, system in prepared.system_prompts.items():
        cond = manifest["conditions"].setdefault(prepared.condition, {})
        cond[label] = (
            None if system is None else {"name": system.name, "version": system.version, "sha256": system.sha256, "text": system.text}
        )
    prompt_set = str(prepared.prompts["prompt_set"].iloc[0]) if prepared.prompts["prompt_set"].nunique() == 1 else "mixed"
    entry = manifest["prompt_sets"].setdefault(prompt_set, {})
    entry["file"] = _portable(dataset_path)
    entry["file_sha256"] = file_sha256(dataset_path) if dataset_path and Path(dataset_path).is_file() else None
    entry["dataset_version"] = DATASET_VERSION if prompt_set in PROMPT_SETS else None
    for stale in ("n_prompts_run", "prompts_sha256"):  # written by earlier versions; coverage replaces them
        entry.pop(stale, None)
    # Rebuilt from the whole responses file at every save, so a later run over a subset of a set
    # (or another condition's smaller sample) can never overwrite what the folder holds.
    manifest["coverage"] = coverage(frame)
    totals = usage_totals(completions)
    manifest["history"].append(
        {
            "condition": prepared.condition,
            "prompt_set": prompt_set,
            "n_prompts": len(prepared.prompts),
            "started": started,
            "finished": now_utc(),
            "settings": asdict(prepared.settings),
            "calls": int(totals["calls"].sum()),
            "cached": int(totals["cached"].sum()),
            "failed": int(totals["failed"].sum()),
            "cost_usd_this_session": None if totals["cost_usd"].isna().all() else float(totals["cost_usd"].sum()),
        }
    )
    settings = {json_key(h["settings"]) for h in manifest["history"]}
    manifest["settings"] = manifest["history"][-1]["settings"] if len(settings) == 1 else "mixed: see history"
    manifest["environment"] = environment_stamp()
    manifest["updated"] = now_utc()
    write_json_atomic(folder / MANIFEST_FILE, manifest)


class _Budget(NamedTuple):
    max_tokens: int
    answer_tokens: int
    reasoning_tokens: int
    retry_budget: int | None


def _budget(profile: GenerationProfile, settings: RunSettings) -> _Budget:
    """The token budget a model is given: its profile's, unless the run's settings name one for every model."""
    if settings.max_tokens is None:
        return _Budget(profile.max_tokens, profile.answer_tokens, profile.reasoning_tokens, profile.retry_budget)
    return _Budget(settings.max_tokens, settings.max_tokens, 0, None)


def generation_record(spec: ModelSpec, settings: RunSettings) -> dict[str, Any]:
    """What the manifest says of how a model was asked: its profile, and the parameters actually sent."""
    profile = generation_profile(spec)
    sent = {
        name: getattr(settings, name)
        for name in ("temperature", "top_p", "seed")
        if name not in profile.omit and getattr(settings, name) is not None
    }
    return {
        **_budget(profile, settings)._asdict(),
        "reasoning_effort": profile.reasoning_effort,
        "system_role": profile.system_role,
        "sampling_sent": sent,
        "not_sent": list(profile.omit),
        "extra_body": dict(profile.extra_body),
        "evidence": profile.evidence,
    }


def coverage(responses: pd.DataFrame) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Which prompt ids a responses frame holds, per prompt set, condition and model.

    Returns:
        ``{prompt_set: {condition: {model: {"n": ..., "prompt_ids": [...], "prompts_sha256": ...}}}}``;
        the hash covers each id with its prompt text, so a changed prompt under the same id shows.
    """
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for (prompt_set, condition, model), group in responses.groupby(["prompt_set", "condition", "model"], sort=True):
        held = group.drop_duplicates("prompt_id").sort_values("prompt_id")
        out.setdefault(str(prompt_set), {}).setdefault(str(condition), {})[str(model)] = {
            "n": len(held),
            "prompt_ids": held["prompt_id"].tolist(),
            "prompts_sha256": text_sha256("\n".join(f"{r.prompt_id}\t{r.prompt}" for r in held.itertuples(index=False))),
        }
    return out


def json_key(obj: Any) -> str:
    import json

    return json.dumps(obj, sort_keys=True)


def run(
    models: str | Sequence[str | ModelSpec] | None,
    prompts: pd.DataFrame,
    condition: str,
    *,
    run_name: str | None = "default",
    settings: RunSettings | None = None,
    cache: ResponseCache | str | os.PathLike[str] | None = None,
    results_root: Path | None = None,
    progress: bool = True,
    show_plan: bool = True,
) -> pd.DataFrame:
    """Run models over prompts under a condition, and save the results.

    Args:
        models: litellm ids (see :func:`ihl_lib.models.parse_models`); None reads ``IHL_MODELS``.
        prompts: a frame from :func:`ihl_lib.data.load_prompts` (possibly sampled).
        condition: ``baseline``, ``intervention`` or a registered condition.
        run_name: the results folder under ``data/results/``; None does not save.
        settings: generation settings (temperature 0, max_tokens, seed, concurrency).
        cache: the model-call cache (default ``cache/``).
        results_root: override ``data/results``.
        progress: show a progress bar.
        show_plan: print the plan before calling.

    Returns:
        One row per (model, prompt) for this condition.
    """
    started = now_utc()
    prepared = prepare(models, prompts, condition, settings)
    if show_plan:
        print(prepared.summary())
        print(prepared.plan(cache).to_string())
    completions = complete_many(
        prepared.requests,
        max_concurrency=prepared.settings.max_concurrency,
        cache=cache,
        progress=progress,
        description=f"{condition}",
    )
    frame = _rows(prepared, completions)
    if run_name is not None:
        _save(prepared, frame, completions, run_name, results_root, started, prompts.attrs.get("source_path"))
    return frame


def summarize(responses: pd.DataFrame) -> pd.DataFrame:
    """Per model and condition: prompts, each outcome (:data:`ihl_lib.schema.OUTCOMES`), the share cut by the
    token budget, tokens, latency and cost."""
    frame = with_outcomes(responses)
    counts = pd.crosstab([frame["model"], frame["condition"]], frame["outcome"]).reindex(columns=list(OUTCOMES), fill_value=0)
    table = (
        frame.groupby(["model", "condition"])
        .agg(
            prompts=("prompt_id", "size"),
            from_cache=("from_cache", "sum"),
            completion_tokens=("completion_tokens", "sum"),
            median_latency_s=("latency_s", "median"),
            cost_usd=("cost_usd", lambda s: s.sum(min_count=1)),
        )
        .join(counts)
    )
    table["truncated_share"] = table["truncated"] / table["prompts"]
    return table.reset_index()


def run_sets(
    models: str | Sequence[str | ModelSpec] | None,
    runs: Sequence[tuple[str | pd.DataFrame, str]],
    *,
    run_name: str,
    sample: int | None = None,
    settings: RunSettings | None = None,
    cache: ResponseCache | str | os.PathLike[str] | None = None,
    results_root: Path | None = None,
) -> pd.DataFrame:
    """Run several (prompts, condition) pairs into one run folder.

    ``prompts`` is a shipped set's name (loaded, then sampled with ``sample``: the same
    prompts every time) or a frame used as it is. Every pair is prepared (validated,
    keys checked) before the first call.

    Returns:
        :func:`summarize` of all the rows produced.
    """

    def frame(prompts: str | pd.DataFrame) -> pd.DataFrame:
        return sample_prompts(load_prompts(prompts), sample) if isinstance(prompts, str) else prompts

    frames = [(frame(p), condition) for p, condition in runs]
    for prompts, condition in frames:
        prepare(models, prompts, condition, settings)
    out = [
        run(models, prompts, condition, run_name=run_name, settings=settings, cache=cache, results_root=results_root, show_plan=False)
        for prompts, condition in frames
    ]
    return summarize(pd.concat(out, ignore_index=True))
