# Extraction: seek to the onset and APEX frames of every sample in a shard, detect the face, crop.


rule extract:
    input:
        # No media files here: validate_shard has them as inputs and records each file's sha256
        # in this table, so a changed file reruns its shard's extraction through it (and the DAG
        # at CMED scale checks 10,924 files once, not twice).
        samples="results/validated/shard-{shard}.parquet",
    output:
        "results/frames/shard-{shard}.parquet",
    params:
        code=code("extract"),
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
