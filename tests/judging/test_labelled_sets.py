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
