"""Erasure of a lead (GDPR Art. 17, CCPA "right to delete"): ``DELETE /leads/{lead_id}``,
``leadimport erase``.

The event store never rewrites events, so the personal data in them is stored sealed with a key
of the lead's own (``adapters.sealing``); erasing the lead destroys the key (crypto-shredding).
A request is logged in ``erasure_requests`` (who asked, when, which lead, why; never a value)
and carried out by the importer's sweep (``run_pending``, one a sweep) or at once by the command
line (``carry_out_now``), both under a lease on the request (never two at once), in steps that a
crash may interrupt anywhere and a new run finishes:

1. while the key still exists, the lead's identifiers are read from its events, and every copy
   found by them is blanked (``application.erasure_copies``: failed rows' values and warnings
   carrying them, stored uploads, dead letters, dry runs);
2. shredding, one transaction: ``LeadErased`` (a reason code, no data) appended with the
   store's version check, the key deleted, the lead's events stored before sealing existed
   (plain) rewritten blank and its snapshots deleted, the lead removed from the read models (its
   identifiers are released: a later import of the same address makes a new lead), and the
   request marked ``shredded_at``. A lead worker or an undo that stored events for the lead
   first makes it fail on the version: it reads the lead again. Then the searches by value of
   step 1 run once more (a batch that committed between the two);
3. the copies found by the lead's id, blanked again (the rows of the lead a worker applied
   between step 1 and 2 included): its rows' warnings, its rows in stored uploads, dry runs,
   undo reports; then ``done_at`` and the report (counts only).

After step 2 no transaction can store anything more about the lead: lead workers and undos
check, under the events table's lock, that the leads they rely on still have their keys (a lead
worker: every lead its batch found in the identifier index, whose identifiers a warning may
quote). Not rewritten: ``RowsApplied`` and ``JobUndone`` events stored plain before sealing
existed (their copies in the read models are blanked; docs/operations.md, "Erasure").
The relay publishes ``LeadErased`` on ``leads.events``, then a tombstone (``relaying``).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import IntegrityError
from psycopg import Cursor

from adapters import keys, postgres
from adapters.eventstore import project
from adapters.plain_events import blank_plain_events_effect
from application import erasure_copies as copies
from application.container import Container
from domain.erasure import Carrier
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.lead import ERASURE_REASONS, Lead
from projections.leads import delete_leads_effect

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a sweep's hold on a request; a crashed sweep's is taken again
RETRY_AFTER = timedelta(seconds=30)  # a request that failed is tried again after this
CONFLICT_RETRIES = 8
DEFAULT_REASON = "data_subject_request"
_COLUMNS = (
    "erasure_id, ou, lead_id, requested_by, reason, requested_at, shredded_at, done_at, report"
)


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A request as the API shows it."""
    return {
        "erasure_id": row["erasure_id"],
        "lead_id": str(row["lead_id"]),
        "status": "done" if row["done_at"] is not None else "pending",
        "reason": row["reason"],
        "requested_by": row["requested_by"],
        "requested_at": row["requested_at"],
        "done_at": row["done_at"],
        "report": row["report"],
    }


def check_reason(reason: str) -> str:
    if reason not in ERASURE_REASONS:
        raise InvalidRequest(
            f"Unknown erasure reason {reason!r}: use one of {', '.join(ERASURE_REASONS)} "
            f"(default {DEFAULT_REASON})."
        )
    return reason


def request_erasure(
    c: Container, ou: str, lead_id: UUID, requested_by: str, reason: str = DEFAULT_REASON
) -> tuple[dict[str, Any], bool]:
    """Log a request to erase ``ou``'s lead (`NotFound` for an unknown or foreign one, also
    after an undo deleted it: its events still hold its data); the request, and whether it
    is new. A lead asked for again answers its first request."""
    check_reason(reason)
    first = c.store.load_events([lead_id], first_only=True).get(lead_id)
    if not first or type(first[0]) is not Lead.LeadCreated or first[0].ou != ou:
        raise NotFound(f"Lead {str(lead_id)!r} does not exist.")
    with c.pool.connection() as conn:
        created = conn.execute(
            "INSERT INTO erasure_requests (erasure_id, ou, lead_id, requested_by, reason,"
            " requested_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (lead_id) DO NOTHING"
            f" RETURNING {_COLUMNS}",
            ("erasure_" + secrets.token_hex(16), ou, lead_id, requested_by, reason, c.clock()),
        ).fetchone()
        row = (
            created
            or conn.execute(
                f"SELECT {_COLUMNS} FROM erasure_requests WHERE lead_id = %s", (lead_id,)
            ).fetchone()
        )
    if row is None or row["ou"] != ou:  # cannot be: a lead belongs to one OU
        raise Conflict(f"Lead {str(lead_id)!r} could not be erased; try again.")
    if created is not None:
        log.info("erasure %s of lead %s requested by %s", row["erasure_id"], lead_id, requested_by)
    return view(row), created is not None


