# Aggregation: every classifier's predictions -> metrics.csv, confusion matrices, run summary.


rule aggregate:
    input:
        samples="results/validated/samples.parquet",
        predictions=expand(
            "results/predictions/{classifier}/shard-{shard}.parquet",
            classifier=CLASSIFIERS,
            shard=SHARDS,
        ),
        models=all_model_status(),
        perturbed=[
            f
            for by_classifier in PERTURBED_PREDICTIONS.values()
            for files in by_classifier.values()
            for f in files
        ],
    output:
        metrics="results/metrics.csv",
        summary="results/summary.md",
        provenance="results/provenance.json",
        # One directory (a CSV and a PNG per classifier) keeps the output set fixed, so adding a
        # classifier is seen as a params/input change of this job.
        confusion=directory("results/confusion"),
        paired="results/stats/paired.csv",
        confidence="results/stats/confidence_buckets.csv",
        coverage="results/stats/coverage_accuracy.csv",
        robustness="results/stats/robustness.csv",
    params:
        code=code("aggregate"),
        classifiers=list(CLASSIFIERS),
        scheme=CFG["label_scheme"],
        dataset=DATASET["name"],
        config=CFG,
        perturbed=PERTURBED_PREDICTIONS,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/aggregate.log",
    benchmark:
        "benchmarks/out/aggregate/aggregate.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/aggregate.py"
