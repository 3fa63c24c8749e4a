import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.tables import read_table, write_table, write_table_csv, write_text
from apexbench.validate import gather_shards, summary_markdown
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    samples, rejected = gather_shards([read_table(p) for p in snakemake.input.samples],
                                      [read_table(p) for p in snakemake.input.rejected])
    write_table(samples, snakemake.output.samples)
    write_table_csv(rejected, snakemake.output.rejected)
    write_text(summary_markdown(samples, rejected, snakemake.wildcards.dataset), snakemake.output.summary)
    print(f"{samples.num_rows} samples accepted, {rejected.num_rows} rejected", file=log)
