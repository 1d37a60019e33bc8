"""Sentences that describe result tables, so a notebook's prose stays true when the numbers change."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ihl_lib.judging.agreement import landis_koch
from ihl_lib.stats import NOT_ENOUGH_DATA

__all__ = ["describe_agreement", "describe_paired", "describe_rates", "pct"]


def pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


def describe_rates(table: pd.DataFrame, what: str) -> str:
    """One line per model and condition: '<model>, <condition>: k/n = rate [CI]'."""
    lines = []
    for row in table.itertuples():
        ci = "" if pd.isna(row.ci_low) else f" (95% CI {pct(row.ci_low)} to {pct(row.ci_high)})"
        lines.append(f"- **{row.model}**, {row.condition}: {what} {row.k}/{row.n} = {pct(row.rate)}{ci}")
    return "\n".join(lines)


def describe_paired(tests: pd.DataFrame, what: str, alpha: float = 0.05) -> str:
    """Plain-language reading of :func:`ihl_lib.stats.paired_tests` output."""
    if tests.empty:
        return f"No model has both conditions, so no paired test of {what} was run."
    lines = []
    for row in tests.itertuples():
        head = f"- **{row.model}**: {what} went from {pct(row.rate_a)} ({row.condition_a}) to {pct(row.rate_b)} ({row.condition_b})"
        if row.status == NOT_ENOUGH_DATA:
            lines.append(f"{head}; with {row.n_pairs} pairs there is not enough data for a test.")
            continue
        verdict = "a significant change" if row.p_holm < alpha else "no significant change"
        lines.append(
            f"{head}, a difference of {100 * row.diff:+.1f} points (bootstrap 95% CI {100 * row.diff_ci_low:+.1f} to "
            f"{100 * row.diff_ci_high:+.1f}); {row.a_only} prompts changed only one way and {row.b_only} the other; "
            f"McNemar exact p = {row.p_value:.3g}, Holm-adjusted {row.p_holm:.3g}: {verdict} at alpha = {alpha}."
        )
    return "\n".join(lines)


def describe_agreement(summary: dict[str, Any]) -> str:
    """Reading of :func:`ihl_lib.judging.agreement.judge_agreement`."""
    kappa = summary["fleiss_kappa"]
    if pd.isna(kappa):
        strength = "undefined (too few items with three valid votes, or no variation)"
    else:
        strength = f"{kappa:.2f}, {landis_koch(kappa)} on the Landis-Koch scale"
    invalid = ", ".join(f"{j}: {n}" for j, n in summary["invalid_votes"].items())
    return (
        f"Over {summary['n_items']} items, Fleiss' kappa is {strength}; the judges were unanimous on "
        f"{pct(summary['unanimous_share'])} of items. Invalid votes (parse failures and errors) per judge: {invalid}."
    )
