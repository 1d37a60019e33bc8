"""The README's package layout, built from each module's docstring, so that the two cannot drift apart.

``python tools/readme_layout.py`` prints the block; ``--write`` replaces it in README.md (between the
``layout:start`` and ``layout:end`` markers). ``tests/integration/test_packaging.py`` checks they agree.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- layout:start -->", "<!-- layout:end -->"


def first_sentence(path: Path) -> str:
    """The first line of a module's docstring (its job in one sentence)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def layout_block(package: Path = ROOT / "ihl_lib") -> str:
    """A tree of the package: one line per module and subpackage, with its one-sentence job."""
    lines = ["```", f"{package.name}/"]

    def walk(folder: Path, depth: int) -> None:
        entries = sorted(p for p in folder.iterdir() if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file())
        for entry in sorted(entries, key=lambda p: (p.is_dir(), p.name)):
            indent = "  " * depth
            if entry.is_dir():
                lines.append(f"{indent}{entry.name}/".ljust(28) + f"  {first_sentence(entry / '__init__.py')}")
                walk(entry, depth + 1)
            else:
                lines.append(f"{indent}{entry.name}".ljust(28) + f"  {first_sentence(entry)}")

    walk(package, 1)
    lines.append("```")
    return "\n".join(lines)


def readme_block(readme: Path = ROOT / "README.md") -> str:
    """The layout block as README.md has it now."""
    match = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), readme.read_text(encoding="utf-8"), re.DOTALL)
    if not match:
        raise SystemExit(f"{readme}: no {START} ... {END} block")
    return match.group(1).rstrip("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="replace the block in README.md")
    args = parser.parse_args()
    block = layout_block()
    if not args.write:
        print(block)
        return
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    old = f"{START}\n{readme_block(readme)}\n{END}".replace(f"{START}\n\n{END}", f"{START}\n{END}")
    readme.write_text(text.replace(old, f"{START}\n{block}\n{END}"), encoding="utf-8")


if __name__ == "__main__":
    main()
