# Validation: each shard checks its own rows (passed as params, so a changed row reruns only its
# shard); a gather step writes the sample table, rejected.csv and the summary.


rule validate_shard:
    input:
        shard_media,
    output:
        samples="results/validated/shard-{shard}.parquet",
        rejected="results/validated/rejected-{shard}.parquet",
    params:
        code=code("validate_shard"),
        rows=lambda w: SHARD_ROWS[int(w.shard)],
        dataset=DATASET,
        n_shards=N_SHARDS,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/validate/shard-{shard}.log",
    benchmark:
        "benchmarks/out/validate_shard/shard-{shard}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/validate_shard.py"


rule validate:
    input:
        samples=expand("results/validated/shard-{shard}.parquet", shard=SHARDS),
        rejected=expand("results/validated/rejected-{shard}.parquet", shard=SHARDS),
    output:
        samples="results/validated/samples.parquet",
        rejected="results/validated/rejected.csv",
        summary=report("results/validated/summary.md", category="Dataset"),
    params:
        code=code("validate"),
        dataset=DATASET["name"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/validate/gather.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/validate.py"
