"""Services and the process supervisor: the configured servers or embedded ones, the schema and
topics, and ``leadimport up`` (every process of the service on one machine, restarted when one
dies)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from adapters.kafka import ALL_TOPICS, ASSIGNMENT_DIR_ENV, PLAINTEXT, ClientOptions
from runtime.logs import redact
from runtime.settings import Settings

log = logging.getLogger("leadimport")


@dataclass
class Services:
    database_url: str = field(repr=False)  # carries the password
    kafka_bootstrap: str
    embedded_database: bool = False  # the embedded PostgreSQL, started or found here

    @property
    def printable_database_url(self) -> str:
        """The URL ``up`` and ``services`` print: with the password for the embedded server
        (for the person who started it, to paste into psql), masked for a configured one."""
        return self.database_url if self.embedded_database else redact(self.database_url)


@contextmanager
def services(settings: Settings, *, need_kafka: bool = True) -> Iterator[Services]:
    """The configured servers, or embedded ones started (and stopped) here."""
    from adapters.embedded import EmbeddedKafka, EmbeddedPostgres

    pg: EmbeddedPostgres | None = None
    broker: EmbeddedKafka | None = None
    try:
        url = settings.database_url
        if url is None:
            pg = EmbeddedPostgres(settings.data_dir)
            url = pg.start()
        bootstrap = settings.kafka_bootstrap_servers or ""
        if not bootstrap and need_kafka:
            broker = EmbeddedKafka()
            bootstrap = broker.start()
        yield Services(url, bootstrap, embedded_database=pg is not None)
    finally:
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()


def prepare(s: Services, settings: Settings) -> None:
    """Schema and topics (with the configured replication and retention); idempotent."""
    from adapters import kafka, postgres

    postgres.migrate(s.database_url)
    if s.kafka_bootstrap:
        try:
            kafka.create_topics(
                s.kafka_bootstrap,
                ALL_TOPICS,
                settings.partitions,
                options=settings.kafka.client,
                settings=settings.kafka.topics,
            )
        except kafka.TopicSetupError as e:
            raise SystemExit(
                f"{e}. Check LEADIMPORT_PARTITIONS, LEADIMPORT_TOPIC_REPLICATION_FACTOR (at most"
                " the number of brokers), LEADIMPORT_TOPIC_MIN_INSYNC_REPLICAS and the retention"
                " settings (docs/operations.md, Production shape), or create the topic yourself"
            ) from None


def _child_env(s: Services) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": s.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap,
        "LEADIMPORT_SKIP_MIGRATE": "1",
    }


def _wait_ready(url: str, procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a child process exited during start-up; see its output above")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as r:  # noqa: S310 - local URL
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the API did not become ready within {timeout:.0f} s")


def _wait_consumers(
    directory: Path,
    bootstrap: str,
    lead_workers: int,
    timeout: float = 30,
    options: ClientOptions = PLAINTEXT,
) -> None:
    """Until the importer holds every partition of the job requests and each lead worker holds
    some of the rows, together all of them (or ``timeout``: then ``up`` goes on, and the first
    job waits for the groups to settle)."""
    from adapters import kafka
    from adapters.kafka import TOPIC_JOBS, TOPIC_ROWS
    from consumers import importer, leads

    counts = kafka.partition_counts(bootstrap, [TOPIC_JOBS, TOPIC_ROWS], options)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = kafka.assignments(directory, importer.GROUP)
        rows = kafka.assignments(directory, leads.GROUP)
        if (
            len(set().union(*jobs)) == counts[TOPIC_JOBS]
            and sum(1 for r in rows if r) == lead_workers
            and len(set().union(*rows)) == counts[TOPIC_ROWS]
        ):
            return
        time.sleep(0.1)
    log.warning("the workers' consumer groups did not settle within %.0f s", timeout)


RESTART_FIRST_S = 0.5  # back-off before the first restart of a child that died
RESTART_MAX_S = 30.0  # the back-off doubles at each death, up to this
RESTART_RESET_S = 60.0  # a child that ran this long before dying starts over at the first


class Restart:
    """When to restart one child: exponential back-off while it keeps dying soon after start."""

    def __init__(self) -> None:
        self.started_at = time.monotonic()
        self.delay = 0.0
        self.restart_at: float | None = None

    def due(self, returncode: int, spec: list[str]) -> bool:
        """Called while the child is dead: True when it is time to start it again."""
        now = time.monotonic()
        if self.restart_at is None:
            ran = now - self.started_at
            if ran >= RESTART_RESET_S or self.delay == 0.0:
                self.delay = RESTART_FIRST_S
            else:
                self.delay = min(self.delay * 2, RESTART_MAX_S)
            how = f"signal {-returncode}" if returncode < 0 else f"exit code {returncode}"
            log.warning(
                "%s died (%s) after %.1f s; restarting it in %.1f s (its log above says why)",
                " ".join(spec),
                how,
                ran,
                self.delay,
            )
            self.restart_at = now + self.delay
        return now >= self.restart_at

    def started(self) -> None:
        self.started_at = time.monotonic()
        self.restart_at = None


DEV_TOKEN_FILE = "dev-token"  # noqa: S105 - the name of the file, not a token
DEV_TOKEN_NAME = "development"  # noqa: S105
DEV_TOKEN_OU = "default"  # noqa: S105 - an OU, not a password


def dev_token(database_url: str, data_dir: Path) -> str:
    """The development token of ``up`` (OU ``default``, named ``development``, no expiry), kept
    in the data folder: the same one at every start while the database still holds it as that
    token, active; else a new one (written over the file: a new database, a revoked or expired
    token, or a token of another name or OU put there), and the one it replaces is revoked."""
    from adapters import postgres, tokens
    from adapters.embedded import secure_data_dir, write_private

    secure_data_dir(data_dir)
    path = data_dir / DEV_TOKEN_FILE
    kept = path.read_text().strip() if path.exists() else ""
    pool = postgres.make_pool(database_url, max_size=1)
    try:
        previous = tokens.lookup_token(pool, kept, touch=False) if kept else None
        if (
            previous is not None
            and (previous.ou, previous.name) == (DEV_TOKEN_OU, DEV_TOKEN_NAME)
            and previous.state(datetime.now(UTC)) == "active"
        ):
            return kept
        token = tokens.create_token(pool, DEV_TOKEN_OU, name=DEV_TOKEN_NAME)
        write_private(path, token + "\n")
        if previous is not None and previous.revoked_at is None:  # after the file has the new one
            tokens.revoke_token(pool, previous.token_id)
            log.warning(
                "the token in %s was not the active development token; it is revoked, and "
                "replaced by a new development token",
                path,
            )
    finally:
        pool.close()
    return token


def cmd_up(settings: Settings) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with services(settings) as s:
        prepare(s, settings)
        env = _child_env(s)
        assignment_dir = settings.data_dir / "assignments"
        shutil.rmtree(assignment_dir, ignore_errors=True)
        env[ASSIGNMENT_DIR_ENV] = str(assignment_dir)
        exe = [sys.executable, "-m", "runtime.cli"]
        specs = [["api"], ["worker", "importer"]] + [["worker", "leads"]] * settings.lead_workers
        specs.append(["worker", "relay"])  # one relay: it holds a lock, a second would only wait
        procs = [subprocess.Popen(exe + spec, env=env) for spec in specs]
        try:
            api_url = f"http://{settings.host}:{settings.port}"
            _wait_ready(api_url, procs)
            _wait_consumers(
                assignment_dir,
                s.kafka_bootstrap,
                settings.lead_workers,
                options=settings.kafka.client,
            )
            token = dev_token(s.database_url, settings.data_dir)
            print(f"API_URL={api_url}")
            print(f"TOKEN={token}")
            print(f"DATABASE_URL={s.printable_database_url}")
            print(f"KAFKA_BOOTSTRAP_SERVERS={s.kafka_bootstrap}")
            print(f"WIZARD_URL={api_url}/import")  # the import wizard: sign in with TOKEN
            print(f"DOCS_URL={api_url}/docs", flush=True)  # the API docs (Swagger UI)
            # Restart a child that dies, after a back-off that grows while it keeps dying;
            # stop all on a signal.
            restarts = [Restart() for _ in procs]
            while not stop.wait(0.2):
                for i, p in enumerate(procs):
                    if p.poll() is not None and restarts[i].due(p.returncode, specs[i]):
                        procs[i] = subprocess.Popen(exe + specs[i], env=env)
                        restarts[i].started()
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for p in procs:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    return 0
