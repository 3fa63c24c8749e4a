# Annotation of any image or video named in config (annotate.media; the demo media by default):
# `snakemake results/annotate/<name>.json` writes the per-face JSON and an annotated .png / .mp4.


rule annotate_image:
    input:
        unpack(annotate_inputs),
    output:
        json="results/annotate/{name}.json",
        image="results/annotate/{name}.png",
    wildcard_constraints:
        name=_names(image=True),
    params:
        code=code("annotate"),
        annotate=ANNOTATE,
        classifier=annotate_classifier,
        faces=CFG["faces"],
        scheme=CFG["label_scheme"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/annotate/{name}.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    script:
        "../scripts/annotate.py"


rule annotate_video:
    input:
        unpack(annotate_inputs),
    output:
        json="results/annotate/{name}.json",
        video="results/annotate/{name}.mp4",
    wildcard_constraints:
        name=_names(image=False),
    params:
        code=code("annotate"),
        annotate=ANNOTATE,
        classifier=annotate_classifier,
        faces=CFG["faces"],
        scheme=CFG["label_scheme"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/annotate/{name}.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/annotate.py"
