"""The environments: what each requirement file holds, that the conda files mirror the pip pins
exactly, and what the Makefile installs where (read from `make -n`, the commands it would run)."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
HEAVY_OR_TEST_ONLY = ("torch", "onnx", "pytest", "pytest-timeout", "snakefmt")


def _pins(path: Path) -> set[str]:
    """Requirement lines of a pip file, `-r` includes followed (comments and pip options left out)."""
    pins = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            pins |= _pins(path.parent / line[3:].strip())
        elif line and not line.startswith("-"):
            pins.add(line)
    return pins


def _names(pins: set[str]) -> set[str]:
    return {pin.split("==")[0].lower() for pin in pins}


def _conda_env(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _conda_pip_pins(path: Path) -> set[str]:
    pip_section = next(d["pip"] for d in _conda_env(path)["dependencies"] if isinstance(d, dict))
    return {line for line in pip_section if not line.startswith("-")}


RUNTIME = _pins(REPO / "requirements.txt")
CONVERT = _pins(REPO / "requirements-convert.txt")


def test_runtime_set_holds_neither_torch_nor_the_test_tools():
    """`make demo` installs requirements.txt: none of the conversion extra or the test tools."""
    assert not _names(RUNTIME) & set(HEAVY_OR_TEST_ONLY), _names(RUNTIME) & set(HEAVY_OR_TEST_ONLY)
    assert {"snakemake", "numpy", "onnxruntime", "opencv-contrib-python-headless"} <= _names(RUNTIME)


def test_conversion_and_training_extras():
    # torch's ONNX exporter imports onnx, and so does onnxruntime's INT8 quantisation (training export).
    assert CONVERT == {"torch==2.13.0", "onnx==1.19.1"}
    assert _pins(REPO / "requirements-train.txt") == CONVERT


def test_dev_requirements_are_runtime_plus_conversion_extra_plus_test_tools():
    # `make test` installs requirements-dev.txt, so the LibreFace conversion is tested for real.
    dev = _pins(REPO / "requirements-dev.txt")
    assert RUNTIME | CONVERT <= dev
    assert _names(dev - RUNTIME - CONVERT) == {"pytest", "pytest-timeout", "snakefmt"}


def test_environment_yml_mirrors_the_runtime_set():
    assert _conda_pip_pins(REPO / "environment.yml") == RUNTIME
    # Every rule but convert/train runs in this env under --use-conda: the same file.
    assert _conda_pip_pins(REPO / "workflow" / "envs" / "apexbench.yaml") == RUNTIME


def test_convert_env_mirrors_requirements():
    assert _conda_pip_pins(REPO / "workflow" / "envs" / "convert.yaml") == RUNTIME | CONVERT


def test_train_env_mirrors_the_training_extra():
    """workflow/envs/train.yaml = requirements.txt + requirements-train.txt (torch, onnx), nothing else."""
    pins = _conda_pip_pins(REPO / "workflow/envs/train.yaml")
    assert pins == RUNTIME | _pins(REPO / "requirements-train.txt")
    assert "torch==2.13.0" in pins


def test_nodeps_packages_are_pinned_and_installed_by_the_conda_post_deploy_scripts():
    pins = _pins(REPO / "requirements-nodeps.txt")
    assert pins == {"mediapipe==0.10.21", "deepface==0.0.103"}
    # convert detects faces with MediaPipe too, so its env gets the same script.
    for env in ("apexbench", "convert"):
        script = (REPO / "workflow" / "envs" / f"{env}.post-deploy.sh").read_text()
        install = next(line for line in script.splitlines() if "--no-deps" in line)
        assert set(install.split()) >= pins, (env, install)


def test_python_versions_agree():
    """pyproject allows 3.11 and 3.12, and so does every conda env."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=3.11,<3.13"
    for path in [REPO / "environment.yml", *sorted((REPO / "workflow" / "envs").glob("*.yaml"))]:
        assert "python>=3.11,<3.13" in _conda_env(path)["dependencies"], path


