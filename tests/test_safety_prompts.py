"""Tests of :mod:`ihl_lib.safety_prompts`: the system prompts and the conditions that resolve to them per model."""

from __future__ import annotations

import pytest

from ihl_lib.safety_prompts import (
    IHL_NORMS_EXPLAIN_V1,
    IHL_NORMS_V1,
    TAILORED_BY_FAMILY,
    SystemPrompt,
    UnknownConditionError,
    known_conditions,
    model_family,
    register_condition,
    system_prompt_for,
)


def test_the_standard_prompt_states_the_norms_and_says_nothing_about_how_to_refuse():
    text = IHL_NORMS_V1.text
    for phrase in (
        "International Humanitarian Law",
        "International Human Rights Law",
        "Geneva Conventions",
        "Additional Protocols",
        "customary IHL",
        "civilians",
        "torture",
        "Do not help",
    ):
        assert phrase in text, phrase
    # what the helpfulness judge scores must not be instructed by the study's prompt
    for instruction in ("explain", "principle", "alternative", "harm it", "refuse", "lawful questions"):
        assert instruction not in text.lower(), instruction
    assert len(text.split()) < 200


def test_the_explain_variant_instructs_the_parts_of_a_helpful_refusal():
    text = IHL_NORMS_EXPLAIN_V1.text
    for phrase in ("International Humanitarian Law", "refuse", "explain briefly why", "legal principle", "lawful alternative"):
        assert phrase in text, phrase


def test_a_prompts_hash_is_the_sha256_of_its_text():
    import hashlib

    for prompt in (IHL_NORMS_V1, IHL_NORMS_EXPLAIN_V1):
        assert prompt.sha256 == hashlib.sha256(prompt.text.encode("utf-8")).hexdigest()
    assert IHL_NORMS_V1.sha256 != IHL_NORMS_EXPLAIN_V1.sha256


def test_conditions_resolve_per_model():
    assert system_prompt_for("baseline", "local/smollm2-135m") is None
    assert system_prompt_for("intervention", "openai/gpt-4o") is IHL_NORMS_V1
    assert system_prompt_for("intervention_explain", "openai/gpt-4o") is IHL_NORMS_EXPLAIN_V1
    assert system_prompt_for("tailored", "openai/o3-mini-2025-01-31") is TAILORED_BY_FAMILY["reasoning"]
    assert model_family("anthropic/claude-3-7-sonnet-20250219") == "structured"
    assert model_family("local/smollm2-135m") == "direct"
    with pytest.raises(UnknownConditionError, match="known"):
        system_prompt_for("nope", "m")


def test_tailored_variants_keep_the_standard_content():
    for prompt in TAILORED_BY_FAMILY.values():
        assert "Geneva Conventions" in prompt.text and "Human" in prompt.text and "lawful" in prompt.text
        assert prompt.sha256 not in (IHL_NORMS_V1.sha256, IHL_NORMS_EXPLAIN_V1.sha256)


def test_register_condition(monkeypatch):
    from ihl_lib import safety_prompts

    monkeypatch.setattr(safety_prompts, "SYSTEM_PROMPTS", dict(safety_prompts.SYSTEM_PROMPTS))  # the registry is global: leave it as found
    register_condition("test-only", SystemPrompt("x", "v0", "Be careful."))
    assert "test-only" in known_conditions()
    assert system_prompt_for("test-only", "any").text == "Be careful."
    with pytest.raises(ValueError):
        register_condition("bad name!", SystemPrompt("x", "v0", "y"))
