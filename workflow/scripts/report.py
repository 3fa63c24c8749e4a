import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.report import write_index
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    write_index(snakemake.input.leaderboard, snakemake.input.paired, snakemake.input.provenance,
                snakemake.input.sections, snakemake.params.sets, snakemake.params.statistics, snakemake.output[0])
    print(f"report: {snakemake.output[0]}", file=log)
