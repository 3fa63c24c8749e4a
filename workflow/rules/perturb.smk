# Robustness probes, per dataset: each perturbation re-detects and re-crops faces on the perturbed
# onset/APEX frames stored in the unperturbed frame shards (no video is decoded again), then every
# classifier that runs in `infer` (off-the-shelf and the exported CNN) runs on the perturbed crops;
# the fold-trained baselines are evaluated unperturbed only. `none` is the unperturbed run and
# keeps its usual paths; aggregate finds the perturbed predictions through prediction_layout().
PERTURBED = [p for p in CFG["perturbations"] if p != "none"]
PERTURBATION_NAMES = "brightness_contrast|blur|jpeg|rotate"


rule extract_perturbed:
    input:
        frames="results/{dataset}/frames/shard-{shard}.parquet",
    output:
        "results/{dataset}/perturbed/{perturbation}/frames/shard-{shard}.parquet",
    wildcard_constraints:
        perturbation=PERTURBATION_NAMES,
    params:
        code=code("extract_perturbed"),
        faces=lambda w: DATASETS[w.dataset].faces,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{dataset}/perturbed/{perturbation}/extract/shard-{shard}.log",
    benchmark:
        "benchmarks/out/{dataset}/perturbed/{perturbation}/extract/shard-{shard}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/extract_perturbed.py"


rule infer_perturbed:
    input:
        frames="results/{dataset}/perturbed/{perturbation}/frames/shard-{shard}.parquet",
        model=lambda w: classifier_model(w.classifier),
    output:
        "results/{dataset}/perturbed/{perturbation}/predictions/{classifier}/shard-{shard}.parquet",
    wildcard_constraints:
        perturbation=PERTURBATION_NAMES,
        classifier=names_pattern(OFF_THE_SHELF),
    params:
        code=code("infer"),
        classifier=lambda w: CLASSIFIERS[w.classifier],
        scheme=lambda w: DATASETS[w.dataset].scheme,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{dataset}/perturbed/{perturbation}/infer/{classifier}/shard-{shard}.log",
    benchmark:
        "benchmarks/out/{dataset}/perturbed/{perturbation}/infer/{classifier}/shard-{shard}.tsv"
    threads: lambda w: CLASSIFIERS[w.classifier]["threads"]
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/infer.py"
