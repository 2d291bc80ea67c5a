"""``leadimport import``, ``leadimport jobs`` and ``leadimport job``: a command-line client of the
public HTTP API, for people and scripts (docs/cli.md).

It uses nothing but the API (``--api-url`` and ``--token``, or ``LEADIMPORT_API_URL`` and
``LEADIMPORT_TOKEN``), like any other client would. On a terminal it shows a progress bar and a
summary table (rich); otherwise it prints plain lines.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

# Exit codes (documented in docs/cli.md)
EXIT_OK = 0  # every row imported (or: the command did what was asked)
EXIT_TROUBLE = 1  # the API could not be reached, or answered with a server error
EXIT_USAGE = 2  # a wrong command line, or a request the API refused (4xx)
EXIT_ROWS_FAILED = 3  # the job completed, some rows failed
EXIT_JOB_STOPPED = 4  # the job failed, was cancelled or undone
EXIT_INTERRUPTED = 130  # Ctrl-C, the job left running

TERMINAL = {"completed", "failed", "cancelled", "undone"}
POLL_S = 0.5
PLAIN_EVERY_S = 2.0
KINDS = ("email", "phone", "cookie", "external_id", "social")


class ApiError(Exception):
    """The API answered with an error (``status`` 0: it could not be reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Api:
    url: str
    token: str

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(  # noqa: S310 - the URL the user gave
            self.url.rstrip("/") + path, data=body, method=method
        )
        request.add_header("Authorization", f"Bearer {self.token}")
        if content_type:
            request.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, _error_message(e.read(), e.code)) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ApiError(0, f"could not reach the API at {self.url}: {reason}") from None

    def json(self, method: str, path: str, payload: Any = None, **kw: Any) -> Any:
        body = orjson.dumps(payload) if payload is not None else None
        _, _, data = self.call(method, path, body, "application/json" if body else None, **kw)
        return orjson.loads(data)

    def upload(self, path: Path, fields: dict[str, str]) -> Any:
        boundary = "leadimport-" + uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        filename = path.name.replace('"', "_")
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
            + path.read_bytes()
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        content_type = f"multipart/form-data; boundary={boundary}"
        _, _, data = self.call("POST", "/leads/import/preview", b"".join(parts), content_type)
        return orjson.loads(data)


def _error_message(data: bytes, status: int) -> str:
    try:
        message = orjson.loads(data)["error"]["message"]
        return str(message)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return f"HTTP {status}"


# --- import ------------------------------------------------------------------------------------


def start_body(args: argparse.Namespace, preview: dict[str, Any]) -> dict[str, Any]:
    """The start request from the command line (and the preview's suggestions with --auto-map)."""
    column, sep, kind = args.primary.rpartition(":")
    if not sep or not column or kind.lower() not in KINDS:
        raise UsageError(
            f"--primary {args.primary!r} is not COLUMN:KIND (KIND: {', '.join(KINDS)})"
        )
    fields: dict[str, str] = {}
    aliases: dict[str, str] = {}
    if args.auto_map:
        suggested = preview.get("suggested_mappings")
        if not isinstance(suggested, dict):
            raise UsageError("this API gives no suggested mappings; map the columns with --map")
        fields.update(suggested.get("field_mappings") or {})
        aliases.update(suggested.get("alias_mappings") or {})
        # The suggested primary, when another column is chosen, is still an identifier.
        other = suggested.get("primary_identifier") or {}
        if other.get("column") not in (None, column) and other["column"] not in fields:
            aliases[other["column"]] = "_alias_" + str(other.get("kind"))
        aliases.pop(column, None)
        fields.pop(column, None)
    for raw in args.map:
        col, target = split_pair(raw, "--map")
        fields[col] = target
    for raw in args.alias:
        col, target = split_pair(raw, "--alias")
        aliases[col] = target
    body: dict[str, Any] = {
        "file_id": preview["file_id"],
        "primary_identifier": {"column": column, "kind": kind.lower()},
        "field_mappings": fields,
        "alias_mappings": aliases,
    }
    if args.default_country:
        body["default_country"] = args.default_country
    if args.mode:
        body["mode"] = args.mode
    if args.dry_run:
        body["dry_run"] = True
    return body


class UsageError(Exception):
    """A command line that cannot work (exit code 2)."""


def split_pair(raw: str, what: str) -> tuple[str, str]:
    column, sep, target = raw.rpartition("=")
    if not sep or not column.strip() or not target.strip():
        raise UsageError(f'{what} {raw!r} is not COLUMN=TARGET (e.g. "First Name=first_name")')
    return column, target.strip()


