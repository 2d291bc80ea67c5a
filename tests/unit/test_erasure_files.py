"""Erasure's pure parts (domain/erasure.py): finding a person's identifiers in what files and
errors say, and rewriting an upload without their rows, read back with the importer's reader."""

from __future__ import annotations

import pytest

from domain import csvfile
from domain.erasure import Carrier, blank_rows
from domain.lead import Lead

EMAIL = "zebulon.quartermain@example.org"
PHONE = "+14155550199"
CARRIER = Carrier.of({"email": {EMAIL}, "phone": {PHONE}, "external_id": {"Z1"}})


@pytest.mark.parametrize(
    "text",
    [
        EMAIL,
        " Zebulon.Quartermain@Example.ORG ",
        f"<{EMAIL.upper()}>",
        "(415) 555-0199",
        "415.555.0199 ext 12",
        "+1 415 555 0199",
        "z1",
    ],
)
def test_the_written_forms_of_an_identifier_are_found(text: str) -> None:
    assert CARRIER.carried_by(text)


@pytest.mark.parametrize(
    "text", ["", "zebulon@example.org", "415 555 01", "quartermain", "Z12", "A Z1 B"]
)
def test_other_text_is_not_taken_for_an_identifier(text: str) -> None:
    assert not CARRIER.carried_by(text)


@pytest.mark.parametrize(
    "text",
    [
        "mailto:zebulon.quartermain@example.org",
        "Contact zebulon.quartermain@example.org.",
        "call 0041 (415) 555-0199 now",
        "001 415 555 0199",
        "zip 80202 415-555-0199",
        "04155550199",
    ],
)
def test_an_identifier_inside_other_text_is_found_as_a_whole(text: str) -> None:
    assert CARRIER.carried_by(text)


@pytest.mark.parametrize(
    "text",
    [
        "jzebulon.quartermain@example.org",  # another person's address ending the same
        "zebulon.quartermain@example.org.uk",
        "zebulon.quartermain@example.organic",
        "x.zebulon.quartermain@example.org",
        "94155550199",  # another number holding the digits
        "order 4155550199123",
        "415 555 01999",
    ],
)
def test_near_misses_of_other_people_are_not_taken(text: str) -> None:
    assert not CARRIER.carried_by(text)


def test_like_patterns_find_the_candidates() -> None:
    texts, digits = Carrier.of({"email": {"a_b%c@x.org"}, "phone": {PHONE}}).like_patterns()
    assert texts == ["%+14155550199%", r"%a\_b\%c@x.org%"]
    assert digits == ["%4155550199%"]


UPLOAD = (
    "Email,Name,Phone,Alias\r\n"
    "ann@example.org,Ann,,\r\n"
    f'{EMAIL},"Quartermain, Zebulon","+1 415 555 0199",\r\n'
    'bob@example.org,"Bob\r\nwith a line break",,\r\n'
    "\r\n"
    f"carl@example.org,Carl,,{EMAIL.upper()}\r\n"
    "dora@example.org,Dora,(415) 555-0199,\r\n"
)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
def test_an_upload_loses_the_persons_rows_and_cells_and_keeps_its_row_numbers(
    encoding: str,
) -> None:
    data = UPLOAD.encode(encoding)
    fmt = csvfile.CsvFormat(encoding, ",")
    before = list(csvfile.iter_rows(data, fmt))
    done = blank_rows(data, encoding, ",", {3}, CARRIER)
    assert done is not None
    assert (done.rows_blanked, done.data_rows_removed, done.cells_blanked) == (1, 1, 2)
    after = dict(csvfile.iter_rows(done.content, fmt))
    assert 3 not in after
    assert after[2] == before[0][1]
    assert after[4] == ["bob@example.org", "Bob\r\nwith a line break", "", ""]
    assert after[6] == ["carl@example.org", "Carl", "", ""]  # the alias cell
    assert after[7] == ["dora@example.org", "Dora", "", ""]  # the phone cell
    text = done.content.decode(encoding)
    assert "quartermain" not in text.lower() and "555" not in text
    # Rows that did not change are written back as they were.
    assert 'bob@example.org,"Bob\r\nwith a line break",,\r\n' in text
    assert blank_rows(done.content, encoding, ",", {3}, CARRIER) is None  # nothing left


def test_a_file_without_the_person_is_left_alone() -> None:
    data = b"Email\nann@example.org\n"
    assert blank_rows(data, "utf-8-sig", ",", set(), CARRIER) is None
    assert blank_rows(data, "utf-8-sig", ",", {5}, None) is None


def test_an_erased_lead_keeps_nothing() -> None:
    lead = Lead.create(
        ou="ou",
        primary={"kind": "email", "value": EMAIL},
        fields={"last_name": "Quartermain"},
        aliases=[],
        job_id="job_1",
        row=2,
    )
    lead.erase("data_subject_request", "erasure_1")
    assert (lead.identifiers, lead.fields, lead.erased, lead.deleted) == ({}, {}, True, True)
    [*events] = lead.collect_events()
    assert vars(events[-1])["reason"] == "data_subject_request"
    with pytest.raises(ValueError, match="unknown erasure reason"):
        lead.erase("because", "erasure_2")
