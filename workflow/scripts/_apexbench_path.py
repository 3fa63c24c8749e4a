"""Imported first by every rule script: puts the checkout's src/ on sys.path, in any environment."""

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
