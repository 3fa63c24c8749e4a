# LibreFace: its PyTorch checkpoint (resolved by fetch_model) -> ONNX, checked against torch on real
# face crops (max abs diff < 1e-4), for the libreface classifier to run on onnxruntime. Needs torch
# (requirements-convert.txt, or envs/convert.yaml with --use-conda); without it the record says so
# with the fix, and is dropped at DAG-build time once torch is installed (see models.smk).
# The frame shards are `ancient`: their crops are only a sanity check of the export, so a changed
# dataset row does not reconvert the model (nor rerun every libreface job).


rule convert:
    input:
        checkpoint=model_status("{model}"),
        frames=ancient([f"results/frames/shard-{k}.parquet" for k in SHARDS]),
    output:
        converted_status("{model}"),
    params:
        onnx=lambda w: f"{MODELS_DIR}/converted/{w.model}.onnx",
        max_crops=16,
    wildcard_constraints:
        model="|".join(CONVERTED_KEYS) or "no-model-to-convert",
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
