"""The workflow stays `snakemake --lint` clean and `snakefmt --check` clean."""

import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    proc = subprocess.run([str(BIN / "snakemake"), "--lint"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_snakefmt_check_is_clean():
    proc = subprocess.run([str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _rule_blocks():
    """(file, rule name, body) for every `rule` in the workflow, cut at the next rule or the end."""
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")) + [REPO / "Snakefile"]:
        text = path.read_text()
        starts = [(m.start(), m.group(1)) for m in re.finditer(r"^\s*rule (\w+):", text, re.M)]
        for (start, name), (end, _) in zip(starts, starts[1:] + [(len(text), None)]):
            yield path.name, name, text[start:end]


def test_every_rule_that_runs_declares_threads_memory_and_runtime():
    """Cluster profiles schedule from these (sbatch --cpus-per-task, --mem, -t); a rule without them
    gets the executor's defaults, which may be far too small or far too large."""
    checked, missing = [], []
    for file, name, body in _rule_blocks():
        if not re.search(r"^\s*(script|shell|run):", body, re.M):
            continue  # target-only rules (all, cnn) run nothing
        checked.append(name)
        for key in ("threads:", "mem_mb=", "runtime="):
            if key not in body:
                missing.append(f"{file}: rule {name} has no {key.rstrip(':=')}")
    assert len(checked) >= 15, checked
    assert not missing, "\n".join(missing)


def test_building_the_dag_imports_no_heavy_library():
    """Every Snakemake command (a dry run, a no-op rerun, each cluster job) imports what the rule files
    import; scikit-learn, torch or mediapipe there would cost every command a second or more."""
    lines = []
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        lines += [line.strip() for line in path.read_text().splitlines()
                  if re.match(r"^(from apexbench[\w.]* import |import apexbench)", line.strip())]
    assert len(lines) >= 10, lines
    heavy = ("sklearn", "torch", "mediapipe", "matplotlib", "onnxruntime", "deepface", "scipy")
    code = "\n".join(lines) + f"\nimport sys\nprint(sorted(m for m in {heavy!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
