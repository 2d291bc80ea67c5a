"""Previews: inspect an uploaded CSV, keep it for a while, find it again, read it with another
encoding or delimiter, purge expired ones."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from application import limits
from application.container import Container
from domain import csvfile
from domain.encodings import encoding_label
from domain.import_job import OPEN, status_values
from domain.suggest import suggest

PREVIEW_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    ou: str
    file_name: str
    content: bytes
    format: csvfile.CsvFormat
    headers: list[str]
    row_count: int
    source_file_id: str | None = None  # the file this one is a re-read copy of (`reformat`)


def _new_file_id() -> str:
    return "preview_" + secrets.token_urlsafe(18)


def preview(
    c: Container,
    ou: str,
    file_name: str,
    data: bytes,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> dict[str, Any]:
    """Inspect an uploaded CSV, keep it for an hour, and describe it. ``encoding`` and
    ``delimiter`` override detection (names `domain.encodings.codec_for` / `delimiter_for` accept).
    `TooManyRequests` when the OU already stores its limit of previews."""
    limit = c.limits.max_previews_per_ou
    with c.pool.connection() as conn:  # a full OU is told before its file is parsed
        limits.check_previews(conn.cursor(), ou, limit, c.clock())
    parsed = csvfile.inspect(
        data, encoding=encoding, delimiter=delimiter, guess_encoding=c.guess_encoding
    )
    file_id = _new_file_id()
    now = c.clock()
    expires = now + PREVIEW_TTL
    with c.pool.connection() as conn:
        # Counted again under the OU's lock, in the insert's transaction: of two uploads at
        # once, only one can take the last slot.
        limits.lock_previews(conn.cursor(), ou)
        limits.check_previews(conn.cursor(), ou, limit, now)
        conn.execute(
            "INSERT INTO preview_files (file_id, ou, file_name, content, encoding, delimiter,"
            " headers, row_count, created_at, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                file_id,
                ou,
                file_name,
                data,
                parsed.format.encoding,
                parsed.format.delimiter,
                orjson.dumps(parsed.headers).decode(),
                parsed.row_count,
                now,
                expires,
            ),
        )
    return {
        "file_id": file_id,
        "file_name": file_name,
        "headers": parsed.headers,
        "sample_rows": parsed.sample_rows,
        "row_count": parsed.row_count,
        "auto_detected_identifiers": {
            "email_columns": parsed.email_columns,
            "phone_columns": parsed.phone_columns,
        },
        "suggested_mappings": suggest(
            parsed.headers, parsed.email_columns, parsed.phone_columns, parsed.sample_rows
        ).as_dict(),
        "expires_at": expires,
        "encoding": encoding_label(parsed.format.encoding),
        "encoding_source": parsed.encoding_source,
        "delimiter": parsed.format.delimiter,
    }


def reread(
    stored: StoredFile, encoding: str | None, delimiter: str | None
) -> csvfile.CsvPreview | None:
    """``stored`` read with another encoding and/or delimiter (what is not given stays as it
    was previewed); None when that changes nothing. Keep it with `store_copy`."""
    if encoding is None and delimiter is None:
        return None
    parsed = csvfile.inspect(
        stored.content,
        encoding=encoding if encoding is not None else stored.format.encoding,
        delimiter=delimiter if delimiter is not None else stored.format.delimiter,
    )
    return None if parsed.format == stored.format else parsed


def store_copy(c: Container, stored: StoredFile, parsed: csvfile.CsvPreview) -> StoredFile:
    """A copy of the upload ``stored`` read as ``parsed`` (`reread`), under its own file_id.

    The original stays as it was previewed, so starts with different formats of one file each
    read their own; a copy with the same format is reused. A copy counts as a preview
    (`TooManyRequests` when the OU is full) and expires with the original."""
    source = stored.source_file_id or stored.file_id
    fmt = parsed.format
    now = c.clock()
    with c.pool.connection() as conn:
        cursor = conn.cursor()
        limits.lock_previews(cursor, stored.ou)
        reused = cursor.execute(
            "SELECT file_id FROM preview_files WHERE source_file_id = %s AND ou = %s"
            " AND encoding = %s AND delimiter = %s AND expires_at > %s LIMIT 1",
            (source, stored.ou, fmt.encoding, fmt.delimiter, now),
        ).fetchone()
        if reused is not None:
            file_id = reused["file_id"]
        else:
            limits.check_previews(cursor, stored.ou, c.limits.max_previews_per_ou, now)
            file_id = _new_file_id()
            cursor.execute(
                "INSERT INTO preview_files (file_id, ou, file_name, content, encoding, delimiter,"
                " headers, row_count, created_at, expires_at, source_file_id)"
                " SELECT %s, ou, file_name, content, %s, %s, %s, %s, %s, expires_at, %s"
                " FROM preview_files WHERE file_id = %s",
                (
                    file_id,
                    fmt.encoding,
                    fmt.delimiter,
                    orjson.dumps(parsed.headers).decode(),
                    parsed.row_count,
                    now,
                    source,
                    stored.file_id,
                ),
            )
    return StoredFile(
        file_id=file_id,
        ou=stored.ou,
        file_name=stored.file_name,
        content=stored.content,
        format=fmt,
        headers=parsed.headers,
        row_count=parsed.row_count,
        source_file_id=source,
    )


def load_file(
    c: Container, file_id: str, ou: str | None = None, *, fresh_only: bool = True
) -> StoredFile | None:
    """A stored upload. ``ou`` scopes the lookup; ``fresh_only`` hides expired ones."""
    query = "SELECT * FROM preview_files WHERE file_id = %s"
    params: list[Any] = [file_id]
    if ou is not None:
        query += " AND ou = %s"
        params.append(ou)
    if fresh_only:
        query += " AND expires_at > %s"
        params.append(c.clock())
    with c.pool.connection() as conn:
        r = conn.execute(query, params).fetchone()
    if r is None:
        return None
    return StoredFile(
        file_id=r["file_id"],
        ou=r["ou"],
        file_name=r["file_name"],
        content=bytes(r["content"]),
        format=csvfile.CsvFormat(encoding=r["encoding"], delimiter=r["delimiter"]),
        headers=list(r["headers"]),
        row_count=r["row_count"],
        source_file_id=r.get("source_file_id"),
    )


def purge_expired_files(c: Container) -> int:
    """Delete expired uploads, except those a job still needs: an unfinished job reads it, or a
    finished one (completed, failed, cancelled, undoing, undone) ended less than
    ``c.result_retention`` ago (its errors.csv is made of it; application/results.py). A job
    ends at ``import_jobs.completed_at``, which an undo does not move. The row outcomes and
    warnings stay: they are the row ledger's projection, which undo and replay need."""
    now = c.clock()
    with c.pool.connection() as conn:
        cur = conn.execute(
            "DELETE FROM preview_files p WHERE p.expires_at <= %s AND NOT EXISTS ("
            " SELECT 1 FROM import_jobs j WHERE j.file_id = p.file_id"
            " AND (j.status = ANY(%s) OR j.completed_at IS NULL OR j.completed_at > %s))",
            (now, status_values(OPEN), now - c.result_retention),
        )
        return int(cur.rowcount)
