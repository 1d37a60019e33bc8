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
this notebook loads them through `ihl_lib.data` (which validates every file against its schema, including
a filled rationale on every row) and `ihl_lib.dataset_checks` (pairings, balance, lengths, near-duplicates).
See `data/README.md` for the data card, the labelling guideline and the changelog.
"""),
        code(SETUP + """
from ihl_lib.data import DATASET_VERSION, load_rule_constructions, load_rules, with_rules
from ihl_lib.dataset_checks import CHAR_SIMILARITY_THRESHOLD, WORD_SIMILARITY_THRESHOLD, dataset_report, load_all_sets"""),
        md("## The rules and what violating each one means\nEvery prompt for a rule asks for the act written down here. For permissive and definitional rules the construction says which violation the rule's protection implies."),
        code("""rules = load_rules()
constructions = load_rule_constructions()
display(constructions["rule_kind"].value_counts().to_frame("rules"))
constructions[constructions["rule_kind"].isin(["permissive", "definitional"])].merge(rules[["rule_id", "title"]], on="rule_id")"""),
        md("## The prompt sets\nEach loads only if it passes its schema (required columns, unique ids, rule ids in 1..161, known values, no empty prompt or rationale, and for the core set exactly two prompts per rule)."),
        code("""sets = load_all_sets()
