"""End to end: the numbered notebooks run headless, on a sample with the embedded model and on the shipped results without model calls."""

from __future__ import annotations

from ihl_lib.notebooks import discover, run_notebooks


def test_every_notebook_runs_headless_on_a_sample(tmp_path, monkeypatch):
    """The main job in miniature: embedded model, 4 prompts per set, isolated results, cache and figures."""
    for var, sub in (("IHL_RESULTS_DIR", "results"), ("IHL_CACHE_DIR", "cache"), ("IHL_FIGURES_DIR", "figures")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("IHL_MODELS", raising=False)
    runs = run_notebooks(discover(), {"sample": 4, "max_tokens": 48, "run_name": "ci-sample"}, tmp_path / "executed", log=False)
    assert [r.output.name for r in runs] == [p.name for p in discover()]
    figures = {p.name for p in (tmp_path / "figures").glob("*.png")}
    for name in ("refusal_rate_by_model", "helpfulness_before_after", "judge_agreement", "refusal_by_part", "refusal_by_rule_heatmap"):
        assert f"{name}.png" in figures, sorted(figures)
    assert (tmp_path / "results" / "ci-sample" / "verdicts.parquet").is_file()


def test_analysis_notebooks_run_on_shipped_results_without_model_calls(tmp_path, monkeypatch):
    """The reviewer's path (`make analysis`): notebooks 04-08 on the shipped reference run, no model, no cache."""
    import hashlib

    from ihl_lib.notebooks import ANALYSIS_NUMBERS
    from ihl_lib.paths import results_dir

    shipped = results_dir() / "reference-smollm2"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shipped.iterdir()}
    assert {"responses.parquet", "judgments.parquet", "verdicts.parquet", "audit.csv", "run.json"} <= set(before)
    monkeypatch.setenv("IHL_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("IHL_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("IHL_NO_MODEL_CALLS", "1")
    notebooks = discover(numbers=ANALYSIS_NUMBERS)
    runs = run_notebooks(notebooks, {"run_name": "reference-smollm2", "allow_model_calls": False}, tmp_path / "executed", log=False)
    assert [r.output.name for r in runs] == [p.name for p in notebooks]
    figures = {p.stem for p in (tmp_path / "figures").glob("*.png")}
    assert {
        "refusal_rate_by_model",
        "helpfulness_before_after",
        "refusal_by_rule_heatmap",
        "tradeoff_violations_vs_lawful",
        "blind_refusal_help_rates",
        "refusal_plain_vs_code",
    } <= figures, sorted(figures)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shipped.iterdir()}
    assert after == before  # the analysis path reads the shipped run and never rewrites it


def test_on_a_fresh_clone_run_all_works_in_every_analysis_notebook_with_its_own_defaults(tmp_path, monkeypatch):
    """What a student gets from "Run All" before making a run: each notebook's own parameters, the shipped run, read-only."""
    import hashlib
    import shutil

    import nbformat

    from ihl_lib.notebooks import ANALYSIS_NUMBERS
    from ihl_lib.paths import results_dir

    results = tmp_path / "results"
    shutil.copytree(results_dir() / "reference-smollm2", results / "reference-smollm2")  # a clone with only the shipped run
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (results / "reference-smollm2").iterdir()}
    for variable, value in (
        ("IHL_RESULTS_DIR", results),
        ("IHL_CACHE_DIR", tmp_path / "cache"),
        ("IHL_FIGURES_DIR", tmp_path / "figures"),
        ("IHL_NO_MODEL_CALLS", "1"),
    ):
        monkeypatch.setenv(variable, str(value))
    notebooks = list(reversed(discover(numbers=ANALYSIS_NUMBERS)))  # in any order
    runs = run_notebooks(notebooks, {}, tmp_path / "executed", log=False)
    for run in runs:
        text = "".join(o.get("text", "") for c in nbformat.read(run.output, as_version=4).cells if c.cell_type == "code" for o in c.outputs)
        assert "There is no run 'local-run' here yet" in text, run.output.name
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (results / "reference-smollm2").iterdir()} == before
