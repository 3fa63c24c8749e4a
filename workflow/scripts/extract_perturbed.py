import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.perturb import perturb_frames
from apexbench.tables import read_parquet, write_parquet
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    frames = read_parquet(snakemake.input.frames)
    perturbed = perturb_frames(frames, snakemake.wildcards.perturbation, snakemake.params.faces, log=log)
    write_parquet(perturbed, snakemake.output[0])
    print(f"{(perturbed['face_status'] == 'ok').sum()}/{len(perturbed)} samples with a face", file=log)
