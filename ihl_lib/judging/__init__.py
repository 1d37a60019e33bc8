"""Judging: every stored response gets a vote from each judge of a panel, and the panel a verdict.

- :mod:`~ihl_lib.judging.definitions`: the label set, :class:`Vote`, the :class:`Judge` protocol.
- :mod:`~ihl_lib.judging.pattern`, :mod:`~ihl_lib.judging.learned`, :mod:`~ihl_lib.judging.keyword`:
  the judges that need no model (the default panel is pattern, learned, learned-char).
- :mod:`~ihl_lib.judging.llm_judge`: the LLM judge (any litellm model, or the embedded one).
- :mod:`~ihl_lib.judging.panel`: making judges from ids, voting, and the panel policy.
- :mod:`~ihl_lib.judging.store`: judging a run folder and reading its judgments back.
- :mod:`~ihl_lib.judging.agreement`: how far judges agree (Fleiss' and Cohen's kappa).
- :mod:`~ihl_lib.judging.audit`: the human audit sample.
- :mod:`~ihl_lib.judging.labelled_sets`, :mod:`~ihl_lib.judging.validation`: the human-labelled
  replies, and a judge's or panel's accuracy against them.
"""

from ihl_lib.judging.definitions import INVALID, ITEM_KEY, LABELS, REFUSAL_LABELS, Judge, Vote
from ihl_lib.judging.keyword import KeywordJudge, PrefixJudge
from ihl_lib.judging.llm_judge import JUDGE_PROMPTS, JudgePrompt, LLMJudge, parse_judge_output
from ihl_lib.judging.panel import (
    DEFAULT_PANEL,
    JUDGE_CANDIDATES,
    check_responses,
    judge_responses,
    make_judge,
    panel_verdicts,
    study_panel,
    vendor,
)
from ihl_lib.judging.store import judge_or_load, judge_run, load_audit, load_judgments, load_verdicts

__all__ = [
    "DEFAULT_PANEL",
    "INVALID",
    "ITEM_KEY",
    "JUDGE_CANDIDATES",
    "JUDGE_PROMPTS",
    "LABELS",
    "REFUSAL_LABELS",
    "Judge",
    "JudgePrompt",
    "LLMJudge",
    "PrefixJudge",
    "KeywordJudge",
    "Vote",
    "check_responses",
    "judge_or_load",
    "judge_responses",
    "judge_run",
    "load_audit",
    "load_judgments",
    "load_verdicts",
    "make_judge",
    "panel_verdicts",
    "parse_judge_output",
    "study_panel",
    "vendor",
]
