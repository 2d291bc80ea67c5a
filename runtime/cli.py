"""The ``leadimport`` command line."""

from __future__ import annotations

import argparse
import gc
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
from dataclasses import dataclass
from pathlib import Path

from runtime.kafka import ASSIGNMENT_DIR_ENV
from runtime.settings import ALL_TOPICS, Settings

log = logging.getLogger("leadimport")

WORKERS = ("importer", "leads", "relay")


@dataclass
class Services:
    database_url: str
    kafka_bootstrap: str


@contextmanager
def services(settings: Settings, *, need_kafka: bool = True) -> Iterator[Services]:
    """The configured servers, or embedded ones started (and stopped) here."""
    from runtime.embedded import EmbeddedKafka, EmbeddedPostgres

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
        yield Services(url, bootstrap)
    finally:
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()


def prepare(s: Services, settings: Settings) -> None:
    """Schema and topics; idempotent."""
    from runtime import db, kafka

    db.migrate(s.database_url)
    if s.kafka_bootstrap:
        kafka.create_topics(s.kafka_bootstrap, ALL_TOPICS, settings.partitions)


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
    directory: Path, bootstrap: str, lead_workers: int, timeout: float = 30
) -> None:
    """Until the importer holds every partition of the job requests and each lead worker holds
    some of the rows, together all of them (or ``timeout``: then ``up`` goes on, and the first
    job waits for the groups to settle)."""
    from consumers import importer, leads
    from runtime import kafka
    from runtime.settings import TOPIC_JOBS, TOPIC_ROWS

    counts = kafka.partition_counts(bootstrap, [TOPIC_JOBS, TOPIC_ROWS])
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
            _wait_consumers(assignment_dir, s.kafka_bootstrap, settings.lead_workers)
            from runtime import db
            from runtime.tokens import create_token

            pool = db.make_pool(s.database_url, max_size=1)
            token = create_token(pool, "default")
            pool.close()
            print(f"API_URL={api_url}")
            print(f"TOKEN={token}")
            print(f"DATABASE_URL={s.database_url}")
            print(f"KAFKA_BOOTSTRAP_SERVERS={s.kafka_bootstrap}", flush=True)
            # Restart a child that dies (crash-only workers); stop all on a signal.
            while not stop.wait(0.5):
                for i, p in enumerate(procs):
                    if p.poll() is not None:
                        log.warning("%s exited with %s; restarting it", specs[i], p.returncode)
                        procs[i] = subprocess.Popen(exe + specs[i], env=env)
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


def _container(settings: Settings):  # type: ignore[no-untyped-def]
    from runtime import bootstrap

    url = settings.database_url
    bootstrap_servers = settings.kafka_bootstrap_servers
    if not url or not bootstrap_servers:
        raise SystemExit(
            "DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS must be set (leadimport up sets them)"
        )
    if not os.environ.get("LEADIMPORT_SKIP_MIGRATE"):
        prepare(Services(url, bootstrap_servers), settings)
    return bootstrap.build(url, bootstrap_servers)


