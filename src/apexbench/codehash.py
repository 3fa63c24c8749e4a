"""A fingerprint of the package code a rule script runs, for Snakemake's params rerun trigger.

Snakemake reruns a job when its rule's script changes (the ``code`` trigger) but cannot see the
modules that script imports. ``code_fingerprint`` follows the script's ``apexbench`` imports
(absolute and relative, at any depth, including imports inside functions, and modules named by an
import-path string such as ``"apexbench.classifiers.minixception:MiniXception"``, how the kinds table
names the adapters it imports lazily) through the package and hashes the syntax tree of every module reached, without comments, formatting or docstrings. Each
rule passes it as a param, so editing ``metrics.py`` reruns the jobs whose scripts reach it and
nothing else, and editing a comment reruns nothing.
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from functools import lru_cache
from pathlib import Path

from .cache import JsonCache, digest

PACKAGE = "apexbench"
# What a cached result depends on besides the source: this algorithm and ast.dump's format (per Python).
_VERSION = f"codehash-2 python{sys.version_info.major}.{sys.version_info.minor}"
# "apexbench.module:Attribute": a module imported by name at run time (apexbench.kinds' adapters).
_IMPORT_PATH = re.compile(rf"^({PACKAGE}(?:\.\w+)+):\w+$")


def _module_file(src: Path, dotted: str) -> Path | None:
    base = src.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _dotted(src: Path, path: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(tree: ast.AST, package: str | None) -> set[str]:
    """Dotted names of the package modules a module's imports may load (with their parent packages)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and package is not None:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (m := _IMPORT_PATH.match(node.value)):
            names.add(m.group(1))
    modules = set()
    for name in names:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            parts = name.split(".")
            modules.update(".".join(parts[: k + 1]) for k in range(len(parts)))
    return modules


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


_DISK: JsonCache | None = None


def _disk() -> JsonCache:
    global _DISK
    if _DISK is None:
        _DISK = JsonCache("codehash")
    return _DISK


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=None)
def _module(path: Path, stamp: tuple[int, int], package: str | None) -> tuple[str, frozenset[str]]:
    """(sha256 of the module's docstring-free syntax-tree dump, the package modules its imports may
    load), once per file version (``stamp``: mtime and size) in a process, and from the disk cache
    when this source was seen before."""
    source = path.read_bytes()
    key = digest(_VERSION, package or "", source)
    hit = _disk().get(key)
    if hit is not None:
        return hit[0], frozenset(hit[1])
    tree = _strip_docstrings(ast.parse(source.decode("utf-8")))  # imports are unaffected
    tree_hash = hashlib.sha256(ast.dump(tree).encode("utf-8")).hexdigest()
    imports = frozenset(_imported_modules(tree, package))
    _disk().put(key, [tree_hash, sorted(imports)])
    return tree_hash, imports


def package_modules(script: str | Path, src: str | Path) -> list[Path]:
    """The package files ``script`` reaches through its imports, sorted."""
    src, script = Path(src), Path(script)
    seen: dict[str, Path] = {}
    todo = sorted(_module(script, _stamp(script), None)[1])
    while todo:
        name = todo.pop()
        if name in seen or (path := _module_file(src, name)) is None:
            continue
        seen[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(_module(path, _stamp(path), package)[1] - set(seen))
    return sorted(seen.values())


@lru_cache(maxsize=None)
def code_fingerprint(script: str | Path, src: str | Path) -> str:
    """sha256 (16 hex digits) over the syntax trees of the package modules ``script`` reaches."""
    h = hashlib.sha256()
    for path in package_modules(script, src):
        package = _dotted(Path(src), path)
        package = package if path.name == "__init__.py" else package.rpartition(".")[0]
        h.update(_dotted(Path(src), path).encode() + b"\0" + _module(path, _stamp(path), package)[0].encode() + b"\0")
    _disk().save()
    return h.hexdigest()[:16]
