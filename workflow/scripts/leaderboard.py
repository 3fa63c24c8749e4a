import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json
from pathlib import Path

from apexbench.leaderboard import gather
from apexbench.report import write_index
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    records = [json.loads(Path(p).read_text()) for p in snakemake.input.models]
    out = snakemake.output
    board = gather(snakemake.input.metrics, snakemake.input.paired, records, snakemake.params.config,
                   snakemake.params.composites, dict(out))
    print(f"leaderboard: {len(board)} rows over {board['dataset'].nunique()} set(s)", file=log)
    write_index(out.leaderboard, out.paired, out.provenance, snakemake.input.sections, snakemake.params.sets,
                snakemake.params.config["statistics"], out.index)
    print(f"report: {out.index}", file=log)
