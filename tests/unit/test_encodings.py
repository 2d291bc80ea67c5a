"""Encodings of real exports: domain.csvfile's decoding rules and names, and the charset
detector it is handed (adapters/charset.py), on contact lists written from Python strings."""

# Real Cyrillic text on purpose: its letters look like Latin ones.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from adapters.charset import guess_encoding
from domain.csvfile import inspect, iter_rows
from domain.encodings import ENCODINGS, EncodingGuess, codec_for, delimiter_for, encoding_label
from domain.errors import InvalidCsv, InvalidRequest, NotCsv
from tests.text_samples import (
    MORE,
    REQUIRED,
    SHORT_CYRILLIC,
    SHORT_SJIS,
    SHORT_SJIS_NOT_1252,
    SHORT_WESTERN,
    Sample,
)


def detected(sample: Sample) -> None:
    data = sample.data()
    preview = inspect(data, guess_encoding=guess_encoding)
    assert encoding_label(preview.format.encoding) == sample.label
    assert preview.encoding_source == "detected"
    assert preview.format.delimiter == sample.delimiter
    assert preview.headers == list(sample.headers)
    assert preview.sample_rows == [list(row) for row in sample.rows[:5]]
    assert preview.row_count == len(sample.rows)
    rows = list(iter_rows(data, preview.format))
    assert rows == [(n, list(row)) for n, row in enumerate(sample.rows, start=2)]


@pytest.mark.parametrize("sample", REQUIRED, ids=[s.id for s in REQUIRED])
def test_the_encodings_of_real_exports_are_detected(sample: Sample) -> None:
    detected(sample)


@pytest.mark.parametrize("sample", MORE, ids=[s.id for s in MORE])
def test_more_languages_are_detected(sample: Sample) -> None:
    detected(sample)


def test_western_text_without_much_to_go_on_is_still_windows_1252() -> None:
    # One accented word: too little to be sure, and the default happens to be right.
    preview = inspect(SHORT_WESTERN.data(), guess_encoding=guess_encoding)
    assert (preview.format.encoding, preview.encoding_source) == ("cp1252", "guessed")
    assert preview.sample_rows == [list(SHORT_WESTERN.rows[0])]


@pytest.mark.parametrize("sample", [SHORT_CYRILLIC, SHORT_SJIS], ids=lambda s: s.id)
def test_short_files_fall_back_to_windows_1252_and_say_so(sample: Sample) -> None:
    data = sample.data()
    preview = inspect(data, guess_encoding=guess_encoding)
    assert (preview.format.encoding, preview.encoding_source) == ("cp1252", "guessed")
    header, row = data.decode("cp1252").splitlines()
    assert preview.headers == header.split(",")
    assert preview.sample_rows == [row.split(",")]
    # The user names the encoding: the text is right.
    again = inspect(data, encoding=sample.label, guess_encoding=guess_encoding)
    assert (encoding_label(again.format.encoding), again.encoding_source) == (
        sample.label,
        "requested",
    )
    assert again.headers == list(sample.headers)
    assert again.sample_rows == [list(sample.rows[0])]


def test_a_short_file_windows_1252_cannot_read_names_its_likely_encoding() -> None:
    data = SHORT_SJIS_NOT_1252.data()
    with pytest.raises(InvalidCsv) as info:
        inspect(data, guess_encoding=guess_encoding)
    message = info.value.message
    assert "could not be decoded" in message
    assert "It may be shift_jis: send encoding=shift_jis" in message
    preview = inspect(data, encoding="shift_jis")
    assert preview.sample_rows == [list(SHORT_SJIS_NOT_1252.rows[0])]


def test_without_a_detector_non_utf8_text_is_windows_1252() -> None:
    preview = inspect(REQUIRED[0].data())
    assert (preview.format.encoding, preview.encoding_source) == ("cp1252", "guessed")


def test_a_confident_guess_the_whole_file_refutes_is_not_used() -> None:
    # The detector saw a sample; byte 0x98 later is not Windows-1251 (it is a small tilde in
    # Windows-1252).
    data = "Name\r\nÄ\r\n".encode("cp1252") + b"\x98\r\n"

    def wrong(_: bytes) -> EncodingGuess:
        return EncodingGuess("cp1251", confident=True)

    preview = inspect(data, guess_encoding=wrong)
    assert (preview.format.encoding, preview.encoding_source) == ("cp1252", "guessed")
    assert preview.sample_rows == [["Ä"], ["\u02dc"]]


# --- UTF-16 without BOM ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "expected"), [("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")]
)
def test_utf16_without_bom_needs_no_detector(codec: str, expected: str) -> None:
    text = "Email\tName\r\nyamada@example.jp\t山田　太郎\r\nivanov@example.ru\tИванов\r\n"
    preview = inspect(text.encode(codec))  # U+3000 (ideographic space) has a NUL byte too
    assert (preview.format.encoding, preview.encoding_source) == (expected, "detected")
    assert preview.sample_rows == [
        ["yamada@example.jp", "山田　太郎"],
        ["ivanov@example.ru", "Иванов"],
    ]


