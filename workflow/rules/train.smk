# Trained baselines (flow, landmarks, siamese): features per dataset shard, then one out-of-fold
# training job per evaluation set and classifier: LOSO / grouped k-fold within a dataset, LOSO over
# a composite's pooled subjects, or trained on another dataset (evaluation.protocol cross_dataset).


rule features:
    input:
        frames="results/{dataset}/frames/shard-{shard}.parquet",
        model=lambda w: status_records(w.classifier),
    output:
        "results/{dataset}/features/{classifier}/shard-{shard}.parquet",
    wildcard_constraints:
        classifier=names_pattern(TRAINED),
    params:
        code=code("features"),
        kind=lambda w: CLASSIFIERS[w.classifier]["kind"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{dataset}/features/{classifier}/shard-{shard}.log",
    benchmark:
        "benchmarks/out/{dataset}/features/{classifier}/shard-{shard}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/features.py"


rule train:
    input:
        unpack(train_inputs),
    output:
        "results/{evalset}/predictions/{classifier}/out_of_fold.parquet",
    wildcard_constraints:
        classifier=names_pattern(TRAINED),
    params:
        code=code("train"),
        kind=lambda w: CLASSIFIERS[w.classifier]["kind"],
        scheme=lambda w: PLAN.scheme(w.evalset),
        evaluation=lambda w: PLAN.evaluation(w.evalset),
        sources=lambda w: [
            {
                "dataset": d,
                "prefix": prefix,
                "role": role,
                "samples": samples_path(d),
                "features": [
                    f"results/{d}/features/{w.classifier}/shard-{k}.parquet"
                    for k in SHARDS[d]
                ],
            }
            for d, prefix, role in train_sources(w.evalset)
        ],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{evalset}/train/{classifier}.log",
    benchmark:
        "benchmarks/out/{evalset}/train/{classifier}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    script:
        "../scripts/train.py"
