"""The ``leadimport`` command line."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from runtime import client, logs, token_commands
from runtime.settings import Settings
from runtime.supervisor import Services, cmd_up, prepare, services

if TYPE_CHECKING:
    from application.container import Container

log = logging.getLogger("leadimport")

WORKERS = ("importer", "leads", "relay")


def _container(settings: Settings) -> Container:
    from runtime import bootstrap

    url = settings.database_url
    bootstrap_servers = settings.kafka_bootstrap_servers
    if not url or not bootstrap_servers:
        raise SystemExit(
            "DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS must be set (leadimport up sets them)"
        )
    if not os.environ.get("LEADIMPORT_SKIP_MIGRATE"):
        prepare(Services(url, bootstrap_servers), settings)
    return bootstrap.build(
        url,
        bootstrap_servers,
        limits=bootstrap.limits_from(settings),
        result_retention=bootstrap.result_retention_from(settings),
        kafka_settings=settings.kafka,
    )


def cmd_api(settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from api.ratelimit import TokenBuckets

    try:
        rate_limit = TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)
    except ValueError as e:
        raise SystemExit(
            f"LEADIMPORT_RATE_LIMIT_PER_SECOND / LEADIMPORT_RATE_LIMIT_BURST: {e}"
        ) from None
    c = _container(settings)
    try:
        uvicorn.run(
            create_app(c, rate_limit, consumer_groups=_consumer_groups()),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            log_config=None,  # uvicorn's records go through ours (runtime/logs.py: redacted)
            access_log=False,
        )
    finally:
        c.close()
    return 0


def _consumer_groups() -> dict[str, list[str]]:
    """The workers' consumer groups and their topics, whose lag ``GET /metrics`` reports."""
    from adapters.kafka import TOPIC_JOBS, TOPIC_ROWS
    from consumers import importer, leads

    return {importer.GROUP: [TOPIC_JOBS], leads.GROUP: [TOPIC_ROWS]}


# Workers allocate tens of thousands of short-lived objects per batch (row messages, events,
# aggregates); at the default threshold of 700 the cyclic collector ran over and over, and every
# run walked the long-lived objects of the libraries too (docs/development.md, "Measured").
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
    if profile_dir:  # sampling profile of the worker, written on a clean stop (docs/development.md)
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    try:
        if name == "importer":
            importer.run(c, stop, settings.stall_timeout_s, c.limits.max_running_jobs_per_ou)
        elif name == "relay":
            # The relay yields the CPU to the import pipeline when both want it, and publishes
            # at full speed as soon as a core is free (docs/development.md, "Measured").
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
        print(f"DATABASE_URL={s.printable_database_url}")
        print(f"KAFKA_BOOTSTRAP_SERVERS={s.kafka_bootstrap}", flush=True)
        stop.wait()
    return 0


def cmd_replay(settings: Settings) -> int:
    """Rebuild every projection from the events alone and swap it in (projections/replay.py)."""
    from adapters import postgres
    from adapters.eventstore import open_event_store
    from projections.replay import replay

    with services(settings, need_kafka=False) as s:
        postgres.migrate(s.database_url)
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
    """Print a page of the history of the lead holding an identifier as JSON, and on stderr how
    to ask for the next page (application/audit.py)."""
    import orjson

    from application.audit import audit
    from domain.errors import DomainError
    from domain.identifiers import KINDS, IdentifierError
    from runtime import bootstrap

    kind, raw = next((k, getattr(args, k)) for k in KINDS if getattr(args, k) is not None)
    with services(settings, need_kafka=False) as s:
        c = bootstrap.build(s.database_url, s.kafka_bootstrap, pool_size=1)
        try:
            page = {"after": args.after} | ({"limit": args.limit} if args.limit else {})
            result = audit(c, args.ou, kind, raw, args.default_country, **page)
        except (DomainError, IdentifierError) as e:
            print(f"{kind} {raw!r}: {e.message}", file=sys.stderr)
            return 1
        finally:
            c.close()
    options = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_INDENT_2
    print(orjson.dumps(result, option=options).decode())
    if result["next_after"] is not None:
        again = [f"--{kind.replace('_', '-')}", raw, "--ou", args.ou, "--after"]
        again += [str(result["next_after"]), *(["--limit", str(args.limit)] if args.limit else [])]
        print(f"More events: leadimport audit {shlex.join(again)}", file=sys.stderr)
    return 0


