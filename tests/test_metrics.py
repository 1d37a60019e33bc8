"""Agreement words (Landis & Koch 1977) used in notebooks and reports."""

from __future__ import annotations

import pytest

from ihl_lib.metrics import landis_koch
from ihl_lib.report import describe_agreement


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
