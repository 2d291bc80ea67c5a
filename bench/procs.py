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
