import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.report import write_report
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    write_report(dict(snakemake.input), snakemake.params.dataset, snakemake.params.config, snakemake.output[0])
    print(f"report: {snakemake.output[0]}", file=log)
