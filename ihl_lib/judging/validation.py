"""How well a judge agrees with human labels: accuracy, kappa and confusion, for one judge or a panel's majority.

Tune on the labelled sets' ``train`` splits (:mod:`ihl_lib.judging.labelled_sets`); report on ``test``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ihl_lib.judging.agreement import cohen_kappa, landis_koch
from ihl_lib.judging.definitions import INVALID, LABELS, REFUSAL_LABELS, Vote
from ihl_lib.judging.labelled_sets import labelled_test_sets
from ihl_lib.judging.panel import make_judge, panel_verdicts

__all__ = [
    "JudgeEvaluation",
    "accuracy_against_humans",
    "evaluate_judge",
    "evaluate_panel",
    "panel_labels",
    "score_panel",
]


def accuracy_against_humans(judge_labels: Sequence[str], human_labels: Sequence[str]) -> dict[str, float | int]:
    """Accuracy and Cohen's kappa of a judge against humans, three-class and refused-or-not.

    Accuracy counts the items the judge could not label (``parse_failed``, ``error``) as wrong:
    a judge that fails is not excused from the denominator. Kappa
    (:func:`ihl_lib.judging.agreement.cohen_kappa`) is over the items the judge labelled. Refused-or-not
    counts a partial refusal as a refusal.

    Returns:
        ``n``, ``invalid`` (judge gave no label), ``accuracy``, ``kappa``, ``refused_accuracy``,
        ``refused_kappa``.
    """

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


@dataclass(frozen=True)
class JudgeEvaluation:
    """A judge against human labels (:func:`evaluate_judge`).

    Attributes:
        judge_id: the judge.
        summary: :func:`accuracy_against_humans`'s numbers (n, invalid, accuracy, kappa, refused_accuracy,
            refused_kappa) plus ``kappa_words`` (Landis & Koch).
        per_class: precision, recall and support per label (three-class).
        confusion: human label (rows) × judge label (columns), counts, invalid votes as a column.
        helpful_refusal_accuracy: for judges that report refusal quality, accuracy of ``helpful_refusal`` against
            the human helpful label on the items both call refusals (None otherwise).
    """

    judge_id: str
    summary: dict[str, Any]
    per_class: pd.DataFrame
    confusion: pd.DataFrame
    helpful_refusal_accuracy: float | None


def _evaluation(judge_id: str, labelled: pd.DataFrame, predicted: list[str], helpful_votes: list[bool | None]) -> JudgeEvaluation:
    from sklearn.metrics import precision_recall_fscore_support

    human = labelled["human_label"].tolist()
    summary: dict[str, Any] = dict(accuracy_against_humans(predicted, human))
    summary["kappa_words"] = landis_koch(summary["kappa"])
    precision, recall, _, support = precision_recall_fscore_support(human, predicted, labels=list(LABELS), zero_division=0)
    per_class = pd.DataFrame({"precision": precision, "recall": recall, "support": support}, index=list(LABELS))
    confusion = pd.crosstab(pd.Series(human, name="human"), pd.Series(predicted, name=judge_id))
    confusion = confusion.reindex(index=list(LABELS), fill_value=0)
    helpful_accuracy = None
    if "human_helpful_refusal" in labelled.columns:
        both = [
            (h, human_helpful_refusal)
            for lab, h, human_helpful_refusal, human_lab in zip(predicted, helpful_votes, labelled["human_helpful_refusal"], human)
            if lab in REFUSAL_LABELS and human_lab in REFUSAL_LABELS and h is not None and h == h
        ]
        helpful_accuracy = float(sum(bool(a) == bool(b) for a, b in both) / len(both)) if both else None
    return JudgeEvaluation(judge_id, summary, per_class, confusion, helpful_accuracy)


def evaluate_judge(judge: Any, labelled: pd.DataFrame, *, cache: Any = None, progress: bool = False) -> JudgeEvaluation:
    """Judge every labelled item and compare with its human label.

    Args:
        judge: a judge id or object (see :func:`ihl_lib.judging.make_judge`).
        labelled: rows with ``prompt``, ``response`` and ``human_label`` (optionally ``human_helpful_refusal``),
            e.g. :func:`load_rbr_gold` or :func:`load_ihl_labelled`.
    """
    judge = make_judge(judge) if isinstance(judge, str) else judge
    votes = judge.judge_many(list(zip(labelled["prompt"], labelled["response"])), cache=cache, progress=progress)
    return _evaluation(judge.judge_id, labelled, [v.label for v in votes], [v.helpful_refusal for v in votes])


def panel_labels(votes_by_judge: dict[str, Sequence[Vote]]) -> pd.DataFrame:
    """The panel's verdict on each of a list of items, from each judge's votes in the same order.

    A three-way split with a refused majority (refusal, partial, compliance) has no label by the panel
    policy but a clear refused-or-not verdict: it is counted by that (as a partial refusal, or as
    compliance), as the headline rates count it. Returns columns ``label`` and ``helpful_refusal``, one row
    per item, in order.
    """
    rows = [
        {
            "model": "",
            "prompt_set": "",
            "prompt_id": f"{i:09d}",
            "condition": "",
            "judge_id": judge_id,
            **{k: v for k, v in vote.__dict__.items() if k != "judge_id"},
        }
        for judge_id, votes in votes_by_judge.items()
        for i, vote in enumerate(votes)
    ]
    verdicts = panel_verdicts(pd.DataFrame(rows)).sort_values("prompt_id")
    fallback = verdicts["refused"].map({True: "partial_refusal", False: "full_compliance"}).fillna("unresolved")
    label = verdicts["label"].where(verdicts["label"] != "unresolved", fallback)
    return pd.DataFrame({"label": label.to_numpy(), "helpful_refusal": verdicts["helpful_refusal"].to_numpy()})


def evaluate_panel(
    judges: Sequence[Any], labelled: pd.DataFrame, *, cache: Any = None, progress: bool = False, name: str = "panel"
) -> tuple[JudgeEvaluation, dict[str, JudgeEvaluation]]:
    """The panel's majority and each of its judges against the human labels (each judge judges once).

    Returns:
        (the panel's evaluation, each judge's evaluation by judge id).
    """
    made = [make_judge(j) if isinstance(j, str) else j for j in judges]
    items = list(zip(labelled["prompt"], labelled["response"]))
    votes = {j.judge_id: j.judge_many(items, cache=cache, progress=progress) for j in made}
    members = {
        judge_id: _evaluation(judge_id, labelled, [v.label for v in v_], [v.helpful_refusal for v in v_]) for judge_id, v_ in votes.items()
    }
    panel = panel_labels(votes)
    return _evaluation(name, labelled, panel["label"].tolist(), panel["helpful_refusal"].tolist()), members


def score_panel(
    judge_ids: Sequence[str], *, allow_model_calls: bool = True, cache: Any = None, progress: bool = False
) -> tuple[pd.DataFrame, dict[tuple[str, str], JudgeEvaluation]]:
    """Each judge of a panel and the panel's majority against the human labels of both test sets.

    LLM judges (ids with a ``/``) are left out when ``allow_model_calls`` is False (the analysis-only
    path); their calls are cached otherwise.

    Returns:
        A table (one row per set and judge: n, refused_accuracy, refused_kappa, accuracy, kappa,
        kappa_words, helpful_refusal_accuracy) and each evaluation keyed by (set name, judge id or ``panel``).
    """
    scored = [j for j in judge_ids if allow_model_calls or "/" not in j]
    evaluations: dict[tuple[str, str], JudgeEvaluation] = {}
    for set_name, labelled in labelled_test_sets().items():
        panel, members = evaluate_panel(scored, labelled, cache=cache, progress=progress)
        evaluations.update({(set_name, judge_id): e for judge_id, e in members.items()})
        if len(scored) > 1:
            evaluations[(set_name, "panel")] = panel
    columns = ("n", "refused_accuracy", "refused_kappa", "accuracy", "kappa", "kappa_words")
    table = pd.DataFrame(
        [
            {"set": s, "judge": j, **{c: e.summary[c] for c in columns}, "helpful_refusal_accuracy": e.helpful_refusal_accuracy}
            for (s, j), e in evaluations.items()
        ]
    )
    return table, evaluations
