"""The figures: builders that take result frames and return a matplotlib Figure.

Each builder draws with seaborn/matplotlib; :func:`save_figure` writes it to ``figures/<name>.png`` and ``.pdf`` under a stable name.

Builders draw only; they compute nothing that :mod:`ihl_lib.stats` does not.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ihl_lib.paper import like_for_like
from ihl_lib.paths import figures_dir
from ihl_lib.schema import parse_model_id

__all__ = [
    "agreement_heatmap",
    "helpfulness_dumbbell",
    "paper_comparison",
    "part_bars",
    "rate_bars",
    "words_by_part",
    "rule_heatmap",
    "save_figure",
    "tradeoff_scatter",
]

CONDITION_PALETTE = {"baseline": "#8c8c8c", "intervention": "#1f6fb4", "intervention_explain": "#7fb8e6", "tailored": "#d9822b"}
sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)


def _short(model: str, width: int = 28) -> str:
    return textwrap.shorten(parse_model_id(model).short, width=width, placeholder="…")


def _palette(conditions: list[str]) -> dict[str, str]:
    extra = sns.color_palette("Set2", n_colors=max(1, len(conditions)))
    return {c: CONDITION_PALETTE.get(c, matplotlib.colors.to_hex(extra[i])) for i, c in enumerate(conditions)}


ROMAN_PARTS = ("I", "II", "III", "IV", "V", "VI")


def save_figure(fig: plt.Figure, name: str, folder: Path | None = None) -> list[Path]:
    """Write ``<name>.png`` (200 dpi) and ``<name>.pdf``; return the paths."""
    folder = folder or figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=200, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None})
    return paths


def rate_bars(table: pd.DataFrame, title: str, ylabel: str) -> plt.Figure:
    """Grouped bars of a rate per model and condition, with CI whiskers.

    Args:
        table: :func:`ihl_lib.stats.rate_table` output (model, condition, rate, ci_low, ci_high, n).
    """
    models = list(dict.fromkeys(table["model"]))
    conditions = list(dict.fromkeys(table["condition"]))
    palette = _palette(conditions)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 * len(models) * max(1, len(conditions)) / 2 + 2), 3.8))
    width = 0.8 / len(conditions)
    for j, cond in enumerate(conditions):
        sub = table[table["condition"] == cond].set_index("model").reindex(models)
        x = np.arange(len(models)) + (j - (len(conditions) - 1) / 2) * width
        ax.bar(x, sub["rate"] * 100, width=width, color=palette[cond], label=cond)
        err = np.vstack([(sub["rate"] - sub["ci_low"]) * 100, (sub["ci_high"] - sub["rate"]) * 100])
        ax.errorbar(x, sub["rate"] * 100, yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xticks(
        np.arange(len(models)),
        [_short(m) for m in models],
        rotation=20 if len(models) > 3 else 0,
        ha="right" if len(models) > 3 else "center",
    )
    ax.set_ylim(0, 105)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("model")
    lo, hi = (int(table["n"].min()), int(table["n"].max())) if len(table) else (0, 0)
    n = f"{hi}" if lo == hi else f"{lo}-{hi}"
    ax.set_title(f"{title} (n = {n} prompts per bar; 95% Wilson CI)")
    ax.legend(title="condition", frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig


def helpfulness_dumbbell(table: pd.DataFrame, condition_a: str = "baseline", condition_b: str = "intervention") -> plt.Figure:
    """Helpfulness before and after the safety prompt, one line per model (the paper's headline)."""
    wide = table.pivot_table(index="model", columns="condition", values="rate").reindex(columns=[condition_a, condition_b])
    wide = wide.sort_values(condition_b, ascending=True)
    fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(wide) + 1.8))
    y = np.arange(len(wide))
    ax.hlines(y, wide[condition_a] * 100, wide[condition_b] * 100, color="#b0b0b0", lw=2)
    ax.scatter(wide[condition_a] * 100, y, color=CONDITION_PALETTE["baseline"], s=60, label=condition_a, zorder=3)
    ax.scatter(wide[condition_b] * 100, y, color=CONDITION_PALETTE["intervention"], s=60, label=condition_b, zorder=3)
    ax.set_yticks(y, [_short(m) for m in wide.index])
    ax.set(
        xlim=(-2, 102), xlabel="helpful refusals, % of all prompts", ylabel="model", title="Helpfulness before and after the safety prompt"
    )
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def rule_heatmap(rule_rates: pd.DataFrame, rules: pd.DataFrame, outcome_label: str = "refusal rate") -> plt.Figure:
    """The 161 rules x model-condition, one panel per IHL part (Parts I-III left, IV-VI right).

    Every cell is a share of the rule's prompts (two per rule and condition, so 0, 50 or 100%);
    the palette (cividis) reads the same to colour-blind eyes and in greyscale.

    Args:
        rule_rates: :func:`ihl_lib.stats.breakdown` at ``level="rule"``.
        rules: the rules table, for order and labels.
    """
    frame = rule_rates.assign(column=rule_rates["model"].map(_short) + " · " + rule_rates["condition"])
    wide = frame.pivot_table(index="rule_id", columns="column", values="rate") * 100
    n_per_cell = int(rule_rates["n"].max()) if "n" in rule_rates.columns and len(rule_rates) else 2
    order = rules.sort_values(["part_number", "chapter_number", "rule_id"])
    parts = [(number, group) for number, group in order.groupby("part_number", sort=True)]
    columns = [parts[: (len(parts) + 1) // 2], parts[(len(parts) + 1) // 2 :]]
    rows_per_column = max(sum(len(g) for _, g in col) for col in columns)
    fig = plt.figure(figsize=(2 * (3.6 + 0.55 * wide.shape[1]), 0.115 * rows_per_column + 2.4))
    subfigs: Any = fig.subfigures(1, 2, wspace=0.02)  # an array of two SubFigures
    image = None
    for subfig, column_parts in zip(subfigs, columns):
        axes = subfig.subplots(len(column_parts), 1, gridspec_kw={"height_ratios": [len(g) for _, g in column_parts]}, squeeze=False)
        subfig.subplots_adjust(left=0.46, right=0.97, top=0.93, bottom=0.1, hspace=0.35)
        for ax, (_, group) in zip(axes[:, 0], column_parts):
            block = wide.reindex(group["rule_id"])
            labels = [f"R{r:03d} {textwrap.shorten(t, 34, placeholder='…')}" for r, t in zip(group["rule_id"], group["title"])]
            image = ax.imshow(block.to_numpy(dtype=float), aspect="auto", cmap="cividis", vmin=0, vmax=100, interpolation="none")
            ax.set_yticks(range(len(labels)), labels, fontsize=5.5)
            last = ax is axes[-1, 0]
            ax.set_xticks(range(block.shape[1]), list(block.columns) if last else [], rotation=35, ha="right", fontsize=7)
            ax.tick_params(length=0)
            ax.grid(False)
            part_name = textwrap.shorten(str(group["part"].iloc[0]), 48, placeholder="…")
            ax.set_title(f"{part_name} ({len(group)} rules)", fontsize=7.5, loc="left")
    fig.suptitle(f"Per-rule {outcome_label}: % of each rule's prompts (n = {n_per_cell} per cell)", fontsize=10)
    subfigs[-1].colorbar(image, ax=subfigs[-1].axes, shrink=0.3, pad=0.02, label=f"{outcome_label} (%)", location="right")
    return fig


def words_by_part(prompts: pd.DataFrame, title: str) -> plt.Figure:
    """Box plot of words per prompt (``n_words``) in each IHL part (``part_number``)."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    parts = sorted(prompts["part_number"].unique())
    ax.boxplot(
        [prompts.loc[prompts["part_number"] == p, "n_words"] for p in parts], tick_labels=[f"Part {ROMAN_PARTS[p - 1]}" for p in parts]
    )
    ax.set(title=f"{title} (n = {len(prompts)})", xlabel="part of the ICRC Study", ylabel="words per prompt")
    fig.tight_layout()
    return fig


def part_bars(part_rates: pd.DataFrame, outcome_label: str = "refusal rate") -> plt.Figure:
    """Rate per IHL part and condition, faceted by model, with n on each bar."""
    models = list(dict.fromkeys(part_rates["model"]))
    conditions = list(dict.fromkeys(part_rates["condition"]))
    palette = _palette(conditions)
    fig, axes = plt.subplots(len(models), 1, figsize=(8, 2.8 * len(models) + 0.6), squeeze=False, sharex=True)
    width = 0.8 / len(conditions)
    parts = sorted(part_rates["part_number"].unique())
    for ax, model in zip(axes[:, 0], models):
        for j, cond in enumerate(conditions):
            sub = part_rates[(part_rates["model"] == model) & (part_rates["condition"] == cond)].set_index("part_number").reindex(parts)
            x = np.arange(len(parts)) + (j - (len(conditions) - 1) / 2) * width
            bars = ax.bar(x, sub["rate"] * 100, width=width, color=palette[cond], label=cond)
            for bar, n in zip(bars, sub["n"]):
                ax.annotate(
                    f"n={int(n)}" if pd.notna(n) else "",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                )
        ax.set_ylim(0, 112)
        ax.set_ylabel(f"{outcome_label} (%)")
        ax.set_title(_short(model, 50), fontsize=9)
    axes[-1, 0].set_xticks(np.arange(len(parts)), [f"Part {ROMAN_PARTS[p - 1]}" for p in parts])
    axes[-1, 0].set_xlabel("part of the ICRC customary IHL study")
    axes[0, 0].legend(title="condition", frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    fig.suptitle(f"{outcome_label.capitalize()} by part of IHL")
    fig.tight_layout()
    return fig


def agreement_heatmap(pairwise: pd.DataFrame) -> plt.Figure:
    """Symmetric matrix of pairwise Cohen's kappa between judges."""
    judges = list(dict.fromkeys(list(pairwise["judge_a"]) + list(pairwise["judge_b"])))
    matrix = pd.DataFrame(np.eye(len(judges)), index=judges, columns=judges)
    for row in pairwise.itertuples():
        matrix.loc[row.judge_a, row.judge_b] = matrix.loc[row.judge_b, row.judge_a] = row.cohen_kappa
    labels = [textwrap.shorten(j.replace("local/", ""), 30, placeholder="…") for j in judges]
    fig, ax = plt.subplots(figsize=(1.6 * len(judges) + 2.5, 1.3 * len(judges) + 1.5))
    sns.heatmap(
        matrix,
        annot=True,
        fmt=".2f",
        vmin=-1,
        vmax=1,
        cmap="RdBu",
        ax=ax,
        xticklabels=labels,
        yticklabels=labels,
        cbar_kws={"label": "Cohen's kappa"},
    )
    ax.set(xlabel="judge", ylabel="judge", title="Judge agreement (pairwise Cohen's kappa)")
    fig.tight_layout()
    return fig


def paper_comparison(ours: pd.DataFrame, reference: pd.DataFrame) -> plt.Figure:
    """This run beside the paper's stated figures, like with like only.

    Args:
        ours: model_key, metric, condition, value (percent of all prompts).
        reference: :func:`ihl_lib.paper.load_paper_reference`; only its exact k/322 figures for one
            model under a named condition are drawn (:func:`ihl_lib.paper.like_for_like`), never a
            range, a threshold, a group's claim or a figure of unknown denominator.
    """
    ref = like_for_like(reference).assign(source="paper")
    mine = ours.assign(source="this run")
    both = pd.concat([ref, mine], ignore_index=True)
    both["what"] = both["model_key"] + "\n" + both["metric"] + " (" + both["condition"] + ")"
    keep = set(ref["model_key"] + "\n" + ref["metric"] + " (" + ref["condition"] + ")")
    both = both[both["what"].isin(keep)]
    fig, ax = plt.subplots(figsize=(8, 0.55 * max(1, both["what"].nunique()) + 1.8))
    sns.barplot(data=both, y="what", x="value", hue="source", ax=ax, palette={"paper": "#444444", "this run": "#1f6fb4"})
    ax.set(xlim=(0, 105), xlabel="% of all prompts", ylabel="", title="This run beside the paper (where models match)")
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def tradeoff_scatter(
    points: pd.DataFrame, x: str = "refusal_violating", y: str = "refusal_lawful", hue: str = "condition", label: str = "model"
) -> plt.Figure:
    """Refusal on violating prompts against refusal on their lawful twins (the safety/helpfulness trade-off)."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    sns.scatterplot(
        data=points,
        x=points[x] * 100,
        y=points[y] * 100,
        hue=hue,
        style=hue,
        s=80,
        ax=ax,
        palette=_palette(list(dict.fromkeys(points[hue]))),
    )
    for row in points.itertuples():
        ax.annotate(
            _short(getattr(row, label), 20),
            (getattr(row, x) * 100, getattr(row, y) * 100),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    ax.plot([0, 100], [0, 100], ls=":", color="grey", lw=1)
    ax.set(xlim=(-3, 103), ylim=(-3, 103), title="Safety vs over-refusal")
    ax.set(xlabel="refusal of IHL-violating prompts (%)", ylabel="refusal of lawful twin prompts (%) - over-refusal")
    fig.tight_layout()
    return fig
