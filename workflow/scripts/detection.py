import _apexbench_path  # noqa: F401  (src/ on sys.path)

from apexbench.detection_eval import evaluate, write_outputs
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    cfg = snakemake.params.detection
    table, demo_detail = evaluate(snakemake.input.boxes, cfg["media_root"], cfg["image_sets"], cfg["detectors"],
                                  cfg["min_score"], cfg["min_iou"], log=log)
    write_outputs(table, demo_detail, cfg["min_iou"], snakemake.output.csv, snakemake.output.md)
