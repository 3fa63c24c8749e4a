"""Small filesystem helpers: atomic writes and content hashes."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def is_inside(root: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Whether ``path`` (absolute, or relative to the working directory) resolves inside ``root``,
    following symlinks and ``..``; nothing is opened."""
    return RootCheck(root)(path)


class RootCheck:
    """``is_inside(root, path)`` for many paths of one root: the root is resolved once, and a path
    written as ``root/<relative>`` is resolved from the real root one component at a time (one
    ``lstat`` per component below the root instead of one per component of the whole path); a
    symlink below the root, or a path not written under the root, is resolved by ``os.path.realpath``."""

    def __init__(self, root: str | os.PathLike):
        self.prefix = os.fspath(root).rstrip(os.sep) + os.sep
        self.real_root = os.path.realpath(root)

    def resolve(self, path: str | os.PathLike) -> str:
        """``os.path.realpath(path)``."""
        text = os.fspath(path)
        if not text.startswith(self.prefix):
            return os.path.realpath(text)
        current = self.real_root
        parts = text[len(self.prefix):].split(os.sep)
        for i, name in enumerate(parts):
            if name in ("", "."):
                continue
            if name == "..":
                current = os.path.dirname(current) or os.sep
                continue
            candidate = os.path.join(current, name)
            try:
                is_link = stat.S_ISLNK(os.lstat(candidate).st_mode)
            except OSError:
                is_link = False
            if is_link:
                return os.path.realpath(os.path.join(candidate, *parts[i + 1:]))
            current = candidate
        return current

    def __call__(self, path: str | os.PathLike) -> bool:
        resolved = self.real_root if self.real_root == os.sep else self.resolve(path)
        return resolved == self.real_root or resolved.startswith(self.real_root + os.sep)


def media_stamp(paths: list[str]) -> str:
    """A fingerprint (16 hex digits) of files' sizes and modification times, one ``stat`` each and
    nothing opened; a missing or unreadable file counts as absent."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            st = os.stat(path)
            entry = f"{path}\t{st.st_size}\t{st.st_mtime_ns}\n"
        except OSError:
            entry = f"{path}\tabsent\n"
        digest.update(entry.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


def sha256_of(path: str | os.PathLike) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Left by a writer of this same file that was killed (SIGKILL, node failure): Snakemake never
    # runs two jobs writing one output at once, so these belong to nobody.
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
