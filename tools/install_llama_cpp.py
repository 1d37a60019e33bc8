"""Build and install llama-cpp-python with the project's pinned CPU features.

``make install`` (and so ``make test``, ``make reproduce`` and CI) runs this with the
environment's own Python, before the rest of the lock is installed; so does the conda
route (``make install VENV="$CONDA_PREFIX"``). Standard library only: it runs before any
dependency is installed.

Why: llama.cpp's default build (``GGML_NATIVE``) compiles for the CPU it is built on,
and different CPUs then run different kernels with different floating-point results,
which greedy decoding turns into different answers. A native build on an AVX-512/AMX
Xeon even crashes in ``llama_decode``. The pinned build runs the same kernels on every
x86-64-v3 machine (issue 16).

What it does:

1. reads the pinned build from ``pyproject.toml`` (``[tool.ihl-refusals.llama-cpp]``:
   the CMake arguments and the CPU features they compile in; the one place they live);
2. checks this CPU has those features, and stops with a clear message if not;
3. builds a wheel from the locked, hash-checked sdist (``requirements.lock``) with those
   arguments, into a wheel cache of its own whose folder name is a hash of the version,
   the sdist's hashes and the arguments (pip's wheel cache ignores ``CMAKE_ARGS`` and
   would hand back a wheel built with other flags);
4. installs it (``--no-deps``: the lock installs the dependencies next); ``--verify``, run
   once they are installed, checks that the loaded library reports exactly the pinned features.

Usage: ``python tools/install_llama_cpp.py [--check-cpu-only | --verify]``.
``IHL_WHEEL_CACHE`` moves the wheel cache (default ``~/.cache/ihl-refusals/wheels``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ihl_lib.llama_build import UnsupportedCPU, build_mismatch, missing_cpu_features, pinned_build  # noqa: E402  (stdlib only)

LOCK = ROOT / "requirements.lock"
PACKAGE = "llama-cpp-python"


class BuildError(RuntimeError):
    """The pinned build cannot be made or installed here."""


def locked_sdist(lock: Path = LOCK) -> tuple[str, list[str]]:
    """The locked version of llama-cpp-python and its sha256 hashes."""
    text = lock.read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(PACKAGE)}==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]+)+)", text, re.MULTILINE)
    if not match:
        raise BuildError(f"{lock.name}: no hash-pinned '{PACKAGE}==<version>' entry; run `make lock`")
    return match.group(1), re.findall(r"--hash=sha256:([0-9a-f]+)", match.group(2))


def wheel_cache_root() -> Path:
    """Where the pinned wheels are kept (``IHL_WHEEL_CACHE``, default ``~/.cache/ihl-refusals/wheels``)."""
    return Path(os.environ.get("IHL_WHEEL_CACHE") or Path.home() / ".cache" / "ihl-refusals" / "wheels")


def wheel_cache_dir(version: str, hashes: list[str], cmake_args: list[str]) -> Path:
    """A wheel folder that only a build of this sdist with these arguments can fill."""
    root = wheel_cache_root()
    key = hashlib.sha256(json.dumps([version, sorted(hashes), cmake_args, sys.implementation.cache_tag]).encode()).hexdigest()[:16]
    return root / f"llama_cpp_python-{version}-{key}"


def build_wheel(version: str, hashes: list[str], cmake_args: list[str], dest: Path) -> Path:
    """Compile the locked sdist with ``cmake_args`` into ``dest`` (about 5 minutes on 2 cores)."""
    existing = sorted(dest.glob("*.whl"))
    if existing:
        print(f"[llama-cpp] using the wheel built earlier with the pinned flags: {existing[0]}", flush=True)
        return existing[0]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        requirement = Path(tmp) / "llama.txt"
        requirement.write_text(f"{PACKAGE}=={version} " + " ".join(f"--hash=sha256:{h}" for h in hashes) + "\n")
        env = {**os.environ, "CMAKE_ARGS": " ".join(cmake_args), "FORCE_CMAKE": "1"}
        env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        print(f"[llama-cpp] compiling {PACKAGE} {version} with CMAKE_ARGS={env['CMAKE_ARGS']} (about 5 min on 2 cores)", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-cache-dir",
                "--no-binary",
                PACKAGE,
                "--require-hashes",
                "-r",
                str(requirement),
                "-w",
                str(Path(tmp) / "out"),
            ],
            check=True,
            env=env,
        )
        [wheel] = (Path(tmp) / "out").glob("*.whl")
        staged = Path(tmp) / "wheel"
        staged.mkdir()
        shutil.move(str(wheel), staged / wheel.name)
        if dest.exists():  # another install finished first: keep its wheel
            shutil.rmtree(staged)
        else:
            os.replace(staged, dest)
    return sorted(dest.glob("*.whl"))[0]


def system_info(python: str = sys.executable) -> str:
    """``llama_print_system_info()`` of the llama-cpp-python that ``python`` imports (in a child process)."""
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise BuildError(f"llama_cpp does not load: {out.stderr.strip()[-2000:]}")
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    step = parser.add_mutually_exclusive_group()
    step.add_argument("--check-cpu-only", action="store_true", help="only check that this CPU can run the pinned build")
    step.add_argument(
        "--verify",
        action="store_true",
        help="only check that the installed llama-cpp-python is the pinned build (after its dependencies are installed)",
    )
    args = parser.parse_args(argv)
    pinned = pinned_build()
    try:
        if args.verify:
            extra, absent = build_mismatch(system_info(), pinned["cpu_features"])
            if extra or absent:
                raise BuildError(
                    f"the installed llama.cpp is not the pinned build: compiled in but not pinned {extra}, "
                    f"pinned but absent {absent}; delete {wheel_cache_root()} "
                    "and run `make install` again"
                )
            print(f"[llama-cpp] the installed build has exactly the pinned CPU features: {', '.join(pinned['cpu_features'])}", flush=True)
            return 0
        missing = missing_cpu_features(pinned["cpu_features"])
        if missing:
            raise UnsupportedCPU(
                f"this CPU lacks {', '.join(missing)}, which the pinned llama.cpp build needs "
                f"(x86-64-v3: {', '.join(pinned['cpu_features'])}); the embedded model cannot run here. "
                "Models behind an API or a local server still can."
            )
        if args.check_cpu_only:
            return 0
        version, hashes = locked_sdist()
        wheel = build_wheel(version, hashes, pinned["cmake_args"], wheel_cache_dir(version, hashes, pinned["cmake_args"]))
        # --no-deps: its dependencies come from the lock, installed next.
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)], check=True)
        print(f"[llama-cpp] installed {wheel}", flush=True)
    except (BuildError, UnsupportedCPU) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
