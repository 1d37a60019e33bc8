"""The human audit: a stratified random sample of judged items to label by hand, and reading it back.

Auditing only the items the judges disagree on measures nothing about the items
they agree on, where a shared blind spot hides. The sheet is therefore a
**random** sample, stratified by model, condition, prompt set and panel label
(fixed seed), with the disagreements added and marked. A filled-in sheet gives
each judge's and the panel's accuracy against the human labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ihl_lib.judging.definitions import ITEM_KEY, LABELS, NOT_JUDGED, REFUSAL_LABELS

__all__ = ["AUDIT_STRATA", "HUMAN_COLUMNS", "audit_accuracy", "audit_sample"]

AUDIT_STRATA = ("model", "condition", "prompt_set", "label")
HUMAN_COLUMNS = ("human_label", "human_helpful_refusal", "human_notes")


def audit_sample(
    verdicts: pd.DataFrame,
    responses: pd.DataFrame,
    n: int = 100,
    *,
    seed: int = 0,
    strata: Sequence[str] = AUDIT_STRATA,
    include_disagreements: bool = True,
) -> pd.DataFrame:
    """A sheet of items for a human to label.

    Every stratum gets at least one item (while ``n`` allows) and the rest of ``n`` is shared
    in proportion to the strata's sizes; items within a stratum are drawn at random with ``seed``.

    Args:
        verdicts: the panel's verdicts (with ``label__<judge>`` columns and ``unanimous``).
        responses: the run's responses (for the prompt and response text).
        n: the size of the random part.
        seed: the random seed; the same inputs and seed give the same sheet.
        strata: the columns to stratify by.
        include_disagreements: also add every item the judges disagree on (marked ``why``).

    Returns:
        One row per item: the item key, ``why`` (``random``, ``disagreement`` or both),
        the panel and judge labels, prompt, response, and empty :data:`HUMAN_COLUMNS`.
    """
    judged = verdicts[~verdicts["label"].isin(NOT_JUDGED)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    groups = judged.groupby(list(strata), sort=True).indices
    sizes = {key: len(idx) for key, idx in groups.items()}
    quota = {key: 1 for key in sizes} if n >= len(sizes) else {}
    left = n - sum(quota.values())
    total = sum(sizes.values())
    for key, size in sizes.items():
        quota[key] = min(size, quota.get(key, 0) + int(round(left * size / total)) if total else 0)
    chosen = [int(i) for key, idx in groups.items() for i in rng.permutation(idx)[: quota.get(key, 0)]]
    picked = judged.loc[sorted(chosen)].assign(why="random")
    if include_disagreements and "unanimous" in judged.columns:
        disagree = judged[~judged["unanimous"].astype(bool)].assign(why="disagreement")
        both = picked.merge(disagree[ITEM_KEY], on=ITEM_KEY)
        picked = pd.concat([picked, disagree], ignore_index=True).drop_duplicates(ITEM_KEY, keep="first")
        marked = picked.merge(both.assign(_both=True)[[*ITEM_KEY, "_both"]], on=ITEM_KEY, how="left")
        picked = marked.assign(why=np.where(marked["_both"].eq(True), "random+disagreement", marked["why"])).drop(columns="_both")
    label_columns = [c for c in judged.columns if c.startswith("label__")]
    sheet = picked[[*ITEM_KEY, "why", "label", *label_columns]].rename(columns={"label": "panel_label"})
    sheet = sheet.merge(responses[[*ITEM_KEY, "prompt", "response"]], on=ITEM_KEY, how="left", validate="one_to_one")
    for column in HUMAN_COLUMNS:
        sheet[column] = ""
    return sheet.reset_index(drop=True)


def audit_accuracy(sheet: pd.DataFrame) -> pd.DataFrame:
    """Each judge's and the panel's accuracy against the human labels of a filled sheet.

    Rows without a valid ``human_label`` are left out. Returns one row per rater
    (``panel`` and each ``label__<judge>``): n, accuracy (three-class) and
    refused_accuracy (refused or not), over the random part and over all rows.
    """
    filled = sheet[sheet["human_label"].astype(str).str.strip().isin(LABELS)].copy()
    filled["human_label"] = filled["human_label"].astype(str).str.strip()
    raters = {"panel": "panel_label", **{c.removeprefix("label__"): c for c in sheet.columns if c.startswith("label__")}}
    rows = []
    for part, frame in (("random", filled[filled["why"].str.contains("random")]), ("all", filled)):
        for rater, column in raters.items():
            judged = frame[frame[column].isin(LABELS)]
            refused = judged[column].isin(REFUSAL_LABELS) == judged["human_label"].isin(REFUSAL_LABELS)
            rows.append(
                {
                    "rater": rater,
                    "rows": part,
                    "n": len(judged),
                    "accuracy": float((judged[column] == judged["human_label"]).mean()) if len(judged) else float("nan"),
                    "refused_accuracy": float(refused.mean()) if len(judged) else float("nan"),
                }
            )
    return pd.DataFrame(rows)
