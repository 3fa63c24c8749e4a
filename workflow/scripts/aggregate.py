import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json
from pathlib import Path

from apexbench.aggregate import aggregate_set
from apexbench.gallery import write_set_views
from apexbench.report import set_anchor, write_set_report
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    made = set(snakemake.input.models)
    info = snakemake.params.evalset
    # Each classifier's status records as far as they were made (an unavailable weight file stops
    # the chain: its conversion never ran).
    status = {clf: [json.loads(Path(p).read_text()) for p in paths if p in made]
              for clf, paths in snakemake.params.status.items()}
    out = snakemake.output
    results = aggregate_set(info, snakemake.input.samples, snakemake.params.layout, status,
                            snakemake.params.statistics, snakemake.params.confidence, dict(out), log)
    # The set's report page, from the tables and figures just written, with the error gallery; and the
    # sample browser (results/<set>/samples.html); both from the evaluation just made (results).
    files = {"metrics": out.metrics, "paired": out.paired, "confidence": out.confidence, "coverage": out.coverage,
             "robustness": out.robustness, "samples": snakemake.input.samples, "confusion": out.confusion}
    if "rejected" in snakemake.input.keys():
        files["rejected"] = snakemake.input.rejected
    gallery = write_set_views(snakemake.input.samples, info, results, snakemake.params.frames,
                              snakemake.params.report, out.browser, set_anchor(info["name"]), log)
    write_set_report(files, info, snakemake.params.statistics, snakemake.params.confidence, out.page, out.section,
                     gallery)
    print(f"report: {out.page}", file=log)
