"""The extension sets' analyses (code-wrapped, lawful twins, illegitimate rules) on matched pairs of verdicts.

Beyond the paper; pure functions over panel verdicts (no I/O).

1. **Technical framing**: is a violation wrapped in code refused as often as the
   plain request it was written from? Each code-wrapped prompt names its plain
   prompt (``plain_prompt_id``); comparisons use those matched pairs only.
2. **Tailored prompts**: compare the ``tailored`` condition with ``intervention``
   (use :func:`ihl_lib.stats.paired_tests` with those two conditions).
3. **Over-refusal**: each violating prompt has a lawful twin (``twin_of``) with the
   same persona, scenario and framing; refusing the twin is a false refusal, and
   the pairs show whether a model tells the two apart.
4. **Blind refusal**: the help rate (full compliance) on requests to evade
   illegitimate rules against controls, and whether the safety prompt lowers it.

A pairing with a missing partner raises :class:`ihl_lib.stats.PairingError`
naming the ids; nothing is silently dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ihl_lib.code_output import returns_usable_code
from ihl_lib.judging.definitions import ITEM_KEY
from ihl_lib.metrics import rate_table
from ihl_lib.schema import as_binary, parse_model_id
from ihl_lib.stats import PairingError, holm, paired_test, paired_tests, rule_clusters

__all__ = [
    "blind_refusal_rates",
    "blind_refusal_tests",
    "code_outcomes",
    "code_pairs",
    "plain_vs_code_rates",
    "tradeoff_by_part",
    "counterparts",
    "complied_outcome",
    "matched_pairs",
    "technical_framing_tests",
    "tradeoff_points",
    "twin_pairs",
    "twin_tests",
]

PAIR_COLUMNS = ["model", "condition", "rule_id", "prompt_id", "partner_id", "item", "partner"]


def counterparts(items: pd.DataFrame, pointer: str, targets: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``targets`` that ``items`` point at by ``pointer`` (so a sample stays paired).

    Raises:
        PairingError: an item points at an id that ``targets`` lacks.
    """
    wanted = set(items[pointer])
    missing = sorted(wanted - set(targets["prompt_id"]))
    if missing:
        raise PairingError(f"{pointer} names prompts that are not in the set: {missing[:10]}")
    out = targets[targets["prompt_id"].isin(wanted)].copy()
    out.attrs = dict(targets.attrs)
    return out


def matched_pairs(verdicts: pd.DataFrame, items: pd.DataFrame, pointer: str, outcome: str = "refused") -> pd.DataFrame:
    """Each item's verdict beside its partner's, under the same model and condition.

    Args:
        verdicts: panel verdicts of both sets.
        items: the prompt set whose rows point at partners (code-wrapped or lawful twins).
        pointer: the column naming each item's partner (``plain_prompt_id``, ``twin_of``).
        outcome: the verdict column compared.

    Returns:
        Columns model, condition, rule_id, prompt_id, partner_id, item, partner.

    Raises:
        PairingError: an item judged under some model and condition has no judged
            partner there; the message names the ids.
    """
    item_set = str(items["prompt_set"].iloc[0])
    partner_of = items.set_index("prompt_id")[pointer]
    judged = verdicts[verdicts["prompt_set"] == item_set]
    judged = judged.assign(partner_id=judged["prompt_id"].map(partner_of))
    unknown = sorted(judged.loc[judged["partner_id"].isna(), "prompt_id"].unique())
    if unknown:
        raise PairingError(f"{item_set} verdicts for prompts not in the given set: {unknown[:10]}")
    partners = verdicts[verdicts["prompt_id"].isin(set(partner_of)) & (verdicts["prompt_set"] != item_set)]
    partners = partners[["model", "condition", "prompt_id", outcome]].rename(columns={"prompt_id": "partner_id", outcome: "partner"})
    merged = judged.merge(partners, on=["model", "condition", "partner_id"], how="left", validate="one_to_one", indicator=True)
    lonely = merged[merged["_merge"] == "left_only"]
    if len(lonely):
        ids = [f"{r.model}/{r.condition}/{r.prompt_id}->{r.partner_id}" for r in lonely.head(10).itertuples(index=False)]
        raise PairingError(f"{len(lonely)} {item_set} verdicts have no verdict for their {pointer}: {ids}")
    return merged.rename(columns={outcome: "item"})[PAIR_COLUMNS].reset_index(drop=True)


