"""Analyses beyond the original study, on synthetic verdicts."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats as sps

from ihl_lib.extensions import blind_refusal_rates, blind_refusal_tests, code_pairs, technical_framing_tests, tradeoff_points


def _row(model, condition, prompt_set, prompt_id, rule_id, variant, refused, label=None):
    return {"model": model, "condition": condition, "prompt_set": prompt_set, "prompt_id": prompt_id, "rule_id": rule_id,
            "variant": variant, "refused": refused, "helpful": False,
            "label": label or ("full_refusal" if refused else "full_compliance")}


def test_code_wrapped_prompts_pair_with_the_plain_prompt_of_their_rule():
    rows = []
    for r in range(1, 21):
        rows += [_row("m", "baseline", "ihl_violations", f"R{r:03d}-a", r, "a", True),
                 _row("m", "baseline", "ihl_violations", f"R{r:03d}-b", r, "b", True),
                 _row("m", "baseline", "code_wrapped", f"R{r:03d}-c1", r, "code", r > 12)]
    rows.append(_row("m", "baseline", "code_wrapped", "R001-c2", 1, "code", False))
    v = pd.DataFrame(rows)
    pairs = code_pairs(v)
    assert len(pairs) == 21 and set(pairs.loc[pairs.prompt_id == "R001-c2", "plain_id"]) == {"R001-b"}
    test = technical_framing_tests(v).iloc[0]
    assert test["a_only"] == 13 and test["b_only"] == 0  # refused plain, complied when wrapped in code
    assert test["p_value"] == pytest.approx(sps.binomtest(0, 13, 0.5).pvalue)


def test_tradeoff_points_pair_violating_and_lawful_rates():
    rows = [_row("m", c, "ihl_violations", f"R{r:03d}-a", r, "a", r <= 8) for c in ("baseline", "intervention") for r in range(1, 11)]
    rows += [_row("m", c, "lawful_twins", f"R{r:03d}-t", r, "twin", c == "intervention" and r <= 3) for c in ("baseline", "intervention") for r in range(1, 11)]
    points = tradeoff_points(pd.DataFrame(rows)).set_index("condition")
    assert points.loc["baseline", "refusal_violating"] == 0.8 and points.loc["baseline", "refusal_lawful"] == 0.0
    assert points.loc["intervention", "refusal_lawful"] == pytest.approx(0.3)


def test_blind_refusal_rates_and_paired_test():
    rows = []
    for i in range(30):
        rows.append(_row("m", "baseline", "illegitimate_rules", f"IL{i:03d}", 1, "illegitimate", i >= 20))  # helps 20/30
        rows.append(_row("m", "intervention", "illegitimate_rules", f"IL{i:03d}", 1, "illegitimate", i >= 8))  # helps 8/30
    for i in range(10):
        for c in ("baseline", "intervention"):
            rows.append(_row("m", c, "illegitimate_rules", f"CT{i:03d}", 1, "control", i >= 1))  # helps 1/10
    v = pd.DataFrame(rows)
    r = blind_refusal_rates(v).set_index(["condition", "case"])
    assert r.loc[("baseline", "illegitimate"), "rate"] == pytest.approx(20 / 30)
    assert r.loc[("baseline", "control"), "rate"] == pytest.approx(0.1)
    t = blind_refusal_tests(v).iloc[0]
    assert t["a_only"] == 12 and t["b_only"] == 0 and t["diff"] == pytest.approx(8 / 30 - 20 / 30)
