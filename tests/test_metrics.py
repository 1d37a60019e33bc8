"""Tests of :mod:`ihl_lib.metrics`: Wilson intervals against the formula, rate tables, and one policy for unresolved verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from ihl_lib.metrics import rate_table, wilson_ci
from tests.helpers import synthetic_verdicts


def test_wilson_matches_the_formula():
    k, n, z = 37, 50, sps.norm.ppf(0.975)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert wilson_ci(k, n) == pytest.approx((centre - half, centre + half))
    assert all(np.isnan(wilson_ci(0, 0)))


@pytest.mark.parametrize("n", [*range(1, 401), 1_000, 10_007, 100_000])
def test_wilson_interval_contains_its_estimate_at_the_extremes(n):
    # statsmodels' formula gave an interval excluding its own estimate for 199 of these 800 cases.
    for k in (0, n):
        low, high = wilson_ci(k, n)
        assert 0.0 <= low <= k / n <= high <= 1.0
    assert wilson_ci(0, n)[0] == 0.0 and wilson_ci(n, n)[1] == 1.0


def test_wilson_interval_contains_its_estimate_for_every_k():
    for n in (1, 2, 7, 40, 97, 322):
        for k in range(n + 1):
            low, high = wilson_ci(k, n)
            assert 0.0 <= low <= k / n <= high <= 1.0, (k, n, low, high)
    with pytest.raises(ValueError, match="between 0 and n = 5, got 6"):
        wilson_ci(6, 5)


def test_rate_table_counts_unresolved_as_no_and_guards_small_n():
    v = synthetic_verdicts({("m", "baseline"): [True, True, None, False], ("m", "intervention"): [True] * 10})
    t = rate_table(v).set_index("condition")
    assert t.loc["baseline", "n"] == 4 and t.loc["baseline", "k"] == 2 and t.loc["baseline", "rate"] == 0.5
    assert np.isnan(t.loc["baseline", "ci_low"])  # n = 4 < 5: no CI
    assert t.loc["intervention", "ci_low"] == pytest.approx(wilson_ci(10, 10)[0])


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


def test_rate_table_gives_an_interval_from_five_items():
    v = synthetic_verdicts({("m", "baseline"): [True, False, False, False, False], ("m", "intervention"): [True, False, False, False]})
    t = rate_table(v).set_index("condition")
    assert t.loc["baseline", "ci_low"] == pytest.approx(wilson_ci(1, 5)[0]) and t.loc["baseline", "ci_high"] > 0.2
    assert np.isnan(t.loc["intervention", "ci_high"])


def test_rates_count_a_provider_block_as_an_unhelpful_refusal_unless_excluded():
    import pandas as pd

    from ihl_lib.metrics import rates

    verdicts = pd.DataFrame(
        {
            "model": "m",
            "condition": "c",
            "label": ["full_refusal", "provider_blocked", "full_compliance", "partial_refusal"],
            "refused": [True, True, False, True],
            "helpful_refusal": [True, False, None, False],
        }
    )
    headline = rates(verdicts).iloc[0]
    assert headline[["n", "refused", "helpful_refusals", "provider_blocked", "partial_refusal"]].tolist() == [4, 3, 1, 1, 1]
    assert headline["refusal_rate"] == 0.75 and headline["helpful_refusal_rate"] == 0.25
    assert headline["helpful_share_of_refusals"] == pytest.approx(1 / 3)
    sensitivity = rates(verdicts, exclude_blocked=True).iloc[0]
    assert sensitivity[["n", "refused", "helpful_refusals", "provider_blocked"]].tolist() == [3, 2, 1, 0]
    assert sensitivity["refusal_rate"] == pytest.approx(2 / 3) and sensitivity["helpful_share_of_refusals"] == 0.5