def get_request(c: Container, ou: str, erasure_id: str) -> dict[str, Any] | None:
    if "\x00" in erasure_id:
        return None
    with c.pool.connection() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM erasure_requests WHERE erasure_id = %s AND ou = %s",
            (erasure_id, ou),
        ).fetchone()
    return view(row) if row is not None else None


def run_pending(c: Container, limit: int = 1) -> int:
    """Carry out up to ``limit`` pending requests (part of the importer's sweep, one a sweep:
    an erasure reads every upload of its OU; several importers share the work: a request is
    leased to one). Returns how many were done."""
    done = 0
    for _ in range(limit):
        with c.pool.connection() as conn:
            row = conn.execute(
                "UPDATE erasure_requests SET lease_until = now() + %s, attempts = attempts + 1"
                " WHERE erasure_id = (SELECT erasure_id FROM erasure_requests"
                "  WHERE done_at IS NULL AND (lease_until IS NULL OR lease_until < now())"
                "  ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
                f" RETURNING {_COLUMNS}",
                (LEASE,),
            ).fetchone()
        if row is None:
            return done
        try:
            carry_out(c, row)
            done += 1
        except postgres.UNAVAILABLE:
            raise
        except Exception as e:
            _failed(c, row["erasure_id"], e)
    return done


def carry_out_now(c: Container, erasure_id: str) -> dict[str, Any]:
    """Carry out a logged request at once (``leadimport erase``), under the same lease as the
    importer's sweep, so the two never work on one request together; the request as shown.
    ``Conflict`` while a sweep holds it (or a failure is waiting to be tried again)."""
    with c.pool.connection() as conn:
        row = conn.execute(
            "UPDATE erasure_requests SET lease_until = now() + %s, attempts = attempts + 1"
            " WHERE erasure_id = %s AND done_at IS NULL"
            " AND (lease_until IS NULL OR lease_until < now())"
            f" RETURNING {_COLUMNS}",
            (LEASE, erasure_id),
        ).fetchone()
        if row is None:
            current = conn.execute(
                f"SELECT {_COLUMNS} FROM erasure_requests WHERE erasure_id = %s", (erasure_id,)
            ).fetchone()
            if current is not None and current["done_at"] is not None:
                return view(current)
            raise Conflict(
                f"Erasure {erasure_id} is being carried out by an importer (or waits to be tried"
                " again after a failure); run the command again in a few minutes for its report."
            )
    try:
        return carry_out(c, row)
    except postgres.UNAVAILABLE:
        raise
    except Exception as e:
        _failed(c, erasure_id, e)
        raise


def _failed(c: Container, erasure_id: str, e: Exception) -> None:
    log.exception("erasure %s failed; it is tried again later", erasure_id)
    with c.pool.connection() as conn:
        conn.execute(
            "UPDATE erasure_requests SET last_error = %s, lease_until = now() + %s"
            " WHERE erasure_id = %s",
            (error_summary(e), RETRY_AFTER, erasure_id),
        )


def error_summary(e: BaseException) -> str:
    """What ``last_error`` keeps of a failure: the exception's class and, for a database error,
    its SQLSTATE; never its message (a database's names the values of a violated key)."""
    sqlstate = getattr(e, "sqlstate", None)
    name = f"{type(e).__module__}.{type(e).__qualname__}"
    return f"{name} (SQLSTATE {sqlstate})" if isinstance(sqlstate, str) else name


