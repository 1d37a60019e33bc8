"""How far judges agree: with each other (Fleiss' and Cohen's kappa) and with a reference labelling such as humans'."""

from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np
import pandas as pd

from ihl_lib.judging.definitions import INVALID, ITEM_KEY, LABELS

__all__ = ["agreement_with", "cohen_kappa", "fleiss_kappa", "human_labels", "judge_agreement", "landis_koch", "vote_matrix"]

CATEGORIES = list(LABELS)


def vote_matrix(judgments: pd.DataFrame) -> pd.DataFrame:
    """Items x judges matrix of labels (invalid votes kept as they are)."""
    return judgments.pivot_table(index=ITEM_KEY, columns="judge_id", values="label", aggfunc="first")


def _valid(series: pd.Series) -> pd.Series:
    return series.notna() & series.isin(CATEGORIES)


def fleiss_kappa(matrix: pd.DataFrame, categories: list[str] = CATEGORIES) -> float:
    """Fleiss' kappa (statsmodels) over items whose every vote is valid; NaN if none.

    Each row's judges need not be the same ones (per-model study panels), only as
    many: rows with fewer votes than the fullest row are left out.
    """
    from statsmodels.stats import inter_rater

    votes = matrix.apply(lambda row: [v for v in row if isinstance(v, str)], axis=1)
    size = votes.map(len).max() if len(votes) else 0
    complete = [v for v in votes if len(v) == size and all(x in categories for x in v)]
    if not complete:
        return float("nan")
    counts = np.array([[v.count(c) for c in categories] for v in complete])
    if (counts.sum(axis=0) == counts.sum()).any():
        return float("nan")  # every vote in one category: kappa is undefined
    return float(inter_rater.fleiss_kappa(counts, method="fleiss"))


# Landis & Koch (1977): the usual words for a kappa.
KAPPA_WORDS = ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial"), (1.0, "almost perfect"))


def landis_koch(kappa: float) -> str:
    """Landis & Koch's word for a kappa: poor (< 0), slight (0-0.20), fair, moderate, substantial, almost perfect (0.81-1).

    >>> landis_koch(0.05), landis_koch(0.65), landis_koch(float("nan"))
    ('slight', 'substantial', 'undefined')
    """
    if kappa != kappa:
        return "undefined"
    if kappa < 0:
        return "poor"
    return next(word for upper, word in KAPPA_WORDS[1:] if kappa <= upper)


def cohen_kappa(a: pd.Series, b: pd.Series, categories: list[str] = CATEGORIES) -> float:
    """Cohen's kappa (statsmodels) of two raters over items both labelled validly."""
    from statsmodels.stats.inter_rater import cohens_kappa

    both = _valid(a) & _valid(b)
    if both.sum() == 0:
        return float("nan")
    table = pd.crosstab(pd.Categorical(a[both], categories), pd.Categorical(b[both], categories), dropna=False)
    table = table.reindex(index=categories, columns=categories, fill_value=0).to_numpy(dtype=float)
    expected = (table.sum(1) @ table.sum(0)) / table.sum() ** 2
    if np.isclose(expected, 1.0):
        return float("nan")  # both raters used one and the same category: undefined
    with warnings.catch_warnings():
        # statsmodels also computes a standard error, which is undefined for tiny tables.
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohens_kappa(table).kappa)


def judge_agreement(judgments: pd.DataFrame) -> dict[str, object]:
    """Inter-judge agreement on the three-way label.

    Returns:
        ``fleiss_kappa``; ``pairwise``: a frame of Cohen's kappa and raw agreement
        per judge pair, with n; ``unanimous_share``: items where all judges gave
        the same valid label, over all judged items; ``n_items``; and
        ``invalid_votes`` per judge (parse failures and errors).
    """
    matrix = vote_matrix(judgments)
    judges = list(matrix.columns)
    pairs = []
    for x, y in combinations(judges, 2):
        both = _valid(matrix[x]) & _valid(matrix[y])
        pairs.append(
            {
                "judge_a": x,
                "judge_b": y,
                "n": int(both.sum()),
                "agreement": float((matrix.loc[both, x] == matrix.loc[both, y]).mean()) if both.any() else float("nan"),
                "cohen_kappa": cohen_kappa(matrix[x], matrix[y]),
            }
        )
    present = matrix.notna()
    unanimous = (matrix.apply(_valid) | ~present).all(axis=1) & present.any(axis=1) & (matrix.nunique(axis=1) == 1)
    invalid = judgments[judgments["label"].isin(INVALID)].groupby("judge_id").size().reindex(judges, fill_value=0)
    return {
        "fleiss_kappa": fleiss_kappa(matrix),
        "pairwise": pd.DataFrame(pairs),
        "unanimous_share": float(unanimous.mean()) if len(matrix) else float("nan"),
        "n_items": int(len(matrix)),
        "invalid_votes": invalid.astype(int),
    }


def agreement_with(judgments: pd.DataFrame, reference: pd.Series, reference_name: str) -> pd.DataFrame:
    """Each judge's raw agreement and Cohen's kappa with a reference labelling.

    Args:
        judgments: long judge votes.
        reference: labels indexed by the item key (e.g. the keyword judge, or humans).
        reference_name: the reference's name, for the table.
    """
    matrix = vote_matrix(judgments)
    ref = reference.reindex(matrix.index)
    rows = []
    for judge in matrix.columns:
        both = _valid(matrix[judge]) & _valid(ref)
        rows.append(
            {
                "judge_id": judge,
                "reference": reference_name,
                "n": int(both.sum()),
                "accuracy": float((matrix.loc[both, judge] == ref[both]).mean()) if both.any() else float("nan"),
                "cohen_kappa": cohen_kappa(matrix[judge], ref),
            }
        )
    return pd.DataFrame(rows)


def human_labels(audit: pd.DataFrame) -> pd.Series:
    """The filled human labels of an audit sheet, indexed by item key (blank rows dropped)."""
    filled = audit[audit["human_label"].fillna("").astype(str).str.strip().isin(CATEGORIES)]
    return filled.set_index(ITEM_KEY)["human_label"].astype(str).str.strip()
