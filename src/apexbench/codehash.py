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
from functools import lru_cache
from pathlib import Path

PACKAGE = "apexbench"
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


@lru_cache(maxsize=None)
def _parsed(path: Path, stamp: tuple[int, int]) -> tuple[ast.AST, str]:
    """A module's syntax tree and its docstring-free dump, parsed once per file version (``stamp``:
    mtime and size) however many rules' scripts reach it."""
    tree = _strip_docstrings(ast.parse(path.read_text(encoding="utf-8")))  # imports are unaffected
    return tree, ast.dump(tree)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _parse(path: Path) -> tuple[ast.AST, str]:
    return _parsed(path, _stamp(path))


@lru_cache(maxsize=None)
def _module_imports(path: Path, stamp: tuple[int, int], package: str | None) -> frozenset[str]:
    return frozenset(_imported_modules(_parsed(path, stamp)[0], package))


def package_modules(script: str | Path, src: str | Path) -> list[Path]:
    """The package files ``script`` reaches through its imports, sorted."""
    src = Path(src)
    seen: dict[str, Path] = {}
    todo = sorted(_imported_modules(ast.parse(Path(script).read_text(encoding="utf-8")), None))
    while todo:
        name = todo.pop()
        if name in seen or (path := _module_file(src, name)) is None:
            continue
        seen[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(_module_imports(path, _stamp(path), package) - set(seen))
    return sorted(seen.values())


@lru_cache(maxsize=None)
def code_fingerprint(script: str | Path, src: str | Path) -> str:
    """sha256 (16 hex digits) over the syntax trees of the package modules ``script`` reaches."""
    digest = hashlib.sha256()
    for path in package_modules(script, src):
        digest.update(_dotted(Path(src), path).encode() + b"\0" + _parse(path)[1].encode() + b"\0")
    return digest.hexdigest()[:16]
