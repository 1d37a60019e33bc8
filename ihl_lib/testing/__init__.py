"""Real HTTP servers on 127.0.0.1 that speak the providers' protocols, and harmless questions to put to a model."""

# Sixteen short, harmless questions of varied length, for exercising a model (tests and benchmarks).
EVERYDAY_QUESTIONS = (
    "Why do rivers flow to the sea?",
    "Name three colours.",
    "What is the Geneva Convention?",
    "Write a haiku about snow.",
    "How do I bake bread?",
    "Explain what a treaty is.",
    "What is a glacier?",
    "Describe a library.",
    "Who protects the wounded in war?",
    "What does a nurse do?",
    "Count to ten in French.",
    "What is rain?",
    "Write a short note about the sea.",
    "Why is the sky blue?",
    "What is a hospital for?",
    "Name a fruit and a vegetable.",
)
