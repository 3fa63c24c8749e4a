import _apexbench_path  # noqa: F401  (src/ on sys.path)
from pathlib import Path

from apexbench.demo import build_demo_media
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    written = build_demo_media(Path(snakemake.output[0]).parent)
    print(f"extracted {len(written)} demo media files", file=log)
