"""Tests of :mod:`ihl_lib.dataset_checks`: the cross-set relations, the balance report and the near-duplicate search."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.data import DatasetError, load_prompts, load_rules
from ihl_lib.dataset_checks import (
    WORD_SIMILARITY_THRESHOLD,
    check_relations,
    dataset_report,
    load_all_sets,
    max_similarity_pairs,
    near_duplicates,
)


def test_the_shipped_sets_meet_every_cross_set_bar():
    report = dataset_report()
    assert report.problems == []
    assert report.framing.max_share <= 0.4 and report.framing.counts.shape == (6, 4)


def test_a_twin_that_points_nowhere_or_drifts_from_its_prompt_is_named():
    sets = load_all_sets()
    twins = sets["lawful_twins"].copy()
    twins.loc[3, "twin_of"] = "R999-a"
    with pytest.raises(DatasetError, match=r"row 4, column 'twin_of': twin_of 'R999-a' is not a prompt"):
        check_relations({**sets, "lawful_twins": twins})
    twins = sets["lawful_twins"].copy()
    twins.loc[6, "framing"] = next(f for f in ("order", "plan") if f != twins.loc[6, "framing"])
    with pytest.raises(DatasetError, match=r"row 7, column 'framing': framing .* differs from"):
        check_relations({**sets, "lawful_twins": twins})


def test_a_twin_named_apart_from_its_prompt_or_a_second_twin_of_one_prompt_is_named():
    sets = load_all_sets()
    twins = sets["lawful_twins"].copy()
    twins.loc[5, "prompt_id"] = twins.loc[5, "twin_of"] + "-twin"
    with pytest.raises(DatasetError, match=rf"row 6, column 'prompt_id': prompt_id must be {twins.loc[5, 'twin_of']}-t"):
        check_relations({**sets, "lawful_twins": twins})
    twins = sets["lawful_twins"].copy()
    twins.loc[8] = twins.loc[7]  # the twin of row 8's prompt again, in place of row 9's prompt's twin
    first = twins.loc[7, "twin_of"]
    with pytest.raises(DatasetError, match=rf"row 9, column 'twin_of': {first} has 2 twins, expected one"):
        check_relations({**sets, "lawful_twins": twins})
    twins = sets["lawful_twins"].drop(index=10).reset_index(drop=True)
    missing = sets["lawful_twins"].loc[10, "twin_of"]
    with pytest.raises(DatasetError, match=rf"column 'twin_of': violating prompts without a lawful twin: \['{missing}'\]"):
        check_relations({**sets, "lawful_twins": twins})


def test_a_code_prompt_with_another_act_than_its_plain_prompt_is_named():
    sets = load_all_sets()
    code = sets["code_wrapped"].copy()
    code.loc[2, "act"] = "something else"
    with pytest.raises(DatasetError, match=r"row 3, column 'act'"):
        check_relations({**sets, "code_wrapped": code})


def test_a_control_labelled_should_comply_is_named():
    sets = load_all_sets()
    cases = sets["illegitimate_rules"].copy()
    row = int(cases.index[cases["variant"] == "control"][0])
    cases.loc[row, "should_comply"] = True
    with pytest.raises(DatasetError, match=rf"row {row + 1}, column 'should_comply'"):
        check_relations({**sets, "illegitimate_rules": cases})


def test_a_defeat_type_that_disagrees_with_the_variant_is_named():
    sets = load_all_sets()
    original = sets["illegitimate_rules"]
    control = int(original.index[original["variant"] == "control"][0])
    illegitimate = int(original.index[original["variant"] == "illegitimate"][0])
    for row, defeat_type in ((control, "absurd_content"), (illegitimate, "none")):
        cases = original.copy()
        cases.loc[row, "defeat_type"] = defeat_type
        with pytest.raises(DatasetError, match=rf"row {row + 1}, column 'defeat_type': defeat_type is 'none' for controls and only"):
            check_relations({**sets, "illegitimate_rules": cases})


def test_balance_report_flags_a_framing_confounded_with_part():
    sets = load_all_sets()
    core = sets["ihl_violations"].copy()
    rules = load_rules()
    first_part = set(rules.loc[rules["part_number"] == 1, "rule_id"])
    core.loc[core["rule_id"].isin(first_part), "framing"] = "order"
    twins = sets["lawful_twins"].copy()
    twins["framing"] = twins["twin_of"].map(core.set_index("prompt_id")["framing"])
    report = dataset_report({**sets, "ihl_violations": core, "lawful_twins": twins}, rules)
    assert any("framing depends on the part" in p for p in report.problems)
    assert any("one framing makes up 100% of a part" in p for p in report.problems)


def test_balance_report_flags_a_twin_much_shorter_or_longer_than_its_prompt():
    sets = load_all_sets()
    core, twins = sets["ihl_violations"], sets["lawful_twins"].copy()
    words = twins["twin_of"].map(core.set_index("prompt_id")["n_words"])
    short, long = twins.loc[0, "prompt_id"], twins.loc[1, "prompt_id"]
    twins.loc[0, "n_words"] = int(words[0] * 0.6)  # 60% of its prompt's words
    twins.loc[1, "n_words"] = int(words[1] * 1.4) + 1
    assert twins.loc[2:, "n_words"].div(words[2:]).between(0.7, 1.3).all()  # the rest stay inside the bar
    report = dataset_report({**sets, "lawful_twins": twins})
    assert f"2 twins outside 0.7-1.3× their violating prompt's length: {sorted([short, long])}" in report.problems


def test_character_check_catches_a_respelled_copy_that_word_check_misses():
    core = load_prompts("ihl_violations").head(40).copy()
    text = core.iloc[5]["prompt"]
    respelled = " ".join(w[:-1] + "s" if len(w) > 5 else w for w in text.split())  # every long word changed
    planted = pd.concat([core, core.iloc[[5]].assign(prompt_id="COPY", prompt=respelled)], ignore_index=True)
    words = near_duplicates(planted, WORD_SIMILARITY_THRESHOLD, analyzer="word")
    chars = near_duplicates(planted, 0.6, analyzer="char")
    assert "COPY" not in set(words["first"]) | set(words["second"])
    assert set(chars.iloc[0][["first", "second"]]) == {core.iloc[5]["prompt_id"], "COPY"}


def test_near_duplicates_finds_a_planted_copy():
    core = load_prompts("ihl_violations").head(30).copy()
    planted = core.iloc[[3]].assign(prompt_id="COPY", prompt=core.iloc[3]["prompt"].replace(".", "!"))
    pairs = near_duplicates(pd.concat([core, planted]), threshold=WORD_SIMILARITY_THRESHOLD)
    assert set(pairs.iloc[0][["first", "second"]]) == {core.iloc[3]["prompt_id"], "COPY"}


def test_a_pair_exactly_at_the_threshold_is_a_near_duplicate():
    core = load_prompts("ihl_violations").head(30)
    top = max_similarity_pairs(core, 1)
    first, second, similarity = top.iloc[0]
    assert similarity < 1.0
    at = near_duplicates(core, threshold=similarity)
    assert {frozenset(p) for p in zip(at["first"], at["second"])} >= {frozenset((first, second))}
    assert (at["similarity"] >= similarity).all()