@pytest.mark.parametrize(
    "data",
    [
        "Email,Name\na@b.co,Ann\n".encode("utf-16-le") + b"a",  # odd length: not UTF-16
        "Email,Name\na@b.co,A\x00nn\n".encode("utf-16-le"),  # U+0000 inside a cell
    ],
    ids=["odd-length", "nul-character"],
)
def test_utf16_without_bom_that_is_not_text(data: bytes) -> None:
    with pytest.raises(NotCsv):
        inspect(data)


def test_requesting_utf16_without_bom_finds_its_byte_order() -> None:
    data = "Email,Name\r\nivanov@example.ru,Иванов\r\n".encode("utf-16-be")
    preview = inspect(data, encoding="utf-16")
    assert preview.format.encoding == "utf-16-be"
    assert preview.sample_rows == [["ivanov@example.ru", "Иванов"]]


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("windows-1251", "cp1251"),
        ("Windows-1251", "cp1251"),
        (" WINDOWS-1251 ", "cp1251"),
        ("cp1251", "cp1251"),
        ("utf-8", "utf-8-sig"),
        ("UTF8", "utf-8-sig"),
        ("utf-8-sig", "utf-8-sig"),
        ("latin-1", "latin-1"),
        ("iso8859_2", "iso8859-2"),
        ("Shift_JIS", "shift_jis"),
        ("sjis", "shift_jis"),
        ("cp932", "cp932"),
        ("euc_kr", "euc_kr"),
        ("gb18030", "gb18030"),
        ("utf-16le", "utf-16-le"),
    ],
)
def test_encoding_names_a_request_may_give(name: str, codec: str) -> None:
    assert codec_for(name) == codec


@pytest.mark.parametrize(
    "name", ["", "klingon", "rot13", "base64", "utf-32", "x" * 1000, "utf\x008", "cp 1251"]
)
def test_other_encoding_names_are_refused_with_the_list(name: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        codec_for(name)
    message = info.value.message
    assert "is not supported" in message
    assert all(label in message for label in ENCODINGS)
    assert len(message) < 1000


def test_every_encoding_has_one_readable_name() -> None:
    for label, codec in ENCODINGS.items():
        assert encoding_label(codec) == label
        assert codec_for(label) == codec
        "Email\r\n".encode(codec)  # a real codec
    pairs = {
        "cp1251": "windows-1251",
        "cp1252": "windows-1252",
        "utf-8-sig": "utf-8",
        "utf-16-le": "utf-16le",
        "iso8859_2": "iso-8859-2",
        "shift_jis": "shift_jis",
        "cp932": "windows-31j",
        "euc_kr": "euc-kr",
        "cp949": "windows-949",
        "gb18030": "gb18030",
    }
    assert {codec: encoding_label(codec) for codec in pairs} == pairs


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [(",", ","), (";", ";"), ("\t", "\t"), ("|", "|"), ("Tab", "\t"), ("semicolon", ";")],
)
def test_delimiter_names(name: str, delimiter: str) -> None:
    assert delimiter_for(name) == delimiter


@pytest.mark.parametrize("name", ["", ":", "space", ",,", "\x00"])
def test_other_delimiters_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        delimiter_for(name)
    assert "semicolon" in info.value.message and "tab" in info.value.message


def test_a_requested_delimiter_is_used_as_is() -> None:
    data = b"Email;Name,Extra\r\na@b.co;Ann,x\r\n"
    assert inspect(data).headers == ["Email;Name", "Extra"]
    assert inspect(data, delimiter="semicolon").headers == ["Email", "Name,Extra"]


def test_a_requested_encoding_that_does_not_fit_is_invalid_csv() -> None:
    with pytest.raises(InvalidCsv) as info:
        inspect("Name\r\nRenée\r\n".encode("cp1252"), encoding="utf-8")
    assert "could not be decoded as utf-8" in info.value.message
    assert "byte 0xe9" in info.value.message


# --- the detector's own choices ---------------------------------------------------------------


def test_shift_jis_with_windows_characters_is_windows_31j() -> None:
    # ① and ㈱ exist only in Microsoft's Shift_JIS (cp932); Python's shift_jis cannot read them.
    text = "Email,会社\r\n" + "".join(f"u{i}@example.jp,㈱山田商事①\r\n" for i in range(5))
    guess = guess_encoding(text.encode("cp932"))
    assert guess == EncodingGuess("cp932", confident=True)
    assert encoding_label(guess.codec) == "windows-31j"


def test_korean_beyond_euc_kr_is_windows_949() -> None:
    # 똠 and 햏 are in Unified Hangul Code (cp949) only.
    text = "Email,이름\r\n" + "".join(f"u{i}@example.kr,김똠햏\r\n" for i in range(5))
    guess = guess_encoding(text.encode("cp949"))
    assert guess == EncodingGuess("cp949", confident=True)


def test_ascii_only_lines_do_not_drown_the_evidence() -> None:
    rows = "".join(f"user{i}@example.com,Plain Name {i}\r\n" for i in range(5000))
    text = "Email,Name\r\n" + rows + "ivanov@example.ru,Иванов Иван Петрович\r\n"
    text += "petrova@example.ru,Петрова Мария Ивановна\r\n"
    guess = guess_encoding(text.encode("cp1251"))
    assert guess == EncodingGuess("cp1251", confident=True)
