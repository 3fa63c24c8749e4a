import _apexbench_path  # noqa: F401  (src/ on sys.path)

from apexbench.train.loop import TrainOptions, run_training
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    options = TrainOptions.from_config({**snakemake.params.options, "threads": snakemake.threads})
    run_training(snakemake.params.train_root, snakemake.params.val_root, snakemake.params.labels, options,
                 dict(snakemake.output), log=log)