def _at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``low``."""

    def parse(raw: str) -> int:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or int(raw) < low:
            raise argparse.ArgumentTypeError(f"not a whole number of at least {low}: {raw!r}")
        return int(raw)

    return parse


def cmd_erase(settings: Settings, args: argparse.Namespace) -> int:
    """Erase a lead now (application/erasure.py) and print what was done as JSON."""
    import uuid

    import orjson

    from application import erasure, leads
    from domain.errors import DomainError
    from domain.identifiers import KINDS, IdentifierError
    from runtime import bootstrap

    with services(settings, need_kafka=False) as s:
        c = bootstrap.build(s.database_url, s.kafka_bootstrap, pool_size=2)
        try:
            if args.lead_id is not None:
                try:
                    lead_id = uuid.UUID(args.lead_id)
                except ValueError:
                    print(f"--lead-id {args.lead_id!r} is not a lead id (a UUID)", file=sys.stderr)
                    return 2
            else:
                kind, raw = next((k, getattr(args, k)) for k in KINDS if getattr(args, k))
                found = leads.lead_of(c, args.ou, kind, raw, args.default_country)
                if found is None:
                    print(
                        f"no lead of OU {args.ou!r} has the {kind} {raw!r} (an erased lead's "
                        "identifiers are released: erase by --lead-id to finish an erasure)",
                        file=sys.stderr,
                    )
                    return 1
                lead_id = found
            request, _ = erasure.request_erasure(
                c, args.ou, lead_id, f"cli:{args.requested_by}", args.reason
            )
            if request["status"] != "done":  # under the importer's lease (never both at once)
                request = erasure.carry_out_now(c, request["erasure_id"])
        except (DomainError, IdentifierError) as e:
            print(f"lead not erased: {e.message}", file=sys.stderr)
            return 1
        finally:
            c.close()
    options = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_INDENT_2
    print(orjson.dumps(request, option=options).decode())
    return 0


def cmd_dead_letters(settings: Settings, args: argparse.Namespace) -> int:
    """List the dead letters, or re-drive some or all of them (application/redrive.py)."""
    import orjson

    from application import dead_letters, redrive
    from runtime import bootstrap

    if args.dead_letters_command == "retry" and not settings.kafka_bootstrap_servers:
        raise SystemExit(
            "Set KAFKA_BOOTSTRAP_SERVERS to the running service's broker to retry (leadimport up"
            " prints it): a retry produces the records again to their topics."
        )
    with services(settings, need_kafka=False) as s:
        kafka_bootstrap = settings.kafka_bootstrap_servers or ""
        c = bootstrap.build(
            s.database_url, kafka_bootstrap, pool_size=1, kafka_settings=settings.kafka
        )
        try:
            if args.dead_letters_command == "list":
                letters = dead_letters.list_dead_letters(
                    c, include_retried=args.all, after_id=args.after, limit=args.limit
                )
                options = orjson.OPT_UTC_Z | orjson.OPT_INDENT_2
                print(orjson.dumps(letters, option=options).decode())
                return 0
            ids = dead_letters.open_ids(c) if args.all else args.ids
            if not ids:
                print("nothing to retry: no dead letter is waiting", file=sys.stderr)
                return 0
            failed = 0
            for dead_letter_id in ids:
                error = redrive.retry(c, dead_letter_id)
                if error is None:
                    print(f"dead letter {dead_letter_id}: retried")
                else:
                    failed += 1
                    print(f"dead letter {dead_letter_id}: not retried: {error}", file=sys.stderr)
            return 1 if failed else 0
        finally:
            c.close()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("leadimport")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
    logging.getLogger("kafka").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="leadimport", description="Lead Import service")
    parser.add_argument("--version", action="version", version=f"leadimport {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start everything (embedded services unless configured)")
    sub.add_parser("api", help="run the HTTP API")
    worker = sub.add_parser("worker", help="run one worker")
    worker.add_argument("name", choices=WORKERS)
    sub.add_parser("services", help="run only the embedded PostgreSQL and broker")
    token_commands.add_commands(sub)
    sub.add_parser("replay", help="rebuild every projection from the events, then swap it in")
    audit = sub.add_parser("audit", help="print the history of the lead holding an identifier")
    identifier = audit.add_mutually_exclusive_group(required=True)
    for kind in ("email", "phone", "cookie", "external-id", "social"):
        identifier.add_argument(f"--{kind}", help=f"the lead's {kind.replace('-', ' ')}")
    audit.add_argument("--ou", default="default", help="the lead's OU (default: default)")
    audit.add_argument("--default-country", default="US", help="for a phone without +country")
    audit.add_argument(
        "--after",
        type=_at_least(0),
        default=0,
        help="print the events after this version (the 'next_after' of the previous page)",
    )
    audit.add_argument(
        "--limit",
        type=_at_least(1),
        default=None,
        help="events per page (default 100, at most 1000: application/audit.py)",
    )
    erase = sub.add_parser("erase", help="erase a lead (GDPR Art. 17) now, and say what was done")
    whose = erase.add_mutually_exclusive_group(required=True)
    whose.add_argument("--lead-id", help="the lead's id")
    for kind in ("email", "phone", "cookie", "external-id", "social"):
        whose.add_argument(f"--{kind}", help=f"the lead's {kind.replace('-', ' ')}")
    erase.add_argument("--ou", required=True, help="the lead's OU")
    erase.add_argument("--default-country", default="US", help="for a phone without +country")
    erase.add_argument(
        "--reason",
        default="data_subject_request",
        choices=("data_subject_request", "consent_withdrawn", "legal_obligation", "other"),
        help="kept in the erasure log and in LeadErased (default: data_subject_request)",
    )
    erase.add_argument(
        "--requested-by",
        default=os.environ.get("USER", "operator"),
        help="who asked, for the erasure log (default: $USER); logged as cli:<this>",
    )
    letters = sub.add_parser("dead-letters", help="records and events the workers parked")
    letters_sub = letters.add_subparsers(dest="dead_letters_command", required=True)
    listing = letters_sub.add_parser("list", help="print the dead letters as JSON, oldest first")
    listing.add_argument("--all", action="store_true", help="also those already retried")
    listing.add_argument("--after", type=_at_least(0), default=0, help="ids after this one")
    listing.add_argument("--limit", type=_at_least(1), default=100, help="at most 1000")
    retry = letters_sub.add_parser("retry", help="re-drive dead letters after a fix")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=_at_least(1), default=[], help="dead letter ids")
    which.add_argument("--all", action="store_true", help="every dead letter not yet retried")
    client.add_commands(sub)
    args = parser.parse_args(argv)
    if args.command in client.COMMANDS:  # an API client: no settings, no data folder
        return client.run(args)
    # No folder is made here: the embedded PostgreSQL makes the data folder when it starts, and
    # `up` its assignments folder; with DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS set, a process
    # writes nothing to disk (the image runs from a read-only folder: tests/production).
    settings = Settings.from_env()
    role = args.name if args.command == "worker" else args.command
    logs.configure(
        os.environ.get("LOG_LEVEL", "INFO"),
        settings.log_format,
        role,
        secrets=[settings.kafka.client.sasl_password],
    )
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
    if args.command == "erase":
        return cmd_erase(settings, args)
    if args.command == "dead-letters":
        return cmd_dead_letters(settings, args)
    return token_commands.run(settings, args)


if __name__ == "__main__":
    sys.exit(main())
