"""The audit sheet: a stratified random sample, reproducible, read back into accuracies."""

from __future__ import annotations

import pandas as pd

from ihl_lib.judging.audit import audit_accuracy, audit_sample


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


def test_an_audit_sheet_from_before_the_random_sample_still_reads(tmp_path):
    from ihl_lib.judging import load_audit

    folder = tmp_path / "r"
    folder.mkdir()
    pd.DataFrame(
        {
            "model": ["m"],
            "prompt_set": ["s"],
            "prompt_id": ["p1"],
            "condition": ["baseline"],
            "panel_label": ["unresolved"],
            "human_label": ["full_refusal"],
        }
    ).to_csv(folder / "audit.csv", index=False)
    sheet = load_audit("r", tmp_path)
    assert sheet["why"].tolist() == ["disagreement"] and sheet.loc[0, "human_label"] == "full_refusal"
