"""User data never becomes structure: arbitrary strings from a file or a request go through every
event and message type and come back unchanged.

Header names, mapped columns, cell values, file names and OUs are drawn from strings that look
like the event store's own keys and tags (``_type_``, ``_data_``, ``class_version``, ...), from
any text, from very long strings, NUL and right-to-left marks. Lone surrogates cannot be encoded
as UTF-8 at all: they are refused where they could enter (a JSON body does not parse; see
``test_lone_surrogates_cannot_be_stored``), never stored half-way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson
import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, Mapper, StoredEvent, UUIDAsHex
from eventsourcing.utils import get_topic
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.eventstore import project
from adapters.transcoder import OrjsonTranscoder
from application.envelopes import envelope
from application.importing import decode_request
from domain.import_job import ImportJob
from domain.lead import Lead
from domain.row_ledger import RowBatch
from domain.rows import RowFailed, RowImported, RowMapping, encode_row, map_row

SPECIAL = [
    "_type_",
    "_data_",
    "class_version",
    "originator_id",
    "originator_version",
    "originator_topic",
    "timestamp",
    "__proto__",
    "constructor",
    "datetime_iso",
    "uuid_hex",
    "decimal_str",
    '{"_type_": "datetime_iso", "_data_": "2026-01-01"}',
    "12345678-1234-5678-1234-567812345678",
    "\x00",
    "a\x00b",
    "\u200f\u202eevil\u202c",  # right-to-left mark and override
    "",
    " ",
    '=HYPERLINK("x")',
]
LONG = st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=4), st.integers(2000, 30000))
HOSTILE = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=40), LONG)
# Several different strings (column names of one file are unique)
COLUMNS = st.lists(HOSTILE, min_size=3, max_size=6, unique=True)
SETTINGS = settings(max_examples=60, deadline=None)


def _mapper() -> Mapper[UUID]:
    transcoder = OrjsonTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder)


MAPPER = _mapper()


def _round_trip(events: Sequence[Any]) -> list[Any]:
    """Each event stored and read back, compared attribute by attribute."""
    back = []
    for event in events:
        read = MAPPER.to_domain_event(MAPPER.to_stored_event(event))
        assert type(read) is type(event)
        assert vars(read) == vars(event)
        back.append(read)
    return back


@SETTINGS
@given(columns=COLUMNS, text=HOSTILE, ou=HOSTILE)
def test_import_job_events_read_back_unchanged(columns: list[str], text: str, ou: str) -> None:
    job = ImportJob(
        ou=ou,
        file_id=text,
        file_name=text,
        total_rows=3,
        primary_identifier={"column": columns[0], "kind": "email"},
        field_mappings=[[columns[1], "first_name"], [columns[2], "company"]],
        alias_mappings=[[c, "_alias_cookie"] for c in columns[3:]],
        ignored_fields=[text, *columns],
        default_country="US",
    )
    job.start()
    job.record_rows_published(3)
    job.cancel()
    job.request_undo()
    job.finish_undo({"not_undone": [{"field": text, "reason": text}], "leads_deleted": 1})
    events = job.collect_events()
    read = project(_round_trip(events))
    assert read.field_mappings == {columns[1]: "first_name", columns[2]: "company"}
    assert read.alias_mappings == {c: "_alias_cookie" for c in columns[3:]}
    assert (read.ou, read.file_name, read.primary_identifier["column"]) == (ou, text, columns[0])
    failed = ImportJob(
        ou=ou,
        file_id="f",
        file_name="f.csv",
        total_rows=0,
        primary_identifier={"column": text, "kind": "email"},
        field_mappings=[],
        alias_mappings=[],
        ignored_fields=[],
        default_country="US",
    )
    failed.fail(text)
    _round_trip(failed.collect_events())


@SETTINGS
@given(values=COLUMNS, ou=HOSTILE)
def test_lead_events_read_back_unchanged(values: list[str], ou: str) -> None:
    first, second, third = values[:3]
    lead = Lead(
        ou=ou,
        primary={"kind": "cookie", "value": first},
        fields={"first_name": second, "notes": third},
        aliases=[{"kind": "external_id", "value": v} for v in values[1:]],
        job_id=first,
        row=2,
    )
    lead.update_profile(changed={"company": first, "city": third}, job_id=second, row=3)
    lead.add_alias(alias={"kind": "social", "value": third}, job_id=second, row=4)
    lead.revert_profile({"company": second, "city": None}, undo_of_job=second)
    lead.remove_alias({"kind": "social", "value": third}, second)
    lead.delete(first)
    created = Lead.create(
        ou=ou,
        primary={"kind": "cookie", "value": second},
        fields={"title": first},
        aliases=[],
        job_id=third,
        row=5,
    )
    events = [*lead.collect_events(), *created.collect_events()]
    read = project(_round_trip(events[:-1]))
    assert read.fields == lead.fields and read.identifiers == lead.identifiers
    # the envelope a subscriber gets carries the same values
    for event in _round_trip(events):
        out = envelope(event, ou)
        assert out is not None
        body = orjson.loads(out.value)
        expected = {k: v for k, v in vars(event).items() if k in body["data"]}
        assert body["data"] == expected and body["ou"] == ou


@SETTINGS
@given(values=COLUMNS, ou=HOSTILE)
def test_row_ledger_reads_back_unchanged(values: list[str], ou: str) -> None:
    ledger = RowBatch(
        ou=ou,
        job_id=values[0],
        outcomes=[[2, "created", "ab" * 16, None, None], [3, "failed", None, values[1], values[2]]],
        warnings=[[2, 0, values[1], values[2]], [2, 1, values[0], values[0]]],
    )
    _round_trip(ledger.collect_events())


@SETTINGS
@given(headers=COLUMNS, cells=st.lists(HOSTILE, min_size=6, max_size=6), ou=HOSTILE)
def test_row_messages_read_back_unchanged(headers: list[str], cells: list[str], ou: str) -> None:
    mapping = RowMapping.build(
        headers,
        headers[0],
        "cookie",
        {headers[1]: "first_name", headers[2]: "notes"},
        {h: "external_id" for h in headers[3:]},
        "US",
    )
    row = cells[: len(headers)]
    expected = map_row(ou, "job_" + "0" * 32, 7, row, mapping)
    _, value = encode_row(ou, "job_" + "0" * 32, 7, row, mapping)
    message = orjson.loads(value)
    model = RowFailed if message["type"] == "RowFailed" else RowImported
    read = model.model_validate_json(value)
    if len(value) < 4 * 1024 * 1024 - 64 * 1024:  # a row over the limit fails as too large
        assert read == expected


@SETTINGS
@given(job_id=HOSTILE, ou=HOSTILE)
def test_job_requests_read_back_unchanged(job_id: str, ou: str) -> None:
    request = {"job_id": job_id, "ou": ou, "redrive": False}
    assert decode_request(orjson.dumps(request)) == request


@given(columns=st.dictionaries(HOSTILE, st.sampled_from(["first_name", "city"]), max_size=5))
@settings(max_examples=60, deadline=None)
def test_version_1_job_events_with_any_column_names_read_back(columns: dict[str, str]) -> None:
    """``JobQueued`` of version 1 kept ``{column: target}``: whatever the columns, also
    ``_type_`` and ``_data_`` (which made the event unreadable before), it reads back and is
    upcast to pairs."""
    columns.update({"_type_": "first_name", "_data_": "city"})
    job = ImportJob(
        ou="ou",
        file_id="f",
        file_name="f.csv",
        total_rows=1,
        primary_identifier={"column": "Email", "kind": "email"},
        field_mappings=[],
        alias_mappings=[],
        ignored_fields=[],
        default_country="US",
    )
    [queued] = job.collect_events()
    state = {
        k: v for k, v in vars(queued).items() if k not in ("originator_id", "originator_version")
    }
    state.update(field_mappings=columns, alias_mappings={"_type_": "_alias_phone"})
    stored = StoredEvent(
        originator_id=queued.originator_id,
        originator_version=1,
        topic=get_topic(ImportJob.JobQueued),
        state=MAPPER.transcoder.encode(state),  # no "class_version": version 1
    )
    read = project([MAPPER.to_domain_event(stored)])
    assert read.field_mappings == columns
    assert read.alias_mappings == {"_type_": "_alias_phone"}


def test_lone_surrogates_cannot_be_stored() -> None:
    """Neither JSON nor PostgreSQL text can hold them: the body of a request with one does not
    parse (a 400 at the API), and an event holding one is refused before anything is written."""
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(b'{"field_mappings": {"\\ud800": "first_name"}}')
    job = ImportJob(
        ou="ou",
        file_id="f",
        file_name="\ud800.csv",
        total_rows=1,
        primary_identifier={"column": "Email", "kind": "email"},
        field_mappings=[],
        alias_mappings=[],
        ignored_fields=[],
        default_country="US",
    )
    [queued] = job.collect_events()
    with pytest.raises((TypeError, UnicodeEncodeError)):
        MAPPER.to_stored_event(queued)
