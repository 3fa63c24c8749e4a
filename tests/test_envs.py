"""The per-rule conda environments (`snakemake --use-conda`) hold what each rule runs.

Checked by reading, without conda: for every rule with `conda:` and `script:`, the third-party
modules imported by its script and by every package module the script reaches (the reach that
`apexbench.codehash` follows for the rules' `code` params) must each come from a distribution the
rule's environment installs: its pip pins, plus what its `<env>.post-deploy.sh` installs with
`--no-deps` (Snakemake runs that script after creating the env). Import names are mapped to
distributions with the metadata of the installed packages (`cv2` -> opencv-contrib-python-headless,
`yaml` -> PyYAML, `sklearn` -> scikit-learn, `PIL` -> Pillow). A `--no-deps` package brings its
declared dependencies into the check (less those the project leaves out on purpose). Then, where
conda or mamba is installed, the `convert` environment is created for real and imports them.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from apexbench.codehash import package_modules
from apexbench.kinds import KINDS

from conftest import REPO

SRC = REPO / "src"
ENVS = REPO / "workflow" / "envs"
# A --no-deps package's declared dependencies that the project leaves out on purpose
# (requirements-nodeps.txt): they would bring a second OpenCV, JAX, or TensorFlow.
LEFT_OUT = {
    "mediapipe": {"jax", "jaxlib", "opencv-contrib-python", "sentencepiece", "sounddevice"},
    "deepface": {"retina-face"},
}
# Needed at run time although not imported by name in our code, or not declared by the package.
IMPLIED_BY_CODE = {  # a use in our code -> the distribution it needs
    "torch.onnx.export": "onnx",  # torch's exporter imports onnx ("Module onnx is not installed!")
    "onnxruntime.quantization": "onnx",
}
IMPLIED_BY_DISTRIBUTION = {"deepface": {"werkzeug"}}  # imported by deepface, not declared (DESIGN.md)
# Distributions that provide one another's import names (OpenCV's wheels all provide cv2).
SAME = {"opencv-contrib-python": "opencv-contrib-python-headless"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def rules_with_envs() -> list[tuple[str, str, str]]:
    """(rule, env file name, script stem) of every rule that runs a script in a conda env."""
    found = []
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = path.read_text()
        starts = [(m.start(), m.group(1)) for m in re.finditer(r"^\s*(?:rule|checkpoint) (\w+):", text, re.M)]
        for (start, name), (end, _) in zip(starts, starts[1:] + [(len(text), None)]):
            body = text[start:end]
            env = re.search(r'conda:\s*\n\s*"([^"]+)"', body)
            script = re.search(r'script:\s*\n\s*"([^"]+)"', body)
            if env and script:
                found.append((name, Path(env.group(1)).name, Path(script.group(1)).stem))
    return found


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(top-level third-party modules, dotted apexbench modules) imported anywhere in ``path``
    (functions included), relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    third, package = set(), set()
    # the package a relative import starts from (a module's own package; __init__: the package itself)
    here = list(path.relative_to(SRC).parts[:-1]) if path.is_relative_to(SRC) else []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1] + ([node.module] if node.module else [])
                dotted = ".".join(base)
                package.add(dotted)
                package.update(f"{dotted}.{a.name}" for a in node.names)
                continue
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "apexbench":
                package.add(name)
            elif top not in sys.stdlib_module_names and top not in ("_apexbench_path", "__future__"):
                third.add(top)
    return third, package


def _module_file(dotted: str) -> Path | None:
    base = SRC.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=None)
def reached_files(script: str) -> tuple[Path, ...]:
    """The script and the package files it reaches through import statements; a script that loads
    classifiers (``load_classifier``) also reaches every adapter of the kinds table, which
    ``apexbench.kinds`` imports by name (``apexbench.codehash.package_modules`` follows those)."""
    path = REPO / "workflow" / "scripts" / f"{script}.py"
    seen, todo = {path}, [path]
    while todo:
        for dotted in _imports(todo.pop())[1]:
            parts = dotted.split(".")
            for k in range(1, len(parts) + 1):
                file = _module_file(".".join(parts[:k]))
                if file and file not in seen:
                    seen.add(file)
                    todo.append(file)
    if any(re.search(r"(?<!def )load_classifier\(", f.read_text()) for f in seen):
        seen |= set(package_modules(path, SRC))
    return tuple(sorted(seen))


def needed_distributions(script: str) -> dict[str, set[str]]:
    """Distribution (normalised) -> the files that need it, for one rule script."""
    providers = metadata.packages_distributions()
    needed: dict[str, set[str]] = {}
    for file in reached_files(script):
        text = file.read_text()
        modules, _ = _imports(file)
        for module in modules:
            dists = providers.get(module)
            assert dists, (f"{file.name} imports {module!r}, which no installed distribution provides: install it "
                           "in the test environment, or the import is a mistake")
            needed.setdefault(_norm(dists[0]), set()).add(file.name)
        for use, dist in IMPLIED_BY_CODE.items():
            if use in text:
                needed.setdefault(dist, set()).add(f"{file.name} ({use})")
    return needed


def _requirement_name(line: str) -> str:
    return _norm(re.split(r"[\s<>=!~;\[(]", line.strip(), maxsplit=1)[0])


@lru_cache(maxsize=None)
def env_distributions(env_file: str) -> tuple[frozenset[str], frozenset[str]]:
    """(everything the env installs, what its post-deploy script installs with --no-deps)."""
    env = yaml.safe_load((ENVS / env_file).read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_requirement_name(p) for p in dep.get("pip", []) if not p.startswith("-")}
        else:
            names.add(_requirement_name(dep))
    nodeps = set()
    script = ENVS / f"{Path(env_file).stem}.post-deploy.sh"
    if script.exists():
        for line in script.read_text().splitlines():
            if "pip install" in line and "--no-deps" in line:
                nodeps |= {_requirement_name(w) for w in line.split("--no-deps", 1)[1].split() if not w.startswith("-")}
    return frozenset(names | nodeps), frozenset(nodeps)


def missing_from_env(script: str, env_file: str) -> dict[str, set[str]]:
    provided, nodeps = env_distributions(env_file)
    needed = needed_distributions(script)
    for dist in nodeps & set(needed):  # a --no-deps package needs its own dependencies installed
        requires = [r for r in (metadata.requires(dist) or []) if "extra ==" not in r]
        for req in {_requirement_name(r) for r in requires} - LEFT_OUT.get(dist, set()):
            needed.setdefault(req, set()).add(f"{dist} (installed --no-deps)")
        for req in IMPLIED_BY_DISTRIBUTION.get(dist, ()):
            needed.setdefault(req, set()).add(f"{dist} (undeclared)")
    provided = {SAME.get(p, p) for p in provided}
    return {d: files for d, files in needed.items() if SAME.get(d, d) not in provided}


RULES = rules_with_envs()


def test_every_rule_script_runs_in_a_declared_env():
    assert {env for _, env, _ in RULES} == {"apexbench.yaml", "convert.yaml", "train.yaml"}
    assert ("convert", "convert.yaml", "convert") in RULES and len(RULES) >= 18
    for _, env, _ in RULES:
        assert (ENVS / env).is_file(), env


@pytest.mark.parametrize("rule,env,script", RULES, ids=[r[0] for r in RULES])
def test_the_rules_env_provides_every_module_its_code_imports(rule, env, script):
    missing = missing_from_env(script, env)
    assert not missing, "\n".join(f"rule {rule}: {env} lacks {dist}, needed by {', '.join(sorted(files))}"
                                  for dist, files in sorted(missing.items()))


def test_the_convert_env_is_read_right():
    """What the reading finds for `convert`: it crops faces with MediaPipe, reads the dataset tables,
    exports with torch (which needs onnx) and checks with onnxruntime."""
    needed = set(needed_distributions("convert"))
    assert {"torch", "onnx", "mediapipe", "onnxruntime", "opencv-contrib-python-headless", "numpy", "pandas",
            "pyarrow"} <= needed
    assert "faces.py" in needed_distributions("convert")["mediapipe"]
    provided, nodeps = env_distributions("convert.yaml")
    assert "mediapipe" in nodeps and {"torch", "onnx"} <= provided
    # train_cnn loads no classifier: the adapters (deepface ...) are not its business
    assert "deepface" not in needed_distributions("train_cnn") and "deepface" in needed_distributions("infer")


def test_the_check_catches_a_missing_package(tmp_path, monkeypatch):
    env = yaml.safe_load((ENVS / "convert.yaml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    pip[:] = [p for p in pip if not p.startswith("torch")]
    (tmp_path / "convert.yaml").write_text(yaml.safe_dump(env))
    monkeypatch.setattr(sys.modules[__name__], "ENVS", tmp_path)
    env_distributions.cache_clear()
    try:
        missing = missing_from_env("convert", "convert.yaml")
    finally:
        env_distributions.cache_clear()
    assert set(missing) >= {"torch", "mediapipe"}  # torch dropped; no post-deploy script beside it


def test_no_rule_env_holds_the_test_tools_or_torch_without_need():
    for env_file in ("apexbench.yaml", "convert.yaml", "train.yaml"):
        provided, _ = env_distributions(env_file)
        assert not provided & {"pytest", "pytest-timeout", "snakefmt"}, env_file
        scripts = {script for _, env, script in RULES if env == env_file}
        if "torch" in provided:
            assert any("torch" in needed_distributions(s) for s in scripts), f"{env_file} has torch, no rule needs it"


def _conda() -> str | None:
    for name in ("mamba", "micromamba", "conda"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.slow
def test_the_convert_env_builds_and_imports_what_convert_needs(tmp_path):
    """Create workflow/envs/convert.yaml with conda/mamba, run its post-deploy script as Snakemake
    does, and import every module the convert rule's code imports."""
    conda = _conda()
    if conda is None:
        pytest.skip("neither conda, mamba nor micromamba is installed here: the convert environment is checked by "
                    "reading only (the other tests of this file)")
    prefix = tmp_path / "convert-env"
    create = [conda, "env", "create", "-p", str(prefix), "-f", str(ENVS / "convert.yaml")]
    if Path(conda).name == "micromamba":
        create = [conda, "create", "--yes", "-p", str(prefix), "-f", str(ENVS / "convert.yaml")]
    proc = subprocess.run(create, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    post = ENVS / "convert.post-deploy.sh"
    env = {"PATH": f"{prefix / 'bin'}:/usr/bin:/bin", "CONDA_PREFIX": str(prefix), "HOME": str(tmp_path)}
    proc = subprocess.run(["bash", str(post)], capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = sorted({m for f in reached_files("convert") for m in _imports(f)[0]} | {"onnx"})
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules) + "print('ok')"
    proc = subprocess.run([str(prefix / "bin" / "python"), "-c", code], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]
