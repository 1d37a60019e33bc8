"""Tests of :mod:`ihl_lib.paper`: the paper's reference figures are checked row by row, and a run's rates are keyed to sit beside them."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.data import DatasetError
from ihl_lib.models import STUDY_MODELS
from ihl_lib.paper import like_for_like, load_paper_reference, rates_beside_paper
from ihl_lib.paths import data_dir


def test_rates_beside_paper_keep_only_the_study_models_under_their_short_names():
    table = pd.DataFrame({"model": [STUDY_MODELS["o3-mini"], "local/smollm2-135m"], "condition": "baseline", "rate": [0.25, 0.5]})
    ours = rates_beside_paper(table, table.assign(rate=[0.1, 0.2]))
    assert ours.to_dict("records") == [
        {"model_key": "o3-mini", "metric": "refusal_rate", "condition": "baseline", "value": 25.0},
        {"model_key": "o3-mini", "metric": "helpful_refusal_rate", "condition": "baseline", "value": 10.0},
    ]
    assert rates_beside_paper(table.iloc[1:], table.iloc[1:]).empty


def test_the_paper_reference_is_checked_row_by_row(tmp_path):
    from ihl_lib.data import DatasetError
    from ihl_lib.paper import load_paper_reference

    text = (data_dir() / "paper_reference.csv").read_text(encoding="utf-8").replace(",25,322,figure", ",26,322,figure")
    (tmp_path / "ref.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match="row 2, column 'value'"):
        load_paper_reference(tmp_path / "ref.csv")


def test_like_for_like_keeps_only_one_models_exact_figure_under_a_named_condition():
    reference = load_paper_reference()
    kept = like_for_like(reference)
    assert kept["claim_id"].tolist() == ["S02", "S03", "S04", "S05"]
    assert (kept["kind"] == "figure").all() and (kept["denominator"] == "322").all() and kept["condition"].ne("").all()
    # S01 names no condition; T05's denominator is unknown; ranges, thresholds and claims are never set beside a rate
    left_out = set(reference["claim_id"]) - set(kept["claim_id"])
    assert {"S01", "T05"} <= left_out and set(reference.loc[reference["kind"] != "figure", "claim_id"]) <= left_out


def test_a_reference_file_with_an_unknown_kind_or_a_missing_column_is_named(tmp_path):
    text = (data_dir() / "paper_reference.csv").read_text(encoding="utf-8")
    (tmp_path / "kind.csv").write_text(text.replace(",322,figure,", ",322,estimate,", 1), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"row 1, column 'kind': kind must be one of .*got 'estimate'"):
        load_paper_reference(tmp_path / "kind.csv")
    frame = pd.read_csv(data_dir() / "paper_reference.csv", dtype=str, keep_default_na=False).drop(columns=["denominator"])
    frame.to_csv(tmp_path / "column.csv", index=False)
    with pytest.raises(DatasetError, match="column 'denominator': missing column"):
        load_paper_reference(tmp_path / "column.csv")


def test_like_for_like_leaves_out_a_row_that_fails_any_one_test():
    base = {"kind": "figure", "denominator": "322", "model_key": "gpt-4o", "condition": "baseline"}
    rows = [
        {"claim_id": "ok", **base},
        {"claim_id": "range", **base, "kind": "range"},
        {"claim_id": "unknown-n", **base, "denominator": "unknown"},
        {"claim_id": "a-group", **base, "model_key": ""},  # the source names a group of models, not one
        {"claim_id": "no-condition", **base, "condition": ""},
    ]
    assert like_for_like(pd.DataFrame(rows))["claim_id"].tolist() == ["ok"]
