"""The workflow at CMED scale (10,924 clips): DAG build, no-op rerun, extraction throughput, memory.

Generates a synthetic CMED-sized dataset (``apexbench.cmed_synth``: short MJPG index videos, or the
table alone with ``--no-videos``), copies the workflow into ``--workdir`` with a config pointing at
it, and measures with the real ``snakemake`` command line:

- DAG build: wall and CPU time of ``snakemake --dry-run`` (cold: before any result exists; and
  after a run);
- a full run (``--run``, videos only) and then no-op reruns: ``snakemake --cores N`` with nothing
  to do (the time a user waits for "Nothing to be done"), ``--repeats`` times (median);
- extraction throughput and peak memory (max RSS) per job, from the rules' ``benchmark:`` files.

    .venv/bin/python benchmarks/cmed_scale.py --workdir /tmp/cmed --run [--shards 64] [--cores 2]
                                              [--mirror DIR] [--no-videos] [--n 10924] [--repeats 3]

The dataset is named ``cmed_synthetic``: its results are under ``results/cmed_synthetic/``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from apexbench.cmed_synth import CMED_SIZE, write_cmed_dataset  # noqa: E402

WORKFLOW_FILES = ("Snakefile", "src", "workflow", "config", "profiles", "resources/models/registry.yaml")


def make_workdir(workdir: Path, data: Path, table: Path, args) -> None:
    for name in WORKFLOW_FILES:
        src, dst = args.workflow / name, workdir / name
        if dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    config = {
        "dataset": {"name": "cmed_synthetic", "format": "cmed_csv", "root": str(data / "media"),
                    "table": str(table), "labels": "cmed", "frame_base": 0},
        "shards": args.shards if args.shards == "auto" else int(args.shards),
        "classifiers": {"minixception": {"kind": "minixception", "model": "minixception", "batch_size": 64}},
        "models": {"mirror": args.mirror, "download": args.mirror is None},
    }
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def timed(cmd: list[str], cwd: Path) -> tuple[float, str, float]:
    """(wall s, output, CPU s of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, proc.stdout + proc.stderr, cpu


def repeated(cmd: list[str], cwd: Path, repeats: int, check: str | None = None) -> str:
    """Median wall (and CPU) of ``repeats`` runs, each run listed, with the load average."""
    runs = []
    for _ in range(repeats):
        wall, out, cpu = timed(cmd, cwd)
        if check and check not in out:
            sys.exit(f"{' '.join(cmd)}: expected {check!r}:\n" + out[-2000:])
        runs.append((wall, cpu))
    load = "{:.1f}".format(os.getloadavg()[0])
    return (f"{statistics.median(w for w, _ in runs):.2f} s wall, {statistics.median(c for _, c in runs):.2f} s CPU "
            f"(median of {repeats}: " + ", ".join(f"{w:.2f}" for w, _ in runs) + f" s; load {load})")


def rule_of(path: Path) -> str:
    """The rule a benchmark file belongs to: benchmarks/out/<set>/<rule>/... or <set>/<rule>.tsv or <rule>.tsv."""
    parts = path.parts
    if len(parts) == 1:
        return path.stem
    return Path(parts[1]).stem


def benchmark_table(workdir: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted((workdir / "benchmarks/out").rglob("*.tsv")):
        rule = rule_of(tsv.relative_to(workdir / "benchmarks/out"))
        bench = pd.read_csv(tsv, sep="\t")
        rows.append({"rule": rule, "job": tsv.stem, "s": float(bench["s"].iloc[0]),
                     "max_rss_mb": float(pd.to_numeric(bench["max_rss"], errors="coerce").iloc[0])})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/apexbench-cmed"))
    parser.add_argument("--n", type=int, default=CMED_SIZE)
    parser.add_argument("--shards", default="64", help="a number, or auto")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--mirror", default=None, help="model mirror (models.mirror); else download")
    parser.add_argument("--no-videos", action="store_true", help="write the table only (dry runs only)")
    parser.add_argument("--run", action="store_true", help="run the workflow, then time a no-op rerun")
    parser.add_argument("--repeats", type=int, default=3, help="no-op reruns and dry runs to take the median of")
    parser.add_argument("--workflow", type=Path, default=REPO,
                        help="the workflow checkout to copy and run (default: this one), e.g. an older commit's")
    args = parser.parse_args()
    snakemake = [sys.executable, "-m", "snakemake"]

    data = args.workdir / "data"
    start = time.perf_counter()
    table = write_cmed_dataset(data, n=args.n, videos=not args.no_videos, progress=sys.stderr)
    print(f"dataset: {args.n} rows{'' if args.no_videos else ' and videos'} in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    wd = args.workdir / "workflow"
    make_workdir(wd, data, table, args)

    figures = []
    dry_run = [*snakemake, "--dry-run", "--cores", str(args.cores), "--quiet", "rules"]
    figures.append(("DAG build (`snakemake --dry-run`, as found)", repeated(dry_run, wd, args.repeats)))
    if args.run and not args.no_videos:
        run, _, cpu = timed([*snakemake, "--cores", str(args.cores)], wd)
        figures.append((f"full run, {args.cores} cores", f"{run / 60:.1f} min wall, {cpu / 60:.1f} min CPU"))
    if args.run or (wd / "results/metrics.csv").exists():
        figures.append(("no-op rerun (`snakemake --cores N`, nothing to be done)",
                        repeated([*snakemake, "--cores", str(args.cores)], wd, args.repeats, "Nothing to be done")))
        figures.append(("DAG build with every result present (`--dry-run`)", repeated(dry_run, wd, args.repeats)))
    bench = benchmark_table(wd)
    if len(bench):
        samples = pd.read_parquet(wd / "results/cmed_synthetic/validated/samples.parquet", columns=["sample_id"])
        extract = bench[bench["rule"] == "extract"]
        figures.append(("extraction throughput (samples / summed extract job time)",
                        f"{len(samples) / extract['s'].sum():.0f} samples/s "
                        f"({len(extract)} jobs, median {extract['s'].median():.1f} s/job)"))
        for rule, group in bench.groupby("rule"):
            figures.append((f"peak memory per `{rule}` job (max RSS, max over {len(group)} jobs)",
                            f"{group['max_rss_mb'].max():.0f} MB"))
    print(f"\n{args.n} clips, {args.shards} shards, {args.cores} cores\n")
    print("| what | figure |\n|---|---|")
    for what, value in figures:
        print(f"| {what} | {value} |")


if __name__ == "__main__":
    main()
