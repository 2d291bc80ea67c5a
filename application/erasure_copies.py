"""The copies of a person's data outside their lead's events, blanked by an erasure
(``application.erasure`` decides when): each function is idempotent and returns a count.

* row ledger projection: the warnings of the lead's rows (``job_warnings.value``), and the
  failed rows' values and other rows' warnings that carry one of its identifiers; with each, the
  ``value_keys`` key its ``RowsApplied`` copy is sealed with (a replay then reads ``""`` too);
* stored uploads (``preview_files.content``): the lead's rows, failed rows carrying its
  identifiers and rows with a cell carrying one that no outcome gives to another lead are
  emptied (their row numbers stay; an open job of the file gets a failed outcome for each),
  cells carrying its identifiers in other leads' rows too. ``errors.csv`` and ``results.csv``
  are made from the upload and the ledger when downloaded, so they follow;
* the OU's dead letters whose record carries an identifier: key, payload and error are
  dropped, the letter is closed (a retry could only send nothing);
* dry-run simulations holding the lead or its identifiers;
* undo reports (``import_jobs.undo_report``): the lead's alias entries, redacted as the event
  store reads them back once the key is gone.

"Carries an identifier" is ``domain.erasure.Carrier``: candidates are found with SQL ``LIKE``
(one query per table of the OU), then checked in Python.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import orjson
from psycopg import Cursor

from adapters import keys
from adapters.keys import ValueKeyId
from application import row_checks
from application.container import Container
from domain.erasure import Carrier, blank_rows, carrying_rows
from domain.import_job import OPEN, status_values
from domain.undo import redact_report

DEAD_LETTER_PAGE = 500
OPEN_STATUSES = frozenset(status_values(OPEN))
ERASED_ROW = "Row erased: it named a person who asked to be erased (its content is gone)"
ERASED_DEAD_LETTER = "erased: the record named a lead that was erased (its content is gone)"


def lead_rows_warnings(c: Container, ou: str, lead_id: UUID) -> int:
    """Blank the warnings of every row of the OU's jobs whose outcome names the lead."""
    with c.pool.connection() as conn, conn.transaction():
        curs = conn.cursor()
        curs.execute(
            "SELECT w.job_id, w.row, w.seq FROM job_warnings w"
            " JOIN import_jobs j ON j.job_id = w.job_id AND j.ou = %s"
            " JOIN row_outcomes o ON o.job_id = w.job_id AND o.row = w.row"
            " WHERE o.lead_id = %s AND w.value <> ''",
            (ou, lead_id),
        )
        found = [(r["job_id"], r["row"], r["seq"]) for r in curs.fetchall()]
        return _blank_warnings(curs, found)


def carried_values(c: Container, ou: str, carrier: Carrier) -> tuple[int, list[tuple[str, int]]]:
    """Blank the failed rows' values and the warnings of the OU's jobs that carry one of the
    identifiers; the count, and the failed rows ``(job_id, row)`` (their upload rows go too)."""
    texts, digits = carrier.like_patterns()
    match = "(lower({0}) LIKE ANY(%s) OR regexp_replace({0}, '[^0-9]', '', 'g') LIKE ANY(%s))"
    with c.pool.connection() as conn, conn.transaction():
        curs = conn.cursor()
        curs.execute(
            "SELECT o.job_id, o.row, o.value FROM row_outcomes o"
            " JOIN import_jobs j ON j.job_id = o.job_id AND j.ou = %s"
            " WHERE o.outcome = 'failed' AND o.value <> '' AND " + match.format("o.value"),
            (ou, texts, digits),
        )
        failed = [
            (r["job_id"], r["row"]) for r in curs.fetchall() if carrier.carried_by(r["value"])
        ]
        if failed:
            curs.execute(
                "UPDATE row_outcomes o SET value = '' FROM unnest(%b::text[], %b::int[])"
                " AS k(job_id, row) WHERE o.job_id = k.job_id AND o.row = k.row",
                ([f[0] for f in failed], [f[1] for f in failed]),
            )
            keys.delete_value_keys(curs, [(j, r, -1) for j, r in failed])
        curs.execute(
            "SELECT w.job_id, w.row, w.seq, w.value FROM job_warnings w"
            " JOIN import_jobs j ON j.job_id = w.job_id AND j.ou = %s"
            " WHERE w.value <> '' AND " + match.format("w.value"),
            (ou, texts, digits),
        )
        warned = [
            (r["job_id"], r["row"], r["seq"])
            for r in curs.fetchall()
            if carrier.carried_by(r["value"])
        ]
        return len(failed) + _blank_warnings(curs, warned), failed


def _blank_warnings(curs: Cursor[Any], found: list[ValueKeyId]) -> int:
    if not found:
        return 0
    curs.execute(
        "UPDATE job_warnings w SET value = '' FROM unnest(%b::text[], %b::int[], %b::int[])"
        " AS k(job_id, row, seq) WHERE w.job_id = k.job_id AND w.row = k.row AND w.seq = k.seq",
        ([f[0] for f in found], [f[1] for f in found], [f[2] for f in found]),
    )
    keys.delete_value_keys(curs, found)
    return len(found)


