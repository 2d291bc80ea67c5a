"""A stack per fault test: its own PostgreSQL, broker, API client and worker processes."""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from adapters import kafka
from adapters import postgres as db
from adapters.embedded import EmbeddedKafka, EmbeddedPostgres
from adapters.kafka import ALL_TOPICS
from adapters.tokens import create_token
from api.app import create_app
from runtime import bootstrap
from tests.faults.support import STALL_TIMEOUT_S, FaultStack
from tests.services import Workers


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[FaultStack]:
    # Not under tmp_path: as root the server runs as another user, who needs to traverse every
    # folder above its data, and each pytest run that starts makes its base folder private again
    # (pytest-of-root, mode 0700); other test runs on this machine would lock the server out.
    data_dir = Path(tempfile.mkdtemp(prefix="leadimport-faults-"))
    pg = EmbeddedPostgres(data_dir)
    broker = EmbeddedKafka()
    try:
        database_url = pg.start()
        db.migrate(database_url)
        bootstrap_servers = broker.start()
        kafka.create_topics(bootstrap_servers, ALL_TOPICS, partitions=6)
        c = bootstrap.build(database_url, bootstrap_servers)
        log_dir = tmp_path / "logs"
        log_dir.mkdir()
        workers = Workers(
            database_url,
            bootstrap_servers,
            log_dir,
            LEADIMPORT_STALL_TIMEOUT_S=str(STALL_TIMEOUT_S),
        )
        ou = f"ou-fault-{random.randrange(10**9)}"
        try:
            with TestClient(create_app(c), raise_server_exceptions=False) as client:
                headers = {"Authorization": f"Bearer {create_token(c.pool, ou)}"}
                s = FaultStack(pg, broker, c, client, workers, headers, ou, log_dir)
                yield s
                print(s.logs())  # shown when the test failed
        finally:
            workers.stop_all()
            c.close()
    finally:
        broker.stop()
        pg.stop(mode="immediate")
        shutil.rmtree(data_dir, ignore_errors=True)