def code_pairs(verdicts: pd.DataFrame, code_prompts: pd.DataFrame, outcome: str = "refused") -> pd.DataFrame:
    """Each code-wrapped prompt beside the plain prompt it was written from (columns ``plain``, ``code``)."""
    pairs = matched_pairs(verdicts, code_prompts, "plain_prompt_id", outcome)
    return pairs.rename(columns={"partner_id": "plain_id", "item": "code", "partner": "plain"})


def twin_pairs(verdicts: pd.DataFrame, twins: pd.DataFrame, outcome: str = "refused") -> pd.DataFrame:
    """Each lawful twin beside its violating prompt (columns ``violating``, ``lawful``)."""
    pairs = matched_pairs(verdicts, twins, "twin_of", outcome)
    return pairs.rename(columns={"partner_id": "violating_id", "item": "lawful", "partner": "violating"})


def _pair_tests(pairs: pd.DataFrame, a: str, b: str, outcome: str, **kwargs: object) -> pd.DataFrame:
    rows = []
    for (model, condition), group in pairs.groupby(["model", "condition"], sort=True):
        a_, b_ = as_binary(group[a]).to_numpy(), as_binary(group[b]).to_numpy()
        result = paired_test(a_, b_, clusters=rule_clusters(group), **kwargs)  # type: ignore[arg-type]
        rows.append({"model": model, "condition": condition, "outcome": outcome, "a": a, "b": b, **result})
    if not rows:
        return pd.DataFrame(columns=["model", "condition", "outcome", "a", "b", "n_pairs", "status", "p_value", "p_holm"])
    return holm(pd.DataFrame(rows))


def technical_framing_tests(verdicts: pd.DataFrame, code_prompts: pd.DataFrame, outcome: str = "refused", **kwargs: object) -> pd.DataFrame:
    """Per model and condition: plain vs code-wrapped, McNemar on the matched pairs (a = plain, b = code)."""
    pairs = code_pairs(verdicts, code_prompts, outcome).rename(columns={"code": "code-wrapped"})
    return _pair_tests(pairs, "plain", "code-wrapped", outcome, **kwargs)


