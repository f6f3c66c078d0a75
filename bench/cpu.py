"""CPU time for the benchmark: of a process tree (rusage of a waited-for process and of the
orphans it left, adopted) and of a local PostgreSQL server (its postmaster and every server
process, read from /proc)."""

from __future__ import annotations

import ctypes
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

LOOPBACK = {"127.0.0.1", "localhost", "::1", None, ""}


def tree_seconds(usage: resource.struct_rusage) -> float:
    """User and system CPU seconds of a waited-for process and the children it waited for."""
    return usage.ru_utime + usage.ru_stime


# prctl's option that makes the caller adopt its descendants' orphans (linux/prctl.h).
PR_SET_CHILD_SUBREAPER = 36


@dataclass
class TreeUsage:
    """What a command's whole process tree used: its exit status, when it ended (perf_counter),
    CPU seconds and the largest peak resident memory of any of its processes (KiB)."""

    status: int
    ended: float
    cpu_s: float
    peak_kib: int


def adopt_orphans() -> bool:
    """Become the reaper of this process's descendants' orphans (Linux PR_SET_CHILD_SUBREAPER), so
    that a process a measured command started and that outlives it (the fork server of a local
    Dask cluster, whose workers it waited for) is waited for here and counted; False where that
    is not possible: such processes then go uncounted."""
    try:
        return int(ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def wait_for_tree(pid: int) -> TreeUsage:
    """Wait for the process `pid`, then for every orphan of its tree this process adopted (see
    adopt_orphans; call it before starting the command, and start nothing else meanwhile)."""
    _, status, usage = os.wait4(pid, 0)
    ended = time.perf_counter()  # the command's end: what it left running is counted, not timed
    cpu, peak = tree_seconds(usage), usage.ru_maxrss
    while True:
        try:
            _, _, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return TreeUsage(status, ended, cpu, peak)
        cpu += tree_seconds(usage)
        peak = max(peak, usage.ru_maxrss)


def postmaster_pid(admin_url: str) -> int | None:
    """The pid of the server's postmaster when the server runs on this machine and its data folder
    is readable here (`SHOW data_directory`, then its postmaster.pid); else None."""
    if make_url(admin_url).host not in LOOPBACK:
        return None
    engine = sa.create_engine(admin_url)
    try:
        with engine.connect() as conn:
            data_dir = conn.exec_driver_sql("SHOW data_directory").scalar()
    except sa.exc.DBAPIError:  # the setting is for superusers and pg_read_all_settings only
        return None
    finally:
        engine.dispose()
    try:
        pid = int(Path(str(data_dir), "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 onwards), or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def server_seconds(postmaster: int) -> float:
    """CPU seconds the server has used: the postmaster's own and its reaped children's (cutime,
    cstime: backends that have exited), plus what its live processes have used so far (the
    checkpointer, the WAL writer, backends still open), so a delta between two readings counts
    every server process's CPU in between."""
    # A backend that exits between the reading of the postmaster and that of its children would
    # be in neither (its parent's cutime grows only when it is reaped), and an exited one not yet
    # reaped (a zombie) shows no CPU: read again until no child went or is going meanwhile.
    deadline = time.monotonic() + 5.0
    while True:
        before = {pid for pid, _ in _children(postmaster)}
        fields = _stat(postmaster)
        if fields is None:
            raise RuntimeError("the PostgreSQL server stopped during the benchmark")
        children = _children(postmaster)
        settled = before <= {pid for pid, _ in children} and not any(child[0] == "Z" for _, child in children)
        if settled or time.monotonic() > deadline:
            ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
            ticks += sum(int(child[11]) + int(child[12]) for _, child in children)
            return ticks / os.sysconf("SC_CLK_TCK")
        time.sleep(0.02)


def _children(parent: int) -> list[tuple[int, list[str]]]:
    """(pid, stat fields) of every live process whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = _stat(int(entry.name))
            if child is not None and int(child[1]) == parent:  # field 4: the parent's pid
                found.append((int(entry.name), child))
    return found
