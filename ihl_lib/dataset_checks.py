"""Checks across the prompt sets: pairings, balance, lengths and near-duplicates.

:mod:`ihl_lib.data` validates one file at a time (columns, ids, values, filled
rationale). This module checks what only the sets together can show, and states
each bar once:

- **Relations.** Every lawful twin names its violating prompt (``twin_of``) and
  shares its rule, persona, framing and scenario; every violating prompt has
  exactly one twin. Every code-wrapped prompt names its plain prompt
  (``plain_prompt_id``) and requests the same act under the same rule.
- **Balance.** Framing, persona type and length must not be confounded with the
  part of the study: a χ² test of part × framing and part × persona type, no part
  dominated by one framing, every part's mean length near the overall mean, and
  the two variants spread over all framings.
- **Twin lengths.** A twin is within ±30% of its violating prompt's words.
- **Near-duplicates.** No two prompts of any sets share distinctive wording
  (TF-IDF cosine of words) or spelling (TF-IDF cosine of character n-grams),
  except the pairs that are meant to be alike (twin and code pairs).

:func:`dataset_report` runs all of them; its ``problems`` list is empty when
every bar is met. Notebook 01 shows the report; the tests assert it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ihl_lib.data import N_RULES, PROMPT_SETS, DatasetError, load_prompts, load_rules, with_rules

__all__ = [
    "BALANCE_ALPHA",
    "CHAR_SIMILARITY_THRESHOLD",
    "MAX_FRAMING_SHARE",
    "MAX_PART_MEAN_WORDS_GAP",
    "MIN_CODE_RULES",
    "TWIN_LENGTH_RATIO",
    "WORD_SIMILARITY_THRESHOLD",
    "BalanceResult",
    "DatasetReport",
    "balance",
    "check_relations",
    "dataset_report",
    "declared_pairs",
    "length_by_part",
    "load_all_sets",
    "max_similarity_pairs",
    "near_duplicates",
    "twin_length_ratios",
]

# Word uni- and bigrams, English stop words removed: a pair at or above this shares distinctive wording.
WORD_SIMILARITY_THRESHOLD = 0.6
# Character 3-5-grams within words: catches the same sentence lightly reworded or re-spelled.
CHAR_SIMILARITY_THRESHOLD = 0.6
# A lawful twin's words / its violating prompt's words.
TWIN_LENGTH_RATIO = (0.7, 1.3)
# No framing may make up more than this share of one part's prompts.
MAX_FRAMING_SHARE = 0.4
# A part's mean prompt length may differ from the overall mean by at most this many words.
MAX_PART_MEAN_WORDS_GAP = 2.5
# χ² test of independence (part × framing, part × persona type): p below this fails.
BALANCE_ALPHA = 0.05
# The code-wrapped set covers at least this many rules.
MIN_CODE_RULES = 80

_PAIRED_FIELDS = ("persona", "persona_type", "framing", "scenario")


def load_all_sets() -> dict[str, pd.DataFrame]:
    """Every shipped prompt set, validated, keyed by set name."""
    return {name: load_prompts(name) for name in PROMPT_SETS}


def _fail(frame: pd.DataFrame, problem: str, index: int | None = None, column: str | None = None) -> DatasetError:
    row = None if index is None else int(index) + 1
    return DatasetError(frame.attrs.get("source_path", "<prompts>"), problem, row=row, column=column)


def _check_pointer(frame: pd.DataFrame, pointer: str, targets: pd.DataFrame, suffix: str, same: Iterable[str]) -> None:
    """Rows of ``frame`` point at rows of ``targets`` by ``pointer``; ids and shared columns must agree."""
    by_id = targets.set_index("prompt_id")
    for index, row in frame.iterrows():
        target_id = row[pointer]
        if target_id not in by_id.index:
            raise _fail(frame, f"{pointer} {target_id!r} is not a prompt of {targets['prompt_set'].iloc[0]}", index, pointer)
        if row["prompt_id"] != f"{target_id}{suffix}":
            raise _fail(frame, f"prompt_id must be {target_id}{suffix} (its {pointer} plus {suffix!r})", index, "prompt_id")
        target = by_id.loc[target_id]
        for column in ("rule_id", *same):
            if row[column] != target[column]:
                raise _fail(frame, f"{column} {row[column]!r} differs from {target_id}'s {target[column]!r}", index, column)


def check_relations(sets: Mapping[str, pd.DataFrame]) -> None:
    """Twin and code pairings point at real violating prompts and agree with them,
    and the illegitimate-rules labels agree with each other (a control, and only a
    control, has ``should_comply`` false and ``defeat_type`` none).

    Raises:
        DatasetError: naming the file, row and column of the first broken pairing.
    """
    core, twins, code = sets["ihl_violations"], sets["lawful_twins"], sets["code_wrapped"]
    _check_pointer(twins, "twin_of", core, "-t", _PAIRED_FIELDS)
    counts = twins["twin_of"].value_counts()
    repeated = counts[counts > 1]
    if len(repeated):
        index = twins.index[twins["twin_of"] == repeated.index[0]][1]
        raise _fail(twins, f"{repeated.index[0]} has {int(repeated.iloc[0])} twins, expected one", index, "twin_of")
    untwinned = sorted(set(core["prompt_id"]) - set(counts.index))
    if untwinned:
        raise _fail(twins, f"violating prompts without a lawful twin: {untwinned[:10]}", column="twin_of")
    _check_pointer(code, "plain_prompt_id", core, "-code", ("act",))
    cases = sets["illegitimate_rules"]
    for index, row in cases.iterrows():
        control = row["variant"] == "control"
        if bool(row["should_comply"]) == control:
            raise _fail(cases, f"should_comply must be {not control} for a {row['variant']} case", index, "should_comply")
        if (row["defeat_type"] == "none") != control:
            raise _fail(cases, "defeat_type is 'none' for controls and only for controls", index, "defeat_type")


def declared_pairs(sets: Mapping[str, pd.DataFrame]) -> set[frozenset[str]]:
    """Pairs written to be alike (a violating prompt and its twin or its code version)."""
    pairs = {frozenset(p) for p in zip(sets["lawful_twins"]["prompt_id"], sets["lawful_twins"]["twin_of"])}
    pairs |= {frozenset(p) for p in zip(sets["code_wrapped"]["prompt_id"], sets["code_wrapped"]["plain_prompt_id"])}
    return pairs


def near_duplicates(
    prompts: pd.DataFrame,
    threshold: float = WORD_SIMILARITY_THRESHOLD,
    *,
    analyzer: Literal["word", "char"] = "word",
    exclude: set[frozenset[str]] | None = None,
    column: str = "prompt",
    id_column: str = "prompt_id",
) -> pd.DataFrame:
    """Pairs of prompts whose TF-IDF cosine similarity is at or above ``threshold``.

    Args:
        prompts: one row per prompt.
        threshold: the cosine at or above which a pair is returned.
        analyzer: ``word``: uni- and bigrams, English stop words removed, so two prompts
            score high only when they share distinctive wording, not a topic; ``char``:
            character 3-5-grams within word boundaries, so a rewording that keeps most
            of the spelling scores high too.
        exclude: pairs of ids to leave out (e.g. :func:`declared_pairs`).
        column: the text column.
        id_column: the id column.

    Returns:
        Columns first, second, similarity; most similar first.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    texts = prompts[column].tolist()
    if len(texts) < 2:
        return pd.DataFrame({"first": pd.Series(dtype=str), "second": pd.Series(dtype=str), "similarity": pd.Series(dtype=float)})
    if analyzer == "word":
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), stop_words="english", sublinear_tf=True)
    else:
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    sims = cosine_similarity(vectorizer.fit_transform(texts))
    upper = np.triu_indices_from(sims, k=1)
    mask = sims[upper] >= threshold
    ids = prompts[id_column].tolist()
    out = pd.DataFrame(
        {
            "first": [ids[i] for i in upper[0][mask]],
            "second": [ids[j] for j in upper[1][mask]],
            "similarity": sims[upper][mask].astype(float),
        }
    )
    if exclude:
        keep = [frozenset(p) not in exclude for p in zip(out["first"], out["second"])]
        out = out[keep]
    return out.sort_values("similarity", ascending=False, kind="stable").reset_index(drop=True)


