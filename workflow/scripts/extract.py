import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.datasets.base import RawRow
from apexbench.extract import extract_samples
from apexbench.labels import label_map_for
from apexbench.tables import write_parquet
from apexbench.validate import validate_rows
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    dataset = snakemake.params.dataset
    rows = [RawRow(**r) for r in snakemake.params.rows]
    samples, rejected = validate_rows(rows, dataset["root"], label_map_for(dataset), snakemake.params.n_shards,
                                      allow_outside_root=dataset["allow_outside_root"])
    print(f"shard {snakemake.wildcards.shard}: {len(samples)} accepted, {len(rejected)} rejected", file=log)
    write_parquet(samples, snakemake.output.samples)
    write_parquet(rejected, snakemake.output.rejected)
    frames = extract_samples(samples, dataset["root"], snakemake.params.faces, log=log)
    write_parquet(frames, snakemake.output.frames)
    print(f"{(frames['face_status'] == 'ok').sum()}/{len(frames)} samples with a face", file=log)
