import _apexbench_path  # noqa: F401  (src/ on sys.path)
from apexbench.gallery import write_set_views
from apexbench.report import set_anchor, write_set_report
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    info = snakemake.params.evalset
    # The sample browser (results/<set>/samples.html) and the error gallery of the report section.
    gallery = write_set_views(dict(snakemake.input), info, snakemake.params.views, snakemake.params.report,
                              snakemake.output.browser, set_anchor(info["name"]), log)
    write_set_report(dict(snakemake.input), info, snakemake.params.statistics, snakemake.params.confidence,
                     snakemake.output.page, snakemake.output.section, gallery)
    print(f"report: {snakemake.output.page}", file=log)
