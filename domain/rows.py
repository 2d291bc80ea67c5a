"""Row messages on ``lead-import.rows`` and the pure function that turns a CSV row into one.

One message per data row of a file: ``RowImported`` when the primary identifier is usable,
``RowFailed`` otherwise. Aliases that fail validation do not fail the row: they travel as
warnings and are recorded on the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.identifiers import IdentifierError, IdentifierKind, is_placeholder, normalize

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
    event_id = row_event_id(job_id, row)
    raw_primary = cells[mapping.primary_index]
    try:
        primary = normalize(mapping.primary_kind, raw_primary, mapping.default_country)
    except IdentifierError as e:
        return RowFailed(
            event_id=event_id, ou=ou, job_id=job_id, row=row, error=e.message, value=e.value
        )
    fields: dict[str, str] = {}
    for i, name in mapping.fields:
        value = cells[i].strip()
        if value:  # empty cells never overwrite
            fields[name] = value
    aliases: list[Identifier] = []
    seen: set[tuple[str, str]] = {(mapping.primary_kind, primary)}
    warnings: list[Warning_] = []
    for i, kind in mapping.aliases:
        raw = cells[i]
        if not raw.strip() or is_placeholder(raw):
            continue  # empty alias cells are skipped
        try:
            value = normalize(kind, raw, mapping.default_country)
        except IdentifierError as e:
            warnings.append(Warning_(warning=f"Alias not added: {e.message}", value=raw))
            continue
        if (kind, value) not in seen:  # duplicates of the primary or of an alias are dropped
            seen.add((kind, value))
            aliases.append(Identifier(kind=kind, value=value))
    return RowImported(
        event_id=event_id,
        ou=ou,
        job_id=job_id,
        row=row,
        primary=Identifier(kind=mapping.primary_kind, value=primary),
        fields=fields,
        aliases=aliases,
        warnings=warnings,
    )


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
        value=primary_cell[:200],
    )


def partition_key(event: RowEvent) -> bytes:
    """Every row of one lead (same OU and primary identifier) lands on one partition, in order."""
    if isinstance(event, RowImported):
        return f"{event.ou}\x1f{event.primary.kind}\x1f{event.primary.value}".encode()
    return f"{event.ou}\x1f{event.job_id}\x1f{event.row}".encode()
