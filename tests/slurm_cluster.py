"""A one-node Slurm on localhost for tests: munged, slurmctld and slurmd started by hand, by PID.

Debian 12 (``apt-get install slurmctld slurmd slurm-client munge``, Slurm 22.05) has no systemd in
containers, so the daemons are started here and stopped by PID. Everything they write (state,
spool, logs, munge socket) lives in a fresh directory; only ``/etc/slurm/slurm.conf`` is global,
because the executor plugin's job-step helper strips ``SLURM_*`` variables (``SLURM_CONF``
included). That file carries a marker line; a slurm.conf without it belongs to a real cluster and
is never touched. A lock file serialises test runs that share the machine (Slurm's own ports,
6817/6818, are fixed). Run ``python tests/slurm_cluster.py`` to start one by hand for a minute.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SLURM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# apexbench test cluster: written and removed by tests/slurm_cluster.py"
LOCK_FILE = Path(tempfile.gettempdir()) / "apexbench-slurm.lock"
PORTS = (6817, 6818)  # slurmctld, slurmd
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
PR_SET_PDEATHSIG = 1
DEBIAN_PACKAGES = "slurmctld slurmd slurm-client munge"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the process that started it dies (even by SIGKILL)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class SlurmUnavailable(RuntimeError):
    """Why a local Slurm cannot be started on this machine (the test skips, or fails in CI)."""


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _available_memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    raise SlurmUnavailable("cannot read MemAvailable from /proc/meminfo")


def slurm_conf(base: Path, munge_socket: Path, cpus: int, memory_mb: int) -> str:
    return f"""{MARKER}
ClusterName=apexbench
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/slurmctld.log
SlurmdLogFile={base}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class LocalSlurm:
    """Start with ``start()``, stop with ``stop()`` (also on failure); or use as a context manager."""

    def __init__(self, base: Path, cpus: int = 2):
        self.base = Path(base)
        self.cpus = cpus
        self.procs: dict[str, subprocess.Popen] = {}
        self._lock = None
        self._wrote_conf = False
        self._munge_dir: Path | None = None

    # --- checks ---------------------------------------------------------------------------------
    @staticmethod
    def why_unavailable() -> str | None:
        missing = [d for d in DAEMONS if shutil.which(d, path=os.environ.get("PATH", "") + ":/usr/sbin")
                   is None]
        if missing:
            return (f"Slurm/munge not installed (missing {', '.join(missing)}): "
                    f"apt-get install -y {DEBIAN_PACKAGES}")
        if os.geteuid() != 0:
            return "starting a local Slurm needs root (slurmd, /etc/slurm/slurm.conf)"
        try:
            pwd.getpwnam("munge")
        except KeyError:
            return "no 'munge' user (install the munge package)"
        if not Path("/etc/munge/munge.key").is_file():
            return "/etc/munge/munge.key is missing (install the munge package)"
        if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text(errors="replace"):
            return f"{SLURM_CONF} belongs to a real Slurm installation; the test does not touch it"
        return None

    # --- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> LocalSlurm:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 60) -> None:
        reason = self.why_unavailable()
        if reason:
            raise SlurmUnavailable(reason)
        self._lock = open(LOCK_FILE, "w")  # noqa: SIM115  (held until stop())
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[slurm] waiting for another test run's Slurm ({LOCK_FILE})", flush=True)
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            busy = [p for p in PORTS if _port_in_use(p)]
            if busy:
                raise SlurmUnavailable(f"Slurm's ports {busy} are in use by another process")
            self._start_daemons(timeout)
        except BaseException:
            self.stop()
            raise

    def _start_daemons(self, timeout: float) -> None:
        for sub in ("state", "spool"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        munge = pwd.getpwnam("munge")
        # munged runs as user munge: its directory sits in /tmp (reachable), not in a 0700 test dir.
        munge_dir = self._munge_dir = Path(tempfile.mkdtemp(prefix="apexbench-munge-"))
        # munged refuses a socket directory that others can write to, or that it does not own.
        os.chown(munge_dir, munge.pw_uid, munge.pw_gid)
        munge_dir.chmod(0o755)
        key = munge_dir / "munge.key"
        shutil.copy("/etc/munge/munge.key", key)
        os.chown(key, munge.pw_uid, munge.pw_gid)
        key.chmod(0o400)
        socket_path = munge_dir / "munge.socket.2"
        self._spawn("munged", ["munged", "--foreground", f"--socket={socket_path}", f"--key-file={key}",
                               f"--pid-file={munge_dir}/munged.pid", f"--log-file={munge_dir}/munged.log",
                               f"--seed-file={munge_dir}/munged.seed"], user="munge")
        self._wait(lambda: socket_path.exists(), timeout, "munged socket")

        memory = max(1024, _available_memory_mb() - 512)
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SLURM_CONF.write_text(slurm_conf(self.base, socket_path, self.cpus, memory))
        self._wrote_conf = True
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(SLURM_CONF)])
        self._wait(lambda: self._run(["scontrol", "ping"]).returncode == 0, timeout, "slurmctld")
        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", str(SLURM_CONF)])
        self._wait(self._node_idle, timeout, "slurmd (node idle)")

    def _spawn(self, name: str, cmd: list[str], user: str | None = None) -> None:
        cmd[0] = shutil.which(cmd[0], path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", "")) or cmd[0]
        log = open(self.base / f"{name}.stdout", "w")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, user=user,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            preexec_fn=_die_with_parent)
        log.close()

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SlurmUnavailable(f"{name} exited with {proc.returncode} while waiting for {what}: "
                                           f"{self.log_tail(name)}")
            if ready():
                return
            time.sleep(0.2)
        raise SlurmUnavailable(f"timed out after {timeout:.0f} s waiting for {what}: {self.log_tail()}")

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env)

    def _node_idle(self) -> bool:
        proc = self._run(["sinfo", "-h", "-N", "-o", "%T"])
        return proc.returncode == 0 and proc.stdout.strip() == "idle"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        env["PATH"] = env.get("PATH", "/usr/bin") + ":/usr/sbin"
        return env

    def log_tail(self, name: str | None = None, lines: int = 15) -> str:
        names = [name] if name else list(self.procs)
        out = []
        for n in names:
            for path in (self.base / f"{n}.stdout", self.base / f"{n}.log"):
                if path.is_file():
                    out.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(out)

    def stop(self) -> None:
        """Cancel leftover jobs, then stop every daemon this object started, by PID, newest first."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--user=root"], capture_output=True, env=self.env)
            # Let slurmd end the cancelled jobs' processes before it is stopped itself (a failed test
            # otherwise leaves a job's snakemake running, waiting for its files).
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                queue = subprocess.run(["squeue", "--noheader"], capture_output=True, text=True, env=self.env)
                if queue.returncode != 0 or not queue.stdout.strip():
                    break
                time.sleep(0.5)
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs.clear()
        if self._wrote_conf and SLURM_CONF.exists() and MARKER in SLURM_CONF.read_text(errors="replace"):
            SLURM_CONF.unlink()
        self._wrote_conf = False
        if self._munge_dir is not None:
            for name in ("munged.log", "munged.stdout"):
                if (self._munge_dir / name).is_file():
                    shutil.copy(self._munge_dir / name, self.base / name)
            shutil.rmtree(self._munge_dir, ignore_errors=True)
            self._munge_dir = None
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="apexbench-slurm-") as tmp, LocalSlurm(Path(tmp)) as cluster:
        print(subprocess.run(["sinfo"], capture_output=True, text=True, env=cluster.env).stdout)
        print("local Slurm up for 60 s (Ctrl-C stops it)")
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            pass
