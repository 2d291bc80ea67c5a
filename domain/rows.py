"""Row messages on ``lead-import.rows`` and the pure function that turns a CSV row into one.

One message per data row of a file: ``RowImported`` when the primary identifier is usable,
``RowFailed`` otherwise. Aliases that fail validation do not fail the row: they travel as
warnings and are recorded on the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_json

from domain.identifiers import IdentifierError, IdentifierKind, is_placeholder, normalize
from domain.resultfiles import strip_formula_mark

ROW_SCHEMA_VERSION = 1


class Identifier(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: IdentifierKind
    value: str


class Warning_(BaseModel):
    warning: str
    value: str


class RowImported(BaseModel):
    type: Literal["RowImported"] = "RowImported"
    schema_version: int = ROW_SCHEMA_VERSION
    event_id: str
    ou: str
    job_id: str
    row: int
    primary: Identifier
    fields: dict[str, str]
    aliases: list[Identifier]
    warnings: list[Warning_] = []


class RowFailed(BaseModel):
    type: Literal["RowFailed"] = "RowFailed"
    schema_version: int = ROW_SCHEMA_VERSION
    event_id: str
    ou: str
    job_id: str
    row: int
    error: str
    value: str


RowEvent = RowImported | RowFailed

# The value a row error or warning carries (stored in the job's errors and warnings, sent in the
# job detail and its pages) is at most this many characters of the cell, then a marker saying
# it was cut and how long it was: a 10 MB file of failing rows must not give megabytes per row.
MAX_VALUE_CHARS = 1000


def cap_value(value: str) -> str:
    """``value`` as a row error or warning carries it: unchanged up to ``MAX_VALUE_CHARS``
    characters, else its first ``MAX_VALUE_CHARS`` followed by
    ``"… [cut: 12,345 characters in all]"`` (the length of the whole value)."""
    if len(value) <= MAX_VALUE_CHARS:
        return value
    return f"{value[:MAX_VALUE_CHARS]}… [cut: {len(value):,} characters in all]"


@dataclass(frozen=True)
class RowMapping:
    """Where each mapped thing sits in a row of the file (column indexes)."""

    primary_kind: IdentifierKind
    primary_index: int
    fields: tuple[tuple[int, str], ...]  # (column index, profile field)
    aliases: tuple[tuple[int, IdentifierKind], ...]  # (column index, identifier kind)
    default_country: str

    @classmethod
    def build(
        cls,
        headers: list[str],
        primary_column: str,
        primary_kind: IdentifierKind,
        fields: dict[str, str],
        aliases: dict[str, IdentifierKind],
        default_country: str,
    ) -> RowMapping:
        index = {h: i for i, h in enumerate(headers)}
        return cls(
            primary_kind=primary_kind,
            primary_index=index[primary_column],
            fields=tuple((index[col], name) for col, name in fields.items()),
            aliases=tuple((index[col], kind) for col, kind in aliases.items()),
            default_country=default_country,
        )


def row_event_id(job_id: str, row: int) -> str:
    """Deterministic: a re-published row carries the same id as the first time."""
    return f"{job_id}:{row}"


def map_row(ou: str, job_id: str, row: int, cells: list[str], mapping: RowMapping) -> RowEvent:
    """Validate and normalise one CSV row (cells already padded to the header length)."""
    return _event(_row_body(ou, job_id, row, cells, mapping))


def _event(body: dict[str, Any]) -> RowEvent:
    if body["type"] == "RowFailed":
        return RowFailed.model_validate(body)
    return RowImported.model_validate(body)


def encode_row(
    ou: str, job_id: str, row: int, cells: list[str], mapping: RowMapping
) -> tuple[bytes, bytes]:
    """``(partition key, message)`` of one CSV row: exactly
    ``partition_key(e), e.model_dump_json().encode()`` for ``e = map_row(...)``, or for its
    ``too_large`` replacement, built without the pydantic models (the importer's hot path: the
    models cost about 7 us a row; every lead worker validates each message against them)."""
    body = _row_body(ou, job_id, row, cells, mapping)
    value = to_json(body)
    if len(value) > MAX_ROW_EVENT_BYTES:
        event = too_large(_event(body), strip_formula_mark(cells[mapping.primary_index]))
        return partition_key(event), event.model_dump_json().encode()
    if body["type"] == "RowFailed":
        return _row_key(ou, job_id, row), value
    return _lead_key(ou, body["primary"]["kind"], body["primary"]["value"]), value


def _row_body(
    ou: str, job_id: str, row: int, cells: list[str], mapping: RowMapping
) -> dict[str, Any]:
    """The message of one row as plain data, keys in the models' field order."""
    event_id = row_event_id(job_id, row)
    # A mapped cell loses the ' that a downloaded errors.csv puts before a formula-like start
    # (domain/resultfiles.py), so a fixed file uploaded again imports what the first one held.
    raw_primary = strip_formula_mark(cells[mapping.primary_index])
    try:
        primary = normalize(mapping.primary_kind, raw_primary, mapping.default_country)
    except IdentifierError as e:
        return {
            "type": "RowFailed",
            "schema_version": ROW_SCHEMA_VERSION,
            "event_id": event_id,
            "ou": ou,
            "job_id": job_id,
            "row": row,
            "error": e.message,
            "value": cap_value(e.value),
        }
    fields: dict[str, str] = {}
    for i, name in mapping.fields:
        value = strip_formula_mark(cells[i]).strip()
        if value:  # empty cells never overwrite
            fields[name] = value
    aliases: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = {(mapping.primary_kind, primary)}
    warnings: list[dict[str, str]] = []
    for i, kind in mapping.aliases:
        raw = strip_formula_mark(cells[i])
        if not raw.strip() or is_placeholder(raw):
            continue  # empty alias cells are skipped
        try:
            value = normalize(kind, raw, mapping.default_country)
        except IdentifierError as e:
            warnings.append({"warning": f"Alias not added: {e.message}", "value": cap_value(raw)})
            continue
        if (kind, value) not in seen:  # duplicates of the primary or of an alias are dropped
            seen.add((kind, value))
            aliases.append({"kind": kind, "value": value})
    return {
        "type": "RowImported",
        "schema_version": ROW_SCHEMA_VERSION,
        "event_id": event_id,
        "ou": ou,
        "job_id": job_id,
        "row": row,
        "primary": {"kind": mapping.primary_kind, "value": primary},
        "fields": fields,
        "aliases": aliases,
        "warnings": warnings,
    }