def uploads(
    c: Container,
    ou: str,
    lead_id: UUID,
    carrier: Carrier | None,
    failed: Iterable[tuple[str, int]] = (),
) -> dict[str, int]:
    """Rewrite the OU's stored uploads without the lead's rows: the rows whose outcome names it,
    ``failed``, and, with a ``carrier``, every row with a cell carrying one of its identifiers
    unless an outcome gives that row to another lead (then only those cells are emptied). A
    file and its re-read copies (``source_file_id``) hold the same rows: each loses the rows of
    every job that read one of them. An open job of the file gets a failed outcome for each row
    emptied that it has none for (the reader skips an empty record: the job could never reach
    its total otherwise). One file in memory at a time."""
    with c.pool.connection() as conn:
        files = conn.execute(
            "SELECT file_id, coalesce(source_file_id, file_id) AS family FROM preview_files"
            " WHERE ou = %s ORDER BY file_id",
            (ou,),
        ).fetchall()
        families: dict[str, list[str]] = {}
        for f in files:
            families.setdefault(f["family"], []).append(f["file_id"])
        jobs = conn.execute(
            "SELECT job_id, file_id, status FROM import_jobs WHERE ou = %s AND file_id = ANY(%s)",
            (ou, [f["file_id"] for f in files]),
        ).fetchall()
        rows_of_job: dict[str, set[int]] = {j["job_id"]: set() for j in jobs}
        for r in conn.execute(
            "SELECT job_id, row FROM row_outcomes WHERE job_id = ANY(%s) AND lead_id = %s",
            (list(rows_of_job), lead_id),
        ):
            rows_of_job[r["job_id"]].add(r["row"])
    for job_id, row in failed:
        if job_id in rows_of_job:
            rows_of_job[job_id].add(row)
    family_of = {f["file_id"]: f["family"] for f in files}
    rows_of_family: dict[str, set[int]] = {}
    jobs_of_family: dict[str, list[dict[str, Any]]] = {}
    for j in jobs:
        family = family_of[j["file_id"]]
        rows_of_family.setdefault(family, set()).update(rows_of_job[j["job_id"]])
        jobs_of_family.setdefault(family, []).append(j)
    counts = {"files_rewritten": 0, "file_rows_blanked": 0, "file_cells_blanked": 0}
    for family, file_ids in families.items():
        rows = rows_of_family.get(family, set())
        if not rows and not carrier:
            continue
        family_jobs = jobs_of_family.get(family, [])
        emptied: set[int] = set()
        for file_id in file_ids:
            emptied |= _rewrite(c, file_id, rows, carrier, lead_id, family_jobs, counts)
        _fail_emptied_rows(c, ou, family_jobs, emptied)
    return counts


def _rewrite(
    c: Container,
    file_id: str,
    rows: set[int],
    carrier: Carrier | None,
    lead_id: UUID,
    family_jobs: list[dict[str, Any]],
    counts: dict[str, int],
) -> set[int]:
    """Rewrite one stored upload; the numbers of the records it emptied."""
    with c.pool.connection() as conn:
        stored = conn.execute(
            "SELECT content, encoding, delimiter FROM preview_files WHERE file_id = %s", (file_id,)
        ).fetchone()
    if stored is None:
        return set()  # purged meanwhile
    content, encoding, delimiter = bytes(stored["content"]), stored["encoding"], stored["delimiter"]
    try:
        if carrier:
            carrying = carrying_rows(content, encoding, delimiter, carrier) - rows
            rows = rows | (carrying - _rows_of_others(c, family_jobs, carrying, lead_id))
        done = blank_rows(content, encoding, delimiter, rows, carrier)
    except (UnicodeError, ValueError, LookupError, csv.Error):
        return set()  # not readable as stored: no job could read it either
    if done is None:
        return set()
    with c.pool.connection() as conn:
        conn.execute(
            "UPDATE preview_files SET content = %s, row_count = greatest(row_count - %s, 0)"
            " WHERE file_id = %s",
            (done.content, done.data_rows_removed, file_id),
        )
    counts["files_rewritten"] += 1
    counts["file_rows_blanked"] += done.rows_blanked
    counts["file_cells_blanked"] += done.cells_blanked
    return set(done.blanked)


def _rows_of_others(
    c: Container, family_jobs: list[dict[str, Any]], rows: set[int], lead_id: UUID
) -> set[int]:
    """Of ``rows``, those an outcome of a job of the file gives to another lead."""
    if not rows or not family_jobs:
        return set()
    with c.pool.connection() as conn:
        found = conn.execute(
            "SELECT DISTINCT row FROM row_outcomes WHERE job_id = ANY(%s) AND row = ANY(%s)"
            " AND lead_id IS NOT NULL AND lead_id <> %s",
            ([j["job_id"] for j in family_jobs], sorted(rows), lead_id),
        ).fetchall()
    return {r["row"] for r in found}


