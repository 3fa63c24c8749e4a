# Face detection metrics: every detector (Haar, BlazeFace short / full / both) on the demo images
# with hand-drawn boxes (detection.boxes) and on folders of single-face crops (detection.image_sets).
# `snakemake --cores 2 results/detection.csv` (not part of the default target).


rule detection:
    input:
        unpack(detection_inputs),
    output:
        csv="results/detection.csv",
        md="results/detection.md",
    params:
        code=code("detection"),
        detection=DETECTION,
        data=detection_data,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/detection.log",
    benchmark:
        "benchmarks/out/detection.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    script:
        "../scripts/detection.py"
