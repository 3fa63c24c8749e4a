# The report: one self-contained HTML page per evaluation set (results/<set>/report.html, figures
# and the error gallery's thumbnails embedded), the set's sample browser (results/<set>/samples.html:
# every sample with its crops and every classifier's prediction, filtered and sorted in the page) and
# results/report/index.html: the leaderboard at the top, then every set's section. The gallery and
# the browser read the frame shards' stored crops and the predictions; no video is decoded again.


rule report_set:
    input:
        unpack(set_report_inputs),
    output:
        page=report(
            "results/{evalset}/report.html",
            caption="../report/set_report.rst",
            category="Report",
            subcategory="{evalset}",
        ),
        section="results/{evalset}/report/section.html",
        browser=report(
            "results/{evalset}/samples.html",
            caption="../report/samples.rst",
            category="Report",
            subcategory="{evalset}",
        ),
    params:
        code=code("report_set"),
        evalset=lambda w: set_info(w.evalset),
        views=lambda w: set_views(w.evalset),
        report=CFG["report"],
        statistics=CFG["statistics"],
        confidence=CFG["confidence"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{evalset}/report.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/report_set.py"


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
