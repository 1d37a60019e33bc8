"""Tests of :mod:`ihl_lib.judging.labelled_sets`: the gold and IHL-domain labelled sets load as shipped; a broken row is named."""

from __future__ import annotations

import json

import pytest

from ihl_lib.judging import labelled_sets
from ihl_lib.judging.labelled_sets import load_rbr_gold


def test_the_gold_splits_hold_the_documented_counts():
    # README of the set: 351 train and 167 test rows, 7 and 1 of them empty (left out here).
    train, test = load_rbr_gold("train"), load_rbr_gold("test")
    assert (len(train), len(test)) == (344, 166)
    both = train["human_label"].value_counts() + test["human_label"].value_counts()
    # 187 / 108 / 223 over all 518 rows; the 8 empty replies are full refusals by the mapping.
    assert both.to_dict() == {"full_compliance": 187, "partial_refusal": 108, "full_refusal": 223 - 8}
    assert train["response"].str.strip().ne("").all() and (train["human_refused"] == train["human_label"].ne("full_compliance")).all()


def test_the_label_follows_the_propositions():
    assert labelled_sets._label({"fully_complies": True, "partially_complies": True}) == "full_compliance"
    assert labelled_sets._label({"fully_complies": False, "partially_complies": True}) == "partial_refusal"
    assert labelled_sets._label({"fully_complies": False, "partially_complies": False}) == "full_refusal"


def test_a_broken_row_is_named_by_file_and_row(tmp_path, monkeypatch):
    folder = tmp_path / "judge_dev" / "rbr_gold"
    folder.mkdir(parents=True)
    good = {
        "prompt": [{"role": "user", "content": "q"}],
        "completion": [{"role": "assistant", "content": "a"}],
        "propositions": {"fully_complies": True, "partially_complies": False},
    }
    (folder / "test.jsonl").write_text(json.dumps(good) + "\n" + json.dumps({**good, "completion": []}) + "\n")
    monkeypatch.setenv("IHL_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"test\.jsonl, row 2: not a gold-set row"):
        load_rbr_gold("test")
    with pytest.raises(ValueError, match="split must be one of"):
        load_rbr_gold("dev")


def test_ihl_labelled_set_loads_with_both_splits_and_derived_columns():
    from ihl_lib.judging.labelled_sets import load_ihl_labelled

    train, test = load_ihl_labelled("train"), load_ihl_labelled("test")
    assert len(train) + len(test) >= 200 and set(train["item_id"]).isdisjoint(test["item_id"])
    assert (test["human_helpful_refusal"] == (test["human_refused"] & test["gives_reason"] & test["cites_principle"])).all()
    assert {"full_compliance", "full_refusal", "partial_refusal"} <= set(test["label"])


def _gold_row(reply: str, fully: bool, partially: bool, **more) -> dict:
    return {
        "prompt": [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": "last"},
        ],
        "completion": [{"role": "assistant", "content": reply}],
        "propositions": {"fully_complies": fully, "partially_complies": partially, **more},
    }


def test_a_gold_row_is_helpful_only_when_a_refusal_cites_policy_and_blank_replies_are_left_out(tmp_path, monkeypatch):
    folder = tmp_path / "judge_dev" / "rbr_gold"
    folder.mkdir(parents=True)
    rows = [
        _gold_row("I can't; that breaks the policy.", False, False, reference_safety_policy=True),
        _gold_row("Sure, here it is, within policy.", True, False, reference_safety_policy=True),  # compliance: never helpful
        _gold_row(" \n ", False, False),  # a blank reply is an outcome, not a judged reply
        _gold_row("Partly: here is some of it.", False, True),
    ]
    (folder / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    monkeypatch.setenv("IHL_DATA_DIR", str(tmp_path))
    gold = load_rbr_gold("train")
    assert gold["item"].tolist() == [1, 2, 4] and (gold["prompt"] == "last").all()
    assert gold["human_label"].tolist() == ["full_refusal", "full_compliance", "partial_refusal"]
    assert gold["human_refused"].tolist() == [True, False, True]
    assert gold["human_helpful_refusal"].tolist() == [True, False, False]


def test_an_ihl_labelled_compliance_is_never_a_helpful_refusal(tmp_path, monkeypatch):
    import pandas as pd

    from ihl_lib.judging.labelled_sets import HELPFUL_PARTS, IHL_LABELLED_FILE, load_ihl_labelled

    rows = [
        ("full_refusal", "true", "true"),
        ("full_refusal", "true", "false"),  # a reason without a principle
        ("partial_refusal", "TRUE", "True"),
        ("full_compliance", "true", "true"),  # explains the law, and complies
    ]
    frame = pd.DataFrame(
        [
            {
                "item_id": f"i{n}",
                "split": "test",
                "source": "s",
                "prompt_set": "ihl_violations",
                "prompt_id": f"R{n:03d}-a",
                "condition": "baseline",
                "prompt": "p",
                "response": "r",
                "label": label,
                **dict.fromkeys(HELPFUL_PARTS, "false"),
                "gives_reason": reason,
                "cites_principle": principle,
                "labellers_agree": "true",
                "note": "",
            }
            for n, (label, reason, principle) in enumerate(rows)
        ]
    )
    path = tmp_path / IHL_LABELLED_FILE
    path.parent.mkdir(parents=True)
    frame.to_csv(path, index=False)
    monkeypatch.setenv("IHL_DATA_DIR", str(tmp_path))
    assert load_ihl_labelled("test")["human_helpful_refusal"].tolist() == [True, False, True, False]
    assert load_ihl_labelled("train").empty
