"""Significance tests (paired McNemar and cluster bootstrap, Holm, Cochran's Q, GEE) and per-part/rule breakdowns.

Pure functions: DataFrame in, DataFrame or numbers out, no I/O.

Outcomes are the panel's binary verdicts, ``refused`` and ``helpful_refusal`` (see
:mod:`ihl_lib.judging`). An unresolved or missing verdict counts as "no" (not
refused, not helpful), the same policy the rates use, so that every prompt
stays in every denominator.

Paired tests compare two conditions of one model on the *same* prompts:
McNemar's exact test on the discordant pairs, and a seeded paired bootstrap CI
for the difference in proportions. The design has two prompts per IHL rule, so
prompts are not independent: the bootstrap resamples **rules** (clusters), both
prompts of a rule together, and the cross-model GEE clusters by rule. p-values
are Holm-adjusted across models by :func:`paired_tests`; a notebook that reports
several outcomes or conditions applies :func:`holm` once more over the whole
family it reports.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ihl_lib.metrics import MIN_N_FOR_CI, rate_table
from ihl_lib.schema import as_binary, require_columns

__all__ = [
    "NOT_ENOUGH_DATA",
    "PairingError",
    "breakdown",
    "cochran_q",
    "common_prompts",
    "gee_odds_ratios",
    "holm",
    "paired_outcomes",
    "paired_test",
    "paired_tests",
    "rule_clusters",
]

NOT_ENOUGH_DATA = "not enough data"
PAIR_KEY = ["prompt_set", "prompt_id"]
MIN_PAIRS = 10


class PairingError(ValueError):
    """The two conditions do not cover the same prompts."""


def common_prompts(verdicts: pd.DataFrame, condition_a: str, condition_b: str) -> pd.DataFrame:
    """Only the rows of prompts that each model answered under both conditions (and no other condition).

    Use it explicitly before a paired test when one condition ran on a sample:
    :func:`paired_outcomes` refuses unpaired data rather than dropping it silently.
    """
    require_columns(verdicts, ["model", "condition", *PAIR_KEY])
    rows = verdicts[verdicts["condition"].isin([condition_a, condition_b])]
    counts = rows.groupby(["model", *PAIR_KEY])["condition"].nunique()
    both = counts[counts == 2].index
    return rows.set_index(["model", *PAIR_KEY]).loc[lambda f: f.index.isin(both)].reset_index()


def paired_outcomes(verdicts: pd.DataFrame, outcome: str, model: str, condition_a: str, condition_b: str) -> pd.DataFrame:
    """One model's outcome under two conditions, aligned prompt by prompt.

    Raises:
        PairingError: the conditions do not cover exactly the same prompts.
    """
    require_columns(verdicts, ["model", "condition", *PAIR_KEY, outcome])
    rows = verdicts[verdicts["model"] == model]
    a = rows[rows["condition"] == condition_a].set_index(PAIR_KEY)[outcome]
    b = rows[rows["condition"] == condition_b].set_index(PAIR_KEY)[outcome]
    if a.index.has_duplicates or b.index.has_duplicates:
        raise PairingError(f"{model}: a prompt appears twice under one condition")
    only_a, only_b = a.index.difference(b.index), b.index.difference(a.index)
    if len(only_a) or len(only_b):
        ids = [f"{prompt_set}/{prompt_id}" for prompt_set, prompt_id in [*only_a[:10], *only_b[:10]]]
        raise PairingError(
            f"{model}: {condition_a} and {condition_b} are not paired: {len(only_a)} prompt(s) only in {condition_a}, "
            f"{len(only_b)} only in {condition_b} ({', '.join(ids)}); run both conditions on the same prompts"
        )
    b = b.reindex(a.index)
    pairs = pd.DataFrame({"a": as_binary(a).to_numpy(), "b": as_binary(b).to_numpy()}, index=a.index)
    if "rule_id" in rows.columns:
        pairs["rule_id"] = rows[rows["condition"] == condition_a].set_index(PAIR_KEY)["rule_id"].reindex(a.index).to_numpy()
    return pairs


def _bootstrap_diff_ci(
    a: np.ndarray, b: np.ndarray, n_boot: int, seed: int, alpha: float = 0.05, clusters: np.ndarray | None = None
) -> tuple[float, float]:
    """Percentile CI of mean(b) - mean(a), resampling pairs, or whole clusters of pairs when given."""
    rng = np.random.default_rng(seed)
    if clusters is None:
        idx = rng.integers(0, len(a), size=(n_boot, len(a)))
        diffs = b[idx].mean(axis=1) - a[idx].mean(axis=1)
    else:
        # Per-cluster sums and sizes; a resample draws clusters with replacement and pools them.
        labels, inverse = np.unique(clusters, return_inverse=True)
        size = np.bincount(inverse).astype(float)
        diff_sum = np.bincount(inverse, weights=(b - a).astype(float))
        draws = rng.integers(0, len(labels), size=(n_boot, len(labels)))
        diffs = diff_sum[draws].sum(axis=1) / size[draws].sum(axis=1)
    return float(np.quantile(diffs, alpha / 2)), float(np.quantile(diffs, 1 - alpha / 2))


def paired_test(
    a: np.ndarray, b: np.ndarray, *, min_pairs: int = MIN_PAIRS, n_boot: int = 2000, seed: int = 0, clusters: np.ndarray | None = None
) -> dict[str, object]:
    """McNemar's exact test and a paired bootstrap CI for two aligned 0/1 arrays.

    Args:
        a, b: the outcome under each condition, pair by pair.
        clusters: each pair's cluster (its IHL rule); the CI then resamples clusters, not pairs.

    Returns:
        n_pairs, n_clusters, rate_a, rate_b, diff (b - a), diff_ci_low/high, ci_method,
        a_only (1 under a, 0 under b), b_only, p_value, status (``ok`` or ``not enough data``).
    """
    from statsmodels.stats.contingency_tables import mcnemar

    a, b = np.asarray(a, dtype=int), np.asarray(b, dtype=int)
    if a.shape != b.shape:
        raise PairingError(f"paired arrays differ in length: {len(a)} vs {len(b)}")
    row: dict[str, object] = {
        "n_pairs": len(a),
        "rate_a": a.mean() if len(a) else np.nan,
        "rate_b": b.mean() if len(b) else np.nan,
        "a_only": int(((a == 1) & (b == 0)).sum()),
        "b_only": int(((a == 0) & (b == 1)).sum()),
    }
    row["diff"] = row["rate_b"] - row["rate_a"]  # type: ignore[operator]
    if clusters is not None and len(clusters) != len(a):
        raise PairingError(f"{len(clusters)} cluster labels for {len(a)} pairs")
    row["n_clusters"] = int(len(np.unique(clusters))) if clusters is not None else len(a)
    row["ci_method"] = "cluster bootstrap (rules)" if clusters is not None else "bootstrap (pairs)"
    if len(a) < min_pairs:
        return {**row, "status": NOT_ENOUGH_DATA, "p_value": np.nan, "diff_ci_low": np.nan, "diff_ci_high": np.nan}
    table = [[int(((a == 1) & (b == 1)).sum()), row["a_only"]], [row["b_only"], int(((a == 0) & (b == 0)).sum())]]
    low, high = _bootstrap_diff_ci(a, b, n_boot, seed, clusters=None if clusters is None else np.asarray(clusters))
    return {**row, "status": "ok", "p_value": float(mcnemar(table, exact=True).pvalue), "diff_ci_low": low, "diff_ci_high": high}


def holm(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``p_holm``: Holm-adjusted p-values over the rows whose status is ``ok``."""
    from statsmodels.stats.multitest import multipletests

    out = frame.copy()
    out["p_holm"] = np.nan
    if out.empty:
        return out
    tested = out["status"] == "ok"
    if tested.any():
        out.loc[tested, "p_holm"] = multipletests(out.loc[tested, "p_value"], method="holm")[1]
    return out


