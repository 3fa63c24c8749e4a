import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.models import model_status_record
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    for key in snakemake.params.model_keys:
        record = model_status_record(key, snakemake.params.models, progress=log)
        line = f"{key}: {record['path']} ({record['sha256']})" if record["available"] else f"{key}: {record['message']}"
        print(line, file=log)
        print(line)
