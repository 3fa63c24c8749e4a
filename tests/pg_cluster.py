"""A throwaway PostgreSQL server for tests: initdb into a temp dir, `postgres` started by PID.

Debian 12's ``postgresql`` package (PostgreSQL 15) puts its binaries in
``/usr/lib/postgresql/<version>/bin``; containers have no systemd, so the server is started here as
user ``postgres`` (PostgreSQL refuses to run as root) on a free port of 127.0.0.1, with its socket
in the same temp dir, trust authentication, and stopped by PID (SIGINT: fast shutdown). Run
``python tests/pg_cluster.py`` to keep one up for a minute.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from slurm_cluster import _die_with_parent

DEBIAN_PACKAGE = "postgresql"


class PostgresUnavailable(RuntimeError):
    """Why a local PostgreSQL cannot be started here (the test skips, or fails in CI)."""


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalPostgres:
    """``start()`` then ``url``; ``stop()`` (also on failure). A context manager too."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.base: Path | None = None
        self.port: int | None = None

    @staticmethod
    def why_unavailable() -> str | None:
        if _bin_dir() is None:
            return f"PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): apt-get install -y {DEBIAN_PACKAGE}"
        if os.geteuid() != 0:
            return "starting a throwaway PostgreSQL needs root (it runs as user postgres)"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no 'postgres' user (install the postgresql package)"
        return None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 60) -> None:
        reason = self.why_unavailable()
        if reason:
            raise PostgresUnavailable(reason)
        bin_dir = _bin_dir()
        user = pwd.getpwnam("postgres")
        # In /tmp, owned by postgres: the server cannot enter a pytest tmp dir that only root may read.
        self.base = Path(tempfile.mkdtemp(prefix="apexbench-pg-"))
        os.chown(self.base, user.pw_uid, user.pw_gid)
        self.base.chmod(0o700)
        data = self.base / "data"
        try:
            proc = subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                   "-E", "UTF8", "--locale=C", "--no-sync"], user="postgres", capture_output=True,
                                  text=True, cwd=self.base)
            if proc.returncode != 0:
                raise PostgresUnavailable(f"initdb failed: {proc.stderr.strip()[-500:]}")
            self.port = free_port()
            log = open(self.base / "postgres.log", "w")  # noqa: SIM115
            os.chown(self.base / "postgres.log", user.pw_uid, user.pw_gid)
            self.proc = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.base),
                 "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=50"],
                user="postgres", stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.base, start_new_session=True, preexec_fn=_die_with_parent)
            log.close()
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PostgresUnavailable(f"postgres exited with {self.proc.returncode}: {self.log_tail()}")
            ready = subprocess.run([str(_bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"])
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise PostgresUnavailable(f"postgres not ready after {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        path = self.base / "postgres.log" if self.base else None
        if path is None or not path.is_file():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Fast shutdown (SIGINT) of the server this object started, by PID; then remove its files."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None


if __name__ == "__main__":
    with LocalPostgres() as pg:
        print(f"PostgreSQL up at {pg.url} for 60 s (Ctrl-C stops it)")
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            pass
