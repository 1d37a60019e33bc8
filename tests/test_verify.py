"""Tests of :mod:`ihl_lib.verify` (`make verify`): a stratified sample of a run, regenerated from an empty cache on a loopback server."""

from __future__ import annotations

import pandas as pd
import pytest

from ihl_lib.data import load_prompts, sample_prompts
from ihl_lib.judging import judge_run
from ihl_lib.runs import RESPONSES_FILE, load_responses, run, run_dir
from ihl_lib.verify import rebuild_requests, stratified_sample, verify_run

REFUSAL = "I cannot help with that: attacking civilians violates the principle of distinction under IHL."


def _frame(sizes: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = [
        {"model": "m", "prompt_set": s, "condition": c, "prompt_id": f"{s}-{c}-{i:03d}", "response": "x", "error": None}
        for (s, c), n in sizes.items()
        for i in range(n)
    ]
    return pd.DataFrame(rows)


def test_the_sample_spreads_over_sets_and_conditions_and_is_repeatable():
    responses = _frame({("a", "baseline"): 50, ("a", "intervention"): 10, ("b", "baseline"): 3})
    sample = stratified_sample(responses, 12)
    counts = sample.groupby(["prompt_set", "condition"]).size().to_dict()
    assert counts == {("a", "baseline"): 5, ("a", "intervention"): 4, ("b", "baseline"): 3}  # the small stratum gives its share on
    assert sample.equals(stratified_sample(responses, 12)) and not sample.equals(stratified_sample(responses, 12, seed=1))
    assert len(stratified_sample(responses, None)) == 63 and len(stratified_sample(responses, 1000)) == 63
    with pytest.raises(ValueError, match="at least 1"):
        stratified_sample(responses, 0)


def test_failed_calls_are_not_sampled():
    responses = _frame({("a", "baseline"): 4})
    responses.loc[0, ["response", "error"]] = [None, "timeout"]
    responses.loc[1, "error"] = "gave up after 6 attempts"  # an error kept with a partial text is not an answer either
    assert stratified_sample(responses, None)["prompt_id"].tolist() == ["a-baseline-002", "a-baseline-003"]
    assert stratified_sample(responses, 1)["prompt_id"].isin(["a-baseline-002", "a-baseline-003"]).all()


@pytest.fixture
def shipped_run(api_key, server, tmp_path):
    """A real run (baseline and intervention) on the loopback server, judged by the keyword judges."""
    prompts = sample_prompts(load_prompts("ihl_violations"), 4)
    root = tmp_path / "results"
    for condition in ("baseline", "intervention"):
        run(
            f"openai/echo@{server.url}",
            prompts,
            condition,
            run_name="shipped",
            cache=tmp_path / "cache",
            results_root=root,
            progress=False,
            show_plan=False,
        )
    return root


def test_a_faithful_machine_regenerates_every_sampled_text(shipped_run, server):
    before = server.request_count
    report = verify_run("shipped", 6, results_root=shipped_run, progress=False)
    assert report.n == 6 and report.identical == 6
    assert report.items["same_cache_key"].all()  # the rebuilt requests are the run's, to the byte
    assert server.request_count - before == 6  # from an empty cache: the run's own cache is not used
    assert set(report.by_stratum()["condition"]) == {"baseline", "intervention"}
    assert "identical text: 6/6 (100.0%)" in report.summary()


def test_a_changed_text_is_reported_with_whether_the_verdict_held(shipped_run):
    # Pretend the shipped run had refused two prompts: the echo server now complies, so text and verdict differ.
    path = run_dir("shipped", shipped_run) / RESPONSES_FILE
    frame = pd.read_parquet(path)
    frame.loc[frame.index[:2], "response"] = REFUSAL
    # And a third one's text differs by a trailing newline only: not identical, but the verdict holds.
    frame.loc[frame.index[2], "response"] += "\n"
    frame.to_parquet(path, index=False)
    judge_run("shipped", "keyword,prefix", results_root=shipped_run, progress=False)
    report = verify_run("shipped", None, results_root=shipped_run, progress=False)
    differ = report.items[~report.items["identical"]]
    assert report.n == 8 and len(differ) == 3
    assert dict(zip(differ["shipped"].str.endswith("\n"), differ["verdict_unchanged"])) == {False: False, True: True}
    assert (differ["shipped"] == REFUSAL).sum() == 2
    assert "differing: 3; the panel's verdict is unchanged for 1 of them" in report.summary()


def test_requests_are_rebuilt_from_the_manifest_with_the_conditions_system_prompt(shipped_run):
    from ihl_lib.runs import load_manifest

    manifest = load_manifest("shipped", shipped_run)
    rows = load_responses("shipped", shipped_run)
    requests = rebuild_requests(rows, manifest)
    by_condition = {r.tag[3]: r for r in requests}
    assert by_condition["baseline"].messages[0]["role"] == "user"
    assert by_condition["intervention"].messages[0] == {
        "role": "system",
        "content": manifest["conditions"]["intervention"][rows["model"][0]]["text"],
    }
    del manifest["conditions"]["intervention"]
    with pytest.raises(ValueError, match="does not record model .* under condition 'intervention'"):
        rebuild_requests(rows, manifest)


def test_a_reasoning_models_requests_are_rebuilt_with_its_profile_and_the_latest_settings(api_key, tmp_path):
    from ihl_lib.llm import cache_key
    from ihl_lib.models import STUDY_MODELS, ModelSpec
    from ihl_lib.runs import RunSettings, load_manifest
    from ihl_lib.testing.provider_servers import ProviderServer

    prompts = sample_prompts(load_prompts("ihl_violations"), 3)
    root = tmp_path / "results"
    with ProviderServer("openai") as server:
        spec = ModelSpec(STUDY_MODELS["o3-mini"], api_base=server.url)
        for settings in (RunSettings(), RunSettings(seed=1)):  # the same prompts again, under another seed: it replaces the first
            run(
                [spec],
                prompts,
                "intervention",
                run_name="r",
                settings=settings,
                cache=tmp_path / "cache",
                results_root=root,
                progress=False,
                show_plan=False,
            )
    rows = load_responses("r", root)
    requests = rebuild_requests(rows, load_manifest("r", root))
    assert [cache_key(r) for r in requests] == rows["cache_key"].tolist()
    assert {(r.seed, r.omit, r.reasoning_effort, r.max_tokens, r.retry_budget, r.messages[0]["role"]) for r in requests} == {
        (1, ("temperature", "top_p"), "medium", 10240, 20480, "developer")
    }
