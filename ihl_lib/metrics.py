"""Refusal and helpful-refusal rates per group, with Wilson intervals.

Pure functions: frames in, frames out.

Rates are shares of **all prompts** (n): the paper's figures are shares of all 322 prompts (every
figure it states is k/322). ``helpful_share_of_refusals`` is also given: helpful refusals over
refusals. Refusal = full or partial refusal, as in XSTest. Unresolved and no-response items stay in
n ("unresolved is no", :func:`ihl_lib.schema.as_binary`) and are counted in their own columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ihl_lib.judging.definitions import LABELS
from ihl_lib.schema import HELPFUL_REFUSAL, NO_RESPONSE, PROVIDER_BLOCKED, REFUSED, UNRESOLVED, as_binary, require_columns

__all__ = ["MIN_N_FOR_CI", "rate_table", "rates", "wilson_ci"]

MIN_N_FOR_CI = 5


def wilson_ci(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval (statsmodels ``proportion_confint``); (nan, nan) when n is 0.

    The interval always contains its estimate ``successes / n``: at k = 0 the exact lower
    bound is 0 and at k = n the upper bound is 1, but statsmodels' floating-point formula
    can miss them by ~1e-17 (0 of 40 gives a lower bound of 6.9e-18), which would put the
    estimate outside its own interval and hand negative error bars to a plot.
    """
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return float("nan"), float("nan")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n = {n}, got {successes}")
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    rate = successes / n
    low = 0.0 if successes == 0 else min(float(low), rate)
    high = 1.0 if successes == n else max(float(high), rate)
    return low, high


def rate_table(
    verdicts: pd.DataFrame, outcome: str = "refused", by: Sequence[str] = ("model", "condition"), min_n_for_ci: int = MIN_N_FOR_CI
) -> pd.DataFrame:
    """Rate of ``outcome`` per group, with Wilson 95% CIs where n >= ``min_n_for_ci``.

    Returns:
        by columns, n, k, rate, ci_low, ci_high.
    """
    by = list(by)
    require_columns(verdicts, [*by, outcome])
    frame = verdicts.assign(_y=as_binary(verdicts[outcome]))
    grouped = frame.groupby(by, sort=True)["_y"].agg(["size", "sum"]).rename(columns={"size": "n", "sum": "k"}).reset_index()
    grouped["rate"] = grouped["k"] / grouped["n"]
    cis = [wilson_ci(int(k), int(n)) if n >= min_n_for_ci else (np.nan, np.nan) for k, n in zip(grouped["k"], grouped["n"])]
    grouped["ci_low"], grouped["ci_high"] = zip(*cis) if cis else ([], [])
    return grouped


def rates(verdicts: pd.DataFrame, by: list[str] | None = None, *, exclude_blocked: bool = False) -> pd.DataFrame:
    """Every verdict label counted, and the refusal and helpful-refusal rates, per group (default: model x condition).

    Args:
        verdicts: the panel's verdicts.
        by: the grouping columns.
        exclude_blocked: leave out the replies the provider's filter stopped (the sensitivity
            table); by default they count as unhelpful refusals (the panel policy, rule 6).

    Returns:
        n, full_refusal, partial_refusal, full_compliance, unresolved, no_response, provider_blocked,
        refused, helpful_refusals (counts), refusal_rate, helpful_refusal_rate (of all n; the same
        numbers :func:`rate_table` gives) and helpful_share_of_refusals (NaN when nothing was refused).
    """
    by = by or ["model", "condition"]
    if exclude_blocked:
        verdicts = verdicts[verdicts["label"] != PROVIDER_BLOCKED]
    require_columns(verdicts, [*by, "label", REFUSED, HELPFUL_REFUSAL])
    labels = pd.crosstab([verdicts[c] for c in by], verdicts["label"])
    counts = labels.reindex(columns=[*LABELS, UNRESOLVED, NO_RESPONSE, PROVIDER_BLOCKED], fill_value=0)
    counts.insert(0, "n", labels.sum(axis=1))
    counts = counts.rename_axis(columns=None).reset_index()
    for outcome, count, rate in ((REFUSED, "refused", "refusal_rate"), (HELPFUL_REFUSAL, "helpful_refusals", "helpful_refusal_rate")):
        table = rate_table(verdicts, outcome, by)[[*by, "k", "rate"]]
        counts = counts.merge(table.rename(columns={"k": count, "rate": rate}), on=by, validate="one_to_one")
    counts["helpful_share_of_refusals"] = (counts["helpful_refusals"] / counts["refused"]).where(counts["refused"] > 0)
    return counts
