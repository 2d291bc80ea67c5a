"""Small helpers for tests that talk HTTP to the API."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from starlette.testclient import TestClient

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float = 60.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def upload(
    client: TestClient, headers: dict[str, str], content: str | bytes, name: str = "leads.csv"
) -> dict[str, Any]:
    data = content.encode() if isinstance(content, str) else content
    r = client.post(
        "/leads/import/preview", headers=headers, files={"file": (name, data, "text/csv")}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def start(
    client: TestClient,
    headers: dict[str, str],
    file_id: str,
    column: str = "Email",
    kind: str = "email",
    **extra: Any,
) -> dict[str, Any]:
    body = {"file_id": file_id, "primary_identifier": {"column": column, "kind": kind}, **extra}
    r = client.post("/leads/import/start", headers=headers, json=body)
    assert r.status_code == 202, r.text
    result: dict[str, Any] = r.json()
    return result


def wait_job(
    client: TestClient, headers: dict[str, str], job_id: str, timeout: float = 120.0
) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/leads/import/jobs/{job_id}", headers=headers).json()
        return job if job["status"] in ("completed", "failed", "cancelled") else None

    return wait_for(done, timeout, f"job {job_id} to finish")


def import_csv(
    client: TestClient,
    headers: dict[str, str],
    content: str,
    column: str = "Email",
    kind: str = "email",
    **extra: Any,
) -> dict[str, Any]:
    """Preview, start and wait: the job detail when it finished."""
    preview = upload(client, headers, content)
    job = start(client, headers, preview["file_id"], column, kind, **extra)
    return wait_job(client, headers, job["job_id"])


def lead_by(client: TestClient, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:
    r = client.get("/leads", headers=headers, params=query)
    assert r.status_code == 200, r.text
    leads: list[dict[str, Any]] = r.json()["leads"]
    return leads


def big_csv(rows: int, seed: int, prefix: str) -> str:
    """About 20 % of rows repeat an earlier e-mail (updates); every tenth has a phone alias.
    E-mails are ``<prefix><n>@example.com``."""
    rnd = random.Random(seed)
    lines = ["Email,First Name,Phone"]
    for i in range(rows):
        n = rnd.randrange(i) if i > 10 and rnd.random() < 0.2 else i
        phone = f"+1 415 555 {i % 10000:04d}" if i % 10 == 0 else ""
        lines.append(f"{prefix}{n}@example.com,Name{i},{phone}")
    return "\n".join(lines) + "\n"


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """``status`` with exactly the JSON error body ``{"error": {"code", "message",
    "request_id"}}``, all non-empty strings, the request id that of the ``X-Request-ID`` header
    (and ``code`` the given one); returns the error without its request id (which differs
    from request to request: two answers that should be alike compare equal)."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "request_id"}, body
    assert error["request_id"] == response.headers["x-request-id"], body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"].strip(), body
    if code is not None:
        assert error["code"] == code, body
    return {key: value for key, value in error.items() if key != "request_id"}


def job_items(
    client: TestClient, headers: dict[str, str], job_id: str, what: str, limit: int = 1000
) -> list[dict[str, Any]]:
    """Every item of ``GET /leads/import/jobs/{job_id}/<what>`` (``errors`` or ``warnings``),
    walking the pages with their ``next_cursor``."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        r = client.get(f"/leads/import/jobs/{job_id}/{what}", headers=headers, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        items.extend(page[what])
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


REPO = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``leadimport ARGS`` as a separate process of this checkout, with ``env``; its exit code
    and output (text), whatever they are."""
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
