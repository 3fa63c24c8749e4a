# Aggregation, per evaluation set (a dataset or a composite): every classifier's predictions ->
# the set's metrics.csv, confusion matrices, statistics, summary, its report page (with its section
# of the index and the error gallery) and its sample browser; then one gather step for the run:
# results/metrics.csv (every set, `dataset` column first), the leaderboard, the paired tests with
# Holm's correction, the run summary and provenance.


rule aggregate:
    input:
        unpack(aggregate_inputs),
        # The weight files' records, asked for directly (not only through the checkpoint in
        # aggregate_inputs): Snakemake then schedules a new classifier's fetch_model even when the
        # target is a file downstream (`snakemake results/metrics.csv`).
        fetched=[model_status(m) for m in MODEL_KEYS],
    output:
        metrics="results/{evalset}/metrics.csv",
        summary="results/{evalset}/summary.md",
        # One directory (a CSV and a PNG per classifier) keeps the output set fixed, so adding a
        # classifier is seen as a params/input change of this job.
        confusion=report(
            directory("results/{evalset}/confusion"),
            patterns=["{name}.png"],
            caption="../report/confusion.rst",
            category="Confusion matrices",
            subcategory="{evalset}",
        ),
        paired="results/{evalset}/stats/paired.csv",
        confidence="results/{evalset}/stats/confidence_buckets.csv",
        coverage="results/{evalset}/stats/coverage_accuracy.csv",
        robustness="results/{evalset}/stats/robustness.csv",
        # The set's page (apexbench.report) is drawn here from the tables and figures just made: a job
        # of its own would pay a process start and the imports of pandas and matplotlib again.
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
        code=code("aggregate"),
        evalset=lambda w: set_info(w.evalset),
        layout=lambda w: prediction_layout(w.evalset),
        status={name: status_records(name) for name in CLASSIFIERS},
        trained=TRAINED,
        frames=lambda w: set_frames(w.evalset),
        report=CFG["report"],
        statistics=CFG["statistics"],
        confidence=CFG["confidence"],
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/{evalset}/aggregate.log",
    benchmark:
        "benchmarks/out/{evalset}/aggregate.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/aggregate.py"


# The run's leaderboard and its report (results/report/index.html: the leaderboard at the top, then
# every set's section as aggregate wrote it); both in one job, which has every input either needs: a
# report job of its own only paid another process start once the leaderboard was written.
rule leaderboard:
    input:
        metrics=expand("results/{evalset}/metrics.csv", evalset=SETS),
        paired=expand("results/{evalset}/stats/paired.csv", evalset=SETS),
        sections=expand("results/{evalset}/report/section.html", evalset=SETS),
        models=lambda w: all_model_status(),
    output:
        metrics=report(
            "results/metrics.csv",
            caption="../report/metrics.rst",
            category="Leaderboard",
        ),
        leaderboard=report(
            "results/leaderboard.csv",
            caption="../report/leaderboard.rst",
            category="Leaderboard",
        ),
        paired="results/stats/paired.csv",
        summary="results/summary.md",
        provenance="results/provenance.json",
        index=report(
            "results/report/index.html",
            caption="../report/index.rst",
            category="Report",
        ),
    params:
        code=code("leaderboard"),
        sets=SETS,
        composites={name: list(c.sources) for name, c in COMPOSITES.items()},
        config=CFG,
    conda:
        "../envs/apexbench.yaml"
    log:
        "logs/leaderboard.log",
    benchmark:
        "benchmarks/out/leaderboard.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/leaderboard.py"