def cmd_api(settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    c = _container(settings)
    try:
        uvicorn.run(
            create_app(c),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
        )
    finally:
        c.close()
    return 0


# Workers allocate tens of thousands of short-lived objects per batch (row messages, events,
# aggregates); at the default threshold of 700 the cyclic collector ran over and over, and every
# run walked the long-lived objects of the libraries too. Measured on the 100k-row bench: at
# (50,000, 20, 1000) lead workers 11.1 -> 9.1 CPU s, relay 5.3 -> 4.3, importer 6.2 -> 5.9, peak
# RSS +5 MB; at (200,000, 50, 1000) lead workers about 0.5 s less again, RSS +10 MB.
GC_THRESHOLDS = (200_000, 50, 1000)


def _tune_gc() -> None:
    """Move what start-up allocated out of the collector's sight and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def cmd_worker(settings: Settings, name: str) -> int:
    from consumers import importer, leads, loop, relay

    stop = threading.Event()
    loop.stop_on_signals(stop)
    c = _container(settings)
    _tune_gc()
    profile_dir = os.environ.get("LEADIMPORT_PROFILE_DIR")
    profiler = None
    if profile_dir:  # sampling profile of the worker, written on a clean stop (README: profiling)
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    try:
        if name == "importer":
            importer.run(c, stop, settings.stall_timeout_s, settings.max_running_jobs_per_ou)
        elif name == "relay":
            # The relay yields the CPU to the import pipeline when both want it (on 2 cores,
            # 100k-row bench, interleaved runs: 8,539/8,523/8,335 rows/s at 0 against
            # 8,827/8,900/9,768 at 15; the relay finished 1.0-1.6 s after the job instead of
            # 0.1 s) and publishes at full speed as soon as a core is free.
            if settings.relay_nice > 0:
                os.nice(settings.relay_nice)
            relay.run(c, stop, settings.partitions)
        else:
            leads.run(c, stop)
    finally:
        c.close()
        if profiler is not None and profile_dir:
            profiler.stop()
            out = Path(profile_dir) / f"{name}-{os.getpid()}.txt"
            out.write_text(profiler.output_text(show_all=False, timeline=False))
    return 0


def cmd_services(settings: Settings) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with services(settings) as s:
        prepare(s, settings)
        print(f"DATABASE_URL={s.database_url}")
        print(f"KAFKA_BOOTSTRAP_SERVERS={s.kafka_bootstrap}", flush=True)
        stop.wait()
    return 0


def cmd_token_create(settings: Settings, ou: str) -> int:
    from runtime import db
    from runtime.tokens import create_token

    with services(settings, need_kafka=False) as s:
        db.migrate(s.database_url)
        pool = db.make_pool(s.database_url, max_size=1)
        try:
            token = create_token(pool, ou)
        finally:
            pool.close()
    print(f"Created a token for OU {ou!r}:", file=sys.stderr)
    print(token)
    return 0


def cmd_replay(settings: Settings) -> int:
    """Rebuild every projection from the events alone and swap it in (projections/replay.py)."""
    from projections.replay import replay
    from runtime import db
    from runtime.eventstore import open_event_store

    with services(settings, need_kafka=False) as s:
        db.migrate(s.database_url)
        store = open_event_store(s.database_url, pool_size=2)
        try:
            r = replay(store, s.database_url)
        finally:
            store.close()
    print(
        f"replayed {r.events} events up to notification {r.position} in {r.seconds:.2f} s"
        f" (swap {r.swap_seconds:.3f} s, {r.applied_during_swap} events applied under its locks)"
    )
    return 0


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    """Print the history of the lead holding an identifier as JSON (projections/replay.py)."""
    import orjson

    from domain.errors import DomainError
    from domain.identifiers import KINDS, IdentifierError
    from projections.replay import audit
    from runtime import db
    from runtime.eventstore import open_event_store

    kind, raw = next((k, getattr(args, k)) for k in KINDS if getattr(args, k) is not None)
    with services(settings, need_kafka=False) as s:
        store = open_event_store(s.database_url, pool_size=1)
        try:
            with db.connect(s.database_url) as conn:
                result = audit(store, conn, args.ou, kind, raw, args.default_country)
        except (DomainError, IdentifierError) as e:
            print(f"{kind} {raw!r}: {e.message}", file=sys.stderr)
            return 1
        finally:
            store.close()
    options = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_INDENT_2
    print(orjson.dumps(result, option=options).decode())
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="leadimport", description="Lead Import service")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start everything (embedded services unless configured)")
    sub.add_parser("api", help="run the HTTP API")
    worker = sub.add_parser("worker", help="run one worker")
    worker.add_argument("name", choices=WORKERS)
    sub.add_parser("services", help="run only the embedded PostgreSQL and broker")
    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token bound to an OU")
    create.add_argument("--ou", required=True)
    sub.add_parser("replay", help="rebuild every projection from the events, then swap it in")
    audit = sub.add_parser("audit", help="print the history of the lead holding an identifier")
    identifier = audit.add_mutually_exclusive_group(required=True)
    for kind in ("email", "phone", "cookie", "external-id", "social"):
        identifier.add_argument(f"--{kind}", help=f"the lead's {kind.replace('-', ' ')}")
    audit.add_argument("--ou", default="default", help="the lead's OU (default: default)")
    audit.add_argument("--default-country", default="US", help="for a phone without +country")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    if args.command == "up":
        return cmd_up(settings)
    if args.command == "api":
        return cmd_api(settings)
    if args.command == "worker":
        return cmd_worker(settings, args.name)
    if args.command == "services":
        return cmd_services(settings)
    if args.command == "replay":
        return cmd_replay(settings)
    if args.command == "audit":
        return cmd_audit(settings, args)
    return cmd_token_create(settings, args.ou)


if __name__ == "__main__":
    sys.exit(main())
