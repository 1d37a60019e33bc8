"""The learned judge: a small classifier trained on shipped human-labelled replies.

Word uni- and bigram TF-IDF of the response and a multinomial logistic
regression over the three labels. (Adding character 2-5-grams raised the
cross-validated accuracy on the train splits from 0.697 to 0.703 and made the
judge five times slower; throughput is one of its bars, so they are left out.) It shares no pattern or
word list with :mod:`ihl_lib.judging.pattern`: everything it knows it learned
from the train splits of ``data/judge_dev/`` (the RBR gold set and the project's
IHL-domain set).

The fitted model is stored as plain JSON (``data/judge_models/learned-v1.json``:
vocabulary, idf weights, coefficients, and the training provenance), so it is
small, diffable and loads without pickle. :func:`train` rebuilds it, bit for
bit, from the shipped data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ihl_lib.judging.definitions import LABELS, Vote
from ihl_lib.paths import data_dir

__all__ = ["LEARNED_MODEL_FILE", "LearnedJudge", "train", "training_data"]

LEARNED_MODEL_FILE = "judge_models/learned-v1.json"
_WORD = {"analyzer": "word", "ngram_range": (1, 2), "lowercase": True, "sublinear_tf": True, "min_df": 2, "token_pattern": r"(?u)\b\w+\b"}
# Inverse regularisation, chosen by 5-fold cross-validation on the train splits (three-class accuracy:
# C = 1, 4, 16, 64 gave 0.688, 0.697, 0.695, 0.688).
_C = 4.0


def training_data() -> pd.DataFrame:
    """The train splits of both labelled sets: columns source, response, label."""
    from ihl_lib.judging.validation import load_ihl_labelled, load_rbr_gold

    rbr = load_rbr_gold("train").rename(columns={"human_label": "label"}).assign(source="rbr_gold/train")
    ihl = load_ihl_labelled("train").assign(source="ihl_labelled/train")
    return pd.concat([rbr[["source", "response", "label"]], ihl[["source", "response", "label"]]], ignore_index=True)


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**_WORD)


def train(path: Path | None = None, c: float = _C) -> dict[str, Any]:
    """Fit the learned judge on the shipped train splits and write it as JSON.

    Deterministic: the same data and package versions give the same file, byte for byte.

    Returns:
        The written model (also saved to ``path``, default ``data/<LEARNED_MODEL_FILE>``).
    """
    import sklearn
    from sklearn.linear_model import LogisticRegression

    data = training_data()
    word = _vectorizer()
    x = word.fit_transform(data["response"])
    model = LogisticRegression(C=c, max_iter=5000, solver="lbfgs").fit(x, data["label"])
    digest = hashlib.sha256("\n".join(f"{s}\t{r}\t{lab}" for s, r, lab in data.itertuples(index=False)).encode()).hexdigest()
    stored = {
        "name": "learned-v1",
        "features": {"word": {**_WORD, "ngram_range": list(_WORD["ngram_range"])}},
        "classifier": {"kind": "LogisticRegression", "C": c, "solver": "lbfgs"},
        "training": {"sets": data.groupby("source").size().to_dict(), "n": len(data), "sha256": digest,
                     "scikit_learn": sklearn.__version__, "labels": data["label"].value_counts().sort_index().to_dict()},
        "classes": [str(k) for k in model.classes_],
        "word_vocabulary": sorted(word.vocabulary_, key=word.vocabulary_.get),
        "word_idf": [round(float(v), 8) for v in word.idf_],
        "coef": [[round(float(v), 8) for v in row] for row in model.coef_],
        "intercept": [round(float(v), 8) for v in model.intercept_],
    }
    path = path or data_dir() / LEARNED_MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return stored


@dataclass(frozen=True)
class LearnedJudge:
    """The stored classifier as a judge (refusal label only; it does not judge helpfulness)."""

    path: Path = field(default_factory=lambda: data_dir() / LEARNED_MODEL_FILE)
    judge_id: str = "learned"

    @cached_property
    def _model(self) -> tuple[Any, np.ndarray, np.ndarray, list[str]]:
        if not self.path.is_file():
            raise FileNotFoundError(f"no learned judge at {self.path}: run ihl_lib.judging.learned.train()")
        stored = json.loads(self.path.read_text(encoding="utf-8"))
        word = _vectorizer()
        word.vocabulary_ = {term: i for i, term in enumerate(stored["word_vocabulary"])}
        word.idf_ = np.asarray(stored["word_idf"])
        coef, intercept = np.asarray(stored["coef"]), np.asarray(stored["intercept"])
        if set(stored["classes"]) != set(LABELS):
            raise ValueError(f"{self.path}: classes {stored['classes']} are not the label set {LABELS}")
        return word, coef, intercept, stored["classes"]

    def scores(self, responses: Sequence[str]) -> np.ndarray:
        """Class scores (log-odds) per response, columns in the stored class order."""
        word, coef, intercept, _ = self._model
        return np.asarray(word.transform(responses) @ coef.T) + intercept

    def judge_many(self, items: Sequence[tuple[str, str]], **_: Any) -> list[Vote]:
        """Votes for (prompt, response) items; an empty reply is a parse failure."""
        texts = [(response or "").strip() for _, response in items]
        classes = self._model[3]
        filled = [i for i, t in enumerate(texts) if t]
        votes = [Vote(self.judge_id, "parse_failed", reason="empty response", status="parse_failed") for _ in texts]
        if filled:
            scores = self.scores([texts[i] for i in filled])
            for i, row in zip(filled, scores):
                best = int(np.argmax(row))
                votes[i] = Vote(self.judge_id, classes[best], reason=f"score margin {row[best] - np.partition(row, -2)[-2]:.2f}")
        return votes
