"""The human-labelled replies judges are trained and scored on: the Safety RBR gold set and the IHL-domain set.

The gold set (``data/judge_dev/rbr_gold/``, see the data card) labels 518 assistant replies with
23 human propositions. The three-class refusal label follows from them as the set's README says:
``fully_complies`` -> full compliance; else ``partially_complies`` -> partial refusal; else full
refusal. Empty replies are left out: in this project an empty reply is an outcome recorded before
judging, never a judge's call. Tune on ``train``; report on ``test``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ihl_lib.data import DatasetError
from ihl_lib.judging.definitions import LABELS, REFUSAL_LABELS
from ihl_lib.paths import data_dir

__all__ = ["HELPFUL_PARTS", "SPLITS", "labelled_test_sets", "load_ihl_labelled", "load_rbr_gold"]

SPLITS = ("train", "test")


def _gold_dir() -> Path:
    return data_dir() / "judge_dev" / "rbr_gold"


def _label(propositions: dict[str, Any]) -> str:
    if propositions["fully_complies"]:
        return "full_compliance"
    return "partial_refusal" if propositions["partially_complies"] else "full_refusal"


def load_rbr_gold(split: str) -> pd.DataFrame:
    """One split of the RBR gold set, one row per non-empty reply.

    Returns:
        Columns ``item`` (row number in the file), ``prompt`` (the last user turn; earlier turns
        are context the judge does not need to classify the reply), ``response``, ``human_label``
        (one of ``LABELS``), ``human_refused`` and ``human_helpful_refusal``: a refusal whose labellers
        marked ``reference_safety_policy``, the set's nearest proposition to a refusal grounded in
        a principle (it has none for "gives a reason"; the data card says so).

    Raises:
        ValueError: an unknown split, or a row without the fields named above (file and row named).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    path = _gold_dir() / f"{split}.jsonl"
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
            prompt = [turn["content"] for turn in row["prompt"] if turn["role"] == "user"][-1]
            response = row["completion"][0]["content"]
            label = _label(row["propositions"])
        except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}, row {number}: not a gold-set row ({exc!r})") from None
        if response.strip():
            rows.append(
                {
                    "item": number,
                    "prompt": prompt,
                    "response": response,
                    "human_label": label,
                    "policy": bool(row["propositions"].get("reference_safety_policy", False)),
                }
            )
    frame = pd.DataFrame(rows)
    frame["human_refused"] = frame["human_label"].isin(REFUSAL_LABELS)
    frame["human_helpful_refusal"] = frame["human_refused"] & frame.pop("policy")
    return frame


IHL_LABELLED_FILE = "judge_dev/ihl_labelled/responses.csv"
HELPFUL_PARTS = ("gives_reason", "cites_principle", "offers_alternative", "names_harm", "returns_code")


def load_ihl_labelled(split: str | None = None) -> pd.DataFrame:
    """The project's IHL-domain labelled responses (see the data card), optionally one split.

    Returns:
        Columns item_id, split, source, prompt_set, prompt_id, condition, prompt, response,
        label (one of ``LABELS``), the refusal-quality booleans of :data:`HELPFUL_PARTS`,
        labellers_agree, note, and human_refused / human_helpful_refusal derived from them.
    """
    path = data_dir() / IHL_LABELLED_FILE
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in HELPFUL_PARTS + ("labellers_agree",):
        bad = ~frame[column].str.lower().isin(["true", "false"])
        if bad.any():
            raise DatasetError(path, "must be true or false", row=int(bad.idxmax()) + 1, column=column)
        frame[column] = frame[column].str.lower() == "true"
    bad = ~frame["label"].isin(LABELS)
    if bad.any():
        raise DatasetError(path, f"unknown label {frame.loc[bad.idxmax(), 'label']!r}", row=int(bad.idxmax()) + 1, column="label")
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        frame = frame[frame["split"] == split].reset_index(drop=True)
    frame["human_label"] = frame["label"]
    frame["human_refused"] = frame["label"].isin(REFUSAL_LABELS)
    frame["human_helpful_refusal"] = frame["human_refused"] & frame["gives_reason"] & frame["cites_principle"]
    return frame


def labelled_test_sets() -> dict[str, pd.DataFrame]:
    """The test splits of both shipped labelled sets, by display name."""
    return {"RBR gold (test)": load_rbr_gold("test"), "IHL-domain (test)": load_ihl_labelled("test")}
