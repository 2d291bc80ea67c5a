"""Secrets never reach the logs: the password of a connection URL (or of a libpq conninfo) in a
log record, its exception or an uncaught exception is replaced by ``***``."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from runtime import logs

URL = "postgresql://postgres:Sx-9_aQ%40b@127.0.0.1:5432/postgres"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (URL, "postgresql://postgres:***@127.0.0.1:5432/postgres"),
        (
            f"could not reach {URL}.",
            "could not reach postgresql://postgres:***@127.0.0.1:5432/postgres.",
        ),
        ("postgresql://postgres@127.0.0.1:1/p", "postgresql://postgres@127.0.0.1:1/p"),
        ("host=db password=s3cret user=x", "host=db password=*** user=x"),
        ("password='a b' dbname=x", "password=*** dbname=x"),
        ("http://127.0.0.1:8000/leads at 12:30:11", "http://127.0.0.1:8000/leads at 12:30:11"),
        ("jane@example.com and bob:1@x", "jane@example.com and bob:1@x"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert logs.redact(text) == expected


def test_records_and_their_exceptions_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.RedactingFormatter(logs.FORMAT))
    logger = logging.getLogger("test_logs")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"cannot connect to {URL}")
        except RuntimeError:
            logger.exception("starting with %s failed", URL)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Sx-9_aQ" not in text
    assert text.count("postgres:***@127.0.0.1") == 2


def test_uncaught_exceptions_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        raise SystemError(f"bad {URL}")
    except SystemError:
        logs._print_exception(*sys.exc_info())
    err = capsys.readouterr().err
    assert "SystemError: bad postgresql://postgres:***@127.0.0.1:5432/postgres" in err
    assert "Sx-9_aQ" not in err


def test_a_configured_secret_value_is_masked_wherever_it_appears(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SASL password (registered at configure time) is no URL: masked as a plain value, in
    a message and a JSON line's exception alike."""
    monkeypatch.setattr(logs, "_secrets", ())
    logs.register_secrets("kafka-Pa55word!", None, "", "ab")  # None, empty, short: ignored
    assert logs.redact("SASL failed for user app with kafka-Pa55word!") == (
        "SASL failed for user app with ***"
    )
    assert logs.redact("a cab of ab") == "a cab of ab"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter("test"))
    logger = logging.getLogger("test_logs_secret")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("rejected kafka-Pa55word!")
        except ValueError:
            logger.exception("login with %s", "kafka-Pa55word!")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Pa55word" not in text
    assert '"message":"login with ***"' in text
    assert "ValueError: rejected ***" in text
