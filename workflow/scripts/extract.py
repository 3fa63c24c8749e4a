import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.datasets.base import RawRow
from apexbench.extract import extract_shard
from apexbench.tables import write_table
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    rows = [RawRow(**r) for r in snakemake.params.rows]
    samples, rejected, frames = extract_shard(rows, snakemake.params.dataset, snakemake.params.n_shards,
                                              snakemake.params.faces, log=log)
    write_table(samples, snakemake.output.samples)
    write_table(rejected, snakemake.output.rejected)
    write_table(frames, snakemake.output.frames)
    faces = sum(status == "ok" for status in frames.column("face_status").to_pylist())
    print(f"shard {snakemake.wildcards.shard}: {samples.num_rows} accepted, {rejected.num_rows} rejected; "
          f"{faces}/{frames.num_rows} samples with a face", file=log)
