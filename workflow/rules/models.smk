# Weight files from the model registry: local -> mirror -> download, sha256 enforced. A model that
# cannot be resolved yields a status record saying so, with the fix (never a failed run). The rule
# is a checkpoint: once it has run, the rules that need the weights are asked for only when the
# record says available, so an unavailable classifier costs this one job. A record that no longer
# matches the weight file (placed, replaced or removed since) is dropped at DAG-build time, so the
# same command then reruns this rule and that classifier's branch, and nothing else.
for _model in MODEL_KEYS:
    if status_is_stale(
        model_status(_model), REGISTRY[_model], MODELS_DIR, MODELS["mirror"]
    ):
        Path(model_status(_model)).unlink()
for _model in CONVERTED_KEYS:
    if converted_is_stale(converted_status(_model)):
        Path(converted_status(_model)).unlink()


checkpoint fetch_model:
    output:
        model_status("{model}"),
    params:
        code=code("fetch_model"),
        models=lambda w: fetch_config(MODELS, w.model),
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/fetch_model/{model}.log",
    # Runs where Snakemake runs (a cluster's login node has internet, compute nodes often do not).
    localrule: True
    threads: 1
    # Before inference, as extraction (see extract.smk): every inference job waits for it.
    priority: 1
    resources:
        mem_mb=500,
        runtime=30,
    script:
        "../scripts/fetch_model.py"


rule fetch_models:
    # Download every registry file up front (e.g. on a cluster's login node); always runs when asked.
    params:
        code=code("fetch_models"),
        models=MODELS,
        model_keys=sorted(REGISTRY),
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/fetch_models.log",
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
    script:
        "../scripts/fetch_models.py"
