"""Tests of :mod:`ihl_lib.judging.audit`: the audit sheet is a stratified random sample, reproducible, read back into accuracies."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.judging import ITEM_KEY, panel_verdicts
from ihl_lib.judging.agreement import agreement_with, human_labels
from ihl_lib.judging.audit import audit_accuracy, audit_sample
from tests.helpers import panel_votes


def _run(n_items: int = 60):
    rows, texts = [], []
    for i in range(n_items):
        key = {
            "model": f"m{i % 2}",
            "prompt_set": "ihl_violations" if i % 3 else "lawful_twins",
            "prompt_id": f"R{i:03d}-a",
            "condition": "baseline" if i % 4 < 2 else "intervention",
        }
        label = "full_refusal" if i % 5 == 0 else "full_compliance"
        rows.append({**key, "label": label, "label__a": label, "label__b": "full_compliance", "unanimous": label == "full_compliance"})
        texts.append({**key, "prompt": f"prompt {i}", "response": f"response {i}"})
    return pd.DataFrame(rows), pd.DataFrame(texts)


def test_sample_covers_every_stratum_and_is_reproducible():
    verdicts, responses = _run()
    sheet = audit_sample(verdicts, responses, n=20, seed=3, include_disagreements=False)
    strata = verdicts.groupby(["model", "condition", "prompt_set", "label"]).ngroups
    assert sheet.groupby(["model", "condition", "prompt_set", "panel_label"]).ngroups == strata
    assert 20 <= len(sheet) <= 20 + strata  # rounding may add at most one per stratum
    again = audit_sample(verdicts, responses, n=20, seed=3, include_disagreements=False)
    pd.testing.assert_frame_equal(sheet, again)
    assert not sheet.equals(audit_sample(verdicts, responses, n=20, seed=4, include_disagreements=False))


def test_disagreements_are_added_and_marked():
    verdicts, responses = _run()
    sheet = audit_sample(verdicts, responses, n=10, seed=0)
    disagreements = verdicts[~verdicts["unanimous"]]
    assert set(disagreements["prompt_id"]) <= set(sheet["prompt_id"])
    assert set(sheet["why"]) <= {"random", "disagreement", "random+disagreement"}
    assert sheet["prompt_id"].is_unique and (sheet["human_label"] == "").all()


def test_filled_sheet_reads_back_into_accuracies():
    verdicts, responses = _run(20)
    sheet = audit_sample(verdicts, responses, n=20, seed=0, include_disagreements=False)
    sheet["human_label"] = sheet["label__a"]  # the humans agree with judge a everywhere
    sheet.loc[0, "human_label"] = "not a label"  # an unfilled or mistyped row is left out
    table = audit_accuracy(sheet).set_index(["rater", "rows"])
    assert table.loc[("a", "all"), "accuracy"] == 1.0 and table.loc[("a", "all"), "n"] == len(sheet) - 1
    b = table.loc[("b", "all")]
    expected = (sheet["label__b"].iloc[1:] == sheet["human_label"].iloc[1:]).mean()
    assert b["accuracy"] == expected < 1.0


def test_audit_sheet_and_human_labels():
    j = panel_votes(
        [("a", "full_refusal", False), ("b", "full_refusal", False), ("c", "full_refusal", False)],
        [("a", "full_refusal", False), ("b", "full_compliance", None), ("c", "full_refusal", True)],
    )
    verdicts = panel_verdicts(j)
    responses = verdicts[ITEM_KEY].assign(prompt="p", response="r")
    sheet = audit_sample(verdicts, responses, n=0)
    assert sheet["prompt_id"].tolist() == ["p1"] and (sheet["human_label"] == "").all()
    assert {"label__a", "label__b", "label__c", "panel_label", "response"} <= set(sheet.columns)
    sheet.loc[0, "human_label"] = "full_compliance"
    labels = human_labels(sheet)
    table = agreement_with(j, labels, "human").set_index("judge_id")
    assert table.loc["b", "accuracy"] == 1.0 and table.loc["a", "accuracy"] == 0.0 and (table["n"] == 1).all()


def _strata_run(sizes: dict[str, int], not_judged: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One stratum per model (same condition, set and label, all unanimous), plus ``not_judged`` unjudged items of the first model."""
    rows = []
    for model, size in sizes.items():
        rows += [{"model": model, "label": "full_compliance"} for _ in range(size)]
    rows += [{"model": next(iter(sizes)), "label": ("no_response", "provider_blocked")[i % 2]} for i in range(not_judged)]
    verdicts = pd.DataFrame(rows).assign(prompt_set="s", condition="baseline", unanimous=True)
    verdicts["prompt_id"] = [f"p{i:03d}" for i in range(len(verdicts))]
    return verdicts, verdicts[ITEM_KEY].assign(prompt="p", response="r")


def test_the_quota_is_one_per_stratum_then_proportional_and_unjudged_items_are_never_drawn():
    verdicts, responses = _strata_run({"big": 30, "small": 10}, not_judged=6)
    sheet = audit_sample(verdicts, responses, n=10)
    # one each, then the 8 left shared 30:10 -> 6 and 2
    assert sheet["model"].value_counts().to_dict() == {"big": 7, "small": 3}
    assert set(sheet["panel_label"]) == {"full_compliance"}  # no_response and provider_blocked items have nothing to audit
    exactly_one_each = audit_sample(verdicts, responses, n=2)
    assert exactly_one_each["model"].value_counts().to_dict() == {"big": 1, "small": 1}


def test_a_sampled_disagreement_is_marked_both_and_counts_in_the_random_part():
    verdicts, responses = _run(20)
    sheet = audit_sample(verdicts, responses, n=1000)  # every judged item is drawn
    expected = verdicts.set_index("prompt_id")["unanimous"].map({True: "random", False: "random+disagreement"})
    assert sheet.set_index("prompt_id")["why"].sort_index().to_dict() == expected.sort_index().to_dict()
    sheet["human_label"] = sheet["panel_label"]
    table = audit_accuracy(sheet).set_index(["rater", "rows"])
    assert table.loc[("panel", "random"), "n"] == table.loc[("panel", "all"), "n"] == 20


def test_audit_accuracy_by_hand():
    sheet = pd.DataFrame(
        {
            "why": ["random", "random", "random+disagreement", "disagreement", "random"],
            "panel_label": ["partial_refusal", "full_compliance", "full_refusal", "full_compliance", "full_refusal"],
            "label__a": ["full_refusal", "partial_refusal", "partial_refusal", "parse_failed", "full_refusal"],
            "human_label": [" full_refusal ", "full_compliance", "partial_refusal", "full_refusal", ""],
        }
    )
    table = audit_accuracy(sheet).set_index(["rater", "rows"])[["n", "accuracy", "refused_accuracy"]]
    # panel over the 4 filled rows: right label on row 2 only; refused-or-not right on rows 1-3
    assert table.loc[("panel", "all")].tolist() == pytest.approx([4, 1 / 4, 3 / 4])
    assert table.loc[("panel", "random")].tolist() == pytest.approx([3, 1 / 3, 1.0])
    # judge a: its parse failure (row 4) is left out; right on rows 1 and 3, and calls row 2 a refusal
    assert table.loc[("a", "all")].tolist() == pytest.approx([3, 2 / 3, 2 / 3])
