"""The code fingerprint each rule carries as a param: which modules it follows, what changes it."""

from __future__ import annotations

from pathlib import Path

from apexbench.codehash import code_fingerprint, package_modules

MODULES = {
    "__init__.py": "",
    "metrics.py": '"""Metrics."""\nfrom .labels import CLASSES\n\n\ndef score(x):\n    return x  # identity\n',
    "labels.py": "CLASSES = ('a', 'b')\n",
    "models/__init__.py": "from . import registry\n",
    "models/registry.py": "def load():\n    from ..labels import CLASSES\n    return CLASSES\n",
    "report.py": "def render():\n    return ''\n",
}


def _tree(root: Path, script: str) -> tuple[Path, Path]:
    src = root / "src"
    for name, text in MODULES.items():
        (src / "apexbench" / name).parent.mkdir(parents=True, exist_ok=True)
        (src / "apexbench" / name).write_text(text)
    (root / "script.py").write_text(script)
    return root / "script.py", src


def _fingerprint(script: Path, src: Path) -> str:
    code_fingerprint.cache_clear()
    return code_fingerprint(script, src)


def test_follows_absolute_relative_and_function_level_imports(tmp_path):
    script, src = _tree(tmp_path, "import os\nfrom apexbench.metrics import score\n"
                                  "def main():\n    from apexbench.models import registry\n")
    names = [p.relative_to(src / "apexbench").as_posix() for p in package_modules(script, src)]
    assert names == ["__init__.py", "labels.py", "metrics.py", "models/__init__.py", "models/registry.py"]


def test_changes_with_code_not_with_comments_docstrings_or_unreached_modules(tmp_path):
    script, src = _tree(tmp_path, "from apexbench.metrics import score\n")
    base = _fingerprint(script, src)
    metrics = src / "apexbench/metrics.py"
    metrics.write_text(MODULES["metrics.py"].replace("# identity", "# the identity, reformatted   ")
                       .replace('"""Metrics."""', '"""Metrics, documented at length."""'))
    (src / "apexbench/report.py").write_text("def render():\n    return 'changed'\n")
    assert _fingerprint(script, src) == base
    (src / "apexbench/labels.py").write_text("CLASSES = ('a', 'b', 'c')\n")  # reached through metrics
    changed = _fingerprint(script, src)
    assert changed != base and len(changed) == 16
    metrics.write_text(MODULES["metrics.py"].replace("return x", "return -x"))
    assert _fingerprint(script, src) not in (base, changed)


def test_the_disk_cache_gives_the_same_fingerprints_without_parsing(tmp_path, monkeypatch):
    import apexbench.codehash as codehash

    def fresh(cache_dir: str) -> str:
        monkeypatch.setenv("APEXBENCH_CACHE", cache_dir)
        codehash._DISK = None
        codehash._module.cache_clear()
        return _fingerprint(script, src)

    script, src = _tree(tmp_path / "tree", "from apexbench.metrics import score\nfrom apexbench import models\n")
    uncached = fresh("")
    assert fresh(str(tmp_path / "cache")) == uncached  # computed, then stored
    assert (tmp_path / "cache" / "codehash.json").is_file()
    monkeypatch.setattr(codehash.ast, "parse", lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed")))
    assert fresh(str(tmp_path / "cache")) == uncached  # every module from the cache
    # a changed module is parsed again (and only it): the cache is keyed by the source text
    (src / "apexbench/labels.py").write_text("CLASSES = ('a', 'b', 'c')\n")
    monkeypatch.undo()
    changed = fresh(str(tmp_path / "cache"))
    assert changed != uncached and fresh("") == changed
