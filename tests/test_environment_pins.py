"""The conda files mirror the pip pins exactly, so conda users get the same set."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _pins(path: Path) -> set[str]:
    """Requirement lines of a pip file (comments, `-r` includes and pip options left out)."""
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("-")}


def _conda_pip_pins(path: Path) -> set[str]:
    env = yaml.safe_load(path.read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return {line for line in pip_section if not line.startswith("-")}


def test_environment_yml_mirrors_requirements():
    expected = _pins(REPO / "requirements.txt") | _pins(REPO / "requirements-dev.txt")
    expected |= _pins(REPO / "requirements-convert.txt")
    assert _conda_pip_pins(REPO / "environment.yml") == expected


def test_dev_requirements_include_the_conversion_extra():
    # `make test` installs requirements-dev.txt, so the LibreFace conversion is tested for real.
    assert "-r requirements-convert.txt" in (REPO / "requirements-dev.txt").read_text().splitlines()
    assert _pins(REPO / "requirements-convert.txt") == {"torch==2.13.0"}


def test_convert_env_mirrors_requirements():
    expected = _pins(REPO / "requirements.txt") | _pins(REPO / "requirements-convert.txt")
    assert _conda_pip_pins(REPO / "workflow" / "envs" / "convert.yaml") == expected


def test_nodeps_packages_are_pinned():
    pins = _pins(REPO / "requirements-nodeps.txt")
    assert pins == {"mediapipe==0.10.21", "deepface==0.0.103"}


def test_train_env_mirrors_the_training_extra():
    """workflow/envs/train.yaml = requirements.txt + requirements-train.txt (torch), nothing else."""
    env = yaml.safe_load((REPO / "workflow/envs/train.yaml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = {line for line in pip_section if not line.startswith("--")}
    assert pins == _pins(REPO / "requirements.txt") | _pins(REPO / "requirements-train.txt")
    assert "torch==2.13.0" in pins
