# The report: results/report/index.html, the leaderboard at the top, then every set's section. Each
# set's own page (results/<set>/report.html, figures embedded) and its section are made by aggregate.


rule report:
    input:
        leaderboard="results/leaderboard.csv",
        paired="results/stats/paired.csv",
        provenance="results/provenance.json",
        sections=expand("results/{evalset}/report/section.html", evalset=SETS),
    output:
        "results/report/index.html",
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
