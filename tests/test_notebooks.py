"""Tests of :mod:`ihl_lib.notebooks`: stored without outputs and in order, stripping, the error summary and the HTML report."""

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


def _notebook(path, parameters: str, body: str) -> None:
    """A numbered notebook: a cell tagged ``parameters`` and one that prints what it got."""
    import nbformat

    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell(body)], metadata={"kernelspec": kernel}), path)


def test_discover_takes_the_numbered_notebooks_in_order_and_only_the_numbers_asked(tmp_path):
    for name in ("02_b.ipynb", "10_j.ipynb", "01_a.ipynb", "notes.ipynb", "3_short.ipynb", "04_d.txt"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in discover(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "10_j.ipynb"]
    assert [p.name for p in discover(tmp_path, numbers=[10, 2])] == ["02_b.ipynb", "10_j.ipynb"]
    assert discover(tmp_path, numbers=[]) == []


def test_an_unknown_or_renamed_parameter_is_refused_before_any_notebook_runs(tmp_path):
    import pytest

    _notebook(tmp_path / "01_a.ipynb", "alpha = 1", "print(alpha)")
    out = tmp_path / "executed"
    with pytest.raises(ValueError, match=r"no notebook takes the parameter\(s\) \['results'\]; 'results' is now 'run_name'"):
        run_notebooks(discover(tmp_path), {"alpha": 2, "results": "x"}, out, log=False)
    assert not out.exists()  # nothing ran


def test_each_notebook_gets_only_the_parameters_it_declares(tmp_path):
    import nbformat

    _notebook(tmp_path / "01_a.ipynb", "alpha = 1", "print('alpha', alpha)")
    _notebook(tmp_path / "02_b.ipynb", "beta = 1", "print('beta', beta, 'alpha' in dir())")
    runs = run_notebooks(discover(tmp_path), {"alpha": 5, "beta": 7}, tmp_path / "executed", log=False)
    assert [r.parameters for r in runs] == [{"alpha": 5}, {"beta": 7}]
    printed = [
        "".join(o.get("text", "") for o in nbformat.read(r.output, as_version=4).cells[-1].outputs) for r in runs
    ]  # the last cell: the papermill-injected parameters come before it
    assert printed == ["alpha 5\n", "beta 7 False\n"]
