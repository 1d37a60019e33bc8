"""Agreement words (Landis & Koch 1977) used in notebooks and reports."""

from __future__ import annotations

import pytest

from ihl_lib.judging.agreement import landis_koch
from ihl_lib.prose import describe_agreement


@pytest.mark.parametrize(
    "kappa,word",
    [
        (-0.3, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.21, "fair"),
        (0.4, "fair"),
        (0.41, "moderate"),
        (0.6, "moderate"),
        (0.61, "substantial"),
        (0.8, "substantial"),
        (0.81, "almost perfect"),
        (1.0, "almost perfect"),
        (float("nan"), "undefined"),
    ],
)
def test_landis_koch_bands(kappa, word):
    assert landis_koch(kappa) == word


def test_agreement_sentence_uses_the_same_words():
    import pandas as pd

    text = describe_agreement({"fleiss_kappa": 0.15, "unanimous_share": 0.5, "n_items": 10, "invalid_votes": pd.Series({"a": 0})})
    assert "0.15, slight on the Landis-Koch scale" in text


def test_rates_and_the_paired_tests_count_an_unresolved_verdict_the_same_way():
    """One policy, in one place (ihl_lib.schema.as_binary): unresolved is "no" and stays in n."""
    import pandas as pd

    from ihl_lib.metrics import rates
    from ihl_lib.stats import rate_table

    verdicts = pd.DataFrame(
        {
            "model": "m",
            "condition": "c",
            "label": ["full_refusal", "unresolved", "full_compliance"],
            "refused": [True, None, False],
            "helpful_refusal": [False, None, None],
        }
    )
    assert rates(verdicts).loc[0, ["n", "refused"]].tolist() == [3, 1]
    assert rate_table(verdicts, "refused").loc[0, ["n", "k"]].tolist() == [3, 1]
