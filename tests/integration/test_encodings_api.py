"""Encodings through the API and the real workers: the preview answers the encoding and
delimiter it used, a request may name others (preview: form fields; start: body fields), and an
import stores the names exactly as written in the file's language.

Every file is a Python string encoded with the sample's codec (tests/text_samples.py): the
expected headers, cells and lead fields are those strings.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.tokens import ou_for_token
from application.container import Container
from tests.helpers import assert_error, lead_by, start, upload, wait_job
from tests.services import Workers
from tests.text_samples import (
    CYRILLIC_1251,
    REQUIRED,
    SHORT_CYRILLIC,
    SHORT_SJIS,
    SHORT_SJIS_NOT_1252,
    WESTERN_1252,
    Sample,
)

PREVIEW = "/leads/import/preview"
START = "/leads/import/start"


def post(client: TestClient, auth: dict[str, str], data: bytes, **fields: str) -> Any:
    return client.post(
        PREVIEW, headers=auth, files={"file": ("leads.csv", data, "text/csv")}, data=fields
    )


def stored_files(container: Container, auth: dict[str, str]) -> int:
    """How many files the OU of ``auth`` stores (previews and their copies)."""
    ou = ou_for_token(container.pool, auth["Authorization"].removeprefix("Bearer "))
    with container.pool.connection() as conn:
        row = conn.execute("SELECT count(*) AS n FROM preview_files WHERE ou = %s", (ou,))
        return int(row.fetchone()["n"])


# --- preview --------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", REQUIRED, ids=[s.id for s in REQUIRED])
def test_preview_shows_the_text_and_the_encoding(
    client: TestClient, auth: dict[str, str], sample: Sample
) -> None:
    r = post(client, auth, sample.data())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["headers"] == list(sample.headers)
    assert body["sample_rows"] == [list(row) for row in sample.rows[:5]]
    assert body["row_count"] == len(sample.rows)
    assert (body["encoding"], body["encoding_source"], body["delimiter"]) == (
        sample.label,
        "detected",
        sample.delimiter,
    )
    assert body["auto_detected_identifiers"]["email_columns"] == ["Email"]


def test_a_bom_says_so(client: TestClient, auth: dict[str, str]) -> None:
    body = post(client, auth, "\ufeffEmail,Name\r\njane@example.com,Zoë\r\n".encode()).json()
    assert (body["encoding"], body["encoding_source"]) == ("utf-8", "bom")
    body = post(client, auth, "Email\tName\r\njane@example.com\tZoë\r\n".encode("utf-16")).json()
    assert (body["encoding"], body["encoding_source"], body["delimiter"]) == (
        "utf-16",
        "bom",
        "\t",
    )


@pytest.mark.parametrize("sample", [SHORT_CYRILLIC, SHORT_SJIS], ids=lambda s: s.id)
def test_a_short_file_is_guessed_and_the_user_names_the_encoding(
    client: TestClient, auth: dict[str, str], sample: Sample
) -> None:
    data = sample.data()
    guessed = post(client, auth, data).json()
    assert (guessed["encoding"], guessed["encoding_source"]) == ("windows-1252", "guessed")
    header, row = data.decode("cp1252").splitlines()
    assert guessed["headers"] == header.split(",")
    assert guessed["sample_rows"] == [row.split(",")]

    named = post(client, auth, data, encoding=sample.label.upper())
    assert named.status_code == 200, named.text
    body = named.json()
    assert (body["encoding"], body["encoding_source"]) == (sample.label, "requested")
    assert body["headers"] == list(sample.headers)
    assert body["sample_rows"] == [list(sample.rows[0])]


def test_a_short_file_no_default_can_read_is_400_with_a_hint(
    client: TestClient, auth: dict[str, str]
) -> None:
    data = SHORT_SJIS_NOT_1252.data()
    error = assert_error(post(client, auth, data), 400, "invalid_csv")
    assert "send encoding=shift_jis" in error["message"]
    body = post(client, auth, data, encoding="shift_jis").json()
    assert body["sample_rows"] == [list(SHORT_SJIS_NOT_1252.rows[0])]


def test_the_delimiter_can_be_named(client: TestClient, auth: dict[str, str]) -> None:
    data = b"Email;Name,Extra\r\njane@example.com;Jane,x\r\n"
    assert post(client, auth, data).json()["headers"] == ["Email;Name", "Extra"]
    for name in (";", "semicolon", "Semicolon"):
        body = post(client, auth, data, delimiter=name).json()
        assert (body["headers"], body["delimiter"]) == (["Email", "Name,Extra"], ";")
    body = post(client, auth, b"Email\tName\r\na@b.co\tA\r\n", delimiter="tab").json()
    assert (body["headers"], body["delimiter"]) == (["Email", "Name"], "\t")


@pytest.mark.parametrize(
    ("fields", "listed"),
    [
        ({"encoding": "klingon"}, ("windows-1251", "shift_jis", "utf-16le")),
        ({"encoding": "rot13"}, ("windows-1251",)),
        ({"delimiter": ":"}, ("semicolon", "tab", "pipe")),
    ],
    ids=["unknown-encoding", "not-a-text-encoding", "unknown-delimiter"],
)
def test_a_bad_name_is_400_listing_the_accepted_ones(
    client: TestClient,
    auth: dict[str, str],
    container: Container,
    fields: dict[str, str],
    listed: tuple[str, ...],
) -> None:
    error = assert_error(post(client, auth, WESTERN_1252.data(), **fields), 400, "invalid_request")
    assert all(name in error["message"] for name in listed), error
    assert stored_files(container, auth) == 0


def test_an_encoding_that_does_not_fit_is_400(client: TestClient, auth: dict[str, str]) -> None:
    error = assert_error(post(client, auth, WESTERN_1252.data(), encoding="utf-8"), 400)
    assert "could not be decoded as utf-8" in error["message"]


def test_an_encoding_sent_as_a_file_is_400(client: TestClient, auth: dict[str, str]) -> None:
    r = client.post(
        PREVIEW,
        headers=auth,
        files={
            "file": ("leads.csv", WESTERN_1252.data(), "text/csv"),
            "encoding": ("enc.txt", b"windows-1252", "text/plain"),
        },
    )
    assert_error(r, 400, "invalid_request")  # one file per upload


# --- start with another encoding or delimiter ----------------------------------------------------


def test_start_rejects_bad_names_and_unreadable_formats(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    file_id = upload(client, auth, WESTERN_1252.data())["file_id"]
    body = {"file_id": file_id, "primary_identifier": {"column": "Email", "kind": "email"}}
    error = assert_error(
        client.post(START, headers=auth, json={**body, "encoding": "ebcdic-klingon"}), 400
    )
    assert "windows-1251" in error["message"]
    error = assert_error(client.post(START, headers=auth, json={**body, "delimiter": "x"}), 400)
    assert "semicolon" in error["message"]
    error = assert_error(client.post(START, headers=auth, json={**body, "encoding": "utf-8"}), 400)
    assert "could not be decoded as utf-8" in error["message"]
    # The mappings must name headers of the new reading: with "," the header is one column.
    error = assert_error(client.post(START, headers=auth, json={**body, "delimiter": ","}), 400)
    assert "Email;Nachname;Vorname;Stadt;Firma" in error["message"]
    assert client.get("/leads/import/jobs", headers=auth).json()["total"] == 0
    assert stored_files(container, auth) == 1  # no copy was kept


def test_start_without_change_reads_the_preview(client: TestClient, auth: dict[str, str]) -> None:
    file_id = upload(client, auth, WESTERN_1252.data())["file_id"]
    started = start(client, auth, file_id, encoding="windows-1252", delimiter=";")
    assert "encoding" not in started and "delimiter" not in started


# --- imports through the workers ------------------------------------------------------------


@pytest.mark.parametrize("sample", REQUIRED, ids=[s.id for s in REQUIRED])
def test_an_import_stores_the_names_as_written(
    client: TestClient, auth: dict[str, str], workers: Workers, sample: Sample
) -> None:
    file_id = upload(client, auth, sample.data())["file_id"]
    job = wait_job(
        client, auth, start(client, auth, file_id, field_mappings=sample.field_mappings())["job_id"]
    )
    assert (job["status"], job["created_count"], job["failed_count"]) == (
        "completed",
        len(sample.rows),
        0,
    )
    for row in sample.rows:
        [lead] = lead_by(client, auth, email=row[0])
        assert lead["fields"] == sample.lead_fields(row)


def test_a_start_naming_the_encoding_imports_the_right_names(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    file_id = upload(client, auth, SHORT_CYRILLIC.data())["file_id"]
    started = start(
        client, auth, file_id, encoding="windows-1251", field_mappings={"Имя": "first_name"}
    )
    assert (started["encoding"], started["delimiter"], started["total_rows"]) == (
        "windows-1251",
        ",",
        1,
    )
    assert wait_job(client, auth, started["job_id"])["status"] == "completed"
    [lead] = lead_by(client, auth, email="ivan@example.ru")
    assert lead["fields"] == {"first_name": "Иван"}


def test_two_starts_with_different_encodings_of_one_file_each_read_their_own(
    client: TestClient, auth: dict[str, str], container: Container, workers: Workers
) -> None:
    data = CYRILLIC_1251.data()
    file_id = upload(client, auth, data)["file_id"]
    # The same bytes as KOI8-R: other (Cyrillic) letters; the surname column keys the leads.
    koi8_header = data.decode("koi8_r").splitlines()[0].split(";")
    koi8_surnames = [line.split(";")[1] for line in data.decode("koi8_r").splitlines()[1:]]
    assert koi8_header[1] != "Фамилия"

    column, name_column = koi8_header[1], koi8_header[2]
    mappings = {"field_mappings": {name_column: "first_name"}, "encoding": "koi8-r"}
    first = start(client, auth, file_id, column, "external_id", **mappings)
    # Asked again (the name in another case): the copy made for the first is reused.
    again = start(client, auth, file_id, column, "external_id", **mappings | {"encoding": "KOI8-R"})
    assert first["encoding"] == again["encoding"] == "koi8-r"
    # Without an encoding, the start reads the file as previewed (windows-1251).
    original = start(client, auth, file_id, field_mappings=CYRILLIC_1251.field_mappings())
    assert "encoding" not in original
    assert stored_files(container, auth) == 2  # the preview and one copy

    for job_id in (first["job_id"], again["job_id"], original["job_id"]):
        assert wait_job(client, auth, job_id)["status"] == "completed"
    for row, koi8_surname in zip(CYRILLIC_1251.rows, koi8_surnames, strict=True):
        [by_email] = lead_by(client, auth, email=row[0])
        assert by_email["fields"] == CYRILLIC_1251.lead_fields(row)
        [by_koi8] = lead_by(client, auth, external_id=koi8_surname)
        assert by_koi8["lead_id"] != by_email["lead_id"]
        assert by_koi8["fields"]["first_name"] != row[2]  # KOI8-R letters, not the real name
