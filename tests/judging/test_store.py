"""Tests of :mod:`ihl_lib.judging.store`: judging a run folder, study panels per judged model, and the audit sheet kept across reruns."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ihl_lib.testing.openai_server import Action, LoopbackServer
from tests.helpers import GOOD, responses_to_judge


def test_judge_run_saves_and_keeps_human_audit_labels(api_key, tmp_path):
    from ihl_lib.judging import judge_run, load_audit, load_judgments, load_verdicts
    from ihl_lib.runs import load_manifest

    responses = responses_to_judge().assign(
        response=[
            "I'm sorry to hear that. Here is the plan:\n1. Go.",  # rules: compliance; prefix: refusal -> disagreement
            "Sure, here's a plan:\n1. Close the roads.",
            None,
        ],
        rule_id=[7, 8, 9],
    )
    folder = tmp_path / "results" / "r"
    folder.mkdir(parents=True)
    responses.to_parquet(folder / "responses.parquet")
    out = judge_run("r", ["keyword", "prefix"], results_root=tmp_path / "results", cache=tmp_path / "c", progress=False)
    assert len(load_judgments("r", tmp_path / "results")) == 6
    verdicts = load_verdicts("r", tmp_path / "results")
    assert verdicts["label"].tolist() == ["unresolved", "full_compliance", "no_response"]
    assert verdicts["rule_id"].tolist() == [7, 8, 9]  # carried from the responses: the paired tests cluster by rule
    audit = load_audit("r", tmp_path / "results")
    # the random sample takes both judged items; p1 is also a disagreement; p3 (no response) is not judged
    assert audit["prompt_id"].tolist() == ["p1", "p2"] and audit["why"].tolist() == ["random+disagreement", "random"]
    audit.loc[0, "human_label"] = "full_compliance"
    audit.to_csv(folder / "audit.csv", index=False)
    judge_run("r", ["keyword", "prefix"], results_root=tmp_path / "results", cache=tmp_path / "c", progress=False)
    again = load_audit("r", tmp_path / "results")
    assert again["prompt_id"].tolist() == ["p1", "p2"] and again.loc[0, "human_label"] == "full_compliance"  # kept, not duplicated
    judging = load_manifest("r", tmp_path / "results")["judging"]
    assert [j["judge_id"] for j in judging["judges"]] == ["keyword", "prefix"]
    assert judging["labels"] == {"unresolved": 1, "full_compliance": 1, "no_response": 1}
    assert out["audit"]["prompt_id"].tolist() == ["p1", "p2"]


def test_study_panels_judge_each_model_without_its_own_vendor(api_key, monkeypatch, tmp_path):
    from ihl_lib.judging import judge_run, load_judgments
    from ihl_lib.judging import panel as judges_module
    from ihl_lib.runs import load_manifest

    with LoopbackServer(lambda n, body: Action.ok(json.dumps(GOOD))) as srv:
        monkeypatch.setenv("HOSTED_VLLM_API_KEY", "sk-vllm-test")
        monkeypatch.setattr(
            judges_module,
            "JUDGE_CANDIDATES",
            (f"openai/judge-o@{srv.url}::judge-v1", "keyword", f"hosted_vllm/judge-v@{srv.url}::judge-v1", "prefix"),
        )
        responses = pd.concat(
            [responses_to_judge().assign(model="openai/gpt-x"), responses_to_judge().assign(model="hosted_vllm/other")], ignore_index=True
        )
        folder = tmp_path / "results" / "s"
        folder.mkdir(parents=True)
        responses.to_parquet(folder / "responses.parquet")
        judge_run("s", "study", results_root=tmp_path / "results", cache=tmp_path / "c", progress=False)
    votes = load_judgments("s", tmp_path / "results")
    used = votes.groupby("model")["judge_id"].agg(lambda ids: sorted(set(ids)))
    assert [j.split("@")[0] for j in used["openai/gpt-x"]] == ["hosted_vllm/judge-v", "keyword", "prefix"]
    assert [j.split("@")[0] for j in used["hosted_vllm/other"]] == ["keyword", "openai/judge-o", "prefix"]
    panels = load_manifest("s", tmp_path / "results")["judging"]["panels"]
    assert set(panels) == {"openai/gpt-x", "hosted_vllm/other"}


def test_study_panel_needs_every_judges_key_before_any_call(monkeypatch, tmp_path):
    from ihl_lib.judging import judge_run
    from ihl_lib.models import MissingKeyError

    for env in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY"):
        monkeypatch.delenv(env, raising=False)
    folder = tmp_path / "results" / "k"
    folder.mkdir(parents=True)
    responses_to_judge().assign(model="openai/gpt-x").to_parquet(folder / "responses.parquet")
    with pytest.raises(MissingKeyError) as info:
        judge_run("k", "study", results_root=tmp_path / "results", cache=tmp_path / "c", progress=False)
    for env in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY"):
        assert env in str(info.value)
    assert sorted(p.name for p in folder.iterdir()) == ["responses.parquet"]


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


def test_result_files_written_under_older_names_read_under_the_current_ones(tmp_path):
    from ihl_lib.judging import judge_or_load, load_audit, load_judgments, load_verdicts

    folder = tmp_path / "old"
    folder.mkdir()
    key = {"model": ["m"], "prompt_set": ["illegitimate_rules"], "prompt_id": ["IL001"], "condition": ["baseline"]}
    pd.DataFrame({**key, "judge_id": ["rules"], "label": ["full_refusal"]}).to_parquet(folder / "judgments.parquet")
    pd.DataFrame(
        {**key, "label": ["full_refusal"], "refused": [True], "helpful": [False], "should_help": [True], "label__rules": ["full_refusal"]}
    ).to_parquet(folder / "verdicts.parquet")
    pd.DataFrame({**key, "why": ["random"], "human_label": ["full_refusal"], "human_helpful": ["no"]}).to_csv(
        folder / "audit.csv", index=False
    )
    assert load_judgments("old", tmp_path)["judge_id"].tolist() == ["keyword"]
    verdicts = load_verdicts("old", tmp_path)
    assert {"helpful_refusal", "should_comply", "label__keyword"} <= set(verdicts.columns)
    assert not {"helpful", "should_help", "label__rules"} & set(verdicts.columns)
    assert load_audit("old", tmp_path).loc[0, "human_helpful_refusal"] == "no"
    # the analysis-only path reads the stored files (there are no responses to judge here)
    judgments, verdicts = judge_or_load("old", allow_model_calls=False, results_root=tmp_path)
    assert judgments["judge_id"].tolist() == ["keyword"] and verdicts[["helpful_refusal", "label__keyword"]].values.tolist() == [
        [False, "full_refusal"]
    ]
