"""`pip check` with the documented --no-deps cases accepted and every other problem an error.

``requirements-nodeps.txt`` installs mediapipe and deepface with ``--no-deps`` and names, per pin,
the declared dependencies it leaves out (``mediapipe==0.10.21  # leaves out: jax jaxlib ...``).
`pip check` reports each of those as "<name> <version> requires <dep>, which is not installed.";
exactly those lines are accepted. Anything else (a version conflict, a missing dependency of any
other package, a left-out dependency that is not declared) fails, so a pin added to
requirements.txt that breaks the set is caught when the environment is built.

    python -m apexbench.pipcheck requirements-nodeps.txt     # runs `python -m pip check` itself
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CLEAN = "No broken requirements found."
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
_LEAVES_OUT = re.compile(r"#\s*leaves out:(.*)$")


def accepted_lines(nodeps_text: str) -> set[str]:
    """The `pip check` lines that the --no-deps pins of a requirements file explain."""
    accepted = set()
    for line in nodeps_text.splitlines():
        pin, leaves = _PIN.match(line.strip()), _LEAVES_OUT.search(line)
        if pin and leaves:
            name, version = pin.groups()
            accepted |= {f"{name} {version} requires {dep}, which is not installed." for dep in leaves.group(1).split()}
    return accepted


def unexpected(check_output: str, accepted: set[str]) -> list[str]:
    """The lines of `pip check` output that are neither the all-clear nor an accepted line."""
    return [line for line in (raw.strip() for raw in check_output.splitlines())
            if line and line != CLEAN and line not in accepted]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m apexbench.pipcheck requirements-nodeps.txt", file=sys.stderr)
        return 2
    accepted = accepted_lines(Path(args[0]).read_text(encoding="utf-8"))
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    problems = unexpected(proc.stdout + proc.stderr, accepted)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"pip check: {len(problems)} problem(s) above beyond the --no-deps cases declared in {args[0]}",
              file=sys.stderr)
        return 1
    reported = len([line for line in proc.stdout.splitlines() if line.strip() in accepted])
    print(f"pip check: clean apart from {reported} declared --no-deps line(s) ({args[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
