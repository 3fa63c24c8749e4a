# Inference: one rule fanned out over dataset x classifier x shard, batched. A classifier whose
# weights cannot be had is never asked for here (aggregate reads its status record instead).


rule infer:
    input:
        frames="results/{dataset}/frames/shard-{shard}.parquet",
        model=lambda w: classifier_model(w.classifier),
    output:
        "results/{dataset}/predictions/{classifier}/shard-{shard}.parquet",
    wildcard_constraints:
        classifier=names_pattern(OFF_THE_SHELF),
    params:
        code=code("infer"),
        classifier=lambda w: CLASSIFIERS[w.classifier],
        scheme=lambda w: DATASETS[w.dataset].scheme,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{dataset}/infer/{classifier}/shard-{shard}.log",
    benchmark:
        "benchmarks/out/{dataset}/infer/{classifier}/shard-{shard}.tsv"
    threads: lambda w: CLASSIFIERS[w.classifier]["threads"]
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/infer.py"