def _fail_emptied_rows(
    c: Container, ou: str, family_jobs: list[dict[str, Any]], emptied: set[int]
) -> None:
    """Give each open job of the file a failed outcome for the emptied rows it has none for."""
    for job in family_jobs:
        if not emptied or job["status"] not in OPEN_STATUSES:
            continue
        with c.pool.connection() as conn:
            have = {
                r["row"]
                for r in conn.execute(
                    "SELECT row FROM row_outcomes WHERE job_id = %s AND row = ANY(%s)",
                    (job["job_id"], sorted(emptied)),
                )
            }
        for row in sorted(emptied - have):
            row_checks.fail_row(c, ou, job["job_id"], row, ERASED_ROW)


def dead_letters(c: Container, ou: str, carrier: Carrier) -> int:
    """Close the OU's dead letters whose key, payload or error carries one of the identifiers
    (a letter of another OU's job, or whose record names another OU, is left alone)."""
    blanked = 0
    after = 0
    while True:
        with c.pool.connection() as conn:
            page = conn.execute(
                "SELECT d.id, d.record_key, d.payload, d.error FROM dead_letters d"
                " LEFT JOIN import_jobs j ON j.job_id = d.job_id WHERE d.id > %s"
                " AND (d.payload IS NOT NULL OR d.record_key IS NOT NULL)"
                " AND (j.ou = %s OR j.job_id IS NULL) ORDER BY d.id LIMIT %s",
                (after, ou, DEAD_LETTER_PAGE),
            ).fetchall()
            hits = [
                r["id"] for r in page if _ou_of(r["payload"]) in (ou, None) and _carries(carrier, r)
            ]
            if hits:
                conn.execute(
                    "UPDATE dead_letters SET record_key = NULL, payload = NULL, error = %s,"
                    " retried_at = coalesce(retried_at, now()), retry_error = %s"
                    " WHERE id = ANY(%s)",
                    (ERASED_DEAD_LETTER, ERASED_DEAD_LETTER, hits),
                )
        blanked += len(hits)
        if len(page) < DEAD_LETTER_PAGE:
            return blanked
        after = page[-1]["id"]


def _ou_of(payload: bytes | None) -> str | None:
    """The OU a dead letter's record names (``"ou"`` of a JSON object), if it names one."""
    if payload is None:
        return None
    try:
        record = orjson.loads(bytes(payload))
    except orjson.JSONDecodeError:
        return None
    ou = record.get("ou") if isinstance(record, dict) else None
    return ou if isinstance(ou, str) else None


def _carries(carrier: Carrier, letter: dict[str, Any]) -> bool:
    texts = [letter["error"] or ""]
    texts += [
        bytes(b).decode("utf-8", "replace")
        for b in (letter["record_key"], letter["payload"])
        if b is not None
    ]
    return any(carrier.carried_by(t) for t in texts)


def dry_runs(c: Container, ou: str, lead_id: UUID, carrier: Carrier | None) -> int:
    """Delete what running dry runs simulate of the lead, or of a lead made of its identifiers."""
    with c.pool.connection() as conn, conn.transaction():
        curs = conn.cursor()
        made_up: list[UUID] = []
        deleted = 0
        if carrier:
            curs.execute(
                "DELETE FROM dry_run_claims WHERE ou = %s AND lower(value) = ANY(%s)"
                " RETURNING lead_id",
                (ou, sorted(carrier.texts)),
            )
            made_up = [r["lead_id"] for r in curs.fetchall()]
            deleted += len(made_up)
        curs.execute("DELETE FROM dry_run_claims WHERE lead_id = %s", (lead_id,))
        deleted += int(curs.rowcount)
        curs.execute(
            "DELETE FROM dry_run_leads WHERE lead_id = %s OR lead_id = ANY(%s)",
            (lead_id, made_up),
        )
        return deleted + int(curs.rowcount)


def undo_reports(c: Container, ou: str, lead_id: UUID) -> int:
    """Redact the lead's alias entries in the undo reports of the OU's jobs."""
    changed = 0
    with c.pool.connection() as conn, conn.transaction():
        rows = conn.execute(
            "SELECT job_id, undo_report FROM import_jobs WHERE ou = %s"
            " AND undo_report IS NOT NULL AND strpos(undo_report::text, %s) > 0 FOR UPDATE",
            (ou, str(lead_id)),
        ).fetchall()
        for r in rows:
            redacted = redact_report(r["undo_report"], str(lead_id))
            if redacted != r["undo_report"]:
                conn.execute(
                    "UPDATE import_jobs SET undo_report = %s WHERE job_id = %s",
                    (orjson.dumps(redacted).decode(), r["job_id"]),
                )
                changed += 1
    return changed