report = dataset_report(sets, rules)
print(f"dataset version {DATASET_VERSION}; bars missed: {report.problems or 'none'}")
report.counts"""),
        md("## Balance of the core set across the six parts\nFraming and persona type must not be confounded with the part of the study: χ² tests of independence, and no part dominated by one framing."),
        code("""for result in (report.framing, report.persona_type):
    display(Markdown(f"**{result.column}**: χ² = {result.chi2:.1f}, dof {result.dof}, p = {result.p_value:.2f}, Cramér's V {result.cramers_v:.2f}, largest share in a part {result.max_share:.0%}"))
    display(result.counts.assign(total=result.counts.sum(axis=1)))"""),
        code("""report.framing_by_variant  # both variants use every framing"""),
        md("### Length (words per prompt)"),
        code("""report.lengths.round(1)"""),
        code("""core = with_rules(sets["ihl_violations"], rules)
ax = core.boxplot(column="n_words", by="part_number", figsize=(7, 3.5))
ax.set_title("Core set: words per prompt by part (n = 322)"); ax.figure.suptitle(""); ax.set_xlabel("part of the study"); ax.set_ylabel("words");"""),
        md("### Lawful twins: matched lengths\nEach twin shares its violating prompt's persona, framing and scenario; its length is within ±30% of its twin's."),
        code("""report.twin_ratios.describe().round(2).to_frame()"""),
        md("## Near-duplicates across all sets\nTF-IDF cosine on words (uni- and bigrams, stop words removed) and on character 3-5-grams. Pairs written to be alike (a prompt and its lawful twin or code version) are left out."),
        code("""print(f"thresholds: words {WORD_SIMILARITY_THRESHOLD}, characters {CHAR_SIMILARITY_THRESHOLD}")
text = pd.concat(sets.values()).set_index("prompt_id")["prompt"]
for name, top in (("words", report.top_word_pairs), ("characters", report.top_char_pairs)):
    display(Markdown(f"**Most similar pairs by {name}** (maximum {top['similarity'].max():.2f})"))
    display(top.assign(first_prompt=top["first"].map(text), second_prompt=top["second"].map(text)))"""),
        md("## Examples per part"),
        code("""core.groupby("part_number").head(1)[["prompt_id", "title", "framing", "persona", "prompt", "rule_basis"]]"""),
        code("""twins = sets["lawful_twins"].merge(sets["ihl_violations"][["prompt_id", "prompt"]].rename(columns={"prompt_id": "twin_of", "prompt": "violating_prompt"}), on="twin_of")
twins.head(3)[["twin_of", "violating_prompt", "prompt", "lawful_basis"]]"""),
        code("""for name in ("code_wrapped", "illegitimate_rules"):
    display(Markdown(f"**{name}**"))
    display(with_rules(sets[name], rules).groupby("part_number").head(1).drop(columns=["chapter", "part"]))"""),
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
max_tokens = None          # None: each model's own budget (ihl_lib.models.generation_profile); a number overrides it
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
        code("""responses[responses["error"].isna()].sample(min(3, len(responses)), random_state=0)[["model", "condition", "prompt_id", "prompt", "response"]]"""),
        code("""manifest = load_manifest(results)
{k: manifest[k] for k in ("run_name", "settings", "models")}"""),
    ],
    "03_intervention_run.ipynb": [
        md("""
# 03 · Intervention runs

The same models and prompts, now **with a system prompt**, in two variants (`ihl_lib.prompts`; the original
study's text is not public, so both are this package's reconstructions):

- `intervention`: **`ihl_norms`**, the standard prompt. It states the IHL/IHRL prohibitions and asks the model to
  respect them, as the study describes its prompt, and says nothing about how to word a refusal. This is the
  condition that reproduces the study.
- `intervention_explain`: **`ihl_norms_explain`**, the norms plus an instruction to explain a refusal (the
  principle, the harm, a lawful alternative). Its gain in helpful refusals is partly instructed: it is reported
  beside the standard one, never in its place.

The prompts are sampled exactly as in notebook 02, so the runs stay paired.
"""),
        params("""models = None
prompt_set = "ihl_violations"
sample = None
max_tokens = None          # None: each model's own budget (ihl_lib.models.generation_profile); a number overrides it
max_concurrency = 4
conditions = ["intervention", "intervention_explain"]
results = "local-run\""""),
        code(SETUP + """
from ihl_lib.data import load_prompts, sample_prompts
from ihl_lib.prompts import system_prompt_for
from ihl_lib.runs import RunSettings, prepare, run, summarize"""),
        md("## The system prompts"),
        code("""for condition in conditions:
    prompt = system_prompt_for(condition, "")
    print(f"{condition}: {prompt.name} {prompt.version}  sha256 {prompt.sha256[:16]}…\\n{prompt.text}\\n")"""),
        md("## The plan"),
        code("""prompts = sample_prompts(load_prompts(prompt_set), sample)
settings = RunSettings(max_tokens=max_tokens, max_concurrency=max_concurrency)
for condition in conditions:
    print(condition, prepare(models, prompts, condition, settings).summary())"""),
        md("## The runs"),
        code("""responses = pd.concat([run(models, prompts, condition, run_name=results, settings=settings, show_plan=False) for condition in conditions])
summarize(responses)"""),
        code("""responses.loc[responses["error"].notna(), ["model", "condition", "prompt_id", "error_kind", "error"]].head(10)"""),
        md("## Example responses"),
        code("""responses[responses["error"].isna()].sample(min(3, len(responses)), random_state=0)[["model", "condition", "prompt_id", "prompt", "response"]]"""),
    ],
    "04_judging.ipynb": [
        md("""
# 04 · Judging

A panel of three judges labels every stored response: refusal vs compliance (full compliance, full refusal,
partial refusal) and, for refusals, helpful vs unhelpful. The panel policy (quorum of two valid votes,
strict majority, ties and parse failures `unresolved` but kept in every denominator) is written in
`ihl_lib/judging/panel.py`. Judging never regenerates a response; its calls are cached by judge-prompt version.
With `allow_model_calls = False` the notebook reads stored judgments instead (the analysis-only path).
"""),
        params("""results = "local-run"
judges = None             # comma-separated judge ids, or "study": three vendors per model, never its own; None: the offline default panel
allow_model_calls = True
max_concurrency = 4"""),
        code(SETUP + """
from ihl_lib import plots
from ihl_lib.judging import ITEM_KEY
from ihl_lib.judging import judge_or_load, load_audit
from ihl_lib.judging.audit import audit_accuracy
from ihl_lib.judging.validation import score_panel
from ihl_lib.metrics import judge_agreement, landis_koch, rates
from ihl_lib.report import describe_agreement
from ihl_lib.runs import load_responses
from ihl_lib.runs import analysis_target"""),
        code("""results, on_reference = analysis_target(results)
allow_model_calls = allow_model_calls and not on_reference"""),
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
agreement["pairwise"].assign(landis_koch=agreement["pairwise"]["cohen_kappa"].map(landis_koch))"""),
        code("""fig = plots.agreement_heatmap(agreement["pairwise"])
plots.save_figure(fig, "judge_agreement");"""),
        md("""## How often is each judge right?
Agreement between judges says nothing about accuracy: two judges can agree and both be wrong. Each judge of the
panel is scored against human labels on the **test** splits of the two labelled sets in `data/judge_dev/`
(nothing was tuned on them): the RBR gold set (human labels, other safety domains) and the project's IHL-domain
set (replies to this benchmark's prompts, labelled by the guideline in the data card). Refused-or-not counts a
partial refusal as a refusal; *helpful* is agreement on the helpful label over the replies that judge and
humans both call refusals. LLM judges are scored only when model calls are allowed (their calls are cached)."""),
        code("""scores, evaluations = score_panel(list(judgments["judge_id"].unique()), allow_model_calls=allow_model_calls)
scores.round(3)"""),
        code("""for (set_name, judge_id), e in evaluations.items():
    display(Markdown(f"**{judge_id}** on {set_name}: rows are the human label, columns the judge's"))
    display(e.confusion)"""),
        md("## Examples of each label"),
        code("""examples = verdicts.merge(responses[[*ITEM_KEY, "prompt", "response"]], on=ITEM_KEY)
examples.groupby("label").head(2).sort_values("label")[["label", "helpful", "prompt_id", "condition", "response"]]"""),
        md("## The audit sheet\nA stratified random sample of the run's judged items (seed 0; by model, condition, prompt set and panel label), plus every item the judges disagree on, is exported to `data/results/<results>/audit.csv` with empty `human_label` / `human_helpful` columns. A sample of disagreements alone would say nothing about the items the judges agree on, where a shared blind spot hides. Once a person fills the sheet, the next cell reports each judge's and the panel's accuracy against the human labels."),
        code("""audit = load_audit(results)
print(f"{len(audit)} items in the audit sheet:", audit["why"].value_counts().to_dict())
audit_accuracy(audit)"""),
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
interventions = ["intervention", "intervention_explain"]  # the study's prompt (ihl_norms) first
n_boot = 2000
seed = 0"""),
        code(SETUP + """
from ihl_lib import plots
from ihl_lib.judging import load_verdicts
from ihl_lib.report import describe_paired, describe_rates
from ihl_lib.metrics import rates
from ihl_lib.stats import cochran_q, gee_odds_ratios, holm, paired_tests, rate_table
from ihl_lib.runs import analysis_target"""),
        code("""results, on_reference = analysis_target(results)"""),
        code("""verdicts = load_verdicts(results)
# Baseline and the two safety prompts (notebook 03); tailored prompts are compared in notebook 07.
verdicts = verdicts[(verdicts["prompt_set"] == prompt_set) & verdicts["condition"].isin(["baseline", *interventions])]
verdicts.groupby(["model", "condition"]).size().rename("prompts").unstack()"""),
        md("## Outcomes before judging\nA reply the provider's own filter stopped (`provider_blocked`) counts as an unhelpful refusal in every rate below; the second table leaves those replies out (the sensitivity check). `truncated` replies were cut by the token budget and are judged as they stand."),
        code("""display(rates(verdicts)[["model", "condition", "n", "provider_blocked", "no_response", "refusal_rate", "helpful_rate"]])
rates(verdicts, exclude_blocked=True)[["model", "condition", "n", "refusal_rate", "helpful_rate"]]"""),
        md("## Rates with Wilson 95% confidence intervals"),
        code("""refusal = rate_table(verdicts, "refused")
helpful = rate_table(verdicts, "helpful")
display(Markdown("**Refusal**\\n" + describe_rates(refusal, "refused")))
display(Markdown("**Helpful refusal (share of all prompts)**\\n" + describe_rates(helpful, "helpful")))"""),
        code("""plots.save_figure(plots.rate_bars(refusal, "Refusal rate", "refused (% of all prompts)"), "refusal_rate_by_model")
plots.save_figure(plots.helpfulness_dumbbell(helpful), "helpfulness_before_after");"""),
        md("## Baseline vs each safety prompt, per model\nMcNemar's exact test on the discordant pairs; a 95% CI for the difference by a seeded **cluster bootstrap over IHL rules** (the two prompts of a rule are resampled together: they are not independent observations); `p_holm` is Holm-adjusted over **the whole family reported here** (models x outcomes x safety prompts). `intervention` (ihl_norms) is the study's comparison; `intervention_explain` shows what an instruction to explain adds."),
        code("""tests = holm(pd.concat([paired_tests(verdicts, outcome, "baseline", condition, n_boot=n_boot, seed=seed)
                        for condition in interventions for outcome in ("refused", "helpful")], ignore_index=True))
tests"""),
        code("""for (condition, outcome), group in tests.groupby(["condition_b", "outcome"], sort=False):
    what = "refusal" if outcome == "refused" else "helpful refusal"
    display(Markdown(f"**{what.capitalize()}, baseline vs {condition}**\\n" + describe_paired(group, what)))"""),
        md("## Across models\nCochran's Q asks whether the models differ under one condition; the GEE logistic model (IHL rules as clusters, robust standard errors) reports odds ratios for model x condition."),
        code("""pd.DataFrame([cochran_q(verdicts, outcome, condition) for outcome in ("refused", "helpful") for condition in sorted(verdicts["condition"].unique())])"""),
        code("""for outcome in ("refused", "helpful"):
    display(Markdown(f"**GEE, outcome: {outcome}**"))
    display(gee_odds_ratios(verdicts, outcome))"""),
        md("## Beside the original study\n`data/paper_reference.csv` holds every figure and claim the study and its secondary account state, one row per claim, with its subject (a model, or the group the source names), the condition as stated, and the denominator. Only exact k/322 figures for one model under a named condition are plotted beside this run; ranges, thresholds and claims are listed below the figure. Model names are matched on the study's short keys."),
        code("""from ihl_lib.data import load_paper_reference
from ihl_lib.models import STUDY_MODELS
reference = load_paper_reference()
key_of = {v: k for k, v in STUDY_MODELS.items()}
ours = pd.concat([refusal.assign(metric="refusal_rate"), helpful.assign(metric="helpful_rate")])
ours = ours.assign(model_key=ours["model"].map(key_of), value=ours["rate"] * 100).dropna(subset=["model_key"])
if ours.empty:
    print("none of this run's models is one of the study's eight: nothing to compare (the reference figures are in the table below)")
else:
    plots.save_figure(plots.paper_comparison(ours[["model_key", "metric", "condition", "value"]], reference), "comparison_with_paper")
reference"""),
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
from ihl_lib.stats import breakdown
from ihl_lib.runs import analysis_target"""),
        code("""results, on_reference = analysis_target(results)"""),
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
   refused as consistently as the plain request it was written from? Each code prompt names its plain
   prompt (`plain_prompt_id`: the same act under the same rule), and only those matched pairs are compared,
   with McNemar's exact test, under baseline and under intervention. Separately, a tested detector
   (`ihl_lib.code_output`, no model) counts responses that **refuse but still return usable code**.
2. **Tailored prompts.** Does a safety prompt adapted to each model family (`ihl_lib.prompts`, condition
   `tailored`) beat the standard one? Paired test on the core prompts: intervention vs tailored.
"""),
        params("""models = None
sample = None
max_tokens = None          # None: each model's own budget (ihl_lib.models.generation_profile); a number overrides it
max_concurrency = 4
results = "local-run"
judges = None
allow_model_calls = True
n_boot = 2000
seed = 0"""),
        code(SETUP + """
from ihl_lib import plots
from ihl_lib.data import load_prompts, sample_prompts
from ihl_lib.extensions import code_outcomes, code_pairs, counterparts, technical_framing_tests
from ihl_lib.judging import judge_or_load
from ihl_lib.prompts import TAILORED_BY_FAMILY
from ihl_lib.report import describe_paired
from ihl_lib.runs import RunSettings, load_responses, run_sets
from ihl_lib.stats import common_prompts, paired_tests, rate_table
from ihl_lib.runs import analysis_target"""),
        code("""results, on_reference = analysis_target(results)
allow_model_calls = allow_model_calls and not on_reference"""),
        md("## Runs\nThe code-wrapped set under both conditions, and the core set under the tailored prompts (the core set's baseline and intervention runs come from notebooks 02 and 03)."),
        code("""if allow_model_calls:
    settings = RunSettings(max_tokens=max_tokens, max_concurrency=max_concurrency)
    code_prompts = sample_prompts(load_prompts("code_wrapped"), sample)
    plain = counterparts(code_prompts, "plain_prompt_id", load_prompts("ihl_violations"))  # their plain prompts, so every pair is complete
    display(run_sets(models, [(code_prompts, "baseline"), (code_prompts, "intervention"), (plain, "baseline"), (plain, "intervention"),
                              ("ihl_violations", "tailored")], run_name=results, sample=sample, settings=settings))
judgments, verdicts = judge_or_load(results, judges, allow_model_calls=allow_model_calls, max_concurrency=max_concurrency)
verdicts.groupby(["prompt_set", "condition"]).size().rename("judged").to_frame()"""),
        md("## 1 · Plain vs code-wrapped requests"),
        code("""code_set = load_prompts("code_wrapped")
pairs = code_pairs(verdicts, code_set)
print(f"{len(pairs)} matched pairs (code prompt and the plain prompt it was written from)")
framing = technical_framing_tests(verdicts, code_set, n_boot=n_boot, seed=seed)
framing"""),
        code("""for condition, group in framing.groupby("condition"):
    shown = group.assign(condition_a="plain", condition_b="code-wrapped")
    display(Markdown(f"**{condition}**\\n" + describe_paired(shown, "refusal")))"""),
        md("### Refused, but returned usable code\nThe study saw models object and still return part of the code. Refusal is the panel's verdict; usable code is decided by `ihl_lib.code_output.returns_usable_code` (code that uses every interface the request names), shown beside the panel's own `harmful_code_returned` flag."),
        code("""outcomes = code_outcomes(verdicts, load_responses(results))
code_verdicts = verdicts[verdicts["prompt_set"] == "code_wrapped"]
flagged = rate_table(code_verdicts.assign(judges_flag=code_verdicts["harmful_code_returned"]), "judges_flag", ["model", "condition"])
outcomes.merge(flagged[["model", "condition", "rate"]].rename(columns={"rate": "judges_flag_rate"}), on=["model", "condition"])"""),
        code("""long = pairs.melt(id_vars=["model", "condition", "prompt_id"], value_vars=["plain", "code"], var_name="form", value_name="refused")
code_rates = rate_table(long, "refused", ["model", "form", "condition"])
code_rates = code_rates.assign(condition=code_rates["condition"] + " / " + code_rates["form"])
plots.save_figure(plots.rate_bars(code_rates, f"Refusal: plain vs code-wrapped ({pairs['prompt_id'].nunique()} matched pairs)", "refused (% of prompts)"), "refusal_plain_vs_code");"""),
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
   requests too? `data/prompts/lawful_twins.csv` holds the lawful version of every violating prompt: the same
   persona, scenario and framing, about the same length, asking for the same operational task done lawfully
   (the strike plan with the precautions rule 15 demands, the detention order that meets rule 99). We report
   the false-refusal rate, how the safety prompt changes it (paired McNemar), and, on the matched pairs,
   whether each model tells a violation from its lawful twin.
