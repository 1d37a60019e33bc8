"""Where the project's files live.

The project root is the folder that holds ``pyproject.toml`` above this package
(an editable install or a clone); otherwise the current directory. Every path
can be overridden by an environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PROJECT_ROOT", "cache_dir", "data_dir", "figures_dir", "results_dir"]


def _find_root() -> Path:
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists() and (here / "ihl_lib").is_dir():
        return here
    return Path.cwd()


PROJECT_ROOT: Path = _find_root()


def cache_dir() -> Path:
    """The diskcache folder for model calls (``IHL_CACHE_DIR``, default ``<root>/cache``)."""
    return Path(os.environ.get("IHL_CACHE_DIR", PROJECT_ROOT / "cache"))


def data_dir() -> Path:
    """The data folder (``IHL_DATA_DIR``, default ``<root>/data``)."""
    return Path(os.environ.get("IHL_DATA_DIR", PROJECT_ROOT / "data"))


def results_dir() -> Path:
    """Where runs are written (``IHL_RESULTS_DIR``, default ``<root>/data/results``)."""
    return Path(os.environ.get("IHL_RESULTS_DIR", data_dir() / "results"))


def figures_dir() -> Path:
    """Where figures are written (``IHL_FIGURES_DIR``, default ``<root>/figures``)."""
    return Path(os.environ.get("IHL_FIGURES_DIR", PROJECT_ROOT / "figures"))
