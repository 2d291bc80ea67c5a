"""Jobs: start, cancel, undo request; the job lifecycle the workers drive (start, complete); job
requests on Kafka."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from adapters import locks
from adapters.kafka import TOPIC_JOBS
from application import idempotency, limits, previews
from application.container import Container
from application.previews import load_file
from domain import progress as job_progress
from domain.encodings import encoding_label
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.fields import split_mappings
from domain.identifiers import ALIAS_TARGETS, KINDS, IdentifierKind, is_valid_country
from domain.import_job import IN_PROGRESS, MODES, QUEUED, UNDOING, UPSERT, ImportJob, job_uuid
from projections import dry_run, progress
from projections import jobs as jobs_view
from projections.jobs import job_event_effects, open_job_ids_at_total

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartCommand:
    file_id: str
    primary_column: str
    primary_kind: str
    field_mappings: dict[str, str]
    alias_mappings: dict[str, str]
    default_country: str = "US"
    # Read the file with this encoding / delimiter instead of the preview's (names
    # `domain.encodings.codec_for` / `delimiter_for` accept); None keeps the preview's.
    encoding: str | None = None
    delimiter: str | None = None
    # What a row does when its lead exists or not (``domain.import_job.MODES``), and whether the
    # job only simulates the import (docs/api.md, "Modes and dry runs").
    mode: str = UPSERT.value
    dry_run: bool = False


def _column(headers: list[str], name: str, what: str) -> str:
    """Match a column exactly, else case-insensitively; raise a 400 naming the headers."""
    if name in headers:
        return name
    folded = [h for h in headers if h.strip().casefold() == name.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    listed = ", ".join(repr(h) for h in headers)
    raise InvalidRequest(
        f"{what} names column {name!r}, which is not a header of the file. Use one of: {listed}."
    )


def start(
    c: Container, ou: str, cmd: StartCommand, idempotency_key: str | None = None
) -> dict[str, Any]:
    """Queue an import job of a previewed file. With ``idempotency_key`` (the
    ``Idempotency-Key`` header), a start sent again answers the job the first one queued
    (application/idempotency.py)."""
    if idempotency_key is None:
        return _start(c, ou, cmd, None)
    request = {**asdict(cmd), "default_country": cmd.default_country.strip().upper()}
    claim = idempotency.claim_for(ou, idempotency_key, request)
    return idempotency.once(c, claim, lambda: _start(c, ou, cmd, claim))


def _start(
    c: Container, ou: str, cmd: StartCommand, claim: idempotency.Claim | None
) -> dict[str, Any]:
    if cmd.primary_kind not in KINDS:
        raise InvalidRequest(
            f"primary_identifier.kind {cmd.primary_kind!r} is not supported. "
            f"Use one of: {', '.join(KINDS)}."
        )
    if cmd.mode not in MODES:
        raise InvalidRequest(
            f"mode {cmd.mode!r} is not an import mode. Use one of: {', '.join(MODES)}."
        )
    country = cmd.default_country.strip().upper()
    if not is_valid_country(country):
        raise InvalidRequest(
            f"default_country {cmd.default_country!r} is not an ISO 3166-1 alpha-2 country code "
            "(for example US, GB, DE)."
        )
    stored = load_file(c, cmd.file_id, ou)
    if stored is None:
        raise NotFound(
            f"File {cmd.file_id!r} was not found or has expired (previews are kept for 1 hour). "
            "Upload it again with POST /leads/import/preview."
        )
    queue_limit = c.limits.max_queued_jobs_per_ou
    with c.pool.connection() as conn:  # a full queue is told before the file is re-read
        limits.check_queue(conn.cursor(), ou, queue_limit)
    # Another encoding or delimiter: the mappings name the headers of that reading, and the
    # job reads a copy of the file stored with it (the importer reads the job's file's format).
    reread = previews.reread(stored, cmd.encoding, cmd.delimiter)
    headers = reread.headers if reread is not None else stored.headers
    primary_column = _column(headers, cmd.primary_column, "primary_identifier.column")
    fields_by_column = {
        _column(headers, col, "field_mappings"): target
        for col, target in cmd.field_mappings.items()
    }
    mapped, ignored = split_mappings(fields_by_column)
    aliases: dict[str, str] = {}
    for col, target in cmd.alias_mappings.items():
        column = _column(headers, col, "alias_mappings")
        key = target.strip().lower()
        if key not in ALIAS_TARGETS:
            raise InvalidRequest(
                f"alias_mappings maps {col!r} to {target!r}, which is not an alias target. "
                f"Use one of: {', '.join(ALIAS_TARGETS)}."
            )
        aliases[column] = key
    if reread is not None:
        stored = previews.store_copy(c, stored, reread)
    kind: IdentifierKind = cmd.primary_kind
    job = ImportJob(
        ou=ou,
        file_id=stored.file_id,
        file_name=stored.file_name,
        total_rows=stored.row_count,
        primary_identifier={"column": primary_column, "kind": kind},
        field_mappings=[[column, target] for column, target in mapped.items()],
        alias_mappings=[[column, target] for column, target in aliases.items()],
        ignored_fields=ignored,
        default_country=country,
        mode=cmd.mode,
        dry_run=cmd.dry_run,
    )
    response: dict[str, Any] = {
        "job_id": job.job_id,
        "status": QUEUED,
        "message": "Import job started",
        "file_name": stored.file_name,
        "total_rows": stored.row_count,
    }
    if ignored:
        response["ignored_fields"] = ignored
    if reread is not None:
        response["encoding"] = encoding_label(stored.format.encoding)
        response["delimiter"] = stored.format.delimiter
    pending = list(job.collect_events())
    # Counted again under the OU's queue lock, in the job's transaction (application/limits.py).
    queue = limits.queue_effect(ou, job.job_id, queue_limit)
    # The idempotency key (with this answer) first: a retry racing the request that stores the
    # key rolls back before it is counted in the queue.
    keep = [idempotency.claim_effect(claim, job.job_id, response, c.clock())] if claim else []
    c.store.events.put(pending, effects=[*keep, queue, *job_event_effects(job, pending)])
    request_job(c, job.job_id, ou)
    return response


def request_job(c: Container, job_id: str, ou: str, *, redrive: bool = False) -> None:
    """Ask an importer to publish a job's rows (``redrive``: again, the ones without an outcome).
    If this request is lost, the stall sweep asks again."""
    _send_request(c, {"job_id": job_id, "ou": ou, "redrive": redrive})


def request_undo(c: Container, job_id: str, ou: str) -> None:
    """Ask an importer to undo a job. If this request is lost, the stall sweep asks again."""
    _send_request(c, {"job_id": job_id, "ou": ou, "action": "undo"})


def _send_request(c: Container, request: dict[str, Any]) -> None:
    """Publish a job request and wait for the broker's acknowledgement. A request that could not
    be published is logged, not raised: the importer's sweep asks again for a job that does not
    move."""
    job_id = request["job_id"]
    try:
        c.producer.send(TOPIC_JOBS, key=job_id.encode(), value=orjson.dumps(request)).get(
            timeout=10
        )
    except Exception:
        log.exception("could not publish the request %s; the sweep will ask again", request)


# --- job lifecycle -------------------------------------------------------------------------


# The events that end a job: no row of it is applied afterwards.
ENDINGS = (ImportJob.JobCompleted, ImportJob.JobFailed, ImportJob.JobCancelled)


def save_job(c: Container, job: ImportJob) -> None:
    pending = list(job.collect_events())
    effects = job_event_effects(job, pending)
    if job.dry_run and any(isinstance(e, ENDINGS) for e in pending):
        # After the status change: a batch of the job either committed before it (its rows are
        # deleted too) or finds the job closed and rolls back (applying._guard_open_jobs).
        effects.append(dry_run.cleanup_effect(job.job_id))
    if any(isinstance(e, ENDINGS) for e in pending):
        # Its progress samples (the detail's recent rate) too, the same way.
        effects.append(progress.cleanup_effect(job.job_id))
    c.store.events.put(pending, effects=effects)


class TooManyRunning(Exception):
    """The OU already runs its maximum number of jobs."""


def _running_limit(ou: str, job_id: str, limit: int) -> Any:
    """Effect: serialise starts per OU (advisory lock) and refuse one over the limit."""

    def effect(curs: Any) -> None:
        curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (locks.ou_starts(ou),))
        curs.execute(
            "SELECT count(*) AS n FROM import_jobs WHERE ou = %s AND status = %s AND job_id <> %s",
            (ou, IN_PROGRESS.value, job_id),
        )
        if curs.fetchone()["n"] >= limit:
            raise TooManyRunning(ou)

    return effect


def start_job(c: Container, job: ImportJob, max_running: int) -> bool:
    """Move a queued job to in_progress unless its OU already runs ``max_running`` jobs.
    A job already in progress (a re-drive) just goes on."""
    job.start()
    pending = list(job.collect_events())
    if not pending:
        return True
    effects = [_running_limit(job.ou, job.job_id, max_running), *job_event_effects(job, pending)]
    try:
        c.store.events.put(pending, effects=effects)
    except TooManyRunning:
        return False
    return True


def waiting_jobs_with_a_free_slot(c: Container, max_running: int) -> list[tuple[str, str]]:
    """Queued jobs, oldest first, that fit in their OU's free running slots."""
    with c.pool.connection() as conn:
        rows = conn.execute(
            "WITH running AS (SELECT ou, count(*) AS n FROM import_jobs"
            "  WHERE status = %s GROUP BY ou),"
            " waiting AS (SELECT job_id, ou, row_number() OVER"
            "  (PARTITION BY ou ORDER BY created_at, job_id) AS rn"
            "  FROM import_jobs WHERE status = %s)"
            " SELECT w.job_id, w.ou FROM waiting w LEFT JOIN running r ON r.ou = w.ou"
            " WHERE w.rn <= %s - COALESCE(r.n, 0)",
            (IN_PROGRESS.value, QUEUED.value, max_running),
        ).fetchall()
    return [(r["job_id"], r["ou"]) for r in rows]


