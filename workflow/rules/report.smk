# The report: one self-contained HTML file (figures embedded) built from the run's tables.


rule report:
    input:
        metrics="results/metrics.csv",
        paired="results/stats/paired.csv",
        confidence="results/stats/confidence_buckets.csv",
        coverage="results/stats/coverage_accuracy.csv",
        robustness="results/stats/robustness.csv",
        provenance="results/provenance.json",
        samples="results/validated/samples.parquet",
        rejected="results/validated/rejected.csv",
        confusion="results/confusion",
    output:
        "results/report/index.html",
    params:
        code=code("report"),
        dataset=DATASET["name"],
        config=CFG,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/report.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/report.py"