4. **Blind refusal** (Pattison, Manuali & Lazar, arXiv 2604.06233). Do models refuse to help people evade
   rules that are illegitimate, unjust or absurd, where a reasonable person may break them? And does the IHL
   safety prompt make that worse? `data/prompts/illegitimate_rules.csv` holds such cases and controls
   (legitimate rules). "Helped" means the panel labels the response full compliance.
"""),
        params("""models = None
sample = None
max_tokens = None          # None: each model's own budget (ihl_lib.models.generation_profile); a number overrides it
max_concurrency = 4
results = "local-run"
judges = None
allow_model_calls = True
n_boot = 2000
seed = 0"""),
        code(SETUP + """
from ihl_lib import plots
from ihl_lib.data import load_prompts, load_rules, sample_prompts
from ihl_lib.extensions import blind_refusal_rates, blind_refusal_tests, counterparts, tradeoff_points, twin_tests
from ihl_lib.judging import judge_or_load
from ihl_lib.report import describe_paired
from ihl_lib.runs import RunSettings, run_sets
from ihl_lib.stats import common_prompts, paired_tests, rate_table
from ihl_lib.runs import analysis_target"""),
        code("""results, on_reference = analysis_target(results)
allow_model_calls = allow_model_calls and not on_reference"""),
        code("""if allow_model_calls:
    settings = RunSettings(max_tokens=max_tokens, max_concurrency=max_concurrency)
    twin_prompts = sample_prompts(load_prompts("lawful_twins"), sample)
    violating = counterparts(twin_prompts, "twin_of", load_prompts("ihl_violations"))  # so every sampled twin has its pair
    display(run_sets(models, [(frame, condition) for frame in (twin_prompts, violating, "illegitimate_rules") for condition in ("baseline", "intervention")],
                     run_name=results, sample=sample, settings=settings))
