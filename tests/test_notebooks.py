"""The notebooks: stored without outputs, and executing headless end to end on a small sample."""

from __future__ import annotations

from ihl_lib.notebooks import NOTEBOOK_DIR, discover, notebooks_with_outputs, run_notebooks


def test_committed_notebooks_hold_no_outputs():
    assert discover(), "no numbered notebooks found"
    assert notebooks_with_outputs(NOTEBOOK_DIR) == []


def test_notebooks_are_numbered_in_order():
    names = [p.name for p in discover()]
    assert names[:6] == [
        "01_data_construction.ipynb",
        "02_baseline_run.ipynb",
        "03_intervention_run.ipynb",
        "04_judging.ipynb",
        "05_significance_tests.ipynb",
        "06_per_rule_breakdown.ipynb",
    ]


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


def test_a_missing_key_stops_make_reproduce_with_two_lines_that_say_what_to_do(tmp_path):
    import os
    import subprocess
    import sys

    from ihl_lib.paths import PROJECT_ROOT

    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | {"IHL_NO_MODEL_CALLS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "ihl_lib.notebooks", "run", "--only", "2", "--models", "openai/gpt-4o-2024-08-06", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-2:]
    assert last[0].startswith("Stopped in 02_baseline_run.ipynb: MissingKeyError:") and "set OPENAI_API_KEY" in last[0]
    assert last[1] == f"Full traceback: {tmp_path / '02_baseline_run.error.log'}"
    assert "Traceback" not in done.stderr and "MissingKeyError" in (tmp_path / "02_baseline_run.error.log").read_text()


def test_an_executed_notebook_renders_to_html_with_its_figures_embedded(tmp_path, monkeypatch):
    from ihl_lib.notebooks import render_report

    monkeypatch.setenv("IHL_NO_MODEL_CALLS", "1")
    monkeypatch.setenv("IHL_FIGURES_DIR", str(tmp_path / "figures"))
    run_notebooks(discover(numbers=[5]), {"run_name": "reference-smollm2", "n_boot": 200}, tmp_path, log=False)
    index = render_report(tmp_path)
    page = (tmp_path / "05_significance_tests.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') >= 2  # the rate bars and the dumbbell, inside the page
    assert 'href="05_significance_tests.html"' in index.read_text(encoding="utf-8")


def test_strip_clears_outputs_and_leaves_the_source(tmp_path):
    import shutil

    import nbformat

    from ihl_lib.notebooks import strip_outputs

    copy = tmp_path / "05_significance_tests.ipynb"
    shutil.copy(NOTEBOOK_DIR / copy.name, copy)
    notebook = nbformat.read(copy, as_version=4)
    code = next(c for c in notebook.cells if c.cell_type == "code")
    code.outputs, code.execution_count = [nbformat.v4.new_output("stream", text="hi")], 3
    nbformat.write(notebook, copy)
    assert notebooks_with_outputs(tmp_path) == [copy.name]
    assert strip_outputs(tmp_path) == [copy.name] and notebooks_with_outputs(tmp_path) == []
    cleaned = nbformat.read(copy, as_version=4)
    assert [c.source for c in cleaned.cells] == [c.source for c in nbformat.read(NOTEBOOK_DIR / copy.name, as_version=4).cells]


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
