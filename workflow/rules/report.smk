# The report: results/report/index.html, the leaderboard at the top, then every set's section. Each
# set's own page (results/<set>/report.html, figures and the error gallery's thumbnails embedded), its
# section of the index and its sample browser (results/<set>/samples.html: every sample with its
# crops and every classifier's prediction, filtered and sorted in the page) are made by aggregate,
# from the frame shards' stored crops and the predictions; no video is decoded again.


rule report:
    input:
        leaderboard="results/leaderboard.csv",
        paired="results/stats/paired.csv",
        provenance="results/provenance.json",
        sections=expand("results/{evalset}/report/section.html", evalset=SETS),
    output:
        report(
            "results/report/index.html",
            caption="../report/index.rst",
            category="Report",
        ),
    params:
        code=code("report"),
        sets=SETS,
        statistics=CFG["statistics"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/report.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/report.py"
