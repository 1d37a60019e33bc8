"""Tests of :mod:`ihl_lib.safety_prompts`: the system prompts and the conditions that resolve to them per model."""

from __future__ import annotations

import pytest

from ihl_lib.models import STUDY_MODELS
from ihl_lib.provenance import text_sha256
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


# A prompt's text is fixed by its (name, version): editing the text without a new version would let a changed prompt
# pass for the old one in every manifest. The hashes of the texts the reference run was made with, and of the others.
PINNED_SHA256 = {
    ("ihl_norms", "v1"): "4521e68f5405751a57c895f102cd870660ee336d6b714e1a8dac0de93c1695ea",
    ("ihl_norms_explain", "v1"): "36a274660b8905ddfc833c457fa8ca60d364da3fc5191269733ed6e4bd48c87c",
    ("ihl_safety_reasoning", "v1"): "bd1ca2c6e6e0903779cacd94d5ee13b116cce928fff5faae872993a7efeb1e30",
    ("ihl_safety_structured", "v1"): "629878f84d1039f92f06fa4ecd3981a0897a653134179bf878bcb355fcfebbd4",
    ("ihl_safety_direct", "v1"): "51fb053f26f372f77f734f59964aa924ecbfd5a31cff42ca8713db3c2035f36d",
}


def test_a_prompts_text_never_changes_under_the_same_version():
    prompts = (IHL_NORMS_V1, IHL_NORMS_EXPLAIN_V1, *TAILORED_BY_FAMILY.values())
    assert {(p.name, p.version): p.sha256 for p in prompts} == PINNED_SHA256
    from ihl_lib.runs import REFERENCE_RUN, load_manifest

    recorded = [e for by_model in load_manifest(REFERENCE_RUN)["conditions"].values() for e in by_model.values() if e is not None]
    assert len(recorded) == 3  # intervention, intervention_explain, tailored
    for entry in recorded:
        assert PINNED_SHA256[(entry["name"], entry["version"])] == entry["sha256"] == text_sha256(entry["text"])


def test_conditions_resolve_per_model():
    assert system_prompt_for("baseline", "local/smollm2-135m") is None
    assert system_prompt_for("intervention", "openai/gpt-4o") is IHL_NORMS_V1
    assert system_prompt_for("intervention_explain", "openai/gpt-4o") is IHL_NORMS_EXPLAIN_V1
    assert system_prompt_for("tailored", "openai/o3-mini-2025-01-31") is TAILORED_BY_FAMILY["reasoning"]
    assert model_family("anthropic/claude-3-7-sonnet-20250219") == "structured"
    assert model_family("local/smollm2-135m") == "direct"
    assert {alias: model_family(model) for alias, model in STUDY_MODELS.items()} == {
        "o3-mini": "reasoning",
        "gpt-4o": "structured",
        "claude-3-5-sonnet": "structured",
        "claude-3-7-sonnet": "structured",
        "gemini-2.0-flash": "structured",
        "llama-3.3-70b-instruct": "direct",
        "mistral-large": "direct",
        "qwen-2.5-72b-instruct": "direct",
    }
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
    for bad in ("bad name!", "bad name", "", "tailored/v2"):
        with pytest.raises(ValueError, match="condition names are letters"):
            register_condition(bad, SystemPrompt("x", "v0", "y"))
    register_condition("under_score-and-dash2", lambda model: None)
    assert system_prompt_for("under_score-and-dash2", "any") is None
