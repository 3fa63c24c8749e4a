import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.models import fetch_all
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    fetch_all(snakemake.params.model_keys, snakemake.params.models, log)
