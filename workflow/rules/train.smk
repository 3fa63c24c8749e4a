# Trained baselines (flow, landmarks, siamese): features per shard, then one out-of-fold training
# job per classifier that writes predictions for every shard in the predictions schema.


rule features:
    input:
        frames="results/frames/shard-{shard}.parquet",
        model=lambda w: [
            model_status(m) for m in [CLASSIFIERS[w.classifier]["model"]] if m
        ],
    output:
        "results/features/{classifier}/shard-{shard}.parquet",
    wildcard_constraints:
        classifier=TRAINED_PATTERN,
    params:
        code=code("features"),
        kind=lambda w: CLASSIFIERS[w.classifier]["kind"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/features/{classifier}/shard-{shard}.log",
    benchmark:
        "benchmarks/out/features/{classifier}/shard-{shard}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/features.py"


rule train:
    input:
        samples="results/validated/samples.parquet",
        features=lambda w: expand(
            "results/features/{classifier}/shard-{shard}.parquet",
            classifier=w.classifier,
            shard=SHARDS,
        ),
    output:
        expand("results/predictions/{{classifier}}/shard-{shard}.parquet", shard=SHARDS),
    wildcard_constraints:
        classifier=TRAINED_PATTERN,
    params:
        code=code("train"),
        kind=lambda w: CLASSIFIERS[w.classifier]["kind"],
        scheme=CFG["label_scheme"],
        evaluation=CFG["evaluation"],
        dataset=DATASET["name"],
        n_shards=N_SHARDS,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/train/{classifier}.log",
    benchmark:
        "benchmarks/out/train/{classifier}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    script:
        "../scripts/train.py"
