"""The pinned llama.cpp build that runs the embedded model, and what the loaded one reports.

llama.cpp's default build compiles for the CPU it is built on (``GGML_NATIVE``), so
different machines run different kernels with different floating-point results, and
greedy decoding turns a last-bit difference into a different answer. The project pins
one build instead: ``[tool.ihl-refusals.llama-cpp]`` in ``pyproject.toml`` (its one
home) lists the CMake arguments and the CPU features they compile in.
``tools/install_llama_cpp.py`` builds it; this module checks a CPU against it, reads
what the loaded library reports (``llama_print_system_info``), and gives the build's
identity to run manifests and to the cache key of local calls.

Standard library only at import time: the install script uses it before any
dependency is installed.
"""

from __future__ import annotations

import functools
import hashlib
import platform
import re
import tomllib
from pathlib import Path
from typing import Any

from ihl_lib.paths import PROJECT_ROOT

__all__ = [
    "CPUINFO_NAMES",
    "UnsupportedCPU",
    "build_id",
    "build_info",
    "build_mismatch",
    "compiled_features",
    "cpu_flags",
    "cpu_model",
    "missing_cpu_features",
    "pinned_build",
]

# How Linux's /proc/cpuinfo names the features that llama.cpp's system info reports.
CPUINFO_NAMES = {"SSE3": "pni", "SSSE3": "ssse3", "AVX": "avx", "AVX2": "avx2", "F16C": "f16c", "FMA": "fma", "BMI2": "bmi2"}
# Entries of llama.cpp's system info that are not instruction sets.
_NOT_CPU_FEATURES = {"OPENMP"}
_CPUINFO = Path("/proc/cpuinfo")


class UnsupportedCPU(RuntimeError):
    """This machine cannot run the pinned llama.cpp build."""


def pinned_build(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> dict[str, list[str]]:
    """The pinned build: ``cmake_args`` and the ``cpu_features`` they compile in."""
    table = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["ihl-refusals"]["llama-cpp"]
    return {"cmake_args": list(table["cmake_args"]), "cpu_features": list(table["cpu_features"])}


def _cpuinfo_field(name: str, cpuinfo: Path = _CPUINFO) -> str | None:
    if not cpuinfo.is_file():
        return None
    for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.split(":", 1)[0].strip() == name:
            return line.split(":", 1)[1].strip()
    return None


def cpu_flags(cpuinfo: Path = _CPUINFO) -> set[str]:
    """The instruction-set flags Linux reports for this CPU (empty where /proc/cpuinfo is absent)."""
    return set((_cpuinfo_field("flags", cpuinfo) or "").split())


def cpu_model(cpuinfo: Path = _CPUINFO) -> str:
    """This CPU's model name (``/proc/cpuinfo``), or the platform's processor string."""
    return _cpuinfo_field("model name", cpuinfo) or platform.processor() or platform.machine()


def missing_cpu_features(features: list[str], cpuinfo: Path = _CPUINFO) -> list[str]:
    """The pinned features this CPU lacks.

    Raises:
        UnsupportedCPU: off x86-64 Linux, where the pinned build does not apply.
    """
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64") or not cpuinfo.is_file():
        raise UnsupportedCPU(
            f"the pinned llama.cpp build targets x86-64-v3 Linux ({', '.join(features)}); this machine is "
            f"{platform.system()} {platform.machine()}, whose answers would not be comparable with the shipped reference run"
        )
    flags = cpu_flags(cpuinfo)
    return [f for f in features if CPUINFO_NAMES.get(f, f.lower()) not in flags]


def compiled_features(system_info: str) -> list[str]:
    """The CPU features a ``llama_print_system_info`` line says are compiled in (``NAME = 1``)."""
    cpu = system_info.split("CPU :", 1)[1] if "CPU :" in system_info else system_info
    found = [name for name, value in re.findall(r"([A-Z][A-Z0-9_]*) = (\d+)", cpu) if value == "1"]
    return [name for name in dict.fromkeys(found) if name not in _NOT_CPU_FEATURES]


def build_mismatch(system_info: str, pinned: list[str]) -> tuple[list[str], list[str]]:
    """(compiled in but not pinned, pinned but not compiled in) for a system-info line."""
    have = compiled_features(system_info)
    return [f for f in have if f not in pinned], [f for f in pinned if f not in have]


def build_id() -> str | None:
    """A short hash of the loaded build (version and system info), or None without llama-cpp-python.

    Part of the cache key of every local call: another build may answer differently,
    so its answers must not be served from this one's cache entries.
    """
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return None
    info = build_info()
    return hashlib.sha256(f"{info['llama_cpp_python']}\n{info['system_info']}".encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def build_info() -> dict[str, Any]:
    """The loaded llama.cpp build, for manifests and cache keys.

    Returns:
        ``llama_cpp_python`` (version), ``system_info`` (``llama_print_system_info``),
        ``compiled_features``, ``pinned_features`` and whether they agree
        (``is_pinned_build``). With no run-time kernel selection, the features
        compiled in are the features used.
    """
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    pinned = pinned_build()["cpu_features"]
    extra, absent = build_mismatch(info, pinned)
    return {
        "llama_cpp_python": llama_cpp.__version__,
        "system_info": info,
        "compiled_features": compiled_features(info),
        "pinned_features": pinned,
        "is_pinned_build": not extra and not absent,
    }