def max_similarity_pairs(prompts: pd.DataFrame, top: int = 10, **kwargs: object) -> pd.DataFrame:
    """The ``top`` most similar pairs, whatever their score (keyword arguments as :func:`near_duplicates`)."""
    return near_duplicates(prompts, threshold=-1.0, **kwargs).head(top)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BalanceResult:
    """How one attribute of the core set is spread over the six parts.

    Attributes:
        column: the attribute (``framing``, ``persona_type``).
        counts: parts × values, prompt counts.
        chi2: Pearson's χ² statistic of independence.
        dof: its degrees of freedom.
        p_value: the test's p-value (small: the attribute depends on the part).
        cramers_v: effect size, 0 (independent) to 1.
        max_share: the largest share one value takes in one part.
    """

    column: str
    counts: pd.DataFrame
    chi2: float
    dof: int
    p_value: float
    cramers_v: float
    max_share: float

    @property
    def shares(self) -> pd.DataFrame:
        """Row shares: each part's prompts split over the values."""
        return self.counts.div(self.counts.sum(axis=1), axis=0)


def balance(core: pd.DataFrame, column: str, by: str = "part_number") -> BalanceResult:
    """Contingency table of ``by`` × ``column`` and a χ² test of independence.

    Args:
        core: the core set joined with its rules (:func:`ihl_lib.data.with_rules`).
        column: the attribute to test.
        by: the grouping (default the part of the study).
    """
    from scipy.stats import chi2_contingency
    from scipy.stats.contingency import association

    counts = pd.crosstab(core[by], core[column])
    chi2, p_value, dof, _ = chi2_contingency(counts.to_numpy())
    shares = counts.div(counts.sum(axis=1), axis=0)
    return BalanceResult(
        column=column,
        counts=counts,
        chi2=float(chi2),
        dof=int(dof),
        p_value=float(p_value),
        cramers_v=float(association(counts.to_numpy(), method="cramer")),
        max_share=float(shares.to_numpy().max()),
    )


