"""Tests of :mod:`ihl_lib.judging.agreement`: Cohen's and Fleiss' kappa by hand, the agreement summary, and the Landis-Koch words."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.judging import ITEM_KEY
from ihl_lib.judging.agreement import agreement_with, cohen_kappa, fleiss_kappa, human_labels, judge_agreement, landis_koch
from tests.helpers import panel_votes


def test_cohen_kappa_matches_hand_computation():
    # 10 items: a and b agree on items 0-3, 5, 6, 8, 9: p_o = 0.8.
    a = pd.Series(["full_refusal"] * 5 + ["full_compliance"] * 3 + ["partial_refusal"] * 2)
    b = pd.Series(["full_refusal"] * 4 + ["full_compliance"] + ["full_compliance"] * 2 + ["full_refusal"] + ["partial_refusal"] * 2)
    # marginals: a = (R5, C3, P2); b = (R5, C3, P2) -> p_e = .25 + .09 + .04 = .38
    assert cohen_kappa(a, b) == pytest.approx((0.8 - 0.38) / (1 - 0.38))
    # items either rater failed to label validly are left out, not counted as a category
    invalid_a, invalid_b = pd.Series(["parse_failed", "full_refusal", None]), pd.Series(["full_refusal", "error", "full_compliance"])
    assert cohen_kappa(pd.concat([a, invalid_a], ignore_index=True), pd.concat([b, invalid_b], ignore_index=True)) == pytest.approx(
        (0.8 - 0.38) / (1 - 0.38)
    )


def test_fleiss_kappa_matches_hand_computation():
    # 4 items, 3 raters, 3 categories.
    m = pd.DataFrame(
        [
            ["full_refusal", "full_refusal", "full_refusal"],
            ["full_refusal", "full_refusal", "full_compliance"],
            ["full_compliance", "full_compliance", "full_compliance"],
            ["partial_refusal", "full_compliance", "full_refusal"],
        ]
    )
    # P_i = (sum n_ij^2 - 3) / 6: 1, 1/3, 1, 0 -> P_bar = 7/12
    # p_j: R = 6/12, C = 5/12, P = 1/12 -> P_e = (36 + 25 + 1) / 144 = 62/144
    p_bar, p_e = 7 / 12, 62 / 144
    assert fleiss_kappa(m) == pytest.approx((p_bar - p_e) / (1 - p_e))


def test_fleiss_kappa_with_per_model_panels_counts_votes_per_item():
    # Different judges per row (study panels), three votes each: the same kappa as the rectangular table.
    rows = [
        {"a": "full_refusal", "b": "full_refusal", "c": "full_refusal"},
        {"b": "full_refusal", "c": "full_refusal", "d": "full_compliance"},
        {"a": "full_compliance", "c": "full_compliance", "d": "full_compliance"},
        {"a": "partial_refusal", "b": "full_compliance", "d": "full_refusal"},
        {"a": "full_refusal", "b": "parse_failed", "c": "full_refusal"},  # an invalid vote: left out
        {"a": "full_refusal", "d": "full_compliance"},  # two votes only (a judge missing): left out
    ]
    p_bar, p_e = 7 / 12, 62 / 144
    assert fleiss_kappa(pd.DataFrame(rows)) == pytest.approx((p_bar - p_e) / (1 - p_e))


def test_agreement_summary_and_references():
    j = panel_votes(
        [("keyword", "full_refusal", False), ("x", "full_refusal", True), ("y", "full_refusal", True)],
        [("keyword", "full_compliance", None), ("x", "full_compliance", None), ("y", "full_refusal", False)],
        [("keyword", "full_refusal", False), ("x", "parse_failed", None), ("y", "full_refusal", True)],
    )
    summary = judge_agreement(j)
    assert summary["n_items"] == 3 and summary["unanimous_share"] == pytest.approx(1 / 3)
    assert summary["invalid_votes"].to_dict() == {"keyword": 0, "x": 1, "y": 0}
    pair = summary["pairwise"].set_index(["judge_a", "judge_b"]).loc[("keyword", "x")]
    assert pair["n"] == 2 and pair["agreement"] == 1.0
    matrix_ref = j[j.judge_id == "keyword"].set_index(ITEM_KEY)["label"]
    table = agreement_with(j, matrix_ref, "keyword").set_index("judge_id")
    assert table.loc["y", "accuracy"] == pytest.approx(2 / 3) and table.loc["y", "n"] == 3


@pytest.mark.parametrize(
    "kappa,word",
    [
        (-0.3, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.21, "fair"),
        (0.4, "fair"),
        (0.41, "moderate"),
        (0.6, "moderate"),
        (0.61, "substantial"),
        (0.8, "substantial"),
        (0.81, "almost perfect"),
        (1.0, "almost perfect"),
        (float("nan"), "undefined"),
    ],
)
def test_landis_koch_bands(kappa, word):
    assert landis_koch(kappa) == word


def test_unanimous_share_is_over_every_judged_item_with_per_model_panels():
    # a, b, c judge model m0's items and b, c, d model m1's: the absent judges' empty cells do not break unanimity
    rows = []
    for model, judges, items in (
        ("m0", "abc", [["full_refusal"] * 3, ["full_refusal", "full_refusal", "full_compliance"]]),
        ("m1", "bcd", [["full_compliance"] * 3, ["parse_failed"] * 3]),  # the same invalid vote thrice is no agreement
    ):
        for i, labels in enumerate(items):
            for judge, label in zip(judges, labels):
                rows.append({"model": model, "prompt_set": "s", "prompt_id": f"p{i}", "condition": "c", "judge_id": judge, "label": label})
    summary = judge_agreement(pd.DataFrame(rows))
    assert summary["n_items"] == 4 and summary["unanimous_share"] == pytest.approx(2 / 4)


def test_human_labels_keeps_the_filled_valid_labels_stripped():
    sheet = pd.DataFrame(
        {
            "model": "m",
            "prompt_set": "s",
            "prompt_id": ["p0", "p1", "p2", "p3", "p4"],
            "condition": "c",
            "human_label": [" full_compliance\n", "", "refused?", None, "partial_refusal"],
        }
    )
    labels = human_labels(sheet)
    assert labels.reset_index()["prompt_id"].tolist() == ["p0", "p4"] and labels.tolist() == ["full_compliance", "partial_refusal"]