def processed(job: dict[str, Any]) -> int:
    if isinstance(job.get("processed_rows"), int):
        return int(job["processed_rows"])
    keys = ("created_count", "updated_count", "failed_count", "skipped_count")
    return sum(int(job.get(k) or 0) for k in keys)


class Progress:
    """Shows a job's progress: a rich progress bar on a terminal, plain lines otherwise."""

    def __init__(self, out: IO[str], terminal: bool) -> None:
        self.out = out
        self.terminal = terminal
        self.started = time.monotonic()
        self._last_plain = 0.0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows"),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self.out),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("importing", total=None, rate="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def show(self, job: dict[str, Any]) -> None:
        done, total = processed(job), int(job.get("total_rows") or 0)
        rate = job.get("rows_per_second")
        eta = job.get("eta_seconds")
        status = str(job.get("status"))
        if self._bar is not None:
            rate_text = f"{rate:,.0f} rows/s" if isinstance(rate, int | float) else ""
            self._bar.update(
                self._task, completed=done, total=total or None, description=status, rate=rate_text
            )
            return
        now = time.monotonic()
        if now - self._last_plain < PLAIN_EVERY_S and status not in TERMINAL:
            return
        self._last_plain = now
        line = f"{job.get('job_id')}: {status}, {done:,} of {total:,} rows"
        if total:
            line += f" ({100 * done // total}%)"
        if isinstance(rate, int | float):
            line += f", {rate:,.0f} rows/s"
        if isinstance(eta, int | float):
            line += f", about {eta:,.0f} s left"
        print(line, file=self.out, flush=True)


def summary(job: dict[str, Any], seconds: float, out: IO[str], terminal: bool) -> None:
    rows = [
        ("job", str(job.get("job_id"))),
        ("status", str(job.get("status"))),
        ("created", f"{int(job.get('created_count') or 0):,}"),
        ("updated", f"{int(job.get('updated_count') or 0):,}"),
        ("skipped", f"{int(job.get('skipped_count') or 0):,}"),
        ("failed", f"{int(job.get('failed_count') or 0):,}"),
        ("warnings", f"{int(job.get('warnings_total') or len(job.get('warnings') or [])):,}"),
        ("time", f"{seconds:,.1f} s"),
    ]
    if job.get("failure_reason"):
        rows.append(("reason", str(job["failure_reason"])))
    if terminal:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Import summary", show_header=False)
        table.add_column("what", style="bold")
        table.add_column("value", justify="right")
        for name, value in rows:
            table.add_row(name, value)
        Console(file=out).print(table)
    else:
        for name, value in rows:
            print(f"{name}: {value}", file=out)


def exit_code(job: dict[str, Any]) -> int:
    if job.get("status") == "completed":
        return EXIT_ROWS_FAILED if int(job.get("failed_count") or 0) else EXIT_OK
    return EXIT_JOB_STOPPED