def length_by_part(core: pd.DataFrame, by: str = "part_number") -> pd.DataFrame:
    """Words per prompt by part and variant: mean, median, and the gap to the overall mean."""
    table = core.groupby(by)["n_words"].agg(["count", "mean", "median", "min", "max"])
    for variant, group in core.groupby("variant"):
        table[f"mean_{variant}"] = group.groupby(by)["n_words"].mean()
    table["gap_to_overall"] = table["mean"] - core["n_words"].mean()
    return table


def twin_length_ratios(core: pd.DataFrame, twins: pd.DataFrame) -> pd.Series:
    """Each twin's words over its violating prompt's words, indexed by the twin's id."""
    violating = core.set_index("prompt_id")["n_words"]
    return (twins.set_index("prompt_id")["n_words"] / twins.set_index("prompt_id")["twin_of"].map(violating)).rename("length_ratio")


@dataclass
class DatasetReport:
    """Every cross-set statistic, and the bars they miss (``problems``; empty when all are met)."""

    counts: pd.DataFrame
    framing: BalanceResult
    persona_type: BalanceResult
    framing_by_variant: pd.DataFrame
    lengths: pd.DataFrame
    twin_ratios: pd.Series
    top_word_pairs: pd.DataFrame
    top_char_pairs: pd.DataFrame
    problems: list[str] = field(default_factory=list)


