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


def test_every_rule_script_ends_with_its_script_log_block():
    """``script_log`` ends the process once its block succeeds (``os._exit``: the interpreter's teardown
    cost each job 0.1-0.3 s of CPU), so in every rule script that block is the last statement."""
    import ast

    checked = []
    for path in sorted((REPO / "workflow" / "scripts").glob("*.py")):
        if path.name.startswith("_"):
            continue
        body = ast.parse(path.read_text()).body
        last = body[-1]
        assert isinstance(last, ast.With), f"{path.name}: the last statement is not `with script_log(...)`"
        call = last.items[0].context_expr
        assert isinstance(call, ast.Call) and getattr(call.func, "id", None) == "script_log", path.name
        checked.append(path.name)
    assert len(checked) >= 15, checked


# What each light job's script may not import: every job pays its imports (pandas 0.5 s, scikit-learn
# with scipy 1.2 s, matplotlib 0.5 s, pyarrow.dataset 0.3 s of CPU), and these run once per shard or
# only gather tables.
LIGHT_SCRIPTS = {
    "extract": ("pandas", "sklearn", "scipy", "matplotlib", "pyarrow.dataset"),
    "infer": ("pandas", "sklearn", "scipy", "matplotlib", "pyarrow.dataset"),
    "validate": ("pandas", "sklearn", "scipy", "matplotlib", "pyarrow.dataset"),
    "fetch_model": ("pandas", "sklearn", "scipy", "matplotlib", "pyarrow.dataset"),
    "leaderboard": ("sklearn", "scipy"),  # matplotlib: it draws the report index's leaderboard figure
}


def test_light_jobs_import_no_heavy_library():
    for script, heavy in LIGHT_SCRIPTS.items():
        lines = [line.split("#")[0].strip() for line in (REPO / "workflow" / "scripts" / f"{script}.py").read_text()
                 .splitlines() if re.match(r"^(import|from) ", line)]
        code = "\n".join(lines) + f"\nimport sys\nprint(sorted(m for m in {heavy!r} if m in sys.modules))"
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO / "workflow" / "scripts", capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin"})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "[]", f"{script}: {proc.stdout}"