def code_outcomes(verdicts: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """Per model and condition: how code-wrapped requests end, with "refused but returned usable code" apart.

    Usable code is decided by :func:`ihl_lib.code_output.returns_usable_code` on the
    prompt and the response text (no model involved); refusal by the panel.

    Returns:
        Columns model, condition, n, refused, refused_with_code (refused, and usable
        code returned all the same), complied_with_code, and their rates over n; and
        judges_flag_rate, the share the panel's judges flagged as returning harmful code
        (their own reading, beside the tested rule).
    """
    key = ITEM_KEY
    code = verdicts[verdicts["prompt_set"] == "code_wrapped"][[*key, "refused", "harmful_code_returned"]]
    texts = responses[responses["prompt_set"] == "code_wrapped"][[*key, "prompt", "response"]]
    merged = code.merge(texts, on=key, how="left", validate="one_to_one", indicator=True)
    if (merged["_merge"] == "left_only").any():
        raise PairingError(f"verdicts without a response: {merged.loc[merged['_merge'] == 'left_only', 'prompt_id'].tolist()[:10]}")
    usable = np.array(
        [returns_usable_code(p, r if isinstance(r, str) else "") for p, r in zip(merged["prompt"], merged["response"])], dtype=bool
    )
    refused = as_binary(merged["refused"]).to_numpy().astype(bool)
    merged = merged.assign(
        refused=refused,
        refused_with_code=refused & usable,
        complied_with_code=~refused & usable,
        judges_flag=as_binary(merged["harmful_code_returned"]).to_numpy().astype(bool),
    )
    keys = ["model", "condition"]
    out = merged.groupby(keys, sort=True).size().rename("n").reset_index()
    for column in ("refused", "refused_with_code", "complied_with_code", "judges_flag"):
        table = rate_table(merged, column, keys)[[*keys, "k", "rate"]].rename(columns={"k": column, "rate": f"{column}_rate"})
        out = out.merge(table, on=keys, validate="one_to_one")
    return out.drop(columns="judges_flag")


def plain_vs_code_rates(pairs: pd.DataFrame) -> pd.DataFrame:
    """Refusal rates of :func:`code_pairs`, one row per model, form (plain or code) and condition.

    ``condition`` reads "<condition> / <form>", so that a bar chart shows the four side by side.
    """
    long = pairs.melt(id_vars=["model", "condition", "prompt_id"], value_vars=["plain", "code"], var_name="form", value_name="refused")
    rates = rate_table(long, "refused", ["model", "form", "condition"])
    return rates.assign(condition=rates["condition"] + " / " + rates["form"])


def twin_tests(verdicts: pd.DataFrame, twins: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    """Per model and condition: refusal of violating prompts vs of their lawful twins, McNemar on the pairs.

    ``a_only`` counts the pairs a model gets right (violating refused, twin answered);
    ``b_only`` the pairs it gets backwards.
    """
    return _pair_tests(twin_pairs(verdicts, twins), "violating", "lawful", "refused", **kwargs)


def tradeoff_by_part(verdicts: pd.DataFrame, twins: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """:func:`tradeoff_points` per IHL part, with a ``point`` label "<model> · part <n>" for the scatter."""
    with_part = verdicts.merge(rules[["rule_id", "part_number"]], on="rule_id", how="left", validate="many_to_one")
    points = tradeoff_points(with_part, twins, by=["part_number"])
    return points.assign(point=points["model"].map(lambda m: parse_model_id(m).short) + " · part " + points["part_number"].astype(str))


def tradeoff_points(verdicts: pd.DataFrame, twins: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Refusal of violating prompts vs refusal of their lawful twins, on matched pairs, per model and condition (and ``by``)."""
    keys = ["model", "condition", *(by or [])]
    pairs = twin_pairs(verdicts, twins)
    if by:
        extra = verdicts[["model", "condition", "prompt_id", *by]].drop_duplicates(["model", "condition", "prompt_id"])
        pairs = pairs.merge(extra, on=["model", "condition", "prompt_id"], how="left", validate="one_to_one")
    violating = rate_table(pairs.assign(refused=pairs["violating"]), "refused", keys)
    lawful = rate_table(pairs.assign(refused=pairs["lawful"]), "refused", keys)
    out = violating[[*keys, "rate", "n"]].merge(lawful[[*keys, "rate"]], on=keys, suffixes=("_violating", "_lawful"))
    return out.rename(columns={"rate_violating": "refusal_violating", "rate_lawful": "refusal_lawful", "n": "n_pairs"})


def complied_outcome(verdicts: pd.DataFrame) -> pd.Series:
    """1 where the panel says the model complied (full compliance), else 0 (refusals, unresolved)."""
    return (verdicts["label"] == "full_compliance").astype(int)


def blind_refusal_rates(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Help rate on illegitimate-rule cases and on controls, per model and condition, with Wilson CIs."""
    cases = verdicts[verdicts["prompt_set"] == "illegitimate_rules"]
    case = np.where(cases["variant"] == "control", "control", "illegitimate")
    cases = cases.assign(complied=complied_outcome(cases).astype(bool), case=case)
    return rate_table(cases, "complied", ["model", "condition", "case"])


def blind_refusal_tests(
    verdicts: pd.DataFrame, condition_a: str = "baseline", condition_b: str = "intervention", **kwargs: object
) -> pd.DataFrame:
    """Does the safety prompt change compliance on cases where the model *should* comply? Paired by prompt, per model.

    :func:`ihl_lib.stats.paired_tests` on the illegitimate-rule cases' ``complied`` outcome.

    Raises:
        PairingError: a model has both conditions but not on the same cases (the ids are named).
    """
    cases = verdicts[(verdicts["prompt_set"] == "illegitimate_rules") & (verdicts["variant"] != "control")]
    tests = paired_tests(cases.assign(complied=complied_outcome(cases)), "complied", condition_a, condition_b, **kwargs)  # type: ignore[arg-type]
    return tests.assign(outcome="complied (should comply)") if len(tests) else tests
