import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json

from apexbench.models import model_status_record
from apexbench.tables import write_text
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    record = model_status_record(snakemake.wildcards.model, snakemake.params.models, progress=log)
    print(json.dumps(record), file=log)
    write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", snakemake.output[0])
