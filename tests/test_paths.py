"""Tests of :mod:`ihl_lib.paths`: the project root, the default folders under it, and each environment override."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

import ihl_lib
from ihl_lib import paths
from ihl_lib.paths import PROJECT_ROOT, cache_dir, data_dir, figures_dir, results_dir

OVERRIDES = ("IHL_CACHE_DIR", "IHL_DATA_DIR", "IHL_RESULTS_DIR", "IHL_FIGURES_DIR")


@pytest.fixture
def no_overrides(monkeypatch):
    for variable in OVERRIDES:
        monkeypatch.delenv(variable, raising=False)


def test_the_project_root_is_the_folder_holding_pyproject_and_this_package():
    assert PROJECT_ROOT == Path(ihl_lib.__file__).resolve().parent.parent
    assert (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "ihl_lib" / "paths.py").is_file()


def test_the_default_folders_sit_under_the_root(no_overrides):
    assert cache_dir() == PROJECT_ROOT / "cache"
    assert data_dir() == PROJECT_ROOT / "data"
    assert results_dir() == PROJECT_ROOT / "data" / "results"
    assert figures_dir() == PROJECT_ROOT / "figures"
    assert (data_dir() / "ihl_rules.csv").is_file()  # the shipped data are where data_dir says


def test_each_folder_follows_its_own_variable(no_overrides, monkeypatch, tmp_path):
    for variable, read in (
        ("IHL_CACHE_DIR", cache_dir),
        ("IHL_DATA_DIR", data_dir),
        ("IHL_RESULTS_DIR", results_dir),
        ("IHL_FIGURES_DIR", figures_dir),
    ):
        monkeypatch.setenv(variable, str(tmp_path / variable))
        assert read() == tmp_path / variable, variable
    # each variable moves its own folder only
    monkeypatch.delenv("IHL_CACHE_DIR")
    assert cache_dir() == PROJECT_ROOT / "cache" and data_dir() == tmp_path / "IHL_DATA_DIR"


def test_results_follow_the_data_folder_unless_set_apart(no_overrides, monkeypatch, tmp_path):
    monkeypatch.setenv("IHL_DATA_DIR", str(tmp_path / "data"))
    assert results_dir() == tmp_path / "data" / "results"
    monkeypatch.setenv("IHL_RESULTS_DIR", str(tmp_path / "elsewhere"))
    assert results_dir() == tmp_path / "elsewhere"
    assert figures_dir() == PROJECT_ROOT / "figures"  # figures do not follow the data folder


def _load_copy(package_parent: Path):
    """paths.py loaded afresh from a copy at ``package_parent/ihl_lib/paths.py`` (its root is found at import)."""
    (package_parent / "ihl_lib").mkdir(parents=True)
    copy = package_parent / "ihl_lib" / "paths.py"
    shutil.copy(paths.__file__, copy)
    spec = importlib.util.spec_from_file_location("paths_copy", copy)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_package_outside_a_checkout_falls_back_to_the_current_directory(tmp_path, monkeypatch):
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    installed = _load_copy(tmp_path / "site-packages")  # no pyproject.toml beside the package
    assert installed.PROJECT_ROOT == workdir
    checkout = tmp_path / "clone"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert _load_copy(checkout).PROJECT_ROOT == checkout.resolve()
