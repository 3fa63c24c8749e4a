"""`python -m apexbench.pipcheck`: the Makefile's pip check accepts the declared --no-deps cases only."""

import os
import subprocess
import sys

from conftest import REPO

from apexbench.pipcheck import CLEAN, accepted_lines, unexpected

NODEPS = REPO / "requirements-nodeps.txt"
# `pip check` in the environment `make` builds, as printed by pip (Python 3.11 and 3.12 alike)
MAKE_ENV_CHECK = """\
mediapipe 0.10.21 requires jax, which is not installed.
mediapipe 0.10.21 requires jaxlib, which is not installed.
mediapipe 0.10.21 requires opencv-contrib-python, which is not installed.
mediapipe 0.10.21 requires sentencepiece, which is not installed.
mediapipe 0.10.21 requires sounddevice, which is not installed.
deepface 0.0.103 requires retina-face, which is not installed.
"""


def test_the_declared_left_out_dependencies_are_accepted():
    accepted = accepted_lines(NODEPS.read_text())
    assert accepted == set(MAKE_ENV_CHECK.splitlines())
    assert unexpected(MAKE_ENV_CHECK, accepted) == []
    assert unexpected(CLEAN + "\n", accepted) == []


def test_any_other_problem_is_reported():
    accepted = accepted_lines(NODEPS.read_text())
    conflict = "mediapipe 0.10.21 has requirement numpy<2, but you have numpy 2.1.0."
    other = "flask 3.1.0 requires blinker, which is not installed."
    undeclared = "deepface 0.0.103 requires tensorflow, which is not installed."
    bumped = "mediapipe 0.10.22 requires jax, which is not installed."  # pin bumped, lines not reviewed
    output = MAKE_ENV_CHECK + "\n".join([conflict, other, undeclared, bumped]) + "\n"
    assert unexpected(output, accepted) == [conflict, other, undeclared, bumped]


def test_declarations_need_a_pin_and_the_marker():
    text = "mediapipe>=0.10  # leaves out: jax\ndeepface==0.0.103\nfoo==1.0  # not a declaration: bar\n"
    assert accepted_lines(text) == set()


def test_this_environment_passes():
    """The environment running the tests was built by `make test`: its real `pip check` passes."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-m", "apexbench.pipcheck", str(NODEPS)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("pip check: clean apart from")
