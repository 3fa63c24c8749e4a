import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json

from apexbench.convert import check_samples, converted_record
from apexbench.datasets import read_dataset
from apexbench.tables import write_text
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    status = json.loads(open(snakemake.input.checkpoint).read())
    dataset = snakemake.params.dataset
    samples = check_samples(read_dataset(dataset, base_dir="."))
    record = converted_record(snakemake.wildcards.model, status, samples, snakemake.params.onnx,
                              snakemake.params.max_crops, threads=snakemake.threads, root=dataset["root"],
                              faces_cfg=snakemake.params.faces)
    print(json.dumps(record), file=log)
    write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", snakemake.output[0])
