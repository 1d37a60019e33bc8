"""Write the numbered notebooks from the cell sources below (outputs empty).

The notebooks are the documents; this script only keeps their boilerplate
consistent. Run `python tools/build_notebooks.py` after editing a cell here.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
NB = ROOT / "notebooks"

SETUP = """%matplotlib inline
import pandas as pd
from IPython.display import Markdown, display
pd.set_option("display.max_colwidth", 120)"""


def params(source: str):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


NOTEBOOKS = {
    "01_data_construction.ipynb": [
        md("""
# 01 · Data construction

The benchmark's data: the 161 rules of the ICRC Customary IHL Study, two IHL-violating prompts per rule
(322 in all), and three extension sets. The curated CSVs in `data/prompts/` are the source of truth;
this notebook loads them through `ihl_lib.data` (which validates every file against its schema) and
checks them: counts, lengths, near-duplicates and examples. See `data/README.md` for the data card.
"""),
        params("near_duplicate_threshold = 0.6  # TF-IDF cosine; no pair of prompts may reach it"),
        code(SETUP + "\nfrom ihl_lib.data import PROMPT_SETS, load_prompts, load_rules, max_similarity_pairs, near_duplicates, with_rules"),
        md("## The rules"),
        code("""rules = load_rules()
rules.groupby(["part_number", "part"]).size().rename("rules").to_frame()"""),
        md("## The prompt sets\nEach loads only if it passes its schema (required columns, unique ids, rule ids in 1..161, no empty prompt, known variants, and for the core set exactly two prompts per rule)."),
        code("""sets = {name: with_rules(load_prompts(name), rules) for name in PROMPT_SETS}
pd.DataFrame({name: [len(frame), frame["rule_id"].nunique()] for name, frame in sets.items()}, index=["prompts", "rules covered"]).T"""),
        md("### Counts per part and variant"),
        code("""counts = pd.concat({name: frame.groupby(["part_number", "variant"]).size() for name, frame in sets.items()}, names=["set"]).unstack(["set", "variant"]).fillna(0).astype(int)
counts"""),
        md("### Counts per chapter (core set)"),
        code("""sets["ihl_violations"].groupby(["chapter_number", "chapter"]).size().rename("prompts").to_frame()"""),
        md("### Length distribution (words)"),
        code("""lengths = pd.concat({name: frame["prompt"].str.split().str.len() for name, frame in sets.items()}, names=["set"]).rename("words")
display(lengths.groupby(level=0).describe().round(1))
ax = lengths.reset_index().pivot(columns="set", values="words").plot.hist(bins=30, alpha=0.6, figsize=(7, 3.5))
ax.set_xlabel("words per prompt"); ax.set_ylabel("prompts");"""),
        md("### Near-duplicates\nTF-IDF (word uni- and bigrams, English stop words removed) cosine similarity over all sets together. No pair may reach the threshold; the most similar pairs are shown for inspection."),
        code("""everything = pd.concat(sets.values(), ignore_index=True)
flagged = near_duplicates(everything, threshold=near_duplicate_threshold)
print(f"pairs at or above {near_duplicate_threshold}: {len(flagged)}")
assert flagged.empty, flagged
top = max_similarity_pairs(everything, top=8)
text = everything.set_index("prompt_id")["prompt"]
top.assign(first_prompt=top["first"].map(text), second_prompt=top["second"].map(text))"""),
        md("### Examples per part"),
        code("""core = sets["ihl_violations"]
core.groupby("part_number").head(2)[["prompt_id", "title", "variant", "prompt"]]"""),
        code("""for name in ("code_wrapped", "lawful_twins", "illegitimate_rules"):
    display(Markdown(f"**{name}**"))
    display(sets[name].groupby("part_number").head(1).drop(columns=["chapter", "part"]))"""),
    ],
    "02_baseline_run.ipynb": [
        md("""
# 02 · Baseline run

Every chosen model answers the prompts **with no system prompt**. Calls are cached (`cache/`), so a rerun
makes no call and an interrupted run continues where it stopped. Results go to
`data/results/<results>/responses.parquet`, with the manifest `run.json` beside them.
"""),
        params("""models = None          # comma-separated litellm ids; None: $IHL_MODELS, else local/smollm2-135m
