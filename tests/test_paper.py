"""Prose and tables made from result tables."""

from __future__ import annotations

import pandas as pd

from ihl_lib.models import STUDY_MODELS
from ihl_lib.paper import rates_beside_paper


def test_rates_beside_study_keep_only_the_study_models_under_their_short_names():
    table = pd.DataFrame({"model": [STUDY_MODELS["o3-mini"], "local/smollm2-135m"], "condition": "baseline", "rate": [0.25, 0.5]})
    ours = rates_beside_paper(table, table.assign(rate=[0.1, 0.2]))
    assert ours.to_dict("records") == [
        {"model_key": "o3-mini", "metric": "refusal_rate", "condition": "baseline", "value": 25.0},
        {"model_key": "o3-mini", "metric": "helpful_refusal_rate", "condition": "baseline", "value": 10.0},
    ]
    assert rates_beside_paper(table.iloc[1:], table.iloc[1:]).empty
