"""Tests of :mod:`ihl_lib.plots`: each figure builds from a small synthetic frame, with the expected axes and labels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from ihl_lib import plots
from ihl_lib.data import load_rules
from ihl_lib.metrics import rate_table
from ihl_lib.paths import data_dir
from ihl_lib.stats import breakdown


@pytest.fixture(scope="module")
def verdicts() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for model in ("openai/gpt-4o-2024-08-06", "local/smollm2-135m"):
        for condition, p in (("baseline", 0.4), ("intervention", 0.8)):
            for i in range(322):
                rows.append(
                    {
                        "model": model,
                        "condition": condition,
                        "prompt_set": "ihl_violations",
                        "prompt_id": f"R{i // 2 + 1:03d}-{'ab'[i % 2]}",
                        "rule_id": i // 2 + 1,
                        "refused": bool(rng.random() < p),
                        "helpful_refusal": bool(rng.random() < p / 2),
                    }
                )
    return pd.DataFrame(rows)


def test_rate_bars(verdicts, tmp_path):
    fig = plots.rate_bars(rate_table(verdicts), "Refusal rate", "refused (% of prompts)")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "refused (% of prompts)" and ax.get_xlabel() == "model"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["smollm2-135m", "gpt-4o-2024-08-06"]  # rate_table sorts by model id
    assert "n = 322" in ax.get_title()
    # the bars are the rates in percent, baseline bars first, models in tick order; the whiskers span the Wilson CI
    table = rate_table(verdicts).set_index(["condition", "model"])
    order = [(c, m) for c in ("baseline", "intervention") for m in ("local/smollm2-135m", "openai/gpt-4o-2024-08-06")]
    assert [p.get_height() for p in ax.patches] == pytest.approx([100 * table.loc[key, "rate"] for key in order])
    whiskers = [segment for collection in ax.collections for segment in collection.get_segments()]
    assert [y for lo, hi in whiskers for y in (lo[1], hi[1])] == pytest.approx(
        [100 * table.loc[key, bound] for key in order for bound in ("ci_low", "ci_high")]
    )
    paths = plots.save_figure(fig, "refusal", tmp_path)
    assert all(p.stat().st_size > 1000 for p in paths) and {p.suffix for p in paths} == {".png", ".pdf"}


def test_rate_bars_draw_groups_at_zero_and_at_one_hundred_percent():
    # `make reproduce SAMPLE=20` once died here: 0 refusals of 40 gave a Wilson lower bound of
    # 6.9e-18, above the rate, and matplotlib refuses the negative error bar.
    rows = [
        {"model": "local/smollm2-135m", "condition": condition, "prompt_id": f"p{i}", "refused": refused}
        for condition, refused in (("baseline", False), ("intervention", True))
        for i in range(40)
    ]
    table = rate_table(pd.DataFrame(rows))
    assert list(table["rate"]) == [0.0, 1.0]
    ax = plots.rate_bars(table, "Refusal rate", "refused (% of prompts)").axes[0]
    assert [p.get_height() for p in ax.patches] == [0.0, 100.0]
    (low_0, high_0), (low_1, high_1) = [segment for collection in ax.collections for segment in collection.get_segments()]
    # the whiskers start at the bar: 0% goes up to the Wilson upper bound, 100% down to the lower one
    assert (low_0[1], high_0[1]) == pytest.approx((0.0, 100 * table["ci_high"].iloc[0]))
    assert (low_1[1], high_1[1]) == pytest.approx((100 * table["ci_low"].iloc[1], 100.0))


def test_helpfulness_dumbbell():
    table = pd.DataFrame(
        {"model": ["m1", "m2", "m1", "m2"], "condition": ["baseline"] * 2 + ["intervention"] * 2, "rate": [0.1, 0.2, 0.5, 0.3]}
    )
    ax = plots.helpfulness_dumbbell(table).axes[0]
    assert ax.get_xlabel() == "helpful refusals, % of all prompts"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["baseline", "intervention"]
    # models from the lowest intervention rate up (m2: 30%, m1: 50%); each point at its own condition's rate
    assert [t.get_text() for t in ax.get_yticklabels()] == ["m2", "m1"]
    points = {c.get_label(): c.get_offsets().tolist() for c in ax.collections if c.get_label() in ("baseline", "intervention")}
    assert points == {"baseline": [[20.0, 0.0], [10.0, 1.0]], "intervention": [[30.0, 0.0], [50.0, 1.0]]}


def test_rule_heatmap_has_161_rows_in_part_order_one_panel_per_part(verdicts):
    rules = load_rules()
    table = breakdown(verdicts, rules, level="rule")
    fig = plots.rule_heatmap(table, rules)
    panels = [ax for ax in fig.axes if ax.get_images()]
    labels = [t.get_text() for ax in panels for t in ax.get_yticklabels()]
    assert len(panels) == 6 and len(labels) == 161 and labels[0].startswith("R001") and labels[-1].startswith("R161")
    assert [int(label[1:4]) for label in labels] == sorted(rules.sort_values(["part_number", "chapter_number", "rule_id"])["rule_id"])
    # what is drawn is the rate, in percent, rule by rule
    first = panels[0].get_images()[0].get_array()
    wide = table.assign(column=table["model"].map(plots._short) + " · " + table["condition"]).pivot_table(
        index="rule_id", columns="column", values="rate"
    )
    assert first[0].tolist() == (wide.loc[1] * 100).tolist()
    columns = [t.get_text() for t in panels[2].get_xticklabels()]
    assert len(columns) == 4 and all(" · " in c for c in columns)


def test_part_bars_show_n(verdicts):
    fig = plots.part_bars(breakdown(verdicts, load_rules(), level="part"))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "n=48" in texts and "n=104" in texts
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels()] == [f"Part {r}" for r in ["I", "II", "III", "IV", "V", "VI"]]


def test_agreement_heatmap():
    pairwise = pd.DataFrame(
        {
            "judge_a": ["keyword", "keyword", "prefix"],
            "judge_b": ["prefix", "local/x::v1", "local/x::v1"],
            "cohen_kappa": [0.5, 0.1, -0.2],
            "n": [10, 10, 10],
            "agreement": [0.8, 0.5, 0.3],
        }
    )
    fig = plots.agreement_heatmap(pairwise)
    values = sorted(t.get_text() for t in fig.axes[0].texts)
    assert values == sorted(["1.00", "0.50", "0.10", "0.50", "1.00", "-0.20", "0.10", "-0.20", "1.00"])


def test_paper_comparison_plots_only_like_with_like():
    from ihl_lib.paper import load_paper_reference

    ref = load_paper_reference()
    ours = pd.DataFrame(
        {
            "model_key": ["o3-mini", "claude-3-7-sonnet"],
            "metric": ["helpful_refusal_rate", "explanatory_refusals"],
            "condition": ["baseline", "baseline"],
            "value": [12.0, 40.0],
        }
    )
    ax = plots.paper_comparison(ours, ref).axes[0]
    assert ax.get_xlabel() == "% of all prompts"
    rows = [t.get_text() for t in ax.get_yticklabels()]
    # the four exact k/322 figures with a named condition; never S01 (condition not named), a range, a threshold,
    # or Claude-3.7's 80% of unknown denominator
    assert sorted(r.split("\n")[0] for r in rows) == ["claude-3-5-sonnet", "claude-3-5-sonnet", "o3-mini", "o3-mini"]
    widths = sorted(round(p.get_width(), 2) for p in ax.patches if p.get_width() > 0)
    assert widths == [7.76, 12.0, 24.53, 32.3, 98.45]


def test_tradeoff_scatter():
    points = pd.DataFrame(
        {"model": ["a", "a"], "condition": ["baseline", "intervention"], "refusal_violating": [0.5, 0.9], "refusal_lawful": [0.1, 0.3]}
    )
    ax = plots.tradeoff_scatter(points.assign(model=["a", "b"])).axes[0]
    assert "over-refusal" in ax.get_ylabel() and "violating" in ax.get_xlabel()
    # x is the refusal of violating prompts, y of their lawful twins, in percent; each point named by its model
    assert ax.collections[0].get_offsets().tolist() == [[50.0, 10.0], [90.0, 30.0]]
    assert [(t.get_text(), t.xy) for t in ax.texts] == [("a", (50.0, 10.0)), ("b", (90.0, 30.0))]


def test_the_figure_index_lists_every_figure_a_notebook_draws():
    import re

    from ihl_lib.notebooks import NOTEBOOK_DIR

    drawn = {}
    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        for name in re.findall(r'save_figure\(.*, \\"([a-z_]+)\\"\)', path.read_text(encoding="utf-8")):
            drawn[name] = path.name
    index = (data_dir().parent / "figures" / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([a-z_]+)` \| .+ \| `(\d\d_[a-z_]+\.ipynb)` \|$", index, flags=re.M))
    assert listed == drawn


def test_words_by_part_draws_one_box_per_part_with_n_in_the_title():
    prompts = pd.DataFrame({"part_number": [1, 1, 2, 6], "n_words": [10, 20, 30, 40]})
    ax = plots.words_by_part(prompts, "Core set").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Part I", "Part II", "Part VI"] and ax.get_title() == "Core set (n = 4)"
    assert ax.get_ylabel() == "words per prompt"
