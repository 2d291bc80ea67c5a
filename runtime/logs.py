"""Logging of every process: to stderr, as text (the default) or, with ``LOG_FORMAT=json``, one
JSON object per line (docs/operations.md, "Logs"). Secrets never reach the logs: the password of
a connection URL or of a libpq conninfo, and each secret value registered at ``configure`` (the
SASL password), is replaced by ``***`` in every record, its exception, and an uncaught exception.

A JSON line has ``time`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``, ``process`` (the
pid), ``role`` (``api``, ``importer``, ``leads``, ``relay``, ``up``...), ``message``, and when
known ``request_id`` and ``job_id`` (``adapters.log_context``), the fields of an access log line
(``ACCESS_FIELDS``), and ``exception`` (the traceback) when there is one. Keys are fixed: no value
of a request or a file ever becomes a key.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import orjson

from adapters.log_context import JOB_ID, REQUEST_ID

FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
FORMATS = ("text", "json")
# Attributes a log call may pass with ``extra=`` that a JSON line carries as its own keys (the
# API's access log line: api/middleware.py).
ACCESS_FIELDS = ("method", "path", "route", "status", "duration_ms")

# scheme://user:PASSWORD@host, and password=VALUE (quoted or not) of a libpq conninfo.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s@/]*@")
_CONNINFO_PASSWORD = re.compile(r"(\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|\S+)")


# Secret values of the configuration (the SASL password), registered by ``configure``: replaced
# wherever they appear. Shorter values are not registered: they would mask ordinary words.
MIN_SECRET_LENGTH = 4
_secrets: tuple[str, ...] = ()


def register_secrets(*values: str | None) -> None:
    """Mask these values too in every log line from now on (``None`` and empty ones ignored)."""
    global _secrets
    found = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH}
    _secrets = tuple(sorted(set(_secrets) | found, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with the password of every connection URL and conninfo, and every registered
    secret value, replaced by ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    if "://" in text:
        text = _URL_PASSWORD.sub(r"\1***@", text)
    if "password" in text:
        text = _CONNINFO_PASSWORD.sub(r"\1***", text)
    return text


class RedactingFormatter(logging.Formatter):
    """The text format, redacted (the message and the exception's traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped), redacted."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line: dict[str, Any] = {
            "time": at.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "role": self.role,
            "message": redact(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        job_id = JOB_ID.get()
        if job_id is not None:
            line["job_id"] = job_id
        for name in ACCESS_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = redact(record.exc_text)
        if record.stack_info:
            line["stack"] = redact(self.formatStack(record.stack_info))
        return orjson.dumps(line, default=str).decode()


def configure(
    level: str = "INFO",
    fmt: str = "text",
    role: str = "leadimport",
    secrets: Iterable[str | None] = (),
) -> None:
    """Log to stderr at ``level`` in ``fmt`` (``text`` or ``json``), redacted: connection URLs'
    passwords and the ``secrets`` values (e.g. the SASL password) are masked. Uncaught
    exceptions (also of threads) are redacted too; in JSON they and warnings are log records, so
    every line of stderr is JSON."""
    register_secrets(*secrets)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(role))
    else:
        handler.setFormatter(RedactingFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    if fmt == "json":
        logging.captureWarnings(True)
        sys.excepthook = _log_exception
        threading.excepthook = _log_thread_exception
    else:
        sys.excepthook = _print_exception
        threading.excepthook = _print_thread_exception


def _print_exception(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    """``sys.excepthook`` of the text format: the usual traceback, redacted."""
    sys.stderr.write(redact("".join(traceback.format_exception(kind, error, tb))))
    sys.stderr.flush()


def _print_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(f"Exception in thread {name}:\n")
    _print_exception(args.exc_type, args.exc_value, args.exc_traceback)


def _log_exception(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    """``sys.excepthook`` of the JSON format: one log record."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, tb)
        return
    logging.getLogger("leadimport").critical("uncaught exception", exc_info=(kind, error, tb))


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("leadimport").error(
        "uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
