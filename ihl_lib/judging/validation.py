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

from ihl_lib.judging.definitions import INVALID, LABELS, REFUSAL_LABELS, Vote
from ihl_lib.judging.panel import make_judge, panel_verdicts
from ihl_lib.paths import data_dir

__all__ = [
    "HELPFUL_PARTS",
    "SPLITS",
    "JudgeEvaluation",
    "agreement",
    "evaluate_judge",
    "evaluate_panel",
    "labelled_test_sets",
    "panel_labels",
    "score_panel",
    "judge_agreement",
    "load_ihl_labelled",
    "load_rbr_gold",
]

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
        (one of ``LABELS``), ``human_refused`` and ``human_helpful``: a refusal whose labellers
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
    frame["human_helpful"] = frame["human_refused"] & frame.pop("policy")
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


def _evaluation(judge_id: str, labelled: pd.DataFrame, predicted: list[str], helpful_votes: list[bool | None]) -> JudgeEvaluation:
    from sklearn.metrics import precision_recall_fscore_support

    from ihl_lib.metrics import landis_koch

    human = labelled["human_label"].tolist()
    summary: dict[str, Any] = dict(agreement(predicted, human))
    summary["kappa_words"] = landis_koch(summary["kappa"])
    precision, recall, _, support = precision_recall_fscore_support(human, predicted, labels=list(LABELS), zero_division=0)
    per_class = pd.DataFrame({"precision": precision, "recall": recall, "support": support}, index=list(LABELS))
    confusion = pd.crosstab(pd.Series(human, name="human"), pd.Series(predicted, name=judge_id))
    confusion = confusion.reindex(index=list(LABELS), fill_value=0)
    helpful = None
    if "human_helpful" in labelled.columns:
        both = [
            (h, human_helpful)
            for lab, h, human_helpful, human_lab in zip(predicted, helpful_votes, labelled["human_helpful"], human)
            if lab in REFUSAL_LABELS and human_lab in REFUSAL_LABELS and h is not None and h == h
        ]
        helpful = float(sum(bool(a) == bool(b) for a, b in both) / len(both)) if both else None
    return JudgeEvaluation(judge_id, summary, per_class, confusion, helpful)


def evaluate_judge(judge: Any, labelled: pd.DataFrame, *, cache: Any = None, progress: bool = False) -> JudgeEvaluation:
    """Judge every labelled item and compare with its human label.

    Args:
        judge: a judge id or object (see :func:`ihl_lib.judging.make_judge`).
        labelled: rows with ``prompt``, ``response`` and ``human_label`` (optionally ``human_helpful``),
            e.g. :func:`load_rbr_gold` or :func:`load_ihl_labelled`.
    """
    judge = make_judge(judge) if isinstance(judge, str) else judge
    votes = judge.judge_many(list(zip(labelled["prompt"], labelled["response"])), cache=cache, progress=progress)
    return _evaluation(judge.judge_id, labelled, [v.label for v in votes], [v.helpful_refusal for v in votes])


def panel_labels(votes_by_judge: dict[str, Sequence[Vote]]) -> pd.DataFrame:
    """The panel's verdict on each of a list of items, from each judge's votes in the same order.

    A three-way split with a refused majority (refusal, partial, compliance) has no label by the panel
    policy but a clear refused-or-not verdict: it is counted by that (as a partial refusal, or as
    compliance), as the headline rates count it. Returns columns ``label`` and ``helpful``, one row
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
    return pd.DataFrame({"label": label.to_numpy(), "helpful": verdicts["helpful"].to_numpy()})


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
    return _evaluation(name, labelled, panel["label"].tolist(), panel["helpful"].tolist()), members


def labelled_test_sets() -> dict[str, pd.DataFrame]:
    """The test splits of both shipped labelled sets, by display name."""
    return {"RBR gold (test)": load_rbr_gold("test"), "IHL-domain (test)": load_ihl_labelled("test")}


def score_panel(
    judge_ids: Sequence[str], *, allow_model_calls: bool = True, cache: Any = None, progress: bool = False
) -> tuple[pd.DataFrame, dict[tuple[str, str], JudgeEvaluation]]:
    """Each judge of a panel and the panel's majority against the human labels of both test sets.

    LLM judges (ids with a ``/``) are left out when ``allow_model_calls`` is False (the analysis-only
    path); their calls are cached otherwise.

    Returns:
        A table (one row per set and judge: n, refused_accuracy, refused_kappa, accuracy, kappa,
        kappa_words, helpful) and each evaluation keyed by (set name, judge id or ``panel``).
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
        [{"set": s, "judge": j, **{c: e.summary[c] for c in columns}, "helpful": e.helpful} for (s, j), e in evaluations.items()]
    )
    return table, evaluations
