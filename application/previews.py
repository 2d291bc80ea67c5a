"""Previews: inspect an uploaded CSV, keep it for a while, find it again, purge expired ones."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from application.container import Container
from domain import csvfile
from domain.import_job import OPEN, status_values

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


def preview(c: Container, ou: str, file_name: str, data: bytes) -> dict[str, Any]:
    """Inspect an uploaded CSV, keep it for an hour, and describe it."""
    parsed = csvfile.inspect(data)
    file_id = "preview_" + secrets.token_urlsafe(18)
    now = c.clock()
    expires = now + PREVIEW_TTL
    with c.pool.connection() as conn:
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
        "expires_at": expires,
    }


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
    )


def purge_expired_files(c: Container) -> int:
    """Delete expired uploads, except those an unfinished job still reads."""
    with c.pool.connection() as conn:
        cur = conn.execute(
            "DELETE FROM preview_files p WHERE p.expires_at <= %s AND NOT EXISTS ("
            " SELECT 1 FROM import_jobs j WHERE j.file_id = p.file_id"
            " AND j.status = ANY(%s))",
            (c.clock(), status_values(OPEN)),
        )
        return int(cur.rowcount)
