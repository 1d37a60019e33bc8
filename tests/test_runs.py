"""Tests of :mod:`ihl_lib.runs`: baseline and intervention runs, their manifest and plan, on the loopback server and the embedded model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from ihl_lib.data import DATASET_VERSION, load_prompts, sample_prompts
from ihl_lib.llm import InvalidRequestError
from ihl_lib.models import STUDY_MODELS, MissingKeyError, ModelSpec, generation_profile
from ihl_lib.provenance import text_sha256
from ihl_lib.runs import RunSettings, coverage, load_manifest, load_responses, prepare, run
from ihl_lib.safety_prompts import IHL_NORMS_V1, UnknownConditionError
from ihl_lib.testing.openai_server import Action, LoopbackServer
from ihl_lib.testing.provider_servers import ProviderServer


def _run(server, prompts, condition, tmp_path, models=None, **kw):
    """A run named "t" under ``tmp_path`` of the loopback model on ``server`` (or of ``models``; None and no server: the embedded one)."""
    return run(
        models if models is not None or server is None else f"openai/loop@{server.url}",
        prompts,
        condition,
        run_name="t",
        cache=tmp_path / "cache",
        results_root=tmp_path / "results",
        progress=False,
        show_plan=False,
        **kw,
    )


def test_both_conditions_run_and_system_prompt_is_sent_only_in_intervention(api_key, server, prompts, tmp_path):
    base = _run(server, prompts, "baseline", tmp_path)
    baseline_bodies = [r.body for r in server.requests]
    server.reset()
    inter = _run(server, prompts, "intervention", tmp_path)
    intervention_bodies = [r.body for r in server.requests]

    assert len(base) == len(inter) == 6
    assert all(b["messages"][0]["role"] == "user" for b in baseline_bodies)
    assert not any(m["role"] == "system" for b in baseline_bodies for m in b["messages"])
    assert all(b["messages"][0] == {"role": "system", "content": IHL_NORMS_V1.text} for b in intervention_bodies)
    assert all(b["temperature"] == 0 and b["seed"] == 0 and b["max_tokens"] == 2048 for b in baseline_bodies + intervention_bodies)
    # a self-hosted server's own sampling defaults (llama.cpp and Ollama: repeat penalty 1.1) are pinned to neutral
    assert all(
        b["repeat_penalty"] == 1.0 and b["repetition_penalty"] == 1.0 and b["presence_penalty"] == 0.0 and b["frequency_penalty"] == 0.0
        for b in baseline_bodies + intervention_bodies
    )

    saved = load_responses("t", tmp_path / "results")
    assert len(saved) == 12
    assert not saved.duplicated(["model", "prompt_set", "prompt_id", "condition"]).any()
    assert set(saved["condition"]) == {"baseline", "intervention"}
    assert (saved.loc[saved.condition == "intervention", "system_prompt_sha256"] == IHL_NORMS_V1.sha256).all()
    assert (saved.loc[saved.condition == "baseline", "system_prompt"] == "").all()
    assert saved["response"].str.startswith("echo: Test request").all()


def test_manifest_records_provenance(api_key, server, prompts, tmp_path):
    _run(server, prompts, "baseline", tmp_path)
    _run(server, prompts, "intervention", tmp_path)
    manifest = load_manifest("t", tmp_path / "results")
    label = f"openai/loop@{server.url}"
    assert manifest["models"][label]["model"] == "openai/loop"
    assert manifest["models"][label]["response_models"] == ["loop"]
    assert manifest["conditions"]["baseline"][label] is None
    cond = manifest["conditions"]["intervention"][label]
    assert cond["version"] == "v1" and cond["sha256"] == IHL_NORMS_V1.sha256
    assert manifest["settings"]["temperature"] == 0.0 and manifest["settings"]["seed"] == 0
    dataset = manifest["prompt_sets"]["tiny"]
    assert dataset["file_sha256"] == hashlib.sha256(Path(prompts.attrs["source_path"]).read_bytes()).hexdigest()
    assert dataset["dataset_version"] is None  # a user's file has no version
    held = manifest["coverage"]["tiny"]
    assert {c: {m: e["n"] for m, e in by_model.items()} for c, by_model in held.items()} == {
        "baseline": {label: 6},
        "intervention": {label: 6},
    }
    assert held["baseline"][label]["prompt_ids"] == sorted(prompts["prompt_id"])
    env = manifest["environment"]
    assert env["packages"]["litellm"] and env["packages"]["ihl-refusals"] == "0.1.0"
    assert "commit" in env["git"] and env["recorded_at"]
    assert [h["condition"] for h in manifest["history"]] == ["baseline", "intervention"]
    assert [h["n_prompts"] for h in manifest["history"]] == [6, 6]
    assert "sk-" not in (tmp_path / "results" / "t" / "run.json").read_text()


def test_manifest_keeps_each_conditions_sample_and_a_portable_file_path(api_key, server, tmp_path):
    shipped = load_prompts("ihl_violations")
    label = f"openai/loop@{server.url}"
    _run(server, sample_prompts(shipped, 5), "baseline", tmp_path)
    _run(server, sample_prompts(shipped, 3), "tailored", tmp_path)
    manifest = load_manifest("t", tmp_path / "results")
    held = manifest["coverage"]["ihl_violations"]
    # The later, smaller run must not overwrite what the first one recorded.
    assert (held["baseline"][label]["n"], held["tailored"][label]["n"]) == (5, 3)
    # Nor must a later run of a subset under the same condition (the code-wrapped set's plain counterparts).
    before = held["baseline"][label]
    _run(server, sample_prompts(shipped, 5).head(2), "baseline", tmp_path)
    manifest = load_manifest("t", tmp_path / "results")
    assert manifest["coverage"]["ihl_violations"]["baseline"][label] == before
    dataset = manifest["prompt_sets"]["ihl_violations"]
    assert dataset["file"] == "data/prompts/ihl_violations.csv" and dataset["dataset_version"] == DATASET_VERSION


def test_manifest_coverage_matches_the_responses_file(api_key, server, tmp_path):
    shipped = load_prompts("ihl_violations")
    _run(server, sample_prompts(shipped, 4), "baseline", tmp_path)
    _run(server, sample_prompts(shipped, 6, seed=1), "baseline", tmp_path)
    _run(server, sample_prompts(shipped, 2), "intervention", tmp_path)
    responses = load_responses("t", tmp_path / "results")
    held = load_manifest("t", tmp_path / "results")["coverage"]
    from_file = {(s, c, m): sorted(g["prompt_id"]) for (s, c, m), g in responses.groupby(["prompt_set", "condition", "model"])}
    from_manifest = {(s, c, m): e["prompt_ids"] for s, by_c in held.items() for c, by_m in by_c.items() for m, e in by_m.items()}
    assert from_manifest == from_file and len(from_file[("ihl_violations", "baseline", f"openai/loop@{server.url}")]) >= 6


def test_rerun_is_identical_and_makes_no_call(api_key, server, prompts, tmp_path):
    first = _run(server, prompts, "baseline", tmp_path)
    sent = server.request_count
    second = _run(server, prompts, "baseline", tmp_path)
    assert server.request_count == sent
    assert second["from_cache"].all()
    cols = ["model", "prompt_id", "condition", "response", "finish_reason", "prompt_tokens", "completion_tokens"]
    pd.testing.assert_frame_equal(first[cols], second[cols])


def test_partial_run_completes_only_the_rest(api_key, prompts, tmp_path):
    failing = {"T01", "T04"}
    state = {"first": True}

    def plan(n, body):
        text = body["messages"][-1]["content"]
        return Action.error(500) if state["first"] and any(f"number {p[1:].lstrip('0') or '0'} " in text for p in failing) else Action.ok()

    with LoopbackServer(plan) as srv:
        first = _run(srv, prompts, "baseline", tmp_path)
        assert first["error"].notna().sum() == 2
        state["first"] = False
        srv.reset()

        second = _run(srv, prompts, "baseline", tmp_path)
        assert second["error"].isna().all()
        assert srv.request_count == 2
    saved = load_responses("t", tmp_path / "results")
    assert len(saved) == 6 and saved["error"].isna().all()
    history = load_manifest("t", tmp_path / "results")["history"]
    assert [(h["calls"], h["cached"], h["failed"]) for h in history] == [(6, 0, 2), (6, 4, 0)]


def test_missing_key_fails_before_any_call(monkeypatch, server, prompts, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        _run(server, prompts, "baseline", tmp_path)
    assert server.request_count == 0
    assert not (tmp_path / "results").exists()


def test_bad_input_fails_before_any_call(api_key, server, prompts, tmp_path):
    with pytest.raises(UnknownConditionError, match="known: .*baseline"):
        _run(server, prompts, "interventoin", tmp_path)
    with pytest.raises(InvalidRequestError, match="empty"):
        _run(server, prompts.iloc[0:0], "baseline", tmp_path)
    with pytest.raises(InvalidRequestError, match="cannot route"):
        run("no-such-model-xyz", prompts, "baseline", run_name=None, progress=False, show_plan=False)
    with pytest.raises(InvalidRequestError, match="max_tokens"):
        _run(server, prompts, "baseline", tmp_path, settings=RunSettings(max_tokens=-5))
    assert server.request_count == 0


def test_plan_counts_calls_cost_and_cache(api_key, server, prompts, tmp_path):
    prepared = prepare(["openai/gpt-4o-2024-08-06@" + server.url, "openai/loop@" + server.url], prompts, "intervention")
    table = prepared.plan(tmp_path / "cache")
    assert prepared.summary() == "6 prompts x 2 model(s) x 1 condition (intervention) = 12 calls"
    assert table["to_call"].tolist() == [6, 6]
    assert table["est_max_cost_usd"].iloc[0] > 0  # litellm knows gpt-4o's price
    assert pd.isna(table["est_max_cost_usd"].iloc[1])  # and not the loopback model's
    _run(server, prompts, "intervention", tmp_path)
    table = prepare("openai/loop@" + server.url, prompts, "intervention").plan(tmp_path / "cache")
    assert table["cached"].tolist() == [6] and table["to_call"].tolist() == [0]


def test_embedded_model_runs_both_conditions(prompts, tmp_path):
    two = prompts.head(2)
    base, inter = (_run(None, two, condition, tmp_path, settings=RunSettings(max_tokens=24)) for condition in ("baseline", "intervention"))
    assert base["error"].isna().all() and inter["error"].isna().all()
    assert (base["response_model"] == "SmolLM2-135M-Instruct.Q4_1").all()
    assert list(base["response"]) != list(inter["response"])  # the system prompt changes the answer


def test_shipped_reference_manifest_matches_its_responses():
    from ihl_lib.paths import results_dir

    folder = results_dir() / "reference-smollm2"
    responses = pd.read_parquet(folder / "responses.parquet")
    held = load_manifest("reference-smollm2")["coverage"]
    from_file = {(s, c, m): sorted(g["prompt_id"]) for (s, c, m), g in responses.groupby(["prompt_set", "condition", "model"])}
    from_manifest = {(s, c, m): e["prompt_ids"] for s, by_c in held.items() for c, by_m in by_c.items() for m, e in by_m.items()}
    assert from_manifest == from_file
    # The full study design: every core prompt under the three conditions, every extension prompt under two.
    for name, conditions in (
        ("ihl_violations", ("baseline", "intervention", "tailored")),
        ("lawful_twins", ("baseline", "intervention")),
        ("code_wrapped", ("baseline", "intervention")),
        ("illegitimate_rules", ("baseline", "intervention")),
    ):
        ids = sorted(load_prompts(name)["prompt_id"])
        for condition in conditions:
            assert from_file[(name, condition, "local/smollm2-135m")] == ids, (name, condition)


def test_summarize_counts_each_outcome_and_the_share_cut_by_the_budget():
    from ihl_lib.runs import summarize

    frame = pd.DataFrame(
        {
            "model": "m",
            "condition": "baseline",
            "prompt_id": ["a", "b", "c", "d"],
            "response": ["Sure, here", "No.", "", None],
            "finish_reason": ["length", "stop", "content_filter", None],
            "error_kind": [None, None, None, "server"],
            "error": [None, None, None, "gave up"],
            "from_cache": False,
            "completion_tokens": [256, 2, 0, None],
            "latency_s": 1.0,
            "cost_usd": None,
        }
    )
    row = summarize(frame).iloc[0]
    assert (row["answered"], row["truncated"], row["provider_blocked"], row["error"], row["empty"]) == (1, 1, 1, 1, 0)
    assert row["truncated_share"] == 0.25 and row["prompts"] == 4


def test_analysis_reads_the_shipped_reference_run_when_there_is_no_run_of_ones_own(tmp_path, capsys):
    from ihl_lib.runs import REFERENCE_RUN, analysis_target

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "responses.parquet").write_bytes(b"")
    assert analysis_target("mine", tmp_path) == ("mine", False)
    assert analysis_target("local-run", tmp_path) == (REFERENCE_RUN, True)
    assert "There is no run 'local-run' here yet" in capsys.readouterr().out


def test_responses_hold_the_schemas_columns_in_order_then_the_prompt_sets_own(api_key, server, prompts, tmp_path):
    from ihl_lib.schema import ITEM_KEY, RESPONSE_COLUMNS

    frame = _run(server, prompts, "baseline", tmp_path)
    schema_part = [*ITEM_KEY, *RESPONSE_COLUMNS]
    assert list(frame.columns[: len(schema_part)]) == schema_part
    assert set(frame.columns[len(schema_part) :]) == set(prompts.columns) - {"prompt_id", "rule_id", "variant", "prompt", "prompt_set"}


def test_a_run_added_to_a_file_written_under_older_names_keeps_one_column_per_fact(api_key, server, tmp_path):
    cases = sample_prompts(load_prompts("illegitimate_rules"), 2)
    first = _run(server, cases.iloc[:1], "baseline", tmp_path)
    path = tmp_path / "results" / "t" / "responses.parquet"
    first.rename(columns={"should_comply": "should_help"}).to_parquet(path)  # as written before issue 22
    _run(server, cases, "baseline", tmp_path)
    saved = load_responses("t", tmp_path / "results")
    assert "should_help" not in saved.columns and saved["should_comply"].notna().all() and len(saved) == 2


def test_runs_under_other_settings_leave_the_manifests_settings_mixed(api_key, server, prompts, tmp_path):
    _run(server, prompts, "baseline", tmp_path)
    _run(server, prompts, "intervention", tmp_path, settings=RunSettings(temperature=0.5))
    manifest = load_manifest("t", tmp_path / "results")
    assert manifest["settings"] == "mixed: see history"
    assert [h["settings"]["temperature"] for h in manifest["history"]] == [0.0, 0.5]


def test_a_reasoning_model_is_asked_by_its_profile_and_the_manifest_says_so(api_key, prompts, tmp_path, monkeypatch):
    monkeypatch.delenv("IHL_TRANSPORT", raising=False)  # an OpenAI-compatible server by URL: the direct path
    model = STUDY_MODELS["o3-mini"]
    with ProviderServer("openai") as server:
        spec = ModelSpec(model, api_base=server.url)
        _run(server, prompts.head(2), "intervention", tmp_path, models=[spec])
        bodies = [call.body for call in server.calls]
    assert len(bodies) == 2
    for body in bodies:
        assert [m["role"] for m in body["messages"]] == ["developer", "user"] and body["messages"][0]["content"] == IHL_NORMS_V1.text
        assert body["max_tokens"] == 2048 + 8192 and body["reasoning_effort"] == "medium" and body["seed"] == 0
        assert "temperature" not in body and "top_p" not in body
    generation = load_manifest("t", tmp_path / "results")["models"][spec.label]["generation"]
    assert generation == {
        "max_tokens": 10240,
        "answer_tokens": 2048,
        "reasoning_tokens": 8192,
        "retry_budget": 20480,
        "reasoning_effort": "medium",
        "system_role": "developer",
        "sampling_sent": {"seed": 0},  # temperature 0.0 is not sent to o3-mini, so the manifest must not claim it
        "not_sent": ["temperature", "top_p"],
        "extra_body": {},
        "evidence": generation_profile(spec).evidence,
    }


def test_coverage_hashes_each_id_with_its_prompt_text():
    frame = pd.DataFrame(
        {
            "prompt_set": "s",
            "condition": "baseline",
            "model": "m",
            "prompt_id": ["b", "a", "a"],  # unsorted, and a repeated row
            "prompt": ["second text", "first text", "first text"],
        }
    )
    held = coverage(frame)["s"]["baseline"]["m"]
    assert held == {"n": 2, "prompt_ids": ["a", "b"], "prompts_sha256": text_sha256("a\tfirst text\nb\tsecond text")}
    reworded = coverage(frame.assign(prompt=["second text", "first text, reworded", "first text, reworded"]))
    assert reworded["s"]["baseline"]["m"]["prompts_sha256"] != held["prompts_sha256"]  # same ids, another prompt: it shows
