"""The notebooks: stored without outputs, and executing headless end to end on a small sample."""

from __future__ import annotations

import pytest

from ihl_lib.notebooks import NOTEBOOK_DIR, discover, notebooks_with_outputs, run_notebooks


def test_committed_notebooks_hold_no_outputs():
    assert discover(), "no numbered notebooks found"
    assert notebooks_with_outputs(NOTEBOOK_DIR) == []


def test_notebooks_are_numbered_in_order():
    names = [p.name for p in discover()]
    assert names[:6] == [
        "01_data_construction.ipynb", "02_baseline_run.ipynb", "03_intervention_run.ipynb",
        "04_judging.ipynb", "05_significance_tests.ipynb", "06_per_rule_breakdown.ipynb",
    ]


def test_every_notebook_runs_headless_on_a_sample(tmp_path, monkeypatch):
    """The main job in miniature: embedded model, 4 prompts per set, isolated results, cache and figures."""
    for var, sub in (("IHL_RESULTS_DIR", "results"), ("IHL_CACHE_DIR", "cache"), ("IHL_FIGURES_DIR", "figures")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("IHL_MODELS", raising=False)
    runs = run_notebooks(discover(), {"sample": 4, "max_tokens": 48, "results": "ci-sample"}, tmp_path / "executed", log=False)
    assert [r.output.name for r in runs] == [p.name for p in discover()]
    figures = {p.name for p in (tmp_path / "figures").glob("*.png")}
    for name in ("refusal_rate_by_model", "helpfulness_before_after", "judge_agreement", "refusal_by_part", "refusal_by_rule_heatmap"):
        assert f"{name}.png" in figures, sorted(figures)
    assert (tmp_path / "results" / "ci-sample" / "verdicts.parquet").is_file()