def job_not_found(job_id: str) -> NotFound:
    return NotFound(
        f"Import job {job_id!r} does not exist. List your jobs with GET /leads/import/jobs."
    )


def change_job(
    c: Container, job_id: str, command: Callable[[ImportJob], object], ou: str | None = None
) -> ImportJob:
    """Load a job, run ``command`` on it and save what it did; when another process changed
    the job in between (a version conflict), load it again and decide again."""
    for _ in range(5):
        job = get_job_aggregate(c, job_id)
        if job is None or (ou is not None and job.ou != ou):
            raise job_not_found(job_id)
        command(job)
        try:
            save_job(c, job)
            return job
        except IntegrityError:
            continue
    raise Conflict(f"Import job {job_id!r} kept changing while it was being updated; try again.")


def list_jobs(c: Container, ou: str, page: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the OU's jobs, newest first, and how many it has in all; each with its
    ``processed_rows`` and ``percent``."""
    with c.pool.connection() as conn:
        items, total = jobs_view.list_jobs(conn.cursor(), ou, page, limit)
    return [{**item, **_done(item)} for item in items], total


def _done(job: dict[str, Any]) -> dict[str, Any]:
    """``processed_rows`` (rows with an outcome) and ``percent`` of a job's counters."""
    processed = job_progress.processed_rows(
        job["created_count"], job["updated_count"], job["failed_count"], job["skipped_count"]
    )
    return {
        "processed_rows": processed,
        "percent": job_progress.percent(processed, job["total_rows"], job["status"]),
    }


def _progress(curs: Any, c: Container, ou: str, job: dict[str, Any]) -> dict[str, Any]:
    """What the detail adds to the counters: ``processed_rows``, ``percent``, and while the job
    runs ``rows_per_second`` (recent) and ``eta_seconds``; while it is queued, ``queue``."""
    done = _done(job)
    rate: float | None = None
    eta: int | None = None
    queue: dict[str, Any] | None = None
    if job["status"] == IN_PROGRESS:
        now, before, first = progress.rate_samples(curs, job["job_id"])
        measured = job_progress.recent_rate(now, done["processed_rows"], before, first)
        if measured is not None:
            rate = round(measured, 1)
            eta = job_progress.eta_seconds(done["processed_rows"], job["total_rows"], measured)
    elif job["status"] == QUEUED:
        position, running = progress.queue_place(curs, ou, job["job_id"])
        queue = job_progress.queue_state(position, running, c.limits.max_running_jobs_per_ou)
    return {**done, "rows_per_second": rate, "eta_seconds": eta, "queue": queue}


# The first statement of a read whose queries must see the same data.
ONE_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


def job_detail(c: Container, ou: str, job_id: str) -> dict[str, Any]:
    """The detail of ``ou``'s job; NotFound for an unknown job or one of another OU.
    Its counters, totals, errors, warnings and progress are read in one snapshot, so they
    agree."""
    job = None
    if "\x00" not in job_id:  # NUL is never part of an id (and PostgreSQL refuses it)
        with c.pool.connection() as conn:
            conn.execute(ONE_SNAPSHOT)
            curs = conn.cursor()
            job = jobs_view.get_job(curs, ou, job_id)
            if job is not None:
                job.update(_progress(curs, c, ou, job))
    if job is None:
        raise job_not_found(job_id)
    return job


def job_errors(
    c: Container, ou: str, job_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    """A page of the row errors of ``ou``'s job, in row order: ``{"job_id", "errors",
    "next_cursor"}``; ``next_cursor`` (None on the last page) continues after this page.
    NotFound as ``job_detail``; InvalidRequest for a cursor that is not one of this list."""
    after = _cursor_position("errors", cursor, 1) if cursor else (0,)
    with c.pool.connection() as conn:
        conn.execute(ONE_SNAPSHOT)
        curs = conn.cursor()
        if "\x00" in job_id or not jobs_view.job_exists(curs, ou, job_id):
            raise job_not_found(job_id)
        errors, last = jobs_view.errors_page(curs, job_id, after[0], limit)
    next_cursor = _cursor("errors", (last,)) if last is not None else None
    return {"job_id": job_id, "errors": errors, "next_cursor": next_cursor}


def job_warnings(
    c: Container, ou: str, job_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    """A page of the alias warnings of ``ou``'s job, in (row, seq) order: as ``job_errors``."""
    after = _cursor_position("warnings", cursor, 2) if cursor else (0, 0)
    with c.pool.connection() as conn:
        conn.execute(ONE_SNAPSHOT)
        curs = conn.cursor()
        if "\x00" in job_id or not jobs_view.job_exists(curs, ou, job_id):
            raise job_not_found(job_id)
        warnings, last = jobs_view.warnings_page(curs, job_id, (after[0], after[1]), limit)
    next_cursor = _cursor("warnings", last) if last is not None else None
    return {"job_id": job_id, "warnings": warnings, "next_cursor": next_cursor}


def _cursor(listing: str, position: tuple[int, ...]) -> str:
    """The opaque cursor after ``position`` (the keyset of the last item) of ``listing``:
    ``"errors:102"`` or ``"warnings:102.1"`` in unpadded URL-safe base64."""
    raw = f"{listing}:{'.'.join(str(n) for n in position)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_position(listing: str, cursor: str, size: int) -> tuple[int, ...]:
    """The position a cursor of ``listing`` stands for; InvalidRequest for anything that is
    not exactly a cursor ``_cursor`` makes for that listing."""
    bad = InvalidRequest(
        f"Query parameter 'cursor' is not a cursor of this job's {listing}. Pass the "
        "'next_cursor' of the previous page unchanged, or leave 'cursor' out to start at the "
        "first row."
    )
    if len(cursor) > 64 or not cursor.isascii():
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise bad from None
    tag, _, numbers = raw.partition(":")
    parts = numbers.split(".")
    if tag != listing or len(parts) != size or not all(_digits(p) for p in parts):
        raise bad
    position = tuple(int(p) for p in parts)
    if _cursor(listing, position) != cursor:  # one spelling only (no padding, no zeros...)
        raise bad
    return position


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 10


def cancel_job(c: Container, ou: str, job_id: str) -> None:
    """Cancel a queued or running job of ``ou``; idempotent. Rows without an outcome yet are
    never applied: lead workers check the job's status inside their transaction."""
    change_job(c, job_id, ImportJob.cancel, ou)


def undo_job(c: Container, ou: str, job_id: str) -> dict[str, Any]:
    """Start undoing a completed or cancelled job of ``ou``; the importer does the work
    (application/undo.py). Asking again while it is ``undoing`` only sends the request again (so
    a retry resumes an undo whose request was lost); an ``undone`` job is a Conflict."""
    change_job(c, job_id, ImportJob.request_undo, ou)
    request_undo(c, job_id, ou)
    return {"job_id": job_id, "status": UNDOING}


def get_job_aggregate(c: Container, job_id: str) -> ImportJob | None:
    try:
        agg: Any = c.store.repository.get(job_uuid(job_id))
    except (AggregateNotFoundError, ValueError):
        return None
    # Only the exact public id names the job (the read model is keyed by it too): another
    # spelling of the same UUID is not found, rather than half found.
    return agg if isinstance(agg, ImportJob) and agg.job_id == job_id else None


def complete_jobs(c: Container, job_ids: list[str] | None) -> list[str]:
    """Mark jobs whose every row has an outcome as completed (idempotent, race-safe)."""
    with c.pool.connection() as conn:
        ready = open_job_ids_at_total(conn.cursor(), job_ids)
    done = []
    for job_id in ready:
        job = get_job_aggregate(c, job_id)
        if job is None:
            continue
        try:
            job.complete()
            save_job(c, job)
            done.append(job_id)
        except (Conflict, IntegrityError):
            continue  # another process completed it first
    return done
