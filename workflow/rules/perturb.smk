# Robustness probes: each perturbation re-detects and re-crops faces on the perturbed onset/APEX
# frames stored in the unperturbed frame shards (no video is decoded again), then every
# off-the-shelf (and exported CNN) classifier runs on the perturbed crops; the LOSO-trained
# baselines are evaluated unperturbed only. `none` is the unperturbed run and keeps its usual paths.
PERTURBED = [p for p in CFG["perturbations"] if p != "none"]
PERTURBATION_NAMES = "brightness_contrast|blur|jpeg|rotate"
# Perturbation -> classifier -> its perturbed prediction shards: the one place that says which
# classifiers are probed (those that run in `infer`); aggregate takes its inputs and params from it.
PERTURBED_PREDICTIONS = {
    p: {
        c: [f"results/perturbed/{p}/predictions/{c}/shard-{k}.parquet" for k in SHARDS]
        for c in OFF_THE_SHELF
    }
    for p in PERTURBED
}


rule extract_perturbed:
    input:
        frames="results/frames/shard-{shard}.parquet",
    output:
        "results/perturbed/{perturbation}/frames/shard-{shard}.parquet",
    wildcard_constraints:
        perturbation=PERTURBATION_NAMES,
    params:
        code=code("extract_perturbed"),
        faces=CFG["faces"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/perturbed/{perturbation}/extract/shard-{shard}.log",
    benchmark:
        "benchmarks/out/perturbed/{perturbation}/extract/shard-{shard}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/extract_perturbed.py"


rule infer_perturbed:
    input:
        frames="results/perturbed/{perturbation}/frames/shard-{shard}.parquet",
        model=lambda w: classifier_model(w.classifier),
    output:
        "results/perturbed/{perturbation}/predictions/{classifier}/shard-{shard}.parquet",
    wildcard_constraints:
        perturbation=PERTURBATION_NAMES,
        classifier=OFF_THE_SHELF_PATTERN,
    params:
        code=code("infer"),
        classifier=lambda w: CLASSIFIERS[w.classifier],
        scheme=CFG["label_scheme"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/perturbed/{perturbation}/infer/{classifier}/shard-{shard}.log",
    benchmark:
        "benchmarks/out/perturbed/{perturbation}/infer/{classifier}/shard-{shard}.tsv"
    threads: lambda w: CLASSIFIERS[w.classifier]["threads"]
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/infer.py"
