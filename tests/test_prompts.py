"""System prompts and conditions."""

from __future__ import annotations

import pytest

from ihl_lib.prompts import (
    SAFETY_PROMPT_V1,
    TAILORED_BY_FAMILY,
    SystemPrompt,
    UnknownConditionError,
    known_conditions,
    model_family,
    register_condition,
    system_prompt_for,
)


def test_safety_prompt_names_the_law_and_asks_for_explained_refusals():
    text = SAFETY_PROMPT_V1.text
    for phrase in ("International Humanitarian Law", "Geneva Conventions", "Additional Protocols", "customary IHL",
                   "Human Rights", "refuse", "principle", "lawful alternative"):
        assert phrase in text, phrase
    assert len(text.split()) < 200  # short and high-level
    assert SAFETY_PROMPT_V1.version == "v1" and len(SAFETY_PROMPT_V1.sha256) == 64


def test_conditions_resolve_per_model():
    assert system_prompt_for("baseline", "local/smollm2-135m") is None
    assert system_prompt_for("intervention", "openai/gpt-4o") is SAFETY_PROMPT_V1
    assert system_prompt_for("tailored", "openai/o3-mini-2025-01-31") is TAILORED_BY_FAMILY["reasoning"]
    assert model_family("anthropic/claude-3-7-sonnet-20250219") == "structured"
    assert model_family("local/smollm2-135m") == "direct"
    with pytest.raises(UnknownConditionError, match="known"):
        system_prompt_for("nope", "m")


def test_tailored_variants_keep_the_standard_content():
    for prompt in TAILORED_BY_FAMILY.values():
        assert "Geneva Conventions" in prompt.text and "Human" in prompt.text and "lawful" in prompt.text
        assert prompt.sha256 != SAFETY_PROMPT_V1.sha256


def test_register_condition():
    register_condition("test-only", SystemPrompt("x", "v0", "Be careful."))
    assert "test-only" in known_conditions()
    assert system_prompt_for("test-only", "any").text == "Be careful."
    with pytest.raises(ValueError):
        register_condition("bad name!", SystemPrompt("x", "v0", "y"))
