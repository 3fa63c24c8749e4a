# The lightweight FER2013 CNN, trained and exported by the workflow (PyTorch: the optional extra in
# requirements-train.txt / envs/train.yaml). Nothing here runs unless asked for (`snakemake cnn`)
# or a classifier of kind cnn is configured: then infer reads the export's status record.
rule train_cnn:
    output:
        checkpoint=f"{TRAIN_DIR}/model.pt",
        history=f"{TRAIN_DIR}/history.csv",
        curve=report(f"{TRAIN_DIR}/curve.png", category="Training"),
        summary=f"{TRAIN_DIR}/train.json",
    params:
        code=code("train_cnn"),
        train_root=TRAIN["train_root"],
        val_root=TRAIN["val_root"],
        labels=TRAIN["labels"],
        options=TRAIN_OPTIONS,
        data=train_data_fingerprint,
    conda:
        "../envs/train.yaml"
    log:
        "logs/train/cnn.log",
    benchmark:
        "benchmarks/out/train/cnn.tsv"
    threads: TRAIN["threads"]
    resources:
        mem_mb=4000,
        runtime=24 * 60,
    script:
        "../scripts/train_cnn.py"


rule export_cnn:
    input:
        checkpoint=f"{TRAIN_DIR}/model.pt",
    output:
        fp32=f"{TRAIN_DIR}/model_fp32.onnx",
        int8=f"{TRAIN_DIR}/model_int8.onnx",
        report=f"{TRAIN_DIR}/export.json",
        status=[trained_status(p) for p in PRECISIONS],
    params:
        code=code("export_cnn"),
        train_root=TRAIN["train_root"],
        val_root=TRAIN["val_root"],
        labels=TRAIN["labels"],
        int8_min_agreement=TRAIN["int8_min_agreement"],
    conda:
        "../envs/train.yaml"
    log:
        "logs/train/export.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    script:
        "../scripts/export_cnn.py"


rule cnn:
    # `snakemake cnn`: train and export the CNN without running a benchmark.
    input:
        rules.export_cnn.output,
        rules.train_cnn.output,
    localrule: True
