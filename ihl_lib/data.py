"""The IHL rules and the prompt sets: loading and validation.

Every loader returns a pandas DataFrame that has passed its schema; a bad file
raises one :class:`DatasetError` naming the file, the row and the column, before
anything else happens.

Shipped prompt sets (``data/prompts/``):

=====================  =========================================================
``ihl_violations``     322 prompts, two per rule (variants ``a`` and ``b``)
``code_wrapped``       violations wrapped in programming tasks (variant ``code``),
                       each paired with its plain prompt (``plain_prompt_id``)
``lawful_twins``       the lawful version of each violating prompt (variant
                       ``twin``), paired by ``twin_of``
``illegitimate_rules`` requests to evade unjust rules, and controls (``should_comply``)
=====================  =========================================================

Every row carries its rationale (``rule_basis``, ``lawful_basis``, ``code_task``,
``label_rationale``); the loader refuses a file with an empty one. Relations
between sets and balance statistics are checked by :mod:`ihl_lib.dataset_checks`.

A user's own file (CSV or JSONL) with the columns ``prompt_id``, ``rule_id``,
``variant`` and ``prompt`` loads the same way: ``load_prompts("my.csv")``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ihl_lib.paths import data_dir

__all__ = [
    "DATASET_VERSION",
    "DEFEAT_TYPES",
    "FRAMINGS",
    "N_RULES",
    "PERSONA_TYPES",
    "RULE_KINDS",
    "PROMPT_SETS",
    "DatasetError",
    "PromptSetSchema",
    "load_prompts",
    "load_rule_constructions",
    "load_rules",
    "sample_prompts",
    "with_rules",
]

N_RULES = 161
# The version of the shipped prompt sets; data/README.md's changelog has a section per version.
DATASET_VERSION = "2.0.1"

# How a request is put (core set and its lawful twins).
FRAMINGS = ("order", "plan", "justification", "method")
# Who is asking, coarsely: the unit in which persona is balanced across the parts of the study.
PERSONA_TYPES = ("commander", "soldier", "staff", "official", "professional")
# What a rule does; a violation of a permissive or definitional rule is constructed (rules_construction.csv).
RULE_KINDS = ("prohibition", "obligation", "permissive", "definitional")
# Why a rule in the illegitimate-rules set does not bind (Blind Refusal's categories); "none" for controls.
DEFEAT_TYPES = ("illegitimate_authority", "indefensible_content", "absurd_content", "unfair_application", "justified_exception", "none")
RULE_COLUMNS = ("rule_id", "part", "chapter", "title", "rule_text", "applicability")
BASE_COLUMNS = ("prompt_id", "rule_id", "variant", "prompt")


class DatasetError(ValueError):
    """A data file breaks its schema. The message names file, row and column."""

    def __init__(self, path: Path | str, problem: str, row: int | None = None, column: str | None = None) -> None:
        where = str(path)
        if row is not None:
            # Row numbers are 1-based data rows; in a CSV the line is row + 1 (the header is line 1).
            where += f", row {row}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {problem}")
        self.path, self.row, self.column = str(path), row, column


@dataclass(frozen=True)
class PromptSetSchema:
    """What a prompt file must satisfy.

    Attributes:
        variants: allowed values of ``variant``.
        extra_columns: required columns beyond prompt_id, rule_id, variant, prompt.
        per_rule: if set, every rule 1..161 appears exactly this many times.
        variants_per_rule: if set, each rule has exactly these variants.
        boolean_columns: columns parsed as true/false.
        min_rows: the file must have at least this many rows.
        choices: columns whose values must come from a fixed set.
    """

    variants: frozenset[str]
    extra_columns: tuple[str, ...] = ()
    per_rule: int | None = None
    variants_per_rule: frozenset[str] | None = None
    boolean_columns: tuple[str, ...] = ()
    min_rows: int = 1
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


ALL_VARIANTS = frozenset({"a", "b", "code", "twin", "illegitimate", "control"})

_WHO_AND_HOW = ("persona", "persona_type", "framing", "scenario")
_WHO_AND_HOW_CHOICES = {"persona_type": PERSONA_TYPES, "framing": FRAMINGS}

PROMPT_SETS: dict[str, tuple[str, PromptSetSchema]] = {
    "ihl_violations": (
        "prompts/ihl_violations.csv",
        PromptSetSchema(
            variants=frozenset({"a", "b"}),
            extra_columns=(*_WHO_AND_HOW, "act", "rule_basis"),
            per_rule=2,
            variants_per_rule=frozenset({"a", "b"}),
            min_rows=2 * N_RULES,
            choices=_WHO_AND_HOW_CHOICES,
        ),
    ),
    "code_wrapped": (
        "prompts/code_wrapped.csv",
        PromptSetSchema(variants=frozenset({"code"}), extra_columns=("plain_prompt_id", "language", "act", "code_task"), min_rows=80),
    ),
    "lawful_twins": (
        "prompts/lawful_twins.csv",
        PromptSetSchema(
            variants=frozenset({"twin"}),
            extra_columns=("twin_of", *_WHO_AND_HOW, "lawful_act", "lawful_basis", "uses_force"),
            per_rule=2,
            min_rows=2 * N_RULES,
            choices=_WHO_AND_HOW_CHOICES,
            boolean_columns=("uses_force",),
        ),
    ),
    "illegitimate_rules": (
        "prompts/illegitimate_rules.csv",
        PromptSetSchema(
            variants=frozenset({"illegitimate", "control"}),
            extra_columns=("should_comply", "authority", "defeat_type", "rule_evaded", "label_rationale"),
            boolean_columns=("should_comply",),
            min_rows=90,
            choices={"defeat_type": DEFEAT_TYPES},
        ),
    ),
}

CUSTOM_SCHEMA = PromptSetSchema(variants=ALL_VARIANTS)
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(path, "file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            # Everything as text: validation decides what is a number, nothing becomes NaN silently.
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        if suffix in (".jsonl", ".ndjson"):
            rows: list[dict[str, str]] = []
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(path, f"line is not valid JSON ({exc.msg})", row=len(rows) + 1) from None
                if not isinstance(obj, dict):
                    raise DatasetError(path, "each line must be a JSON object", row=len(rows) + 1)
                rows.append({k: "" if v is None else (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in obj.items()})
            return pd.DataFrame(rows, dtype=str)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DatasetError(path, f"cannot be parsed: {exc}") from None
    raise DatasetError(path, f"unsupported file type '{suffix}': use .csv or .jsonl")


def _require_columns(path: Path, frame: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(path, f"missing required column(s) {missing}; found {list(frame.columns)}", column=missing[0])


def _require_filled(path: Path, frame: pd.DataFrame, columns: Iterable[str]) -> None:
    for column in columns:
        for row, value in enumerate(frame[column], start=1):
            if not str(value).strip():
                raise DatasetError(path, "must not be empty", row=row, column=column)


def _require_choices(path: Path, frame: pd.DataFrame, choices: Mapping[str, tuple[str, ...]]) -> None:
    for column, allowed in choices.items():
        for row, value in enumerate(frame[column], start=1):
            if value not in allowed:
                raise DatasetError(path, f"unknown value {value!r}; allowed: {list(allowed)}", row=row, column=column)


def _require_one_row_per_rule(path: Path, frame: pd.DataFrame) -> None:
    dupes = frame["rule_id"][frame["rule_id"].duplicated()]
    if len(dupes):
        raise DatasetError(path, f"duplicate rule_id {int(dupes.iloc[0])}", row=int(dupes.index[0]) + 1, column="rule_id")
    if len(frame) != N_RULES:
        missing = sorted(set(range(1, N_RULES + 1)) - set(frame["rule_id"]))
        raise DatasetError(path, f"expected {N_RULES} rules, found {len(frame)} (missing rule_id {missing[:10]})")


def _parse_rule_ids(path: Path, frame: pd.DataFrame) -> pd.Series:
    ids = []
    for row, raw in enumerate(frame["rule_id"], start=1):
        text = str(raw).strip()
        if not text.isdigit() or not 1 <= int(text) <= N_RULES:
            raise DatasetError(path, f"rule_id must be an integer from 1 to {N_RULES}, got {raw!r}", row=row, column="rule_id")
        ids.append(int(text))
    return pd.Series(ids, index=frame.index, dtype="int64")


def load_rules(path: str | Path | None = None) -> pd.DataFrame:
    """The 161 ICRC customary IHL rules.

    Returns:
        Columns rule_id (int), part, chapter, title, rule_text, applicability
        (empty where no source states it), plus part_number (1-6) and
        chapter_number (1-44) for ordering.
    """
    path = Path(path) if path is not None else data_dir() / "ihl_rules.csv"
    frame = _read_table(path)
    _require_columns(path, frame, RULE_COLUMNS)
    frame["rule_id"] = _parse_rule_ids(path, frame)
    _require_filled(path, frame, ("part", "chapter", "title", "rule_text"))
    _require_one_row_per_rule(path, frame)
    frame["part_number"] = frame["part"].map(_roman_part)
    frame["chapter_number"] = frame["chapter"].str.extract(r"Chapter (\d+)", expand=False).astype("int64")
    return frame.sort_values("rule_id").reset_index(drop=True)


_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6}


def _roman_part(part: str) -> int:
    numeral = part.split(".")[0].replace("Part", "").strip()
    return _ROMAN[numeral]


CONSTRUCTION_COLUMNS = ("rule_id", "rule_kind", "prohibited_act", "construction")


def load_rule_constructions(path: str | Path | None = None) -> pd.DataFrame:
    """What a prompt for each rule asks for: the written construction of "violating" it.

    Returns:
        Columns rule_id (int), rule_kind (one of :data:`RULE_KINDS`), prohibited_act
        (the unlawful act a violating prompt requests) and construction (why that act
        violates the rule; for permissive and definitional rules, the violation the
        rule's protection implies), one row per rule.
    """
    path = Path(path) if path is not None else data_dir() / "rules_construction.csv"
    frame = _read_table(path)
    _require_columns(path, frame, CONSTRUCTION_COLUMNS)
    frame["rule_id"] = _parse_rule_ids(path, frame)
    _require_filled(path, frame, CONSTRUCTION_COLUMNS[1:])
    _require_choices(path, frame, {"rule_kind": RULE_KINDS})
    _require_one_row_per_rule(path, frame)
    return frame.sort_values("rule_id").reset_index(drop=True)


def _schema_for(name_or_path: str | Path) -> tuple[Path, PromptSetSchema, str]:
    key = str(name_or_path)
    if key in PROMPT_SETS:
        relative, schema = PROMPT_SETS[key]
        return data_dir() / relative, schema, key
    path = Path(name_or_path)
    for name, (relative, schema) in PROMPT_SETS.items():
        # A shipped file given by path keeps its own schema.
        if path.resolve() == (data_dir() / relative).resolve():
            return path, schema, name
    return path, CUSTOM_SCHEMA, path.stem


def load_prompts(name_or_path: str | Path, *, schema: PromptSetSchema | None = None) -> pd.DataFrame:
    """Load and validate a prompt set.

    Args:
        name_or_path: a shipped set's name (see :data:`PROMPT_SETS`) or a CSV/JSONL path.
        schema: override the schema (a custom file's default allows the known variants).

    Returns:
        The prompts, with rule_id as int, boolean columns as bool, a
        ``prompt_set`` column naming the set and ``n_words`` (whitespace-separated words).

    Raises:
        DatasetError: naming the file, row and column of the first problem.
    """
    path, default_schema, set_name = _schema_for(name_or_path)
    schema = schema or default_schema
    frame = _read_table(path)
    _require_columns(path, frame, BASE_COLUMNS + schema.extra_columns)
    if len(frame) < schema.min_rows:
        raise DatasetError(path, f"expected at least {schema.min_rows} prompts, found {len(frame)}")

    seen: dict[str, int] = {}
    for row, (pid, variant, prompt) in enumerate(zip(frame["prompt_id"], frame["variant"], frame["prompt"]), start=1):
        if not str(pid).strip():
            raise DatasetError(path, "prompt_id must not be empty", row=row, column="prompt_id")
        if pid in seen:
            raise DatasetError(path, f"duplicate prompt_id {pid!r} (first at row {seen[pid]})", row=row, column="prompt_id")
        seen[pid] = row
        if variant not in schema.variants:
            raise DatasetError(path, f"unknown variant {variant!r}; allowed: {sorted(schema.variants)}", row=row, column="variant")
        if not str(prompt).strip():
            raise DatasetError(path, f"empty prompt (prompt_id {pid})", row=row, column="prompt")
    frame["rule_id"] = _parse_rule_ids(path, frame)
    _require_filled(path, frame, schema.extra_columns)
    _require_choices(path, frame, schema.choices)
    for column in schema.boolean_columns:
        parsed = []
        for row, value in enumerate(frame[column], start=1):
            text = str(value).strip().lower()
            if text not in _TRUE | _FALSE:
                raise DatasetError(path, f"must be true or false, got {value!r}", row=row, column=column)
            parsed.append(text in _TRUE)
        frame[column] = pd.Series(parsed, index=frame.index, dtype=bool)

    if schema.per_rule is not None:
        counts = frame["rule_id"].value_counts()
        for rule_id in range(1, N_RULES + 1):
            n = int(counts.get(rule_id, 0))
            if n != schema.per_rule:
                rows = [i + 1 for i in frame.index[frame["rule_id"] == rule_id]]
                raise DatasetError(
                    path,
                    f"rule {rule_id} has {n} prompts, expected exactly {schema.per_rule}",
                    row=rows[schema.per_rule] if n > schema.per_rule else None,
                    column="rule_id",
                )
    if schema.variants_per_rule is not None:
        for rule_id, variants in frame.groupby("rule_id")["variant"]:
            if set(variants) != schema.variants_per_rule:
                row = int(variants.index[0]) + 1
                raise DatasetError(
                    path,
                    f"rule {rule_id} has variants {sorted(variants)}, expected {sorted(schema.variants_per_rule)}",
                    row=row,
                    column="variant",
                )
    frame["prompt_set"] = set_name
    frame["n_words"] = frame["prompt"].str.split().str.len()
    frame = frame.reset_index(drop=True)
    frame.attrs["source_path"] = str(path)
    return frame


def sample_prompts(prompts: pd.DataFrame, n: int | None, seed: int = 0) -> pd.DataFrame:
    """A reproducible random sample of ``n`` prompts (all of them when n is None or too big).

    The same (n, seed) gives the same prompts, so a baseline and an intervention
    run on a sample stay paired.
    """
    if n is None or n >= len(prompts):
        return prompts
    if n < 1:
        raise ValueError(f"sample size must be at least 1, got {n}")
    out = prompts.sample(n=n, random_state=seed).sort_index()
    out.attrs = dict(prompts.attrs)
    return out


def with_rules(prompts: pd.DataFrame, rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """Prompts joined with their rule's part, chapter and title (for breakdowns)."""
    rules = rules if rules is not None else load_rules()
    keep = ["rule_id", "part", "part_number", "chapter", "chapter_number", "title"]
    drop = [c for c in keep if c != "rule_id" and c in prompts.columns]
    return prompts.drop(columns=drop).merge(rules[keep], on="rule_id", how="left", validate="many_to_one")
