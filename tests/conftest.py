"""Session-wide real services: PostgreSQL, a Kafka-protocol broker, and worker processes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from adapters import kafka
from adapters import postgres as db
from adapters.kafka import ALL_TOPICS
from adapters.tokens import create_token
from api.app import create_app
from api.ratelimit import TokenBuckets
from application.container import Container
from runtime import bootstrap
from tests.services import ApiServer, Workers, api_server, broker, database


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("leadimport-data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    with database(data_dir) as (url, _):
        db.migrate(url)
        yield url


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with broker() as (bootstrap, _):
        kafka.create_topics(bootstrap, ALL_TOPICS, partitions=6)
        yield bootstrap


@pytest.fixture(scope="session")
def container(database_url: str, kafka_bootstrap: str) -> Iterator[Container]:
    c = bootstrap.build(database_url, kafka_bootstrap)
    yield c
    c.close()


@pytest.fixture(scope="session")
def workers(database_url: str, kafka_bootstrap: str, data_dir: Path) -> Iterator[Workers]:
    """An importer and two lead workers, shared by the end-to-end tests."""
    w = Workers(database_url, kafka_bootstrap, data_dir)
    w.start("importer", "importer")
    w.start("leads-1", "leads")
    w.start("leads-2", "leads")
    yield w
    w.stop_all()


@pytest.fixture(scope="session")
def client(container: Container) -> Iterator[TestClient]:
    # Without the per-token rate limit: tests here send hundreds of requests a second with one
    # token (a replay compares every answer of an OU); the limit has its own tests
    # (tests/integration/test_rate_limit.py, tests/unit/test_ratelimit.py).
    # Metrics read fresh at each scrape: tests scrape before and after an action.
    app = create_app(container, TokenBuckets(per_second=0), metrics_max_age_s=0)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def new_ou() -> Callable[[], str]:
    return lambda: f"ou-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def auth(container: Container, new_ou: Callable[[], str]) -> dict[str, str]:
    """Headers with a token for a fresh OU of this test."""
    return {"Authorization": f"Bearer {create_token(container.pool, new_ou())}"}


@pytest.fixture
def make_auth(container: Container) -> Callable[[str], dict[str, str]]:
    def make(ou: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_token(container.pool, ou)}"}

    return make


@pytest.fixture(scope="session")
def api(
    database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    """A real ``leadimport api`` process, shared by the tests of HTTP clients."""
    log = tmp_path_factory.mktemp("api") / "api.log"
    with api_server(database_url, kafka_bootstrap, log) as server:
        yield server
