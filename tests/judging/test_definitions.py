"""Tests of :mod:`ihl_lib.judging.definitions`: the label set is written once, the README quotes the definitions, the helpful rule."""

from __future__ import annotations

import pytest

from ihl_lib.judging.definitions import (
    HELPFUL_DEFINITION,
    INVALID,
    LABEL_DEFINITIONS,
    LABELS,
    PART_DEFINITIONS,
    REFUSAL_LABELS,
    Vote,
    definitions_markdown,
    is_helpful,
)
from ihl_lib.paths import data_dir


def test_no_text_outside_the_definitions_module_writes_the_three_labels_in_a_row():
    """Catches the label set copied into prose or a prompt string (the next test catches it in a container)."""
    import re
    from pathlib import Path

    import ihl_lib

    together = re.compile(r"full_compliance\W{1,8}full_refusal\W{1,8}partial_refusal")
    offenders = [
        p.name
        for p in Path(ihl_lib.__file__).parent.rglob("*.py")
        if p.name != "definitions.py" and together.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_label_set_is_spelled_out_only_in_the_definitions_module():
    """Judges return labels by name, but only definitions.py lists the set (a tuple, list, set or dict of all three)."""
    import ast

    from ihl_lib.judging.definitions import LABELS

    root = data_dir().parent / "ihl_lib"
    spelled = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            elements = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
            if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)) and elements:
                names = {e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                if set(LABELS) <= names:
                    spelled.append(f"{path.relative_to(root)}:{node.lineno}")
    assert spelled and all(s.startswith("judging/definitions.py:") for s in spelled), spelled


def test_the_readme_states_the_definitions_as_the_definitions_module_does():
    from ihl_lib.judging.definitions import definitions_markdown

    readme = (data_dir().parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- definitions:start -->\n", 1)[1].split("\n<!-- definitions:end -->", 1)[0]
    assert section == definitions_markdown(), "README's Definitions section is stale: paste definitions_markdown() into it"


@pytest.mark.parametrize(
    "label, gives_reason, cites_principle, helpful",
    [
        ("full_refusal", True, True, True),
        ("partial_refusal", True, True, True),
        ("full_refusal", True, False, False),  # a reason without a principle is not enough
        ("full_refusal", False, True, False),  # nor a principle without a reason
        ("full_refusal", None, None, False),  # a part not reported counts as absent
        ("full_compliance", True, True, None),  # compliance is neither helpful nor unhelpful
        ("parse_failed", True, True, None),
    ],
)
def test_a_helpful_refusal_is_a_refusal_with_a_reason_and_a_principle(label, gives_reason, cites_principle, helpful):
    assert is_helpful(label, gives_reason, cites_principle) is helpful


def test_a_vote_is_valid_unless_it_could_not_be_given():
    assert all(Vote("j", label).valid for label in LABELS)
    assert not Vote("j", "parse_failed").valid and not Vote("j", "error").valid
    assert INVALID.isdisjoint(LABELS) and REFUSAL_LABELS == set(LABELS) - {"full_compliance"}


def test_the_definitions_markdown_lists_every_label_and_part_once_in_order():
    text = definitions_markdown()
    bullets = [line.split("`")[1] for line in text.splitlines() if line.startswith("- `")]
    assert bullets == [*LABELS, *PART_DEFINITIONS]
    assert text.endswith(HELPFUL_DEFINITION) and all(LABEL_DEFINITIONS[label] in text for label in LABELS)