def wait(
    api: Api,
    job_id: str,
    args: argparse.Namespace,
    out: IO[str],
    terminal: bool,
    ask: Callable[[str], str],
) -> int:
    started = time.monotonic()
    path = f"/leads/import/jobs/{urllib.parse.quote(job_id)}"
    job: dict[str, Any] = {}
    try:
        with Progress(out, terminal) as progress:
            while True:
                job = api.json("GET", path)
                progress.show(job)
                if job.get("status") in TERMINAL:
                    break
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        cancel = args.cancel_on_interrupt
        if not cancel and terminal:
            try:
                cancel = ask(f"\nCancel the import job {job_id}? [y/N] ").strip().lower() in (
                    "y",
                    "yes",
                )
            except (EOFError, KeyboardInterrupt):
                cancel = False
        if not cancel:
            print(
                f"The job {job_id} goes on; follow it with 'leadimport job {job_id}'.",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        job = api.json("POST", path + "/cancel")
        print(f"Cancelled the job {job_id}.", file=sys.stderr)
    summary(job, time.monotonic() - started, out, terminal)
    if args.errors_out and int(job.get("failed_count") or 0):
        _download(api, path + "/errors.csv", Path(args.errors_out))
        print(f"The failed rows are in {args.errors_out}", file=out)
    return exit_code(job)


def _download(api: Api, path: str, target: Path) -> None:
    _, _, data = api.call("GET", path)
    target.write_bytes(data)


def cmd_import(args: argparse.Namespace, api: Api) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{args.file}: no such file")
    fields = {}
    if args.encoding:
        fields["encoding"] = args.encoding
    if args.delimiter:
        fields["delimiter"] = args.delimiter
    preview = api.upload(path, fields)
    body = start_body(args, preview)
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else None
    started = api.json("POST", "/leads/import/start", body, headers=headers)
    job_id = str(started["job_id"])
    terminal = sys.stdout.isatty()
    print(
        f"Started the import job {job_id} ({preview.get('row_count', '?')} rows).", file=sys.stderr
    )
    if started.get("ignored_fields"):
        print(f"Ignored fields: {', '.join(started['ignored_fields'])}", file=sys.stderr)
    if args.no_wait:
        print(job_id)
        return EXIT_OK
    return wait(api, job_id, args, sys.stdout, terminal, input)


def cmd_jobs(args: argparse.Namespace, api: Api) -> int:
    query = urllib.parse.urlencode({"page": args.page, "limit": args.limit})
    listed = api.json("GET", f"/leads/import/jobs?{query}")
    for job in listed["jobs"]:
        print(
            f"{job['job_id']}  {job['status']:<11} {processed(job):>9,} of {job['total_rows']:>9,}"
            f"  {job['created_at']}  {job['file_name']}"
        )
    pages = -(-int(listed["total"]) // int(listed["limit"])) if listed["total"] else 1
    print(f"page {listed['page']} of {pages} ({listed['total']} jobs)", file=sys.stderr)
    return EXIT_OK


def cmd_job(args: argparse.Namespace, api: Api) -> int:
    path = f"/leads/import/jobs/{urllib.parse.quote(args.job_id)}"
    if args.errors_csv:
        _download(api, path + "/errors.csv", Path(args.errors_csv))
        print(f"wrote {args.errors_csv}", file=sys.stderr)
        return EXIT_OK
    job = api.json("GET", path)
    print(orjson.dumps(job, option=orjson.OPT_INDENT_2).decode())
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """The client's subcommands, added to the ``leadimport`` parser."""

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--api-url", default=os.environ.get("LEADIMPORT_API_URL", "http://127.0.0.1:8000")
        )
        p.add_argument("--token", default=os.environ.get("LEADIMPORT_TOKEN"))

    imp = sub.add_parser("import", help="import a CSV file through the API and watch the job")
    imp.add_argument("file", help="the CSV file")
    imp.add_argument(
        "--primary", required=True, metavar="COLUMN:KIND", help=f"KIND: {', '.join(KINDS)}"
    )
    imp.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD")
    imp.add_argument("--alias", action="append", default=[], metavar="COLUMN=_alias_KIND")
    imp.add_argument("--auto-map", action="store_true", help="use the preview's suggested mappings")
    imp.add_argument("--mode", choices=("upsert", "create_only", "update_only"))
    imp.add_argument("--dry-run", action="store_true", help="check every row, change nothing")
    imp.add_argument("--encoding", help="the file's encoding, when detection gets it wrong")
    imp.add_argument("--delimiter", help="the file's delimiter, when detection gets it wrong")
    imp.add_argument("--default-country", help="for phone numbers without a country code")
    imp.add_argument("--no-wait", action="store_true", help="print the job id and return")
    imp.add_argument("--errors-out", metavar="PATH", help="write the failed rows to this CSV")
    imp.add_argument("--cancel-on-interrupt", action="store_true", help="Ctrl-C cancels the job")
    imp.add_argument(
        "--idempotency-key", help="a retried command with the same key starts no second job"
    )
    common(imp)
    jobs = sub.add_parser("jobs", help="list the import jobs of the token's OU, newest first")
    jobs.add_argument("--page", type=int, default=1)
    jobs.add_argument("--limit", type=int, default=25)
    common(jobs)
    job = sub.add_parser("job", help="show one import job, or download its failed rows")
    job.add_argument("job_id")
    job.add_argument("--errors-csv", metavar="PATH", help="write the failed rows to this CSV")
    common(job)


COMMANDS: dict[str, Callable[[argparse.Namespace, Api], int]] = {
    "import": cmd_import,
    "jobs": cmd_jobs,
    "job": cmd_job,
}


def run(args: argparse.Namespace) -> int:
    """Run a client command; every failure becomes a message and an exit code."""
    if not args.token:
        print(
            "leadimport: give --token or set LEADIMPORT_TOKEN (leadimport up prints one)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    api = Api(args.api_url, args.token)
    try:
        return COMMANDS[args.command](args, api)
    except UsageError as e:
        print(f"leadimport: {e}", file=sys.stderr)
        return EXIT_USAGE
    except ApiError as e:
        print(f"leadimport: {e.message}", file=sys.stderr)
        return EXIT_USAGE if 400 <= e.status < 500 else EXIT_TROUBLE
