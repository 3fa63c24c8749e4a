# Extraction: seek to the onset and APEX frames of every sample in a shard, detect the face, crop.


rule extract:
    input:
        samples="results/validated/shard-{shard}.parquet",
        media=shard_media,
    output:
        "results/frames/shard-{shard}.parquet",
    params:
        root=DATASET["root"],
        faces=CFG["faces"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/extract/shard-{shard}.log",
    benchmark:
        "benchmarks/out/extract/shard-{shard}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/extract.py"
