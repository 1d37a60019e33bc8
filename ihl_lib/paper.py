"""The paper's stated figures (``data/paper_reference.csv``) and this run's rates keyed to sit beside them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ihl_lib.data import DatasetError
from ihl_lib.models import STUDY_MODELS
from ihl_lib.paths import data_dir

__all__ = ["PAPER_REFERENCE_FILE", "like_for_like", "load_paper_reference", "rates_beside_paper"]

PAPER_REFERENCE_FILE = "paper_reference.csv"
PAPER_REFERENCE_KINDS = ("figure", "range", "threshold", "claim")


def load_paper_reference(path: Path | str | None = None) -> pd.DataFrame:
    """What the paper and its secondary account state (``data/paper_reference.csv``), one row per claim.

    Each row names its subject (a model, or the group the source names), the condition as the source
    states it, the denominator (322 where a percentage is k/322, ``unknown`` otherwise) and its kind:
    ``figure``, ``range``, ``threshold`` (a lower bound) or ``claim`` (qualitative).

    Raises:
        DatasetError: a missing column, an unknown kind, or a 322-denominator figure whose k does not
            give its value (file, row and column named).
    """
    path = Path(path) if path is not None else data_dir() / PAPER_REFERENCE_FILE
    frame = pd.read_csv(
        path,
        dtype={"model_key": str, "condition": str, "denominator": str},
        keep_default_na=False,
        na_values={"value": [""], "value_low": [""], "value_high": [""], "k": [""]},
    )
    needed = [
        "claim_id",
        "subject",
        "model_key",
        "metric",
        "condition_stated",
        "condition",
        "value",
        "value_low",
        "value_high",
        "k",
        "denominator",
        "kind",
        "source",
        "note",
    ]
    for column in needed:
        if column not in frame.columns:
            raise DatasetError(path, "missing column", column=column)
    for row, record in enumerate(frame.itertuples(index=False), start=1):
        if record.kind not in PAPER_REFERENCE_KINDS:
            raise DatasetError(path, f"kind must be one of {PAPER_REFERENCE_KINDS}, got {record.kind!r}", row=row, column="kind")
        if record.denominator == "322" and record.kind == "figure" and round(100 * record.k / 322, 2) != round(record.value, 2):
            raise DatasetError(path, f"{record.k}/322 is not {record.value}%", row=row, column="value")
    return frame


def like_for_like(reference: pd.DataFrame) -> pd.DataFrame:
    """The reference rows a run can be set beside: one model's exact figure, k/322, under a named condition."""
    keep = (
        (reference["kind"] == "figure")
        & (reference["denominator"] == "322")
        & reference["model_key"].ne("")
        & reference["condition"].ne("")
    )
    return reference[keep]


def rates_beside_paper(refusal: pd.DataFrame, helpful: pd.DataFrame) -> pd.DataFrame:
    """This run's rates (:func:`ihl_lib.stats.rate_table`) keyed as ``data/paper_reference.csv`` keys them.

    Returns:
        model_key (the paper's short name), metric (refusal_rate or helpful_refusal_rate), condition, value
        (percent); only the eight study models (empty when none was run).
    """

    key_of = {model: key for key, model in STUDY_MODELS.items()}
    ours = pd.concat([refusal.assign(metric="refusal_rate"), helpful.assign(metric="helpful_refusal_rate")])
    ours = ours.assign(model_key=ours["model"].map(key_of), value=ours["rate"] * 100).dropna(subset=["model_key"])
    return ours[["model_key", "metric", "condition", "value"]].reset_index(drop=True)
