"""Per-token rate limit: over the burst a token is answered 429 with ``Retry-After`` and the JSON
error body as documented, other tokens are not slowed down, it recovers once the wait is over,
requests without a valid token are never counted, and the settings reach a real API process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from starlette.testclient import TestClient

from adapters.tokens import create_token
from api.app import create_app
from api.ratelimit import TokenBuckets
from application.container import Container
from tests.helpers import assert_error
from tests.integration.test_limits import assert_429
from tests.services import api_server

JOBS = "/leads/import/jobs"


class Clock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(container: Container) -> Iterator[tuple[TestClient, Clock]]:
    clock = Clock()
    app = create_app(container, TokenBuckets(per_second=0.5, burst=3, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, clock


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_over_its_limit_gets_429_and_another_token_does_not(
    limited: tuple[TestClient, Clock], container: Container, new_ou: Callable[[], str]
) -> None:
    client, clock = limited
    ou = new_ou()
    busy, calm = (bearer(create_token(container.pool, ou)) for _ in range(2))
    assert [client.get(JOBS, headers=busy).status_code for _ in range(3)] == [200] * 3
    message = assert_429(client.get(JOBS, headers=busy), "get", JOBS, "rate_limited", 2)
    assert "more than 3 requests at once or more than 0.5 a second" in message
    assert "Wait 2 s" in message
    # another token of the same OU is not slowed down by the first one
    assert [client.get(JOBS, headers=calm).status_code for _ in range(3)] == [200] * 3

    clock.now += 1.0  # half a request earned: still 1 s to wait
    assert_429(client.get(JOBS, headers=busy), "get", JOBS, "rate_limited", 1)
    clock.now += 1.0
    assert client.get(JOBS, headers=busy).status_code == 200
    assert_429(client.get(JOBS, headers=busy), "get", JOBS, "rate_limited", 2)
    clock.now += 60.0  # the bucket is full again: a burst of 3
    assert [client.get(JOBS, headers=busy).status_code for _ in range(4)] == [200] * 3 + [429]


def test_requests_without_a_valid_token_are_not_counted(
    limited: tuple[TestClient, Clock], container: Container, new_ou: Callable[[], str]
) -> None:
    client, _ = limited
    for _ in range(10):
        assert_error(client.get(JOBS, headers=bearer("li_unknown")), 401, "unauthorized")
        assert_error(client.get(JOBS), 401, "unauthorized")
    fresh = bearer(create_token(container.pool, new_ou()))
    assert [client.get(JOBS, headers=fresh).status_code for _ in range(3)] == [200] * 3


def test_a_limit_of_zero_turns_it_off(container: Container, new_ou: Callable[[], str]) -> None:
    app = create_app(container, TokenBuckets(per_second=0, burst=0))
    headers = bearer(create_token(container.pool, new_ou()))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert {client.get(JOBS, headers=headers).status_code for _ in range(50)} == {200}


def test_the_settings_reach_the_api_process(
    database_url: str,
    kafka_bootstrap: str,
    container: Container,
    new_ou: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1 request a minute: the burst of 2 is spent long before a third could be earned
    monkeypatch.setenv("LEADIMPORT_RATE_LIMIT_PER_SECOND", str(1 / 60))
    monkeypatch.setenv("LEADIMPORT_RATE_LIMIT_BURST", "2")
    headers = bearer(create_token(container.pool, new_ou()))
    with api_server(database_url, kafka_bootstrap, tmp_path / "api.log") as server:
        statuses = [
            httpx2.get(server.url + JOBS, headers=headers, timeout=10).status_code for _ in range(2)
        ]
        over = httpx2.get(server.url + JOBS, headers=headers, timeout=10)
    assert statuses == [200, 200]
    assert_error(over, 429, "rate_limited")
    assert 50 <= int(over.headers["retry-after"]) <= 60