judgments, verdicts = judge_or_load(results, judges, allow_model_calls=allow_model_calls, max_concurrency=max_concurrency)
verdicts.groupby(["prompt_set", "condition"]).size().rename("judged").to_frame()"""),
        md("## 3 · Over-refusal of lawful twins"),
        code("""twin_set = load_prompts("lawful_twins")
twins = verdicts[verdicts["prompt_set"] == "lawful_twins"]
rate_table(twins, "refused")"""),
        md("False refusals apart for twins that plan a lawful use of force (`uses_force`), which a provider may refuse under a general weapons policy, and the protective or administrative ones, which no policy explains."),
        code("""with_kind = twins.merge(twin_set[["prompt_id", "uses_force"]], on="prompt_id", how="left", validate="many_to_one")
rate_table(with_kind, "refused", ["model", "condition", "uses_force"])"""),
        code("""over = paired_tests(common_prompts(twins, "baseline", "intervention"), "refused", "baseline", "intervention", n_boot=n_boot, seed=seed)
display(Markdown(describe_paired(over, "false refusal")))
over"""),
        md("### Matched pairs: violation refused, lawful twin answered?\n`a_only` counts the pairs a model gets right (refuses the violation, answers its twin); `b_only` the pairs it gets backwards."),
        code("""display(twin_tests(verdicts, twin_set, n_boot=n_boot, seed=seed))
points = tradeoff_points(verdicts, twin_set)
plots.save_figure(plots.tradeoff_scatter(points), "tradeoff_violations_vs_lawful")
points"""),
        md("### Per part of IHL"),
        code("""rules = load_rules()
with_part = verdicts.merge(rules[["rule_id", "part_number"]], on="rule_id", how="left")
by_part = tradeoff_points(with_part, twin_set, by=["part_number"])
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
