"""A real ``leadimport api`` process with ``LOG_FORMAT=json``: every line it writes is one JSON
object, each request has one access log line carrying the request id it was sent with, and its
``GET /metrics`` reports the lag of the workers' consumer groups on every partition."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.tokens import create_token
from application.container import Container
from tests.services import api_server

PARTITIONS = 6  # conftest creates the topics with 6
GROUPS = {"lead-import-importer": "lead-import.jobs", "lead-import-leads": "lead-import.rows"}


def test_json_lines_with_request_ids_and_the_workers_lag(
    database_url: str,
    kafka_bootstrap: str,
    container: Container,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    log_path = tmp_path_factory.mktemp("api-json") / "api.log"
    token = create_token(container.pool, f"ou-logs-{uuid.uuid4().hex[:8]}")
    sent = {name: f"{name}-{uuid.uuid4().hex}" for name in ("health", "stray", "jobs")}
    with api_server(database_url, kafka_bootstrap, log_path, LOG_FORMAT="json") as server:
        with httpx2.Client(base_url=server.url, timeout=30) as http:
            answers = {
                "health": http.get("/healthz", headers={"X-Request-ID": sent["health"]}),
                "stray": http.get("/no/such/page", headers={"X-Request-ID": sent["stray"]}),
                "jobs": http.get(
                    "/leads/import/jobs",
                    headers={"X-Request-ID": sent["jobs"], "Authorization": f"Bearer {token}"},
                ),
                "unnamed": http.get("/healthz"),
            }
            metrics = http.get("/metrics")
        pid = server.process.pid
    assert {k: r.status_code for k, r in answers.items()} == {
        "health": 200,
        "stray": 404,
        "jobs": 200,
        "unnamed": 200,
    }
    for name, rid in sent.items():
        assert answers[name].headers["x-request-id"] == rid
    assert answers["stray"].json()["error"]["request_id"] == sent["stray"]

    text = log_path.read_text()
    lines: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines() if line]
    assert lines, "the API logged nothing"
    for line in lines:
        assert {"time", "level", "logger", "process", "role", "message"} <= set(line), line
        assert (line["role"], line["process"]) == ("api", pid)
    access = {line["request_id"]: line for line in lines if line.get("route")}
    expected = {
        "health": ("/healthz", "/healthz", 200),
        "stray": ("/no/such/page", "unmatched", 404),
        "jobs": ("/leads/import/jobs", "/leads/import/jobs", 200),
    }
    for name, (path, route, status) in expected.items():
        line = access[sent[name]]
        assert (line["method"], line["path"], line["route"], line["status"]) == (
            "GET",
            path,
            route,
            status,
        )
        assert line["level"] == "INFO" and isinstance(line["duration_ms"], float)
    assert answers["unnamed"].headers["x-request-id"] in access
    assert token not in text

    assert metrics.status_code == 200
    lag = {
        (s.labels["group"], s.labels["topic"], s.labels["partition"])
        for family in text_string_to_metric_families(metrics.text)
        if family.name == "leadimport_consumer_lag_records"
        for s in family.samples
    }
    assert lag == {
        (group, topic, str(p)) for group, topic in GROUPS.items() for p in range(PARTITIONS)
    }
