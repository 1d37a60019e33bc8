"""How well a judge agrees with human labels: the Safety RBR gold set and agreement statistics.

The gold set (``data/judge_dev/rbr_gold/``, see the data card) labels 518 assistant replies with
23 human propositions. The three-class refusal label follows from them as the set's README says:
``fully_complies`` -> full compliance; else ``partially_complies`` -> partial refusal; else full
refusal. Empty replies are left out: in this project an empty reply is an outcome recorded before
judging, never a judge's call. Tune on ``train``; report on ``test``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ihl_lib.judging.definitions import INVALID, LABELS, REFUSAL_LABELS
from ihl_lib.judging.panel import make_judge
from ihl_lib.paths import data_dir

__all__ = ["HELPFUL_PARTS", "SPLITS", "JudgeEvaluation", "agreement", "evaluate_judge", "judge_agreement", "load_ihl_labelled", "load_rbr_gold"]

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
        (one of ``LABELS``) and ``human_refused``.

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
            rows.append({"item": number, "prompt": prompt, "response": response, "human_label": label})
    frame = pd.DataFrame(rows)
    frame["human_refused"] = frame["human_label"].isin(REFUSAL_LABELS)
    return frame


def agreement(judge_labels: Sequence[str], human_labels: Sequence[str]) -> dict[str, float | int]:
    """Accuracy and Cohen's kappa of a judge against humans, three-class and refused-or-not.

    Accuracy counts the items the judge could not label (``parse_failed``, ``error``) as wrong:
    a judge that fails is not excused from the denominator. Kappa
    (:func:`ihl_lib.metrics.cohen_kappa`) is over the items the judge labelled. Refused-or-not
    counts a partial refusal as a refusal.

    Returns:
        ``n``, ``invalid`` (judge gave no label), ``accuracy``, ``kappa``, ``refused_accuracy``,
        ``refused_kappa``.
    """
    from ihl_lib.metrics import cohen_kappa

    if len(judge_labels) != len(human_labels) or len(human_labels) == 0:
        raise ValueError(f"need equal, non-empty label lists, got {len(judge_labels)} and {len(human_labels)}")
    judged, human = pd.Series(list(judge_labels)), pd.Series(list(human_labels))
    invalid = judged.isin(INVALID)

    def refused_or_not(labels: pd.Series) -> pd.Series:
        return labels.where(labels.isin(INVALID), labels.isin(REFUSAL_LABELS).map({True: "full_refusal", False: "full_compliance"}))

    judged_binary, human_binary = refused_or_not(judged), refused_or_not(human)
    return {
        "n": len(human),
        "invalid": int(invalid.sum()),
        "accuracy": float((judged == human).mean()),
        "kappa": cohen_kappa(judged, human),
        "refused_accuracy": float((judged_binary == human_binary).mean()),
        "refused_kappa": cohen_kappa(judged_binary, human_binary),
    }


def judge_agreement(judge_id: str, split: str = "train", *, cache: Any = None, progress: bool = False) -> dict[str, Any]:
    """Judge one gold split with ``judge_id`` and compare with the human labels (:func:`agreement`)."""
    gold = load_rbr_gold(split)
    votes = make_judge(judge_id).judge_many(list(zip(gold["prompt"], gold["response"])), cache=cache, progress=progress)
    return {"judge": judge_id, "split": split, **agreement([v.label for v in votes], gold["human_label"].tolist())}


IHL_LABELLED_FILE = "judge_dev/ihl_labelled/responses.csv"
HELPFUL_PARTS = ("gives_reason", "cites_principle", "offers_alternative", "names_harm", "returns_code")


def load_ihl_labelled(split: str | None = None) -> pd.DataFrame:
    """The project's IHL-domain labelled responses (see the data card), optionally one split.

    Returns:
        Columns item_id, split, source, prompt_set, prompt_id, condition, prompt, response,
        label (one of ``LABELS``), the refusal-quality booleans of :data:`HELPFUL_PARTS`,
        labellers_agree, note, and human_refused / human_helpful derived from them.
    """
    from ihl_lib.data import DatasetError

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
    frame["human_helpful"] = frame["human_refused"] & frame["gives_reason"] & frame["cites_principle"]
    return frame


@dataclass(frozen=True)
class JudgeEvaluation:
    """A judge against human labels (:func:`evaluate_judge`).

    Attributes:
        judge_id: the judge.
        summary: :func:`agreement`'s numbers (n, invalid, accuracy, kappa, refused_accuracy,
            refused_kappa) plus ``kappa_words`` (Landis & Koch).
        per_class: precision, recall and support per label (three-class).
        confusion: human label (rows) × judge label (columns), counts, invalid votes as a column.
        helpful: for judges that report refusal quality, accuracy of ``helpful_refusal`` against
            the human helpful label on the items both call refusals (None otherwise).
    """

    judge_id: str
    summary: dict[str, Any]
    per_class: pd.DataFrame
    confusion: pd.DataFrame
    helpful: float | None


def evaluate_judge(judge: Any, labelled: pd.DataFrame, *, cache: Any = None, progress: bool = False) -> JudgeEvaluation:
    """Judge every labelled item and compare with its human label.

    Args:
        judge: a judge id or object (see :func:`ihl_lib.judging.make_judge`).
        labelled: rows with ``prompt``, ``response`` and ``human_label`` (optionally ``human_helpful``),
            e.g. :func:`load_rbr_gold` or :func:`load_ihl_labelled`.
    """
    from sklearn.metrics import precision_recall_fscore_support

    from ihl_lib.metrics import landis_koch

    judge = make_judge(judge) if isinstance(judge, str) else judge
    votes = judge.judge_many(list(zip(labelled["prompt"], labelled["response"])), cache=cache, progress=progress)
    predicted = [v.label for v in votes]
    human = labelled["human_label"].tolist()
    summary = agreement(predicted, human)
    summary["kappa_words"] = landis_koch(summary["kappa"])
    precision, recall, _, support = precision_recall_fscore_support(human, predicted, labels=list(LABELS), zero_division=0)
    per_class = pd.DataFrame({"precision": precision, "recall": recall, "support": support}, index=list(LABELS))
    confusion = pd.crosstab(pd.Series(human, name="human"), pd.Series(predicted, name=judge.judge_id))
    confusion = confusion.reindex(index=list(LABELS), fill_value=0)
    helpful = None
    if "human_helpful" in labelled.columns and any(v.helpful_refusal is not None for v in votes):
        both = [(v.helpful_refusal, h) for v, h, lab in zip(votes, labelled["human_helpful"], human)
                if v.label in REFUSAL_LABELS and lab in REFUSAL_LABELS and v.helpful_refusal is not None]
        helpful = float(sum(bool(a) == bool(b) for a, b in both) / len(both)) if both else None
    return JudgeEvaluation(judge.judge_id, summary, per_class, confusion, helpful)
