import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json

from apexbench.convert import converted_record
from apexbench.tables import write_text
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    status = json.loads(open(snakemake.input.checkpoint).read())
    record = converted_record(snakemake.wildcards.model, status, snakemake.params.samples, snakemake.params.onnx,
                              snakemake.params.max_crops, threads=snakemake.threads, root=snakemake.params.root,
                              faces_cfg=snakemake.params.faces)
    print(json.dumps(record), file=log)
    write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", snakemake.output[0])
