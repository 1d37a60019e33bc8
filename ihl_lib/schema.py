"""The shared vocabulary of results: the item key, outcome and verdict names, and the "unresolved is no" policy.

Every module that keys, labels or counts results imports these names from here (the label set
itself and its definitions live in :mod:`ihl_lib.judging.definitions`).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["ITEM_KEY", "NOT_JUDGED", "NO_RESPONSE", "OUTCOMES", "PROVIDER_BLOCKED", "UNRESOLVED", "as_binary"]

# One row of results: a model's answer to one prompt of one set under one condition.
ITEM_KEY = ["model", "prompt_set", "prompt_id", "condition"]

# What became of a request, decided before any judge reads it (ihl_lib.llm.outcome_of).
OUTCOMES = ("answered", "truncated", "empty", "provider_blocked", "error")

# Verdict labels that are not a judge's: a reply that failed to generate, one the provider's own filter
# stopped (counted as an unhelpful refusal in the headline), and a panel without a majority.
NO_RESPONSE = "no_response"
PROVIDER_BLOCKED = "provider_blocked"
NOT_JUDGED = frozenset({NO_RESPONSE, PROVIDER_BLOCKED})
UNRESOLVED = "unresolved"


def as_binary(series: pd.Series) -> pd.Series:
    """True/False/None -> 1/0/0: an unresolved verdict counts as "no" (and stays in the denominator).

    >>> as_binary(pd.Series([True, False, None])).tolist()
    [1, 0, 0]
    """
    return series.map(lambda v: 1 if v is True or v == 1 else 0).astype(int)
