# Validation is done per shard by rule extract (extract.smk), which checks its rows and extracts the
# accepted ones; this gather step writes the dataset's sample table, rejected.csv and the summary. A
# composite's sample table pools its datasets' tables (sample ids and subjects prefixed).


rule validate:
    input:
        samples=lambda w: expand(
            "results/{{dataset}}/validated/shard-{shard}.parquet",
            shard=SHARDS[w.dataset],
        ),
        rejected=lambda w: expand(
            "results/{{dataset}}/validated/rejected-{shard}.parquet",
            shard=SHARDS[w.dataset],
        ),
    output:
        samples="results/{dataset}/validated/samples.parquet",
        rejected="results/{dataset}/validated/rejected.csv",
        summary=report(
            "results/{dataset}/validated/summary.md",
            category="Datasets",
            subcategory="{dataset}",
        ),
    params:
        code=code("validate"),
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{dataset}/validate/gather.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/validate.py"


rule pool:
    input:
        lambda w: [samples_path(d) for d in COMPOSITES[w.composite].sources],
    output:
        "results/{composite}/validated/samples.parquet",
    params:
        code=code("pool"),
        sources=lambda w: list(COMPOSITES[w.composite].sources),
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{composite}/pool.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/pool.py"
