"""Run the numbered notebooks headless with papermill.

``python -m ihl_lib.notebooks run --all`` is what ``make reproduce`` calls; the
executed copies go to ``executed/`` (git-ignored), while the notebooks in git
carry no outputs. Each notebook gets only the parameters its ``parameters``
cell declares.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ihl_lib.paths import PROJECT_ROOT
from ihl_lib.runs import REFERENCE_RUN

__all__ = [
    "KERNEL_NAME",
    "NotebookFailed",
    "NotebookRun",
    "discover",
    "notebooks_with_outputs",
    "render_report",
    "run_notebooks",
    "strip_outputs",
]

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
EXECUTED_DIR = PROJECT_ROOT / "executed"
KERNEL_NAME = "ihl-refusals"  # the project's environment as a Jupyter kernel (make lab registers it)
_NUMBERED = re.compile(r"^(\d{2})_.+\.ipynb$")
ANALYSIS_NUMBERS = frozenset({4, 5, 6, 7, 8})


class NotebookFailed(RuntimeError):
    """A notebook stopped at an error; ``log`` holds the full traceback, ``summary`` what to do."""

    def __init__(self, notebook: Path, error: str, summary: str, log: Path) -> None:
        super().__init__(f"{notebook.name} stopped: {summary}")
        self.notebook, self.error, self.summary, self.log = notebook, error, summary, log


def _summary(exc: Any) -> tuple[str, str]:
    """(exception name, its message on one line) of a papermill failure: what a person needs, not the traceback."""
    name = getattr(exc, "ename", None) or type(exc).__name__
    value = getattr(exc, "evalue", None) or str(exc)
    lines = [line.strip() for line in str(value).splitlines() if line.strip()]
    return name, "; ".join(lines)


@dataclass
class NotebookRun:
    """One executed notebook."""

    notebook: Path
    output: Path
    seconds: float
    parameters: dict[str, Any]


def discover(folder: Path = NOTEBOOK_DIR, numbers: Iterable[int] | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order, optionally only some numbers."""
    wanted = set(numbers) if numbers is not None else None
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        match = _NUMBERED.match(path.name)
        if match and (wanted is None or int(match.group(1)) in wanted):
            found.append(path)
    return found


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters``."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)).keys())


# Notebook parameters renamed with the package's vocabulary (issue 22): an old name is refused, not ignored.
RENAMED_PARAMETERS = {"results": "run_name"}


def run_notebooks(
    notebooks: Iterable[Path],
    parameters: Mapping[str, Any] | None = None,
    out_dir: Path = EXECUTED_DIR,
    *,
    log: bool = True,
) -> list[NotebookRun]:
    """Execute notebooks in order; stop at the first one that fails.

    Args:
        notebooks: the notebooks to run.
        parameters: offered to every notebook; each takes those it declares.
        out_dir: where executed copies are written.
        log: print one line per notebook with its wall time.

    Raises:
        ValueError: a parameter that none of the notebooks declares (named, with its new name if renamed),
            before any notebook runs.
        NotebookFailed: a cell failed; the full traceback is written to ``<out_dir>/<notebook>.error.log``
            and the executed copy shows the cell.
    """
    import papermill

    notebooks = list(notebooks)
    declared = set().union(*(declared_parameters(nb) for nb in notebooks)) if notebooks else set()
    unknown = sorted(set(parameters or {}) - declared)
    if unknown:
        hints = "".join(f"; {old!r} is now {RENAMED_PARAMETERS[old]!r}" for old in unknown if old in RENAMED_PARAMETERS)
        raise ValueError(f"no notebook takes the parameter(s) {unknown}{hints}")
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    for nb in notebooks:
        params = {k: v for k, v in (parameters or {}).items() if k in declared_parameters(nb)}
        output = out_dir / nb.name
        started = time.perf_counter()
        if log:
            print(f"[run] {nb.name} {json.dumps(params)}", flush=True)
        try:
            papermill.execute_notebook(
                str(nb), str(output), parameters=params, kernel_name="python3", cwd=str(nb.parent), progress_bar=False
            )
        except papermill.PapermillExecutionError as exc:
            name, message = _summary(exc)
            log_path = out_dir / f"{nb.stem}.error.log"
            log_path.write_text(f"{nb.name}, cell {exc.exec_count}\n\n{exc}\n", encoding="utf-8")
            raise NotebookFailed(nb, name, f"{name}: {message}", log_path) from None
        seconds = time.perf_counter() - started
        if log:
            print(f"[done] {nb.name} in {seconds:.1f} s -> {output}", flush=True)
        runs.append(NotebookRun(nb, output, seconds, params))
    return runs


