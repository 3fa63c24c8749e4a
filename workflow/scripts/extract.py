import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.extract import extract_samples
from apexbench.tables import read_parquet, write_parquet
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    samples = read_parquet(snakemake.input.samples)
    frames = extract_samples(samples, snakemake.params.root, snakemake.params.faces, log=log)
    write_parquet(frames, snakemake.output[0])
    print(f"{(frames['face_status'] == 'ok').sum()}/{len(frames)} samples with a face", file=log)
