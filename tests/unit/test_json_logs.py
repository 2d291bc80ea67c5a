"""``LOG_FORMAT=json``: one JSON object per record with fixed keys, the request and job the
process works on, the traceback of an exception, and secrets redacted (runtime/logs.py)."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters import log_context
from runtime import logs


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter("importer"))
    logger = logging.getLogger("test_json_logs")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_record_is_one_json_line_with_fixed_keys(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log
    before = datetime.now(UTC) - timedelta(seconds=1)
    logger.warning("job %s: %d rows\nsecond line", "job_1", 3)
    [line] = lines(stream)
    assert set(line) == {"time", "level", "logger", "process", "role", "message"}
    assert line["level"] == "WARNING"
    assert line["logger"] == "test_json_logs"
    assert line["process"] == os.getpid()
    assert line["role"] == "importer"
    assert line["message"] == "job job_1: 3 rows\nsecond line"
    assert line["time"].endswith("Z")
    at = datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
    assert before <= at <= datetime.now(UTC)


def test_request_and_job_ids_when_set(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_log
    token = log_context.REQUEST_ID.set("req-42")
    try:
        with log_context.job("job_abc"):
            logger.info("inside")
        logger.info("after the job")
    finally:
        log_context.REQUEST_ID.reset(token)
    logger.info("outside")
    inside, after, outside = lines(stream)
    assert (inside["request_id"], inside["job_id"]) == ("req-42", "job_abc")
    assert after["request_id"] == "req-42" and "job_id" not in after
    assert "request_id" not in outside and "job_id" not in outside


def test_access_fields_and_exceptions(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_log
    logger.info("GET /x 200", extra={"method": "GET", "route": "/x", "status": 200, "x": 1})
    try:
        raise ValueError("connect to postgresql://app:s3cret@db:5432/leads failed")
    except ValueError:
        logger.exception("boom with password=hunter2")
    access, error = lines(stream)
    assert (access["method"], access["route"], access["status"]) == ("GET", "/x", 200)
    assert "x" not in access  # only the documented access fields become keys
    assert error["level"] == "ERROR"
    assert error["message"] == "boom with password=***"
    assert error["exception"].startswith("Traceback")
    assert "ValueError: connect to postgresql://app:***@db:5432/leads failed" in error["exception"]
    assert "s3cret" not in stream.getvalue() and "hunter2" not in stream.getvalue()


def test_only_job_names_a_batch_of_one_job() -> None:
    assert log_context.only_job(["job_a", "job_a"]) == "job_a"
    assert log_context.only_job(["job_a", "job_b", "job_a"]) is None
    assert log_context.only_job([]) is None
    # None (a record of no job) is a job id like any other: a mixed batch names none
    assert log_context.only_job([None, "job_a", "job_b"]) is None
    assert log_context.only_job([None, "job_a"]) is None
    assert log_context.only_job(["job_a", None]) is None
    assert log_context.only_job([None, None]) is None
