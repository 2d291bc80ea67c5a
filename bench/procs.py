"""What the bench reads of its processes from /proc: peaks of memory and CPU, the relay's pids."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def processes() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command line with spaces, fields of /proc/<pid>/stat after the name) of every
    process that is still there while it is read."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(p), cmd, fields


def process_peaks() -> dict[str, tuple[float, float]]:
    """Peak RSS (MB) and CPU seconds of each process of the stack, by name (every PostgreSQL
    process of the machine counts: other servers add their own, idle, share)."""
    out: dict[str, tuple[float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid, cmd, fields in processes():
        if "runtime.cli" not in cmd and "tansu" not in cmd and "postgres" not in cmd:
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        hwm = next(
            (
                int(line.split()[1]) / 1024
                for line in status.splitlines()
                if line.startswith("VmHWM:")
            ),
            0.0,
        )
        name = cmd.split("runtime.cli", 1)[-1].strip() if "runtime.cli" in cmd else cmd.split()[0]
        name = name.rsplit("/", 1)[-1][:40]
        cpu = (int(fields[11]) + int(fields[12])) / tick
        prev = out.get(name, (0.0, 0.0))
        out[name] = (max(prev[0], hwm), prev[1] + cpu)
    return out


STACK: dict[str, int] = {}  # "up": the pid of the bench's own ``leadimport up``


def api_cpu_s() -> float:
    """CPU seconds the bench's API process has used so far: only the ``api`` child of the
    bench's own ``up`` (other stacks on the machine, other engineers' tests and benches, have
    their own)."""
    tick = os.sysconf("SC_CLK_TCK")
    up = STACK.get("up")
    return sum(
        (int(fields[11]) + int(fields[12])) / tick
        for _, cmd, fields in processes()
        if cmd.endswith("runtime.cli api") and (up is None or int(fields[1]) == up)
    )


def relay_pids(up_pid: int) -> list[int]:
    return [
        pid
        for pid, cmd, fields in processes()
        if cmd.endswith("worker relay") and int(fields[1]) == up_pid
    ]


ROLES = ("api", "importer", "leads", "relay", "postgres", "broker")


def cpu_by_role() -> dict[str, float]:
    """CPU seconds used so far by each role of the bench's own stack: the children of its
    ``up`` by their command, its PostgreSQL processes (every one of the machine whose command
    names the bench's data folder, and their children) and the broker."""
    tick = os.sysconf("SC_CLK_TCK")
    up = STACK.get("up")
    pg_root = STACK.get("postgres")
    out = dict.fromkeys(ROLES, 0.0)
    for pid, cmd, fields in processes():
        cpu = (int(fields[11]) + int(fields[12])) / tick
        parent = int(fields[1])
        if "runtime.cli" in cmd and parent == up:
            role = cmd.rsplit(" ", 1)[-1]
            out[role if role in out else "api"] += cpu
        elif pg_root is not None and pid == pg_root:
            # with the children it reaped (backends that ended): cutime and cstime
            out["postgres"] += cpu + (int(fields[13]) + int(fields[14])) / tick
        elif pg_root is not None and parent == pg_root:
            out["postgres"] += cpu
        elif "tansu" in cmd and parent == up:
            out["broker"] += cpu
    return out


def postgres_root(data_dir: str) -> int | None:
    """The postmaster serving the bench's data folder."""
    for pid, cmd, _ in processes():
        if "postgres" in cmd and data_dir in cmd and " -D " in f" {cmd} ":
            return pid
    return None
