"""``benchmarks/results.md`` is a table from ``run_all.py`` followed by sections that other scripts own."""

from __future__ import annotations

import re
from pathlib import Path

HEADING = re.compile(r"^## .+$", re.MULTILINE)


def split_sections(text: str) -> tuple[str, dict[str, str]]:
    """The text before the first ``## `` heading, and each section's body by its title."""
    marks = list(HEADING.finditer(text))
    head = text[: marks[0].start()] if marks else text
    sections = {}
    for mark, after in zip(marks, marks[1:] + [None]):
        sections[mark.group(0)[3:].strip()] = text[mark.end() : after.start() if after else len(text)].strip("\n")
    return head.rstrip("\n"), sections


def join_sections(head: str, sections: dict[str, str]) -> str:
    return head + "\n" + "".join(f"\n## {title}\n\n{body}\n" for title, body in sections.items())


def write_section(results: Path, title: str, body: list[str]) -> None:
    """Replace (or add) the section ``## title`` of ``results``, keeping everything else."""
    head, sections = split_sections(results.read_text() if results.is_file() else "# Benchmark results\n")
    sections[title] = "\n".join(body).strip("\n")
    results.write_text(join_sections(head, sections))


RESULTS = Path(__file__).resolve().parent / "results.md"


def write_table(title: str, intro: str, columns: list[str], rows: list[str]) -> None:
    """Write a section holding ``intro`` and a Markdown table (``rows`` already formatted), and print it."""
    body = [intro, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns), *rows]
    write_section(RESULTS, title, body)
    print("\n".join(body))
