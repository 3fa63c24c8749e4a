import _apexbench_path  # noqa: F401  (src/ on sys.path)

from apexbench.train.export import export_and_check
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    export_and_check(snakemake.input.checkpoint, snakemake.params.val_root, snakemake.params.labels,
                     snakemake.params.int8_min_agreement, dict(snakemake.output), train_root=snakemake.params.train_root,
                     log=log)