def rule_clusters(pairs: pd.DataFrame) -> np.ndarray | None:
    """Each pair's IHL rule, for a bootstrap that resamples whole rules; None when a rule is not known."""
    return pairs["rule_id"].to_numpy() if "rule_id" in pairs.columns and pairs["rule_id"].notna().all() else None


def paired_tests(
    verdicts: pd.DataFrame,
    outcome: str = "refused",
    condition_a: str = "baseline",
    condition_b: str = "intervention",
    *,
    min_pairs: int = MIN_PAIRS,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per model: McNemar's exact test, discordant counts, and a paired bootstrap CI.

    With a ``rule_id`` column the CI is a cluster bootstrap over rules (both prompts of a rule
    resampled together); without one, over prompts.

    Returns:
        One row per model: n_pairs, rate_a, rate_b, diff (b - a), diff_ci_low/high,
        a_only (yes under a, no under b), b_only, p_value, p_holm, status
        (``ok`` or ``not enough data``, in which case the test columns are NaN).
    """
    require_columns(verdicts, ["model", "condition", *PAIR_KEY, outcome])
    rows = []
    for model in sorted(verdicts["model"].unique()):
        present = set(verdicts.loc[verdicts["model"] == model, "condition"])
        if not {condition_a, condition_b} <= present:
            continue
        pairs = paired_outcomes(verdicts, outcome, model, condition_a, condition_b)
        result = paired_test(
            pairs["a"].to_numpy(), pairs["b"].to_numpy(), min_pairs=min_pairs, n_boot=n_boot, seed=seed, clusters=rule_clusters(pairs)
        )
        rows.append({"model": model, "outcome": outcome, "condition_a": condition_a, "condition_b": condition_b, **result})
    return holm(pd.DataFrame(rows))


def cochran_q(
    verdicts: pd.DataFrame, outcome: str = "refused", condition: str = "baseline", min_items: int = MIN_PAIRS
) -> dict[str, object]:
    """Cochran's Q across models under one condition (do the models differ?), on prompts all models answered."""
    from statsmodels.stats.contingency_tables import cochrans_q

    require_columns(verdicts, ["model", "condition", *PAIR_KEY, outcome])
    rows = verdicts[verdicts["condition"] == condition]
    wide = rows.assign(_y=as_binary(rows[outcome])).pivot_table(index=PAIR_KEY, columns="model", values="_y", aggfunc="first").dropna()
    result: dict[str, object] = {"condition": condition, "outcome": outcome, "n_models": int(wide.shape[1]), "n_items": int(wide.shape[0])}
    if wide.shape[1] < 2 or wide.shape[0] < min_items:
        return {**result, "status": NOT_ENOUGH_DATA, "q": np.nan, "df": np.nan, "p_value": np.nan}
    res = cochrans_q(wide.to_numpy(dtype=int))
    return {**result, "status": "ok", "q": float(res.statistic), "df": int(res.df), "p_value": float(res.pvalue)}


def gee_odds_ratios(
    verdicts: pd.DataFrame, outcome: str = "refused", *, reference_condition: str = "baseline", min_items: int = MIN_PAIRS
) -> pd.DataFrame:
    """Logistic GEE of the outcome on model x condition, IHL rules as clusters.

    Exchangeable working correlation within each rule (the answers to its prompts across
    models and conditions); robust (sandwich) standard errors. Without a ``rule_id`` column,
    each prompt is its own cluster. Reported as odds ratios with 95% CIs.

    Returns:
        term, odds_ratio, ci_low, ci_high, p_value; or one row with status
        ``not enough data`` (too few prompts, or an outcome that never varies).
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    require_columns(verdicts, ["model", "condition", *PAIR_KEY, outcome])
    cluster = (
        verdicts["rule_id"].astype(str)
        if "rule_id" in verdicts.columns and verdicts["rule_id"].notna().all()
        else verdicts["prompt_set"] + ":" + verdicts["prompt_id"]
    )
    frame = verdicts.assign(y=as_binary(verdicts[outcome]), cluster=cluster)
    if frame["cluster"].nunique() < min_items or frame["y"].nunique() < 2:
        return pd.DataFrame([{"term": "model x condition", "status": NOT_ENOUGH_DATA}])
    n_models, n_conditions = frame["model"].nunique(), frame["condition"].nunique()
    terms = []
    if n_models > 1:
        terms.append("C(model)")
    if n_conditions > 1:
        terms.append(f"C(condition, Treatment('{reference_condition}'))")
    if not terms:
        return pd.DataFrame([{"term": "model x condition", "status": NOT_ENOUGH_DATA}])
    formula = "y ~ " + (" * ".join(terms))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; a failed fit is reported below
        try:
            fit = smf.gee(
                formula, groups="cluster", data=frame, family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable()
            ).fit()
        except Exception as exc:  # noqa: BLE001 (perfect separation and singular designs)
            return pd.DataFrame([{"term": "model x condition", "status": f"{NOT_ENOUGH_DATA}: {type(exc).__name__}"}])
    ci = fit.conf_int()
    out = pd.DataFrame(
        {
            "term": fit.params.index,
            "odds_ratio": np.exp(fit.params.to_numpy()),
            "ci_low": np.exp(ci[0].to_numpy()),
            "ci_high": np.exp(ci[1].to_numpy()),
            "p_value": fit.pvalues.to_numpy(),
        }
    )
    unstable = ~np.isfinite(out["ci_high"]) | (out["ci_high"] > 1e6)
    out["status"] = np.where(unstable, "unstable (separation)", "ok")
    return out


def breakdown(
    verdicts: pd.DataFrame,
    rules: pd.DataFrame,
    outcome: str = "refused",
    level: str = "part",
    by: Sequence[str] = ("model", "condition"),
    min_n_for_ci: int = MIN_N_FOR_CI,
) -> pd.DataFrame:
    """Rate of ``outcome`` by IHL part, chapter or rule, always with n; CIs only where n allows.

    Args:
        verdicts: panel verdicts (with ``prompt_id``; the rule comes from ``rule_id`` or the prompt id).
        rules: :func:`ihl_lib.data.load_rules`.
        level: ``part``, ``chapter`` or ``rule``.
    """
    columns = {"part": ["part_number", "part"], "chapter": ["chapter_number", "chapter"], "rule": ["rule_id", "title"]}
    if level not in columns:
        raise ValueError(f"level must be one of {list(columns)}, got {level!r}")
    require_columns(verdicts, [*by, outcome, "rule_id"])
    merged = verdicts.merge(
        rules[["rule_id", "part_number", "part", "chapter_number", "chapter", "title"]], on="rule_id", how="left", validate="many_to_one"
    )
    if merged["part"].isna().any():
        raise ValueError("some verdicts have a rule_id not in the rules table")
    table = rate_table(merged, outcome, by=[*columns[level], *by], min_n_for_ci=min_n_for_ci)
    return table.sort_values([*columns[level], *by]).reset_index(drop=True)
