"""Tests of :mod:`ihl_lib.prose`: the sentences notebooks print about rates, paired tests and judge agreement."""

from __future__ import annotations

import pandas as pd

from ihl_lib.metrics import rate_table
from ihl_lib.prose import describe_agreement, describe_paired, describe_rates, pct
from ihl_lib.stats import paired_tests
from tests.helpers import synthetic_verdicts


def test_agreement_sentence_uses_the_same_words():
    text = describe_agreement({"fleiss_kappa": 0.15, "unanimous_share": 0.5, "n_items": 10, "invalid_votes": pd.Series({"a": 0})})
    assert "0.15, slight on the Landis-Koch scale" in text


def test_pct_gives_one_decimal_and_says_when_there_is_no_number():
    assert (pct(0.12345), pct(1), pct(0.0)) == ("12.3%", "100.0%", "0.0%")
    assert pct(float("nan")) == "n/a" and pct(None) == "n/a"


def test_rates_are_described_one_line_per_group_with_a_ci_only_where_there_is_one():
    verdicts = synthetic_verdicts({("m", "baseline"): [True] * 23 + [False] * 17, ("m", "intervention"): [True, False, None]})
    lines = describe_rates(rate_table(verdicts), "refused").splitlines()
    assert lines[0] == "- **m**, baseline: refused 23/40 = 57.5% (95% CI 42.2% to 71.5%)"
    assert lines[1] == "- **m**, intervention: refused 1/3 = 33.3%"  # n = 3: no interval, and none is made up
    assert len(lines) == 2


def _paired():
    a = [True] * 23 + [False] * 17
    b = [True] * 20 + [False] * 3 + [True] * 12 + [False] * 5
    small = {("small", "baseline"): [True] * 5, ("small", "intervention"): [False] * 5}
    return paired_tests(synthetic_verdicts({("m", "baseline"): a, ("m", "intervention"): b, **small}))


def test_a_paired_test_is_read_out_with_its_numbers_and_verdict():
    tests = _paired()
    row = tests.set_index("model").loc["m"]
    first, second = describe_paired(tests, "refusal").splitlines()
    assert first.startswith("- **m**: refusal went from 57.5% (baseline) to 80.0% (intervention), a difference of +22.5 points")
    assert f"(bootstrap 95% CI {100 * row['diff_ci_low']:+.1f} to {100 * row['diff_ci_high']:+.1f})" in first
    assert "3 prompts changed only one way and 12 the other" in first
    assert "McNemar exact p = 0.0352, Holm-adjusted 0.0352: a significant change at alpha = 0.05." in first
    # too few pairs: the rates, and no test
    assert (
        second
        == "- **small**: refusal went from 100.0% (baseline) to 0.0% (intervention); with 5 pairs there is not enough data for a test."
    )


def test_the_verdict_follows_the_holm_adjusted_p_and_alpha():
    tests = _paired()
    assert "no significant change at alpha = 0.01." in describe_paired(tests, "refusal", alpha=0.01)
    assert "a significant change at alpha = 0.05." in describe_paired(tests, "refusal")


def test_no_model_with_both_conditions_is_said_plainly():
    assert describe_paired(_paired().iloc[0:0], "helpful refusal") == (
        "No model has both conditions, so no paired test of helpful refusal was run."
    )


def test_agreement_sentence_lists_invalid_votes_per_judge_and_says_when_kappa_is_undefined():
    summary = {"fleiss_kappa": 0.65, "unanimous_share": 0.25, "n_items": 8, "invalid_votes": pd.Series({"keyword": 0, "x": 2})}
    assert describe_agreement(summary) == (
        "Over 8 items, Fleiss' kappa is 0.65, substantial on the Landis-Koch scale; the judges were unanimous on 25.0% of items. "
        "Invalid votes (parse failures and errors) per judge: keyword: 0, x: 2."
    )
    undefined = describe_agreement({**summary, "fleiss_kappa": float("nan")})
    assert "Fleiss' kappa is undefined (too few items with three valid votes, or no variation)" in undefined


def test_the_verdict_reads_the_holm_adjusted_p_not_the_raw_one():
    row = {
        "model": "m",
        "condition_a": "baseline",
        "condition_b": "intervention",
        "rate_a": 0.5,
        "rate_b": 0.7,
        "diff": 0.2,
        "diff_ci_low": 0.05,
        "diff_ci_high": 0.35,
        "a_only": 2,
        "b_only": 10,
        "status": "ok",
    }
    tests = pd.DataFrame([{**row, "p_value": 0.03, "p_holm": 0.06}, {**row, "model": "n", "p_value": 0.01, "p_holm": 0.05}])
    first, second = describe_paired(tests, "refusal").splitlines()
    assert first.endswith("McNemar exact p = 0.03, Holm-adjusted 0.06: no significant change at alpha = 0.05.")
    assert second.endswith("Holm-adjusted 0.05: no significant change at alpha = 0.05.")  # significant means p < alpha