ROW_TOO_LARGE = "Row too large"
# A row event must fit in one Kafka message (the producer's limit is 4 MiB); the rest of the
# budget is for the envelope. A CRM field of megabytes is a mistake in the file, not data.
MAX_ROW_EVENT_BYTES = 4 * 1024 * 1024 - 64 * 1024


def too_large(event: RowEvent, primary_cell: str) -> RowFailed:
    """The failure that replaces a row event over ``MAX_ROW_EVENT_BYTES``."""
    return RowFailed(
        event_id=event.event_id,
        ou=event.ou,
        job_id=event.job_id,
        row=event.row,
        error=ROW_TOO_LARGE,
        value=cap_value(primary_cell),
    )


def partition_key(event: RowEvent) -> bytes:
    """Every row of one lead (same OU and primary identifier) lands on one partition, in order."""
    if isinstance(event, RowImported):
        return _lead_key(event.ou, event.primary.kind, event.primary.value)
    return _row_key(event.ou, event.job_id, event.row)


def _lead_key(ou: str, kind: str, value: str) -> bytes:
    return f"{ou}\x1f{kind}\x1f{value}".encode()


def _row_key(ou: str, job_id: str, row: int) -> bytes:
    """A failed row has no lead: any partition will do, spread by the row's own identity."""
    return f"{ou}\x1f{job_id}\x1f{row}".encode()
