"""Real services for the tests, chosen by the environment.

1. ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` set: use those servers.
2. A Docker engine answers: testcontainers (PostgreSQL, Kafka).
3. Otherwise (CI here): the embedded PostgreSQL and Tansu broker, as ``leadimport up`` uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.embedded import EmbeddedKafka, EmbeddedPostgres, free_port, wait_for_port

REPO = Path(__file__).resolve().parents[1]


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def database(data_dir: Path) -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"], None
    elif docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as pg:
            yield pg.get_connection_url(), None
    else:
        embedded = EmbeddedPostgres(data_dir)
        try:
            yield embedded.start(), embedded
        finally:
            embedded.stop(mode="immediate")


@contextmanager
def broker() -> Iterator[tuple[str, EmbeddedKafka | None]]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"], None
    elif docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as kafka:
            yield kafka.get_bootstrap_server(), None
    else:
        embedded = EmbeddedKafka()
        try:
            yield embedded.start(), embedded
        finally:
            embedded.stop()


class Workers:
    """Worker processes (`leadimport worker NAME`) against given servers."""

    def __init__(self, database_url: str, bootstrap: str, log_dir: Path, **env: str) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "LEADIMPORT_SKIP_MIGRATE": "1",
            **env,
        }
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._stack = ExitStack()

    def start(self, name: str, kind: str) -> subprocess.Popen[bytes]:
        log = self._stack.enter_context((self.log_dir / f"{name}.log").open("ab"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "worker", kind],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        self._stack.close()


@dataclass(frozen=True)
class ApiServer:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def api_server(
    database_url: str, bootstrap: str, log_path: Path, **extra_env: str
) -> Iterator[ApiServer]:
    """A real ``leadimport api`` process on a free port (clients that speak HTTP: the CLI, the
    browser); ``extra_env``: more environment (e.g. ``LOG_FORMAT="json"``)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LEADIMPORT_SKIP_MIGRATE": "1",
        "PORT": str(port),
        **extra_env,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "api"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, timeout=60)
            yield ApiServer(f"http://127.0.0.1:{port}", process)
        finally:
            process.terminate()
            process.wait(15)


@contextmanager
def own_database(database_url: str, prefix: str) -> Iterator[str]:
    """A database of its own on the session's server, migrated, dropped afterwards: no shared
    worker ever sees its jobs (tests that need jobs to stay queued)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from adapters import postgres

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(database_url, dbname=name)
    postgres.migrate(url)
    try:
        yield url
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def app_on(url: str, bootstrap_servers: str, limits: Any) -> Iterator[tuple[Any, Any]]:
    """The API in process (a TestClient) over ``url`` with ``limits``, and its container."""
    from starlette.testclient import TestClient

    from api.app import create_app
    from runtime import bootstrap

    c = bootstrap.build(url, bootstrap_servers, pool_size=4, limits=limits)
    try:
        with TestClient(create_app(c), raise_server_exceptions=False) as client:
            yield client, c
    finally:
        c.close()
