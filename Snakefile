# apexbench: benchmark facial-expression classifiers on micro-expression datasets.
# Usage: snakemake --cores 8 | snakemake --cores 8 --configfile my.yaml | snakemake results/metrics.csv
#        snakemake --profile profiles/slurm
from snakemake.utils import min_version

min_version("9.0")


# The default run (the demo). A user's --configfile replaces its datasets and classifiers rather
# than merging into them (workflow/rules/common.smk, apexbench.plan).
configfile: f"{workflow.basedir}/config/config.yaml"


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset=names_pattern(DATASETS),
    composite=names_pattern(COMPOSITES),
    evalset=names_pattern(SETS),
    shard=r"\d+",
    classifier=names_pattern(CLASSIFIERS),
    model=names_pattern(REGISTRY),


include: "workflow/rules/demo.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/convert.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/train_cnn.smk"
include: "workflow/rules/perturb.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/annotate_common.smk"
include: "workflow/rules/annotate.smk"
include: "workflow/rules/detection_common.smk"
include: "workflow/rules/detection.smk"


rule all:
    default_target: True
    input:
        "results/metrics.csv",
        "results/leaderboard.csv",
        "results/summary.md",
        "results/provenance.json",
        "results/report/index.html",
        expand("results/{evalset}/report.html", evalset=SETS),
        expand("results/{evalset}/samples.html", evalset=SETS),
        expand("results/{dataset}/validated/summary.md", dataset=DATASETS),
        # Requested here so that a status record dropped as stale (weights placed since) is rebuilt.
        [model_status(m) for m in MODEL_KEYS],
        # The trained CNN's files (checkpoint, history, curve, exports), when a cnn classifier is listed.
        trained_outputs(),


onsuccess:
    print(run_summary_lines())
    cancel_pending_timers()


onerror:
    cancel_pending_timers()
