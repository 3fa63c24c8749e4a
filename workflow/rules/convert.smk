# LibreFace: its PyTorch checkpoint (resolved by fetch_model) -> ONNX, checked against torch on real
# face crops (max abs diff < 1e-4), for the libreface classifier to run on onnxruntime. Needs torch
# (requirements-convert.txt, or envs/convert.yaml with --use-conda); without it the record says so
# with the fix, and is dropped at DAG-build time once torch is installed (see models.smk). A
# checkpoint like fetch_model: libreface's inference runs only when the conversion succeeded.
# The check crops come from the first usable samples of the run's first dataset, read from its own
# media and cut exactly as `extract` cuts them (not from the frame shards, so this rule does not
# depend on the per-shard jobs a cluster profile groups); the job reads the dataset itself to pick
# them, so no row's details become a param (a changed param would reconvert). The media are
# `ancient`: they only sanity-check the export, so a changed file does not reconvert the model.
checkpoint convert:
    input:
        checkpoint=model_status("{model}"),
        media=lambda w: ancient(check_media()),
    output:
        converted_status("{model}"),
    params:
        code=code("convert"),
        onnx=lambda w: f"{MODELS_DIR}/converted/{w.model}.onnx",
        max_crops=16,
        dataset=CHECK_DATASET.spec,
        faces=CHECK_DATASET.faces,
    wildcard_constraints:
        model=names_pattern(CONVERTED_KEYS),
    conda:
        "../envs/convert.yaml"
    log:
        "logs/convert/{model}.log",
    threads: 2
    resources:
        mem_mb=3000,
        runtime=20,
    script:
        "../scripts/convert.py"