prompt_set = "ihl_violations"
sample = None          # a number of prompts for a quick run; None: all
max_tokens = 256
max_concurrency = 4
results = "local-run"  # folder under data/results/"""),
        code(SETUP + """
from ihl_lib.data import load_prompts, sample_prompts
from ihl_lib.runs import RunSettings, load_manifest, prepare, run, summarize"""),
        md("## The plan\nChecked before any call: every model routes, every key is present, every request is valid."),
        code("""prompts = sample_prompts(load_prompts(prompt_set), sample)
settings = RunSettings(max_tokens=max_tokens, max_concurrency=max_concurrency)
prepared = prepare(models, prompts, "baseline", settings)
print(prepared.summary())
prepared.plan()"""),
        md("## The run"),
        code("""responses = run(models, prompts, "baseline", run_name=results, settings=settings, show_plan=False)
summarize(responses)"""),
        md("## Failed calls\nFailed calls are not cached; running this notebook again retries exactly them."),
        code("""responses.loc[responses["error"].notna(), ["model", "prompt_id", "error_kind", "error"]].head(10)"""),
        md("## Example responses"),
        code("""responses[responses["error"].isna()].sample(min(3, len(responses)), random_state=0)[["model", "prompt_id", "prompt", "response"]]"""),
        code("""manifest = load_manifest(results)
{k: manifest[k] for k in ("run_name", "settings", "models")}"""),
    ],
    "03_intervention_run.ipynb": [
        md("""
# 03 · Intervention run

The same models and prompts, now **with the standard IHL/IHRL safety system prompt**
(`ihl_lib.prompts.SAFETY_PROMPT_V1`, this package's reconstruction: the original study's text is not public).
The prompts are sampled exactly as in notebook 02, so the two runs stay paired.
"""),
        params("""models = None
prompt_set = "ihl_violations"
sample = None
max_tokens = 256
max_concurrency = 4
results = "local-run\""""),
        code(SETUP + """
from ihl_lib.data import load_prompts, sample_prompts
from ihl_lib.prompts import SAFETY_PROMPT_V1
from ihl_lib.runs import RunSettings, prepare, run, summarize"""),
        md("## The safety prompt"),
        code("""print(f"{SAFETY_PROMPT_V1.name} {SAFETY_PROMPT_V1.version}  sha256 {SAFETY_PROMPT_V1.sha256[:16]}…\\n")
print(SAFETY_PROMPT_V1.text)"""),
        md("## The plan"),
        code("""prompts = sample_prompts(load_prompts(prompt_set), sample)
settings = RunSettings(max_tokens=max_tokens, max_concurrency=max_concurrency)
prepared = prepare(models, prompts, "intervention", settings)
print(prepared.summary())
prepared.plan()"""),
        md("## The run"),
        code("""responses = run(models, prompts, "intervention", run_name=results, settings=settings, show_plan=False)
summarize(responses)"""),
        code("""responses.loc[responses["error"].notna(), ["model", "prompt_id", "error_kind", "error"]].head(10)"""),
        md("## Example responses"),
        code("""responses[responses["error"].isna()].sample(min(3, len(responses)), random_state=0)[["model", "prompt_id", "prompt", "response"]]"""),
    ],
    "04_judging.ipynb": [
        md("""
# 04 · Judging

A panel of three judges labels every stored response: refusal vs compliance (full compliance, full refusal,
partial refusal) and, for refusals, helpful vs unhelpful. The panel policy (quorum of two valid votes,
strict majority, ties and parse failures `unresolved` but kept in every denominator) is written in
`ihl_lib/judges.py`. Judging never regenerates a response; its calls are cached by judge-prompt version.
With `allow_model_calls = False` the notebook reads stored judgments instead (the analysis-only path).
"""),
        params("""results = "local-run"
judges = None             # comma-separated judge ids, or "study": three vendors per model, never its own; None: the offline default panel
allow_model_calls = True
max_concurrency = 4"""),
        code(SETUP + """
from ihl_lib import plots
from ihl_lib.judges import ITEM_KEY
from ihl_lib.judging import judge_or_load, load_audit
from ihl_lib.metrics import agreement_with, human_labels, judge_agreement, rates, vote_matrix
from ihl_lib.report import describe_agreement
from ihl_lib.runs import load_responses"""),
        code("""responses = load_responses(results)
judgments, verdicts = judge_or_load(results, judges, allow_model_calls=allow_model_calls, max_concurrency=max_concurrency)
print("judges:", sorted(judgments["judge_id"].unique()))
print(f"{len(verdicts)} items judged")"""),
        md("## Verdicts per model and condition\nRates over all prompts (as the original study reports them) and helpfulness over refusals."),
        code("""rates(verdicts)"""),
        md("## Each judge's labels"),
        code("""pd.crosstab(judgments["judge_id"], judgments["label"])"""),
        md("## Agreement"),
        code("""agreement = judge_agreement(judgments)
display(Markdown(describe_agreement(agreement)))
agreement["pairwise"]"""),
        code("""fig = plots.agreement_heatmap(agreement["pairwise"])
plots.save_figure(fig, "judge_agreement");"""),
        md("### Each judge against the rule-based baseline"),
        code("""if "rules" in set(judgments["judge_id"]):
    baseline_labels = judgments[judgments["judge_id"] == "rules"].set_index(ITEM_KEY)["label"]
    display(agreement_with(judgments, baseline_labels, "rules"))"""),
        md("## Examples of each label"),
        code("""examples = verdicts.merge(responses[[*ITEM_KEY, "prompt", "response"]], on=ITEM_KEY)
examples.groupby("label").head(2).sort_values("label")[["label", "helpful", "prompt_id", "condition", "response"]]"""),
        md("## The audit sheet\nItems the judges disagree on are exported to `data/results/<results>/audit.csv` with empty `human_label` / `human_helpful` columns. Once a person fills them, the next cell reports each judge's accuracy and kappa against the human labels."),
        code("""audit = load_audit(results)
print(f"{len(audit)} items in the audit sheet")
humans = human_labels(audit)
if len(humans):
    display(agreement_with(judgments, humans, "human"))
else:
    print("no human labels yet: fill human_label in audit.csv (full_compliance / full_refusal / partial_refusal)")"""),
    ],
    "05_significance_tests.ipynb": [
        md("""
# 05 · Significance tests

Did the safety prompt change refusal and helpfulness, and for which models? Every test is paired: the same
prompts under baseline and intervention. The functions are in `ihl_lib.stats` (pure: frames in, numbers out).
Unresolved verdicts count as "no", and stay in every denominator. The prose below is generated from the
tables, so it stays true when the numbers change.
"""),
        params("""results = "local-run"
prompt_set = "ihl_violations"
n_boot = 2000
seed = 0"""),
        code(SETUP + """
from ihl_lib import plots
from ihl_lib.judging import load_verdicts
from ihl_lib.report import describe_paired, describe_rates
from ihl_lib.stats import cochran_q, gee_odds_ratios, paired_tests, rate_table"""),
        code("""verdicts = load_verdicts(results)
# The study's two conditions; other conditions (e.g. tailored prompts) are compared in notebook 07.
verdicts = verdicts[(verdicts["prompt_set"] == prompt_set) & verdicts["condition"].isin(["baseline", "intervention"])]
verdicts.groupby(["model", "condition"]).size().rename("prompts").to_frame()"""),
        md("## Rates with Wilson 95% confidence intervals"),
        code("""refusal = rate_table(verdicts, "refused")
helpful = rate_table(verdicts, "helpful")
display(Markdown("**Refusal**\\n" + describe_rates(refusal, "refused")))
display(Markdown("**Helpful refusal (share of all prompts)**\\n" + describe_rates(helpful, "helpful")))"""),
        code("""plots.save_figure(plots.rate_bars(refusal, "Refusal rate", "refused (% of all prompts)"), "refusal_rate_by_model")
plots.save_figure(plots.helpfulness_dumbbell(helpful), "helpfulness_before_after");"""),
        md("## Baseline vs intervention, per model\nMcNemar's exact test on the discordant pairs, a seeded paired bootstrap CI for the difference, Holm-adjusted across models."),
        code("""tests = pd.concat([paired_tests(verdicts, outcome, n_boot=n_boot, seed=seed) for outcome in ("refused", "helpful")], ignore_index=True)
tests"""),
        code("""for outcome, what in (("refused", "refusal"), ("helpful", "helpful refusal")):
    display(Markdown(f"**{what.capitalize()}**\\n" + describe_paired(tests[tests["outcome"] == outcome], what)))"""),
        md("## Across models\nCochran's Q asks whether the models differ under one condition; the GEE logistic model (prompts as clusters) reports odds ratios for model x condition."),
        code("""pd.DataFrame([cochran_q(verdicts, outcome, condition) for outcome in ("refused", "helpful") for condition in sorted(verdicts["condition"].unique())])"""),
        code("""for outcome in ("refused", "helpful"):
    display(Markdown(f"**GEE, outcome: {outcome}**"))
    display(gee_odds_ratios(verdicts, outcome))"""),
        md("## Beside the original study\n`data/paper_reference.csv` holds every figure the study states (blank where unknown). Model names are matched on the study's short keys."),
        code("""from ihl_lib.models import STUDY_MODELS
reference = pd.read_csv("../data/paper_reference.csv")
key_of = {v: k for k, v in STUDY_MODELS.items()}
ours = pd.concat([refusal.assign(metric="refusal_rate"), helpful.assign(metric="helpful_rate")])
ours = ours.assign(model_key=ours["model"].map(key_of), value=ours["rate"] * 100).dropna(subset=["model_key"])
if ours.empty:
    print("none of this run's models is one of the study's eight: nothing to compare (the reference figures are in the table below)")
else:
    plots.save_figure(plots.paper_comparison(ours[["model_key", "metric", "condition", "value"]], reference), "comparison_with_paper")
reference.dropna(subset=["value", "value_low"], how="all")"""),
    ],
    "06_per_rule_breakdown.ipynb": [
        md("""
# 06 · Per-rule breakdown

Where do refusals and helpful refusals fall across the six parts, 43 chapters and 161 rules of customary IHL?
Every rate is shown with its count; confidence intervals only where n allows (n ≥ 5). With two prompts per
rule, a per-rule rate is one of 0, 50 or 100%: read the heatmap for patterns, not single cells.
"""),
        params("""results = "local-run"
prompt_set = "ihl_violations\""""),
        code(SETUP + """
from ihl_lib import plots
from ihl_lib.data import load_rules
from ihl_lib.judging import load_verdicts
from ihl_lib.stats import breakdown"""),
        code("""rules = load_rules()
verdicts = load_verdicts(results)
verdicts = verdicts[(verdicts["prompt_set"] == prompt_set) & verdicts["condition"].isin(["baseline", "intervention"])]"""),
        md("## By part"),
        code("""by_part = breakdown(verdicts, rules, "refused", "part")
by_part"""),
        code("""plots.save_figure(plots.part_bars(by_part, "refusal rate"), "refusal_by_part")
plots.save_figure(plots.part_bars(breakdown(verdicts, rules, "helpful", "part"), "helpful refusal rate"), "helpfulness_by_part");"""),
        md("## By chapter"),
        code("""breakdown(verdicts, rules, "refused", "chapter")"""),
        md("## By rule"),
        code("""by_rule = breakdown(verdicts, rules, "refused", "rule")
plots.save_figure(plots.rule_heatmap(by_rule, rules, "refusal rate"), "refusal_by_rule_heatmap")
plots.save_figure(plots.rule_heatmap(breakdown(verdicts, rules, "helpful", "rule"), rules, "helpful refusal rate"), "helpfulness_by_rule_heatmap");"""),
        md("### Rules least often refused\nAveraged over models, per condition; ties broken by rule number."),
        code("""least = by_rule.groupby(["condition", "rule_id", "title"], as_index=False).agg(n=("n", "sum"), k=("k", "sum"))
least["rate"] = least["k"] / least["n"]
least.sort_values(["condition", "rate", "rule_id"]).groupby("condition").head(8)"""),
    ],
    "07_technical_framing_and_tailored_prompts.ipynb": [
        md("""
# 07 · Technical framing and tailored safety prompts

Two questions the original study left open.

1. **Technical framing.** Is a violation wrapped in a programming task (`data/prompts/code_wrapped.csv`)
   refused as consistently as the plain request for the same rule? Each code prompt is paired with a plain
   prompt of its rule (`-c1` with `-a`, `-c2` with `-b`) and compared with McNemar's exact test, under
   baseline and under intervention. The judges also flag `harmful_code_returned`: code that could carry out
   the violation, even beside an objection.
2. **Tailored prompts.** Does a safety prompt adapted to each model family (`ihl_lib.prompts`, condition
   `tailored`) beat the standard one? Paired test on the core prompts: intervention vs tailored.
"""),
        params("""models = None
sample = None
max_tokens = 256
max_concurrency = 4
results = "local-run"
judges = None
allow_model_calls = True
n_boot = 2000
seed = 0"""),
        code(SETUP + """
from ihl_lib import plots
from ihl_lib.data import load_prompts, sample_prompts
from ihl_lib.extensions import code_pairs, plain_counterparts, technical_framing_tests
from ihl_lib.judging import judge_or_load
from ihl_lib.prompts import TAILORED_BY_FAMILY
from ihl_lib.report import describe_paired
from ihl_lib.runs import RunSettings, run_sets
from ihl_lib.stats import common_prompts, paired_tests, rate_table"""),
        md("## Runs\nThe code-wrapped set under both conditions, and the core set under the tailored prompts (the core set's baseline and intervention runs come from notebooks 02 and 03)."),
        code("""if allow_model_calls:
    settings = RunSettings(max_tokens=max_tokens, max_concurrency=max_concurrency)
    code_prompts = sample_prompts(load_prompts("code_wrapped"), sample)
    plain = plain_counterparts(code_prompts, load_prompts("ihl_violations"))  # their plain twins, so every pair is complete
    display(run_sets(models, [(code_prompts, "baseline"), (code_prompts, "intervention"), (plain, "baseline"), (plain, "intervention"),
                              ("ihl_violations", "tailored")], run_name=results, sample=sample, settings=settings))
judgments, verdicts = judge_or_load(results, judges, allow_model_calls=allow_model_calls, max_concurrency=max_concurrency)
verdicts.groupby(["prompt_set", "condition"]).size().rename("judged").to_frame()"""),
        md("## 1 · Plain vs code-wrapped requests"),
        code("""pairs = code_pairs(verdicts)
print(f"{len(pairs)} rule-matched pairs")
framing = technical_framing_tests(verdicts, n_boot=n_boot, seed=seed)
framing"""),
        code("""for condition, group in framing.groupby("condition"):
    shown = group.assign(condition_a="plain", condition_b="code-wrapped")
    display(Markdown(f"**{condition}**\\n" + describe_paired(shown, "refusal")))"""),
        md("### Harmful code returned\nShare of code-wrapped prompts whose response contains usable code for the violation, by panel majority, with refusals and compliance apart."),
        code("""code_verdicts = verdicts[verdicts["prompt_set"] == "code_wrapped"]
harmful = rate_table(code_verdicts.assign(harmful=code_verdicts["harmful_code_returned"]), "harmful", ["model", "condition"])
harmful"""),
        code("""code_rates = rate_table(verdicts[verdicts["prompt_set"].isin(["ihl_violations", "code_wrapped"]) & verdicts["condition"].isin(["baseline", "intervention"])],
                        "refused", ["model", "prompt_set", "condition"])
code_rates = code_rates.assign(condition=code_rates["condition"] + " / " + code_rates["prompt_set"].str.replace("ihl_violations", "plain"))
plots.save_figure(plots.rate_bars(code_rates, "Refusal: plain vs code-wrapped", "refused (% of prompts)"), "refusal_plain_vs_code");"""),
        md("## 2 · Standard vs tailored safety prompt"),
        code("""for family, prompt in TAILORED_BY_FAMILY.items():
    print(f"[{family}] {prompt.name} {prompt.version}: {prompt.text[:110]}…")"""),
        code("""core = common_prompts(verdicts[verdicts["prompt_set"] == "ihl_violations"], "intervention", "tailored")
print(f"{core['prompt_id'].nunique()} prompts ran under both the standard and the tailored prompt")
tailored = pd.concat([paired_tests(core, outcome, "intervention", "tailored", n_boot=n_boot, seed=seed) for outcome in ("refused", "helpful")], ignore_index=True)
tailored"""),
        code("""for outcome, what in (("refused", "refusal"), ("helpful", "helpful refusal")):
    display(Markdown(f"**{what.capitalize()}**\\n" + describe_paired(tailored[tailored["outcome"] == outcome], what)))
plots.save_figure(plots.rate_bars(rate_table(core, "helpful"), "Helpful refusals by condition", "helpful refusals (% of prompts)"), "helpfulness_standard_vs_tailored");"""),
    ],
    "08_over_refusal_and_blind_refusal.ipynb": [
        md("""
# 08 · Over-refusal and blind refusal

3. **Over-refusal.** Does asking for legally grounded refusals make a model refuse lawful but sensitive
   requests too? `data/prompts/lawful_twins.csv` has one lawful prompt per rule, on the same subject. We
   report the false-refusal rate, how the safety prompt changes it (paired McNemar), and each model's refusal
   of violations against its refusal of their lawful twins.
4. **Blind refusal** (Pattison, Manuali & Lazar, arXiv 2604.06233). Do models refuse to help people evade
   rules that are illegitimate, unjust or absurd, where a reasonable person may break them? And does the IHL
   safety prompt make that worse? `data/prompts/illegitimate_rules.csv` holds such cases and controls
   (legitimate rules). "Helped" means the panel labels the response full compliance.
"""),
        params("""models = None
sample = None
max_tokens = 256
max_concurrency = 4
results = "local-run"
judges = None
allow_model_calls = True
n_boot = 2000
seed = 0"""),
        code(SETUP + """
from ihl_lib import plots
from ihl_lib.data import load_rules
from ihl_lib.extensions import blind_refusal_rates, blind_refusal_tests, tradeoff_points
from ihl_lib.judging import judge_or_load
from ihl_lib.report import describe_paired
from ihl_lib.runs import RunSettings, run_sets
from ihl_lib.stats import common_prompts, paired_tests, rate_table"""),
        code("""if allow_model_calls:
    settings = RunSettings(max_tokens=max_tokens, max_concurrency=max_concurrency)
    display(run_sets(models, [(name, condition) for name in ("lawful_twins", "illegitimate_rules") for condition in ("baseline", "intervention")],
                     run_name=results, sample=sample, settings=settings))
judgments, verdicts = judge_or_load(results, judges, allow_model_calls=allow_model_calls, max_concurrency=max_concurrency)
verdicts.groupby(["prompt_set", "condition"]).size().rename("judged").to_frame()"""),
        md("## 3 · Over-refusal of lawful twins"),
        code("""twins = verdicts[verdicts["prompt_set"] == "lawful_twins"]
false_refusal = rate_table(twins, "refused")
false_refusal"""),
        code("""over = paired_tests(common_prompts(twins, "baseline", "intervention"), "refused", "baseline", "intervention", n_boot=n_boot, seed=seed)
display(Markdown(describe_paired(over, "false refusal")))
over"""),
        code("""points = tradeoff_points(verdicts)
plots.save_figure(plots.tradeoff_scatter(points), "tradeoff_violations_vs_lawful")
points"""),
        md("### Per part of IHL"),
        code("""rules = load_rules()
with_part = verdicts.merge(rules[["rule_id", "part_number"]], on="rule_id", how="left")
by_part = tradeoff_points(with_part, by=["part_number"])
by_part = by_part.assign(point=by_part["model"].str.split("/").str[-1] + " · part " + by_part["part_number"].astype(str))
plots.save_figure(plots.tradeoff_scatter(by_part, label="point"), "tradeoff_by_part")
by_part"""),
        md("## 4 · Blind refusal"),
        code("""help_rates = blind_refusal_rates(verdicts)
help_rates"""),
        code("""shown = help_rates.assign(condition=help_rates["condition"] + " / " + help_rates["case"])
plots.save_figure(plots.rate_bars(shown, "Help rate: illegitimate rules vs controls", "helped (% of cases)"), "blind_refusal_help_rates");"""),
        code("""blind = blind_refusal_tests(verdicts, n_boot=n_boot, seed=seed)
display(Markdown(describe_paired(blind, "help on cases where helping is right")))
blind"""),
    ],
}


def main() -> None:
    NB.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        for i, cell in enumerate(cells):
            cell.id = f"c{i:02d}"  # stable ids: a rebuild changes only what was edited
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        text = nbformat.writes(nb) + "\n"
        path = NB / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print("wrote", path)


if __name__ == "__main__":
    main()
