"""Tests of :mod:`ihl_lib.schema`: model ids split into their parts, legacy names upgraded, required columns, "unresolved is no"."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.schema import ModelId, as_binary, parse_model_id, require_columns, upgrade_legacy_names


@pytest.mark.parametrize(
    "text, expected",
    [
        # a name that holds a "/" keeps it: only the first "/" separates the provider
        (
            "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
            ModelId("together_ai", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        ),
        # a self-hosted server after "@", with its own "/" and ":" left whole
        ("openai/x@http://127.0.0.1:8000/v1", ModelId("openai", "x", "http://127.0.0.1:8000/v1")),
        # a judge's version after the last "::", not the "::" of an IPv6 address
        ("openai/judge@http://[::1]:8000::judge-v1", ModelId("openai", "judge", "http://[::1]:8000", "judge-v1")),
        ("openai/x@http://[::1]:8000", ModelId("openai", "x", "http://[::1]:8000")),
        ("local/smollm2-135m::judge-lean-v1", ModelId("local", "smollm2-135m", None, "judge-lean-v1")),
        # a bare name has no provider
        ("gpt-4o", ModelId("", "gpt-4o")),
        ("  keyword ", ModelId("", "keyword")),
    ],
)
def test_parse_model_id_splits_provider_name_server_and_version(text, expected):
    assert parse_model_id(text) == expected


def test_a_model_ids_litellm_id_and_short_name():
    llama = parse_model_id("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo@http://127.0.0.1:9/v1::judge-v2")
    assert llama.litellm_id == "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"  # neither server nor version
    assert llama.short == "Llama-3.3-70B-Instruct-Turbo"
    bare = parse_model_id("gpt-4o")
    assert bare.litellm_id == "gpt-4o" and bare.short == "gpt-4o"  # no leading "/" for a bare name


def test_upgrade_renames_legacy_columns_label_columns_and_judge_ids():
    old = pd.DataFrame(
        {
            "helpful": [True, None],
            "human_helpful": [False, True],
            "should_help": [True, False],
            "label__rules": ["full_refusal", "full_compliance"],
            "label__prefix": ["full_refusal", "full_refusal"],
            "judge_id": ["rules", "prefix"],
        }
    )
    new = upgrade_legacy_names(old)
    assert new.columns.tolist() == [
        "helpful_refusal",
        "human_helpful_refusal",
        "should_comply",
        "label__keyword",
        "label__prefix",
        "judge_id",
    ]
    assert new["judge_id"].tolist() == ["keyword", "prefix"]
    assert new["label__keyword"].tolist() == ["full_refusal", "full_compliance"]  # the values go with the column
    assert old.columns[0] == "helpful" and old["judge_id"].tolist() == ["rules", "prefix"]  # the input is not changed


def test_upgrade_leaves_a_frame_with_current_names_unchanged():
    current = pd.DataFrame(
        {
            "model": ["m"],
            "helpful_refusal": [True],
            "human_helpful_refusal": [False],
            "label__keyword": ["full_refusal"],
            "judge_id": ["keyword"],
        }
    )
    pd.testing.assert_frame_equal(upgrade_legacy_names(current), current)
    # a frame that has both names keeps both: the current column is never overwritten by the legacy one
    both = pd.DataFrame({"helpful": [True], "helpful_refusal": [False]})
    pd.testing.assert_frame_equal(upgrade_legacy_names(both), both)


def test_require_columns_names_every_missing_column_and_the_frame():
    frame = pd.DataFrame({"model": ["m"], "label": ["full_refusal"]})
    require_columns(frame, ["model", "label"])  # nothing missing: no error
    with pytest.raises(ValueError, match=r"the judgments frame lacks column\(s\) \['refused', 'condition'\]"):
        require_columns(frame, ["model", "refused", "label", "condition"], "judgments")
    with pytest.raises(ValueError, match=r"^the verdicts frame"):
        require_columns(frame, ["refused"])


def test_as_binary_counts_only_yes_as_one():
    values = pd.Series([True, False, None, 1, 0, 1.0, float("nan"), "yes"], dtype=object)
    out = as_binary(values)
    assert out.tolist() == [1, 0, 0, 1, 0, 1, 0, 0]  # unresolved (None, NaN) is "no", and so is anything not a yes
    assert out.dtype == int and len(out) == len(values)  # every item stays in the denominator
    assert as_binary(pd.Series([True, None], index=[7, 9])).index.tolist() == [7, 9]
