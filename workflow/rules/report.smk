# The report: one self-contained HTML page per evaluation set (results/<set>/report.html, figures
# embedded) and results/report/index.html: the leaderboard at the top, then every set's section.


rule report_set:
    input:
        unpack(set_report_inputs),
    output:
        page="results/{evalset}/report.html",
        section="results/{evalset}/report/section.html",
    params:
        code=code("report_set"),
        evalset=lambda w: set_info(w.evalset),
        statistics=CFG["statistics"],
        confidence=CFG["confidence"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{evalset}/report.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/report_set.py"


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
