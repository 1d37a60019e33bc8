"""Packaging promises: one dependency list, and the conda file agrees with it."""

from __future__ import annotations

import tomllib

import yaml

from ihl_lib.paths import PROJECT_ROOT


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(project["dependencies"]) <= set(pip_section)
    assert any(line.startswith("-e .") for line in pip_section)
    assert "python=3.11" in env["dependencies"]


def test_every_dependency_has_a_lower_bound():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    assert all(">=" in d for d in deps), [d for d in deps if ">=" not in d]