def notebooks_with_outputs(folder: Path = NOTEBOOK_DIR) -> list[str]:
    """Notebooks in ``folder`` that hold outputs or execution counts (they must not in git)."""
    import nbformat

    dirty = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
                dirty.append(path.name)
                break
    return dirty


def strip_outputs(folder: Path = NOTEBOOK_DIR) -> list[str]:
    """Clear every code cell's outputs and execution count (what is committed carries no outputs).

    Returns:
        The notebooks that changed.
    """
    import nbformat

    changed = []
    for path in sorted(folder.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        dirty = False
        for cell in notebook.cells:
            if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
                cell.outputs, cell.execution_count, dirty = [], None, True
        if dirty:
            path.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
            changed.append(path.name)
    return changed


def render_report(executed: Path = EXECUTED_DIR) -> Path:
    """Render every executed notebook in ``executed`` to HTML (figures embedded) and write an ``index.html``.

    Returns:
        The index file.
    """
    import html

    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    pages = []
    for path in discover(executed):
        notebook = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(notebook)
        target = path.with_suffix(".html")
        target.write_text(body, encoding="utf-8")
        title = next(
            (c.source.splitlines()[0].lstrip("# ").strip() for c in notebook.cells if c.cell_type == "markdown" and c.source.strip()),
            path.stem,
        )
        pages.append(f'<li><a href="{html.escape(target.name)}">{html.escape(title)}</a></li>')
    index = executed / "index.html"
    index.write_text(
        "<!doctype html><meta charset='utf-8'><title>ihl-refusals report</title><h1>ihl-refusals: executed notebooks</h1>"
        f"<ol>{''.join(pages)}</ol>\n",
        encoding="utf-8",
    )
    return index


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ihl_lib.notebooks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks headless")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every numbered notebook, in order")
    which.add_argument("--analysis", action="store_true", help="notebooks 04-08 on shipped results, no model call")
    which.add_argument("--only", type=lambda s: [int(x) for x in s.split(",")], help="comma-separated numbers")
    sub.add_parser("strip", help="clear the outputs of notebooks/*.ipynb before committing")
    report = sub.add_parser(
        "report", help="run the analysis notebooks on a run (default: the shipped reference) and render executed/ to HTML"
    )
    report.add_argument("--run", default=None, help="the run to report on (its folder under data/results/)")
    report.add_argument("--out", type=Path, default=EXECUTED_DIR)
    run.add_argument("--sample", type=int, default=None, help="prompts per set (quick run)")
    run.add_argument("--models", default=None, help="comma-separated litellm ids")
    run.add_argument("--run", default=None, help="the run to make or read (its folder under data/results/)")
    run.add_argument("--out", type=Path, default=EXECUTED_DIR)
    args = parser.parse_args(argv)
    if args.command == "strip":
        for name in strip_outputs():
            print("stripped", name)
        return 0
    if args.command == "report":
        argv_run = ["run", "--analysis", "--out", str(args.out)] + (["--run", args.run] if args.run else [])
        code = main(argv_run)
        if code == 0:
            print(f"report: {_shown(render_report(args.out))}")
        return code

    params: dict[str, Any] = {}
    if args.sample is not None:
        params["sample"] = args.sample
    if args.models:
        params["models"] = args.models
    if args.run:
        params["run_name"] = args.run
    if args.analysis:
        notebooks = discover(numbers=ANALYSIS_NUMBERS)
        params.setdefault("run_name", REFERENCE_RUN)
        params["allow_model_calls"] = False
        os.environ["IHL_NO_MODEL_CALLS"] = "1"  # the kernels inherit it: any uncached call fails loudly
    else:
        notebooks = discover(numbers=args.only) if args.only else discover()
    if not notebooks:
        print("no numbered notebooks found in", NOTEBOOK_DIR)
        return 0
    started = time.perf_counter()
    try:
        run_notebooks(notebooks, params, args.out)
    except NotebookFailed as failed:
        # The message of the library's own checks says what to do; the traceback goes to a file.
        print(f"\nStopped in {failed.notebook.name}: {failed.summary}", file=sys.stderr)
        print(f"Full traceback: {_shown(failed.log)}", file=sys.stderr)
        return 1
    print(f"[total] {len(notebooks)} notebooks in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