def carry_out(c: Container, request: dict[str, Any]) -> dict[str, Any]:
    """Carry out a logged request, from wherever an earlier run stopped; the report."""
    ou, lead_id, erasure_id = request["ou"], request["lead_id"], request["erasure_id"]
    report: dict[str, int] = {}
    if request["shredded_at"] is None:
        events = c.store.load_events([lead_id]).get(lead_id, [])
        carrier = Carrier.of(identifiers_ever(events))
        if carrier:
            _blank_by_values(c, ou, lead_id, carrier, report)
        report["events_shredded"] = _shred(c, lead_id, request["reason"], erasure_id)
        if carrier:  # what a batch planned before the shredding committed meanwhile
            _blank_by_values(c, ou, lead_id, carrier, report)
    _add(report, "warnings_blanked", copies.lead_rows_warnings(c, ou, lead_id))
    for name, n in copies.uploads(c, ou, lead_id, None).items():
        _add(report, name, n)
    _add(report, "dry_run_rows_deleted", copies.dry_runs(c, ou, lead_id, None))
    _add(report, "undo_reports_redacted", copies.undo_reports(c, ou, lead_id))
    with c.pool.connection() as conn:
        row = conn.execute(
            "UPDATE erasure_requests SET done_at = coalesce(done_at, %s), lease_until = NULL,"
            " last_error = NULL, report = coalesce(report, '{}'::jsonb) || %s::jsonb"
            f" WHERE erasure_id = %s RETURNING {_COLUMNS}",
            (c.clock(), orjson.dumps(report).decode(), erasure_id),
        ).fetchone()
    log.info("erasure %s of lead %s done: %s", erasure_id, lead_id, report)
    return view(row) if row is not None else {"erasure_id": erasure_id, "report": report}


def identifiers_ever(events: list[Any]) -> dict[str, set[str]]:
    """Every identifier the lead's events gave it, also those an undo took off again."""
    found: dict[str, set[str]] = {}

    def add(identifier: dict[str, str]) -> None:
        if "value" in identifier:
            found.setdefault(identifier["kind"], set()).add(identifier["value"])

    for e in events:
        if isinstance(e, Lead.LeadCreated):
            add(e.primary)
            for alias in e.aliases:
                add(alias)
        elif isinstance(e, Lead.LeadAliasAdded | Lead.LeadAliasRemoved):
            add(e.alias)
    return found


def _blank_by_values(
    c: Container, ou: str, lead_id: UUID, carrier: Carrier, report: dict[str, int]
) -> None:
    """Step 1: the copies only the lead's identifiers lead to (they are gone after step 2)."""
    carried, failed = copies.carried_values(c, ou, carrier)
    _add(report, "values_blanked", carried)
    _add(report, "warnings_blanked", copies.lead_rows_warnings(c, ou, lead_id))
    for name, n in copies.uploads(c, ou, lead_id, carrier, failed).items():
        _add(report, name, n)
    _add(report, "dead_letters_closed", copies.dead_letters(c, ou, carrier))
    _add(report, "dry_run_rows_deleted", copies.dry_runs(c, ou, lead_id, carrier))


def _shred(c: Container, lead_id: UUID, reason: str, erasure_id: str) -> int:
    """Step 2; the number of the lead's events now sealed for good."""
    for attempt in range(1, CONFLICT_RETRIES + 1):
        events = c.store.load_events([lead_id]).get(lead_id, [])
        lead = project(events)
        if lead is None:
            raise NotFound(f"Lead {lead_id} has no events.")
        if getattr(lead, "erased", False):  # an earlier run shredded it, then stopped
            _mark_shredded(c, erasure_id)
            return 0
        lead.erase(reason, erasure_id)
        try:
            c.store.put(
                [lead],
                effects=[
                    keys.delete_lead_key_effect(lead_id),
                    blank_plain_events_effect(c.store.mapper.transcoder, lead_id),
                    delete_leads_effect([lead_id]),
                    _marked_shredded(erasure_id),
                ],
            )
        except IntegrityError as e:  # a worker or an undo appended to the lead first
            log.info(
                "erasure %s: lead %s changed (attempt %d): %s", erasure_id, lead_id, attempt, e
            )
            continue
        c.store.key_cache.forget([lead_id])
        return len(events)
    raise Conflict(f"Lead {lead_id} kept changing while it was being erased; tried again later.")


def _marked_shredded(erasure_id: str) -> Any:
    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "UPDATE erasure_requests SET shredded_at = now() WHERE erasure_id = %s", (erasure_id,)
        )

    return effect


def _mark_shredded(c: Container, erasure_id: str) -> None:
    with c.pool.connection() as conn:
        _marked_shredded(erasure_id)(conn.cursor())


def _add(report: dict[str, int], name: str, n: int) -> None:
    report[name] = report.get(name, 0) + n
