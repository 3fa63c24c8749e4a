# Inference: one rule fanned out over classifier x shard, batched.


rule infer:
    input:
        frames="results/frames/shard-{shard}.parquet",
        model=lambda w: classifier_model(w.classifier),
    output:
        "results/predictions/{classifier}/shard-{shard}.parquet",
    wildcard_constraints:
        classifier=OFF_THE_SHELF_PATTERN,
    params:
        code=code("infer"),
        classifier=lambda w: CLASSIFIERS[w.classifier],
        scheme=CFG["label_scheme"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/infer/{classifier}/shard-{shard}.log",
    benchmark:
        "benchmarks/out/infer/{classifier}/shard-{shard}.tsv"
    threads: lambda w: CLASSIFIERS[w.classifier]["threads"]
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/infer.py"
