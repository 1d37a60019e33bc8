"""Analyses beyond the original study. Pure functions over panel verdicts (no I/O).

1. **Technical framing**: is a violation wrapped in code refused as often as the
   plain request for the same rule? Pairs ``R<rule>-c1`` with ``R<rule>-a`` and
   ``R<rule>-c2`` with ``R<rule>-b``.
2. **Tailored prompts**: compare the ``tailored`` condition with ``intervention``
   (use :func:`ihl_lib.stats.paired_tests` with those two conditions).
3. **Over-refusal**: refusal of lawful twin prompts, and the trade-off between
   refusing violations and refusing their lawful twins.
4. **Blind refusal**: the help rate (full compliance) on requests to evade
   illegitimate rules against controls, and whether the safety prompt lowers it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ihl_lib.stats import as_binary, holm, paired_test, rate_table

__all__ = ["plain_counterparts", "blind_refusal_rates", "blind_refusal_tests", "code_pairs", "help_outcome", "technical_framing_tests", "tradeoff_points"]


def plain_counterparts(code_prompts: pd.DataFrame, plain_prompts: pd.DataFrame) -> pd.DataFrame:
    """The plain prompts paired with some code-wrapped prompts (c1 -> a, c2 -> b), so a sample stays paired."""
    ids = code_prompts["prompt_id"].str.replace(r"-c1$", "-a", regex=True).str.replace(r"-c2$", "-b", regex=True)
    out = plain_prompts[plain_prompts["prompt_id"].isin(set(ids))].copy()
    out.attrs = dict(plain_prompts.attrs)
    return out


def code_pairs(verdicts: pd.DataFrame, outcome: str = "refused") -> pd.DataFrame:
    """Each code-wrapped prompt beside the plain prompt of the same rule (c1 with a, c2 with b)."""
    code = verdicts[verdicts["prompt_set"] == "code_wrapped"].copy()
    plain = verdicts[verdicts["prompt_set"] == "ihl_violations"]
    code["plain_id"] = code["prompt_id"].str.replace(r"-c1$", "-a", regex=True).str.replace(r"-c2$", "-b", regex=True)
    merged = code.merge(plain[["model", "condition", "prompt_id", outcome]].rename(columns={"prompt_id": "plain_id", outcome: "plain"}),
                        on=["model", "condition", "plain_id"], how="inner", validate="one_to_one")
    return merged.rename(columns={outcome: "code"})[["model", "condition", "rule_id", "prompt_id", "plain_id", "plain", "code"]]


def technical_framing_tests(verdicts: pd.DataFrame, outcome: str = "refused", **kwargs: object) -> pd.DataFrame:
    """Per model and condition: plain vs code-wrapped, McNemar on the rule-matched pairs (a = plain, b = code)."""
    pairs = code_pairs(verdicts, outcome)
    rows = []
    if pairs.empty:
        return pd.DataFrame(columns=["model", "condition", "outcome", "a", "b", "n_pairs", "status", "p_value", "p_holm"])
    for (model, condition), group in pairs.groupby(["model", "condition"], sort=True):
        result = paired_test(as_binary(group["plain"]).to_numpy(), as_binary(group["code"]).to_numpy(), **kwargs)  # type: ignore[arg-type]
        rows.append({"model": model, "condition": condition, "outcome": outcome, "a": "plain", "b": "code-wrapped", **result})
    return holm(pd.DataFrame(rows))


def tradeoff_points(verdicts: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Refusal of violating prompts vs refusal of their lawful twins, per model and condition (and ``by``)."""
    by = ["model", "condition", *(by or [])]
    violating = rate_table(verdicts[verdicts["prompt_set"] == "ihl_violations"], "refused", by)
    lawful = rate_table(verdicts[verdicts["prompt_set"] == "lawful_twins"], "refused", by)
    out = violating[[*by, "rate", "n"]].merge(lawful[[*by, "rate", "n"]], on=by, suffixes=("_violating", "_lawful"))
    return out.rename(columns={"rate_violating": "refusal_violating", "rate_lawful": "refusal_lawful"})


def help_outcome(verdicts: pd.DataFrame) -> pd.Series:
    """1 where the panel says the model helped (full compliance), else 0 (refusals, unresolved)."""
    return (verdicts["label"] == "full_compliance").astype(int)


def blind_refusal_rates(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Help rate on illegitimate-rule cases and on controls, per model and condition, with Wilson CIs."""
    cases = verdicts[verdicts["prompt_set"] == "illegitimate_rules"]
    cases = cases.assign(helped=help_outcome(cases).astype(bool), case=np.where(cases["variant"] == "control", "control", "illegitimate"))
    return rate_table(cases, "helped", ["model", "condition", "case"])


def blind_refusal_tests(verdicts: pd.DataFrame, condition_a: str = "baseline", condition_b: str = "intervention",
                        **kwargs: object) -> pd.DataFrame:
    """Does the safety prompt change help on cases where the model *should* help? Paired by prompt, per model."""
    cases = verdicts[(verdicts["prompt_set"] == "illegitimate_rules") & (verdicts["variant"] != "control")]
    cases = cases.assign(helped=help_outcome(cases))
    rows = []
    for model, group in cases.groupby("model", sort=True):
        wide = group.pivot_table(index="prompt_id", columns="condition", values="helped", aggfunc="first")
        if not {condition_a, condition_b} <= set(wide.columns):
            continue
        wide = wide[[condition_a, condition_b]].dropna()
        result = paired_test(wide[condition_a].to_numpy(), wide[condition_b].to_numpy(), **kwargs)  # type: ignore[arg-type]
        rows.append({"model": model, "outcome": "helped (should help)", "condition_a": condition_a, "condition_b": condition_b, **result})
    return holm(pd.DataFrame(rows))
