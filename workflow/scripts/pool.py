import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.composite import pool_samples
from apexbench.tables import read_parquet, write_parquet
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    tables = [(name, read_parquet(path)) for name, path in zip(snakemake.params.sources, snakemake.input)]
    pooled = pool_samples(tables)
    write_parquet(pooled, snakemake.output[0])
    print(f"{len(pooled)} samples pooled from " + ", ".join(f"{n} ({len(t)})" for n, t in tables), file=log)
