"""Run the real workflow in a temporary directory and read its dry-run job lists."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

from conftest import REPO

WORKFLOW_FILES = ("Snakefile", "src", "workflow", "config", "profiles", "resources/models/registry.yaml")


def make_workdir(root: Path, config_changes: dict | None = None) -> Path:
    """Copy the workflow into ``root`` and apply ``config_changes`` (top-level keys) to its config."""
    for name in WORKFLOW_FILES:
        src, dst = REPO / name, root / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    if config_changes:
        edit_config(root, config_changes)
    return root


def edit_config(workdir: Path, changes: dict) -> dict:
    path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def snakemake(workdir: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", *args]
    full_env = {**os.environ, **(env or {})}
    full_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full_env.get('PATH', '')}"
    proc = subprocess.run(cmd, cwd=workdir, env=full_env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-6000:]}")
    return proc


def planned_jobs(workdir: Path, *args: str, env: dict | None = None) -> Counter:
    """Jobs a dry run would execute, as rule -> count ("Nothing to be done" -> empty)."""
    proc = snakemake(workdir, "--dry-run", "--cores", "2", *args, env=env)
    text = proc.stdout + proc.stderr
    jobs: Counter = Counter()
    table = re.search(r"Job stats:\n(.*?)\ntotal\s+\d+", text, re.S)
    if table:
        for line in table.group(1).splitlines():
            match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
            if match:
                jobs[match.group(1)] = int(match.group(2))
    return jobs


def planned_job_targets(workdir: Path, rule: str, *args: str, env: dict | None = None) -> list[str]:
    """Output files of the planned jobs of ``rule`` (from the dry run's job listing)."""
    proc = snakemake(workdir, "--dry-run", "--cores", "2", *args, env=env)
    blocks = re.split(r"\n(?=(?:local)?rule \w+:)", proc.stdout + proc.stderr)
    outputs = []
    for block in blocks:
        if re.match(rf"(?:local)?rule {rule}:", block.strip()):
            match = re.search(r"output: (.*)", block)
            if match:
                outputs.append(match.group(1).strip())
    return sorted(outputs)
