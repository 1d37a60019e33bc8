"""The shared vocabulary of results: item key, column, outcome and verdict names, model ids, the "unresolved is no" policy.

Every module that keys, labels or counts results imports these names from here (the label set
itself and its definitions live in :mod:`ihl_lib.judging.definitions`). Result files written
under older names are read through :func:`upgrade_legacy_names`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "HELPFUL_REFUSAL",
    "ITEM_KEY",
    "LEGACY_COLUMNS",
    "LEGACY_JUDGE_IDS",
    "ModelId",
    "NOT_JUDGED",
    "NO_RESPONSE",
    "OUTCOMES",
    "PROVIDER_BLOCKED",
    "REFUSED",
    "RESPONSE_COLUMNS",
    "UNRESOLVED",
    "VERDICT_COLUMNS",
    "as_binary",
    "parse_model_id",
    "require_columns",
    "upgrade_legacy_names",
]

# One row of results: a model's answer to one prompt of one set under one condition.
ITEM_KEY = ["model", "prompt_set", "prompt_id", "condition"]

# The panel's two yes/no verdicts on an item (and a judge's vote on the second).
REFUSED = "refused"  # full or partial refusal
HELPFUL_REFUSAL = "helpful_refusal"  # a refusal that gives its reason and grounds it in a principle

# The columns of a run's responses (responses.parquet), after the item key; the prompt set's own
# columns (persona, twin_of, ...) follow them.
RESPONSE_COLUMNS = {
    "rule_id": "the IHL rule the prompt is filed under",
    "variant": "the prompt's variant within its set (a, b, code, twin, illegitimate, control)",
    "system_prompt": "<name>/<version> of the condition's system prompt; empty for baseline",
    "system_prompt_sha256": "sha256 of that system prompt's text",
    "prompt": "the user prompt sent",
    "response": "the model's text (None when nothing came back)",
    "finish_reason": "why generation stopped, as the provider said",
    "outcome": "what became of the request before judging (OUTCOMES)",
    "budget_retried": "a reasoning model's reply was retried once at twice the token budget",
    "prompt_tokens": "tokens read",
    "completion_tokens": "tokens generated",
    "cost_usd": "litellm's price of the call, None when it knows none",
    "latency_s": "seconds the call took",
    "response_model": "the model id the server reported",
    "from_cache": "served from the response cache",
    "attempts": "calls made for it (0 when cached)",
    "error": "the error message, for a failed request",
    "error_kind": "the error's class (rate_limit, auth, content_policy, ...)",
    "cache_key": "the request's key in the response cache",
}

# The columns of the panel's verdicts (verdicts.parquet), after the item key; one ``label__<judge id>``
# column per judge, then the prompt set's columns the analyses need, follow them.
VERDICT_COLUMNS = {
    "label": "the panel's label: a judge label, unresolved, no_response or provider_blocked",
    REFUSED: "full or partial refusal, by majority (None when not judged)",
    HELPFUL_REFUSAL: "a refusal that gives its reason and a principle, by majority",
    "cites_law": "the reply cites a body of law or a named principle, by majority",
    "harmful_code_returned": "the reply returns code that does what was asked, by majority",
    "n_valid_votes": "votes that gave a label",
    "unanimous": "every judge gave the same valid label",
}

# What became of a request, decided before any judge reads it (ihl_lib.llm.outcome_of).
OUTCOMES = ("answered", "truncated", "empty", "provider_blocked", "error")

# Verdict labels that are not a judge's: a reply that failed to generate, one the provider's own filter
# stopped (counted as an unhelpful refusal in the headline), and a panel without a majority.
NO_RESPONSE = "no_response"
PROVIDER_BLOCKED = "provider_blocked"
NOT_JUDGED = frozenset({NO_RESPONSE, PROVIDER_BLOCKED})
UNRESOLVED = "unresolved"

# Names that result and audit files written before the vocabulary was settled (before v0.2) use.
LEGACY_COLUMNS = {
    "helpful": HELPFUL_REFUSAL,  # the panel's verdict column
    "human_helpful": "human_helpful_refusal",  # the audit sheet's human column
    "should_help": "should_comply",  # carried from the illegitimate-rules prompt set
}
LEGACY_JUDGE_IDS = {"rules": "keyword"}  # the keyword judge; "rules" are the 161 IHL rules


# The version of a judge's instructions: what follows the last "::" of a judge id, unless it is part of an
# IPv6 server address ("[::1]:8000" leaves "1]:8000", which holds a "]" or ":"). A misspelt version is
# still read as a version, so that it is refused by name, never taken into the model's name.
_JUDGE_VERSION = re.compile(r"^[^/:\]@]+$")


@dataclass(frozen=True)
class ModelId:
    """A model as runs and results name it: ``<provider>/<name>[@<server>]``, and for an LLM judge ``::<version>``.

    Attributes:
        provider: litellm's provider (``openai``, ``together_ai``, ``local``); empty if none is given.
        name: the model's name at that provider (may hold a ``/``: ``meta-llama/Llama-3.3-70B-Instruct-Turbo``).
        server: a self-hosted server's URL (after ``@``), or None.
        version: an LLM judge's instructions version (after ``::``), or None.
    """

    provider: str
    name: str
    server: str | None = None
    version: str | None = None

    @property
    def litellm_id(self) -> str:
        """``<provider>/<name>``: what litellm is asked for."""
        return f"{self.provider}/{self.name}" if self.provider else self.name

    @property
    def short(self) -> str:
        """The name's last part, for labels: ``Llama-3.3-70B-Instruct-Turbo``."""
        return self.name.rsplit("/", 1)[-1]


def parse_model_id(text: str) -> ModelId:
    """Split a model id, a model label with its server, or a judge id into its parts.

    >>> parse_model_id("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo").short
    'Llama-3.3-70B-Instruct-Turbo'
    >>> parse_model_id("openai/judge@http://[::1]:8000::judge-v1")
    ModelId(provider='openai', name='judge', server='http://[::1]:8000', version='judge-v1')
    """
    head, sep, version = text.strip().rpartition("::")
    if not sep or not _JUDGE_VERSION.match(version):
        head, version = text.strip(), ""
    model, _, server = head.partition("@")
    provider, slash, name = model.partition("/")
    if not slash:
        provider, name = "", model
    return ModelId(provider, name, server or None, version or None)


def upgrade_legacy_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A result frame with older column names and judge ids renamed to the current ones.

    Columns named ``label__<judge id>`` (one judge's label in the verdicts) follow the judge's id.

    >>> upgrade_legacy_names(pd.DataFrame({"helpful": [True], "judge_id": ["rules"]})).columns.tolist()
    ['helpful_refusal', 'judge_id']
    """
    renamed = {old: new for old, new in LEGACY_COLUMNS.items() if old in frame.columns and new not in frame.columns}
    renamed.update({f"label__{old}": f"label__{new}" for old, new in LEGACY_JUDGE_IDS.items() if f"label__{old}" in frame.columns})
    frame = frame.rename(columns=renamed)
    if "judge_id" in frame.columns:
        frame = frame.assign(judge_id=frame["judge_id"].replace(LEGACY_JUDGE_IDS))
    return frame


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str = "verdicts") -> None:
    """Raise ValueError naming every column of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the {what} frame lacks column(s) {missing}")


def as_binary(series: pd.Series) -> pd.Series:
    """True/False/None -> 1/0/0: an unresolved verdict counts as "no" (and stays in the denominator).

    >>> as_binary(pd.Series([True, False, None])).tolist()
    [1, 0, 0]
    """
    return series.map(lambda v: 1 if v is True or v == 1 else 0).astype(int)
