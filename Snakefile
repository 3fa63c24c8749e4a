# apexbench: benchmark facial-expression classifiers on micro-expression datasets.
# Usage: snakemake --cores 8 | snakemake results/metrics.csv | snakemake --profile profiles/slurm
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


wildcard_constraints:
    shard=r"\d+",
    classifier="|".join(CLASSIFIERS),
    model="|".join(REGISTRY),


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
include: "workflow/rules/report.smk"
include: "workflow/rules/annotate_common.smk"
include: "workflow/rules/annotate.smk"
include: "workflow/rules/detection_common.smk"
include: "workflow/rules/detection.smk"


rule all:
    default_target: True
    input:
        "results/metrics.csv",
        "results/summary.md",
        "results/provenance.json",
        "results/confusion",
        "results/validated/summary.md",
        "results/report/index.html",
        # Requested here so that a status file dropped as stale (weights placed since) is rebuilt.
        [model_status(m) for m in MODEL_KEYS],
        [converted_status(m) for m in CONVERTED_KEYS],
        # The trained CNN's files (checkpoint, history, curve, exports), when a cnn classifier is listed.
        trained_outputs(),


onsuccess:
    print(
        "apexbench: done. Report: results/report/index.html (open it in a browser); "
        "summary: results/summary.md; metrics: results/metrics.csv; "
        "validation report: results/validated/summary.md"
    )
