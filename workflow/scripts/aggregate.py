import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json
from pathlib import Path

from apexbench.aggregate import aggregate_run
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    predictions = {
        name: [p for p in snakemake.input.predictions if Path(p).parent.name == name]
        for name in snakemake.params.classifiers
    }
    aggregate_run(
        snakemake.input.samples,
        predictions,
        snakemake.params.scheme,
        snakemake.params.dataset,
        [json.loads(Path(p).read_text()) for p in snakemake.input.models],
        snakemake.params.config,
        dict(snakemake.output),
        log,
        perturbed=snakemake.params.perturbed,
    )