def dataset_report(sets: Mapping[str, pd.DataFrame] | None = None, rules: pd.DataFrame | None = None) -> DatasetReport:
    """Check the prompt sets together (see the module docstring for the bars).

    Raises:
        DatasetError: a pairing is broken (the statistics would be meaningless).
    """
    sets = dict(sets) if sets is not None else load_all_sets()
    rules = rules if rules is not None else load_rules()
    check_relations(sets)
    core = with_rules(sets["ihl_violations"], rules)
    everything = pd.concat(sets.values(), ignore_index=True)
    pairs = declared_pairs(sets)
    report = DatasetReport(
        counts=pd.DataFrame({name: {"prompts": len(f), "rules": f["rule_id"].nunique()} for name, f in sets.items()}).T,
        framing=balance(core, "framing"),
        persona_type=balance(core, "persona_type"),
        framing_by_variant=pd.crosstab(core["variant"], core["framing"]),
        lengths=length_by_part(core),
        twin_ratios=twin_length_ratios(sets["ihl_violations"], sets["lawful_twins"]),
        top_word_pairs=max_similarity_pairs(everything, 5, analyzer="word", exclude=pairs),
        top_char_pairs=max_similarity_pairs(everything, 5, analyzer="char", exclude=pairs),
    )
    problems = report.problems
    for result in (report.framing, report.persona_type):
        if result.p_value < BALANCE_ALPHA:
            problems.append(f"{result.column} depends on the part (χ² p = {result.p_value:.3g} < {BALANCE_ALPHA})")
    if report.framing.max_share > MAX_FRAMING_SHARE:
        problems.append(f"one framing makes up {report.framing.max_share:.0%} of a part (at most {MAX_FRAMING_SHARE:.0%})")
    if (report.framing_by_variant == 0).any().any():
        problems.append("a variant does not use every framing, so framing is confounded with variant")
    gap = report.lengths["gap_to_overall"].abs().max()
    if gap > MAX_PART_MEAN_WORDS_GAP:
        problems.append(f"a part's mean length is {gap:.1f} words from the overall mean (at most {MAX_PART_MEAN_WORDS_GAP})")
    low, high = TWIN_LENGTH_RATIO
    outside = report.twin_ratios[(report.twin_ratios < low) | (report.twin_ratios > high)]
    if len(outside):
        problems.append(f"{len(outside)} twins outside {low}-{high}× their violating prompt's length: {sorted(outside.index)[:10]}")
    for name, top, threshold in (
        ("word", report.top_word_pairs, WORD_SIMILARITY_THRESHOLD),
        ("character", report.top_char_pairs, CHAR_SIMILARITY_THRESHOLD),
    ):
        over = top[top["similarity"] >= threshold]
        if len(over):
            problems.append(
                f"near-duplicates by {name} TF-IDF ≥ {threshold}: "
                + ", ".join(f"{a}~{b} ({s:.2f})" for a, b, s in over.itertuples(index=False))
            )
    code = with_rules(sets["code_wrapped"], rules)
    if code["rule_id"].nunique() < MIN_CODE_RULES or code["part_number"].nunique() < 6:
        problems.append(
            f"code-wrapped prompts cover {code['rule_id'].nunique()} rules in {code['part_number'].nunique()} parts "
            f"(at least {MIN_CODE_RULES} rules in all 6)"
        )
    plain_variants = code["plain_prompt_id"].map(sets["ihl_violations"].set_index("prompt_id")["variant"]).value_counts()
    if len(plain_variants) < 2 or plain_variants.min() < 0.3 * len(code):
        problems.append(f"code-wrapped prompts come from variants {plain_variants.to_dict()} (each at least 30%)")
    if sets["ihl_violations"]["rule_id"].nunique() != N_RULES:
        problems.append("the core set does not cover every rule")
    return report
