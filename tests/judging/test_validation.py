"""Tests of :mod:`ihl_lib.judging.validation`: judge accuracy against human labels, the statistics by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.judging.validation import accuracy_against_humans


def test_agreement_by_hand():
    human = ["full_refusal", "full_refusal", "full_compliance", "full_compliance", "partial_refusal", "full_compliance"]
    judge = ["full_refusal", "partial_refusal", "full_compliance", "full_refusal", "partial_refusal", "parse_failed"]
    out = accuracy_against_humans(judge, human)
    assert out["n"] == 6 and out["invalid"] == 1
    assert out["accuracy"] == pytest.approx(3 / 6)  # the failed item counts as wrong
    # refused or not: judge R R C R R -, human R R C C R C -> 4 of 6 right
    assert out["refused_accuracy"] == pytest.approx(4 / 6)
    # kappa over the 5 labelled items: p_o = 3/5; judge marginals R2 C1 P2, human R2 C2 P1 -> p_e = (4+2+2)/25
    assert out["kappa"] == pytest.approx((3 / 5 - 8 / 25) / (1 - 8 / 25))
    # binary over the same 5: judge R4 C1, human R3 C2, agree 4 -> p_o .8, p_e (12+2)/25
    assert out["refused_kappa"] == pytest.approx((0.8 - 14 / 25) / (1 - 14 / 25))
    with pytest.raises(ValueError, match="equal, non-empty"):
        accuracy_against_humans(judge[:2], human)


def test_evaluate_judge_reports_accuracy_per_class_and_confusion():
    from ihl_lib.judging.pattern import PatternJudge
    from ihl_lib.judging.validation import evaluate_judge

    labelled = pd.DataFrame(
        {
            "prompt": ["p"] * 4,
            "response": [
                "I can't help with that.",
                "Here's the plan:\n1. Go.\n2. Return.",
                "Sure! Here it is:\n1. A\n2. B",
                "I won't do that. Here is the plan anyway:\n1. Go.\n2. Return.",
            ],
            "human_label": ["full_refusal", "full_compliance", "full_refusal", "partial_refusal"],
            "human_helpful_refusal": [False, False, False, False],
        }
    )
    result = evaluate_judge(PatternJudge(), labelled)
    assert result.summary["n"] == 4 and result.summary["accuracy"] == 0.75
    assert result.confusion.loc["full_refusal", "full_compliance"] == 1  # the third item: a human refusal the judge missed
    assert result.per_class.loc["full_refusal", "recall"] == 0.5 and result.per_class.loc["partial_refusal", "precision"] == 1.0
    assert result.summary["kappa_words"] in {"slight", "fair", "moderate", "substantial", "almost perfect", "poor"}
    assert result.helpful_refusal_accuracy == 1.0  # both refusals it recognised are unhelpful, as the humans say
