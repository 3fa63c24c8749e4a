import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.report import write_set_report
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    write_set_report(dict(snakemake.input), snakemake.params.evalset, snakemake.params.statistics,
                     snakemake.params.confidence, snakemake.output.page, snakemake.output.section)
    print(f"report: {snakemake.output.page}", file=log)
