"""The orjson transcoder reads and writes exactly the library's JSON format."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from adapters.transcoder import OrjsonTranscoder
from domain.import_job import ImportJob
from domain.lead import Lead
from domain.row_ledger import RowBatch


def _registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


FAST = _registered(OrjsonTranscoder())
LIBRARY = _registered(JSONTranscoder())
NOW = datetime(2026, 11, 26, 12, 30, 1, 123456, tzinfo=UTC)
ID = UUID("12345678-1234-5678-1234-567812345678")

STATES: list[Any] = [
    {},
    {"timestamp": NOW, "ou": "default", "row": 2, "fields": {"first_name": "Zoë"}},
    {"timestamp": NOW, "nested": {"at": NOW, "list": [NOW, {"d": Decimal("1.10")}]}},
    {"id": ID, "ids": [ID, uuid4()], "deep": {"x": [{"y": ID}]}},
    {"text": "12345678-1234-5678-1234-567812345678"},  # a string shaped like a UUID stays a string
    {"user": {"_type_": "note", "_data_": "x", "more": 1}, "at": NOW},  # not a tag: 3 keys
    {"user": {"_type_": "note"}, "at": NOW},  # not a tag: no _data_
    {"_type_": "datetime_iso", "_data_": NOW.isoformat()},  # a tag at the top
    {"at": NOW, "when": {"_type_": "uuid_hex", "_data_": ID.hex}},
    {'a"_type_': 1, "at": NOW},  # a key ending in the tag's name
    {"local": NOW.astimezone(timezone(timedelta(hours=-7))), "day": NOW.replace(tzinfo=None)},
    {"big": 2**64 - 1, "neg": -(2**63), "digits": "12345678901234567890123"},
    {1: "int key", "at": NOW},  # non-string key: the library's encoder
    {"none": None, "bool": True, "float": 1.5, "empty": [], "uni": "ש😀\u2028"},
    [NOW, {"a": ID}],
    "plain",
]


@pytest.mark.parametrize("state", STATES, ids=range(len(STATES)))
def test_same_format_both_ways(state: Any) -> None:
    expected = LIBRARY.decode(LIBRARY.encode(state))
    assert FAST.decode(FAST.encode(state)) == expected
    assert LIBRARY.decode(FAST.encode(state)) == expected  # old readers read new events
    assert FAST.decode(LIBRARY.encode(state)) == expected  # stored events read as before
    # and the types come back, not just equal-looking values
    assert _types(FAST.decode(FAST.encode(state))) == _types(expected)


def _types(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _types(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_types(v) for v in obj]
    return type(obj)


@pytest.mark.parametrize("big", [2**64, -(2**63) - 1, 10**30])
def test_integers_beyond_64_bits_are_refused(big: int) -> None:
    # orjson would read them back as floats; nothing of this project stores such numbers
    with pytest.raises(TypeError, match="64 bits"):
        FAST.encode({"n": [big]})
    with pytest.raises(TypeError, match="64 bits"):
        FAST.encode({1: "int key", "n": big})


def test_a_tag_of_no_registered_type_reads_as_the_plain_dict_it_is() -> None:
    """The library refuses it; here it can only be data (column names stored as keys by an
    event of an old version), so it reads back as it was written."""
    for data, expected in [
        (b'{"at":{"_type_":"note","_data_":"x"}}', {"at": {"_type_": "note", "_data_": "x"}}),
        (b'{"m":{"_type_":"first_name","_data_":"city"},"n":[{"_type_":"a","_data_":[1]}]}',
         {"m": {"_type_": "first_name", "_data_": "city"}, "n": [{"_type_": "a", "_data_": [1]}]}),
    ]:  # fmt: skip
        with pytest.raises(TranscodingNotRegisteredError):
            LIBRARY.decode(data)
        assert FAST.decode(data) == expected


def test_unregistered_type_is_refused_like_the_library() -> None:
    with pytest.raises(TranscodingNotRegisteredError):
        FAST.encode({"day": date(2026, 1, 1)})
    with pytest.raises(TranscodingNotRegisteredError):
        FAST.encode({"x": object()})


def test_domain_events_round_trip() -> None:
    lead = Lead(
        ou="default",
        primary={"kind": "email", "value": "jane@example.com"},
        fields={"first_name": "Jane"},
        aliases=[{"kind": "phone", "value": "+14155552671"}],
        job_id="job_1",
        row=2,
    )
    lead.update_profile(changed={"city": "Oslo"}, job_id="job_1", row=3)
    lead.add_alias(alias={"kind": "social", "value": "@jane"}, job_id="job_1", row=3)
    lead.revert_profile({"city": None}, undo_of_job="job_1")
    job = ImportJob(
        ou="default",
        file_id=uuid4().hex,
        file_name="leads.csv",
        total_rows=3,
        primary_identifier={"column": "Email", "kind": "email"},
        field_mappings=[["First Name", "first_name"]],
        alias_mappings=[],
        ignored_fields=[],
        default_country="US",
    )
    ledger = RowBatch(
        ou="default",
        job_id="job_1",
        outcomes=[[2, "created", lead.id.hex, None, None], [3, "failed", None, "Bad", "x"]],
        warnings=[[2, 0, "Alias not added", "y"]],
    )
    job.start()
    job.record_rows_published(3)
    events = [*lead.collect_events(), *job.collect_events(), *ledger.collect_events()]
    fast: Mapper[UUID] = Mapper(FAST)
    library: Mapper[UUID] = Mapper(LIBRARY)
    for event in events:
        stored = fast.to_stored_event(event)
        assert LIBRARY.decode(stored.state) == LIBRARY.decode(library.to_stored_event(event).state)
        assert vars(fast.to_domain_event(stored)) == vars(event)
        assert vars(library.to_domain_event(stored)) == vars(event)