# --- the Makefile ----------------------------------------------------------------------------------

def _make(*args: str, cwd: Path = REPO, path: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYTHON", None)
    env.pop("MAKEFLAGS", None)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([shutil.which("make") or "make", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def _installs(dry_run: str) -> list[str]:
    """The requirement files and packages of every `pip install` line of a `make -n` output."""
    return [line for line in dry_run.splitlines() if "-m pip install" in line]


def test_make_demo_env_installs_the_runtime_set_only():
    proc = _make("-n", "-B", ".venv/.installed", f"PYTHON={sys.executable}")
    assert proc.returncode == 0, proc.stderr
    assert f'"{sys.executable}" -m venv .venv' in proc.stdout  # PYTHON=... chooses
    installs = " ".join(_installs(proc.stdout))
    assert "-r requirements.txt" in installs and "--no-deps -r requirements-nodeps.txt" in installs
    assert "--no-deps -e ." in installs
    assert "requirements-dev.txt" not in installs and "requirements-convert.txt" not in installs
    assert "apexbench.pipcheck requirements-nodeps.txt" in proc.stdout


def test_make_test_env_adds_the_conversion_extra_and_test_tools():
    proc = _make("-n", "-B", ".venv-test/.installed", f"PYTHON={sys.executable}")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "-m venv .venv-test" in text  # a separate environment: no command touches .venv
    assert not [line for line in text.splitlines() if line.startswith(".venv/") or " .venv/" in line]
    # torch first (from its CPU index when reachable), so requirements-dev.txt finds it installed
    assert text.index("requirements-convert.txt") < text.index("-r requirements-dev.txt")
    assert "--no-deps -r requirements-nodeps.txt" in text and "apexbench.pipcheck" in text


def test_each_environment_is_rebuilt_when_its_requirement_files_change():
    proc = _make("-p", "-n", "venv", f"PYTHON={sys.executable}")
    rules = dict(re.findall(r"^(\.venv(?:-test)?/\.installed): (.*)$", proc.stdout, re.M))
    assert set(rules[".venv/.installed"].split()) == {"requirements.txt", "requirements-nodeps.txt", "pyproject.toml"}
    assert set(rules[".venv-test/.installed"].split()) == {
        "requirements.txt", "requirements-nodeps.txt", "requirements-dev.txt", "requirements-convert.txt",
        "pyproject.toml"}


def _fake_bin(tmp_path: Path, programs: dict[str, str]) -> Path:
    """A PATH directory of shell scripts (name -> body) plus what make's recipes need."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in programs.items():
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    return bin_dir


def test_make_picks_the_first_python_that_runs_and_is_311_or_312(tmp_path):
    """A pyenv shim exists for python3.12 here but fails; a python3 outside the range prints nothing
    for the check: both are passed over for the next interpreter that really runs."""
    bin_dir = _fake_bin(tmp_path, {
        "python3": "exit 0",  # runs, but its check prints no path: not 3.11 or 3.12
        "python3.12": 'echo "pyenv: python3.12: command not found" >&2; exit 127',  # a broken shim
    })
    (bin_dir / "python3.11").symlink_to(sys.executable)
    proc = _make("-n", "-B", ".venv/.installed", path=f"{bin_dir}:/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    assert f'"{bin_dir}/python3.11" -m venv .venv' in proc.stdout


def test_make_without_a_suitable_python_says_so_and_builds_nothing(tmp_path):
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("Makefile", "pyproject.toml", *(p.name for p in REPO.glob("requirements*.txt"))):
        shutil.copy(REPO / name, work / name)
    bin_dir = _fake_bin(tmp_path, {"python3": "exit 0", "python3.12": "exit 127"})
    proc = _make("venv", cwd=work, path=str(bin_dir))
    assert proc.returncode != 0
    assert "need Python 3.11 or 3.12" in proc.stderr and "PYTHON=" in proc.stderr
    assert not (work / ".venv").exists()

