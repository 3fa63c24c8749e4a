# Validation and extraction of one shard, in one job: the shard's rows are checked (passed as params,
# so a changed row reruns only its shard; rejected rows keep a reason), then the onset and APEX
# frames of every accepted sample are read by seeking, the face is detected on the APEX and cropped.
# The media files are not inputs (except the demo's, which a rule makes): their sizes and
# modification times are a param (`media`), one stat per file at DAG-build time.
# One job rather than two: each job pays a process start and its imports, a media file is opened
# once, and no job group is needed on a cluster (Snakemake's groups break when a checkpoint, like
# fetch_model, reshapes the DAG: snakemake/snakemake#4202).


rule extract:
    input:
        shard_media,
    output:
        samples="results/{dataset}/validated/shard-{shard}.parquet",
        rejected="results/{dataset}/validated/rejected-{shard}.parquet",
        frames="results/{dataset}/frames/shard-{shard}.parquet",
    params:
        code=code("extract"),
        media=shard_media_stamp,
        rows=lambda w: SHARD_ROWS[w.dataset][int(w.shard)],
        dataset=lambda w: DATASETS[w.dataset].spec,
        n_shards=lambda w: DATASETS[w.dataset].shards,
        faces=lambda w: DATASETS[w.dataset].faces,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{dataset}/extract/shard-{shard}.log",
    benchmark:
        "benchmarks/out/{dataset}/extract/shard-{shard}.tsv"
    threads: 1
    # Every ready extraction before any inference: with shards of equal size the inference jobs then
    # run in full waves. Left to Snakemake's default order, a shard's inference started while another
    # shard still waited for extraction, and one core idled 2 s at the end (FER2013 train, 2 cores).
    priority: 1
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/extract.py"
