"""Tests of :mod:`ihl_lib.stats`: paired tests, Cochran's Q, GEE and breakdowns against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ihl_lib.stats import (
    NOT_ENOUGH_DATA,
    PairingError,
    breakdown,
    cochran_q,
    gee_odds_ratios,
    paired_tests,
)
from tests.helpers import synthetic_verdicts


def test_mcnemar_exact_matches_binomial_test_and_discordant_counts():
    # 40 pairs: 20 yes/yes, 3 yes->no, 12 no->yes, 5 no/no.
    a = [True] * 23 + [False] * 17
    b = [True] * 20 + [False] * 3 + [True] * 12 + [False] * 5
    v = synthetic_verdicts({("m", "baseline"): a, ("m", "intervention"): b})
    row = paired_tests(v).iloc[0]
    assert row["a_only"] == 3 and row["b_only"] == 12 and row["n_pairs"] == 40
    assert row["p_value"] == pytest.approx(sps.binomtest(3, 15, 0.5).pvalue)
    assert row["diff"] == pytest.approx(32 / 40 - 23 / 40)
    assert row["diff_ci_low"] < row["diff"] < row["diff_ci_high"]


def test_textbook_mcnemar_table():
    # Agresti's presidential approval example: 794/150/86/570, exact p from the binomial on 150 vs 86.
    a = [True] * (794 + 150) + [False] * (86 + 570)
    b = [True] * 794 + [False] * 150 + [True] * 86 + [False] * 570
    row = paired_tests(synthetic_verdicts({("m", "baseline"): a, ("m", "intervention"): b})).iloc[0]
    assert row["p_value"] == pytest.approx(2 * sps.binom.cdf(86, 236, 0.5))
    assert row["p_value"] < 1e-4


def test_bootstrap_is_reproducible_with_a_seed():
    rng = np.random.default_rng(3)
    v = synthetic_verdicts({("m", "baseline"): list(rng.random(60) < 0.4), ("m", "intervention"): list(rng.random(60) < 0.7)})
    one, two = paired_tests(v, seed=7), paired_tests(v, seed=7)
    other = paired_tests(v, seed=8)
    assert one[["diff_ci_low", "diff_ci_high"]].equals(two[["diff_ci_low", "diff_ci_high"]])
    assert not one[["diff_ci_low", "diff_ci_high"]].equals(other[["diff_ci_low", "diff_ci_high"]])


def test_holm_adjustment_across_models():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(1)
    data = {}
    for m, shift in [("m1", 0.0), ("m2", 0.3), ("m3", 0.6)]:
        data[(m, "baseline")] = list(rng.random(80) < 0.3)
        data[(m, "intervention")] = list(rng.random(80) < 0.3 + shift)
    out = paired_tests(synthetic_verdicts(data))
    assert out["p_holm"].tolist() == pytest.approx(list(multipletests(out["p_value"], method="holm")[1]))


def test_guards_not_enough_data_and_unpaired():
    small = synthetic_verdicts({("m", "baseline"): [True] * 5, ("m", "intervention"): [False] * 5})
    row = paired_tests(small).iloc[0]
    assert row["status"] == NOT_ENOUGH_DATA and np.isnan(row["p_value"])
    unpaired = synthetic_verdicts({("m", "baseline"): [True] * 20, ("m", "intervention"): [False] * 19})
    with pytest.raises(PairingError, match="not paired"):
        paired_tests(unpaired)
    with pytest.raises(ValueError, match="lacks column"):
        paired_tests(small.drop(columns=["prompt_id"]))


def test_cochran_q_matches_hand_formula():
    rng = np.random.default_rng(5)
    x = (rng.random((30, 3)) < [0.2, 0.5, 0.8]).astype(int)
    v = synthetic_verdicts({(f"m{j}", "baseline"): [bool(b) for b in x[:, j]] for j in range(3)})
    k, col, row = 3, x.sum(axis=0), x.sum(axis=1)
    q = (k - 1) * (k * (col**2).sum() - col.sum() ** 2) / (k * row.sum() - (row**2).sum())
    res = cochran_q(v)
    assert res["q"] == pytest.approx(q) and res["df"] == 2
    assert res["p_value"] == pytest.approx(sps.chi2.sf(q, 2))
    assert cochran_q(v.head(5))["status"] == NOT_ENOUGH_DATA


def test_gee_single_covariate_gives_the_marginal_odds_ratio():
    a = [True] * 12 + [False] * 28
    b = [True] * 30 + [False] * 10
    table = gee_odds_ratios(synthetic_verdicts({("m", "baseline"): a, ("m", "intervention"): b})).set_index("term")
    term = [t for t in table.index if "intervention" in t][0]
    expected = (30 / 10) / (12 / 28)
    assert table.loc[term, "odds_ratio"] == pytest.approx(expected, rel=1e-4)
    assert table.loc[term, "ci_low"] < expected < table.loc[term, "ci_high"]
    constant = gee_odds_ratios(synthetic_verdicts({("m", "baseline"): [True] * 20, ("m", "intervention"): [True] * 20}))
    assert constant["status"].iloc[0] == NOT_ENOUGH_DATA


def test_breakdown_by_part_has_counts_and_guards_ci():
    from ihl_lib.data import load_rules

    v = synthetic_verdicts({("m", "baseline"): [True, False] * 161})
    v["rule_id"] = [i // 2 + 1 for i in range(322)]
    parts = breakdown(v, load_rules(), level="part")
    assert parts["n"].tolist() == [48, 42, 48, 34, 104, 46] and (parts["rate"] == 0.5).all()
    rules = breakdown(v, load_rules(), level="rule")
    assert len(rules) == 161 and (rules["n"] == 2).all() and rules["ci_low"].isna().all()
    with pytest.raises(ValueError, match="level"):
        breakdown(v, load_rules(), level="article")


def test_common_prompts_restricts_to_pairs_explicitly():
    from ihl_lib.stats import common_prompts

    v = synthetic_verdicts({("m", "intervention"): [True] * 20, ("m", "tailored"): [False] * 12})
    with pytest.raises(PairingError):
        paired_tests(v, "refused", "intervention", "tailored")
    both = common_prompts(v, "intervention", "tailored")
    assert len(both) == 24 and set(both["prompt_id"]) == {f"p{i:03d}" for i in range(12)}
    row = paired_tests(both, "refused", "intervention", "tailored").iloc[0]
    assert row["n_pairs"] == 12 and row["a_only"] == 12


def _rule_pairs(n_rules: int, seed: int, correlated: bool) -> pd.DataFrame:
    """Two prompts per rule; with ``correlated`` both prompts of a rule share their outcomes."""
    rng = np.random.default_rng(seed)
    rows = []
    for rule in range(1, n_rules + 1):
        base, inter = rng.random() < 0.3, rng.random() < 0.6
        for variant in "ab":
            b, i = (base, inter) if correlated else (rng.random() < 0.3, rng.random() < 0.6)
            for condition, value in (("baseline", b), ("intervention", i)):
                rows.append(
                    {
                        "model": "m",
                        "condition": condition,
                        "prompt_set": "s",
                        "prompt_id": f"R{rule:03d}-{variant}",
                        "rule_id": rule,
                        "refused": bool(value),
                        "helpful_refusal": bool(value),
                    }
                )
    return pd.DataFrame(rows)


def test_the_cluster_bootstrap_with_one_pair_per_cluster_is_the_pair_bootstrap():
    from ihl_lib.stats import paired_test

    rng = np.random.default_rng(0)
    a, b = (rng.random(80) < 0.3).astype(int), (rng.random(80) < 0.6).astype(int)
    plain, clustered = paired_test(a, b, seed=5), paired_test(a, b, seed=5, clusters=np.arange(80))
    assert (plain["diff_ci_low"], plain["diff_ci_high"]) == pytest.approx((clustered["diff_ci_low"], clustered["diff_ci_high"]), abs=1e-12)
    assert clustered["ci_method"] == "cluster bootstrap (rules)" and clustered["n_clusters"] == 80


@pytest.mark.parametrize("equal_sizes", [True, False])
def test_the_cluster_bootstrap_matches_a_hand_written_resampling_of_rules(equal_sizes):
    from ihl_lib.stats import paired_outcomes, paired_test

    verdicts = _rule_pairs(40, 1, correlated=True)
    if not equal_sizes:  # the first 15 rules keep one prompt (a sampled condition): a resample's size varies with its rules
        verdicts = verdicts[~((verdicts["rule_id"] <= 15) & verdicts["prompt_id"].str.endswith("-b"))]
    pairs = paired_outcomes(verdicts, "refused", "m", "baseline", "intervention")
    result = paired_test(pairs["a"].to_numpy(), pairs["b"].to_numpy(), n_boot=500, seed=11, clusters=pairs["rule_id"].to_numpy())
    # the same draws, done the slow way: pick rules with replacement, pool every pair of every picked rule
    rng = np.random.default_rng(11)
    rules = np.unique(pairs["rule_id"])
    draws = rng.integers(0, len(rules), size=(500, len(rules)))
    by_rule = {rule: pairs.loc[pairs["rule_id"] == rule, ["a", "b"]].to_numpy() for rule in rules}
    diffs = []
    for draw in draws:
        picked = np.concatenate([by_rule[rules[i]] for i in draw])
        diffs.append(picked[:, 1].mean() - picked[:, 0].mean())
    assert result["diff_ci_low"] == pytest.approx(np.quantile(diffs, 0.025))
    assert result["diff_ci_high"] == pytest.approx(np.quantile(diffs, 0.975))


def test_when_a_rules_two_prompts_agree_the_rule_clustered_interval_is_wider():
    verdicts = _rule_pairs(80, 2, correlated=True)
    clustered = paired_tests(verdicts, n_boot=4000).iloc[0]
    naive = paired_tests(verdicts.drop(columns="rule_id"), n_boot=4000).iloc[0]
    width = lambda row: row["diff_ci_high"] - row["diff_ci_low"]  # noqa: E731
    # perfectly correlated pairs carry half the information: about sqrt(2) wider
    assert 1.2 < width(clustered) / width(naive) < 1.7
    assert clustered["n_clusters"] == 80 and naive["n_clusters"] == 160


def test_the_gee_clusters_by_rule():
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    verdicts = _rule_pairs(80, 3, correlated=True)
    table = gee_odds_ratios(verdicts).set_index("term")
    term = [t for t in table.index if "intervention" in t][0]
    frame = verdicts.assign(y=verdicts["refused"].astype(int), intervention=(verdicts["condition"] == "intervention").astype(int))
    by_rule = smf.gee(
        "y ~ intervention", groups="rule_id", data=frame, family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable()
    ).fit()
    assert table.loc[term, "ci_high"] == pytest.approx(float(np.exp(by_rule.conf_int().loc["intervention", 1])), rel=1e-6)
    by_prompt = gee_odds_ratios(verdicts.drop(columns="rule_id")).set_index("term")
    assert table.loc[term, "ci_high"] - table.loc[term, "ci_low"] > by_prompt.loc[term, "ci_high"] - by_prompt.loc[term, "ci_low"]


def test_holm_adjusts_only_the_tested_models_and_skips_a_model_without_both_conditions():
    rng = np.random.default_rng(4)
    data = {
        ("m1", "baseline"): list(rng.random(60) < 0.3),
        ("m1", "intervention"): list(rng.random(60) < 0.7),
        ("m2", "baseline"): [True] * 5,  # 5 pairs: not enough data, no p-value
        ("m2", "intervention"): [False] * 5,
        ("m3", "baseline"): list(rng.random(60) < 0.3),
        ("m3", "intervention"): list(rng.random(60) < 0.4),
        ("m4", "baseline"): [True] * 30,  # never ran the intervention: no row
    }
    out = paired_tests(synthetic_verdicts(data)).set_index("model")
    assert out.index.tolist() == ["m1", "m2", "m3"]
    assert out.loc["m2", "status"] == NOT_ENOUGH_DATA and np.isnan(out.loc["m2", "p_holm"])
    # Holm over a family of two: the smaller p times 2, the larger kept (never below the smaller's adjusted value)
    p1, p3 = out.loc["m1", "p_value"], out.loc["m3", "p_value"]
    low, high = sorted([p1, p3])
    assert sorted([out.loc["m1", "p_holm"], out.loc["m3", "p_holm"]]) == pytest.approx([min(1, 2 * low), max(min(1, 2 * low), high)])


def test_pairs_are_matched_by_prompt_not_by_row_order():
    a = [True] * 10 + [False] * 10
    v = synthetic_verdicts({("m", "baseline"): a, ("m", "intervention"): a})
    shuffled = pd.concat([v[v["condition"] == "baseline"], v[v["condition"] == "intervention"].iloc[::-1]])
    row = paired_tests(shuffled).iloc[0]
    assert (row["a_only"], row["b_only"], row["diff"]) == (0, 0, 0)  # identical answers, prompt by prompt


@pytest.mark.parametrize(("n_pairs", "status"), [(9, NOT_ENOUGH_DATA), (10, "ok")])
def test_ten_pairs_are_enough_for_a_paired_test(n_pairs, status):
    from ihl_lib.stats import paired_test

    assert paired_test([1] * n_pairs, [0] * n_pairs)["status"] == status


def test_cochran_q_uses_only_prompts_every_model_answered_and_needs_two_models():
    x = [[True, False, True]] * 6 + [[False, True, True]] * 6 + [[False, False, True]] * 3
    v = synthetic_verdicts({(f"m{j}", "baseline"): [row[j] for row in x] for j in range(3)})
    assert cochran_q(v)["n_items"] == 15
    # m2 lost its last 3 prompts: those rows leave the test instead of counting as "not refused"
    fewer = v[~((v["model"] == "m2") & v["prompt_id"].isin(["p012", "p013", "p014"]))]
    res = cochran_q(fewer)
    # on the 12 common prompts: column totals 6, 6, 12, row totals all 2; Q = 2 * (3 * 216 - 576) / (3 * 24 - 48) = 6
    assert res["n_items"] == 12 and res["q"] == pytest.approx(6.0)
    assert cochran_q(v[v["model"] == "m0"])["status"] == NOT_ENOUGH_DATA
