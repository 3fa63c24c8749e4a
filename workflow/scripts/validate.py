import _apexbench_path  # noqa: F401  (src/ on sys.path)
import pandas as pd

from apexbench.tables import read_parquet, write_csv, write_parquet, write_text
from apexbench.validate import summary_markdown
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    samples = pd.concat([read_parquet(p) for p in snakemake.input.samples], ignore_index=True)
    rejected = pd.concat([read_parquet(p) for p in snakemake.input.rejected], ignore_index=True)
    samples = samples.sort_values("sample_id", kind="stable").reset_index(drop=True)
    rejected = rejected.sort_values(["row", "sample_id"], kind="stable").reset_index(drop=True)
    write_parquet(samples, snakemake.output.samples)
    write_csv(rejected, snakemake.output.rejected)
    write_text(summary_markdown(samples, rejected, snakemake.wildcards.dataset), snakemake.output.summary)
    print(f"{len(samples)} samples accepted, {len(rejected)} rejected", file=log)
