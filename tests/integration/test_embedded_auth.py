"""The embedded PostgreSQL asks for a password: drawn at the first start, kept in the data folder
for its owner only, in the URL it hands out; a data folder that an earlier version made with
``trust`` (no password) is switched over at its next start, its data kept; a server of it still
running on trust is a clear error (decided from the server, not from its pg_hba.conf).

Each test has a server of its own in a folder outside pytest's (as root the server runs as
another user, who must traverse every folder above its data: see tests/faults/conftest.py)."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from adapters import embedded
from adapters.embedded import EmbeddedPostgres

ROOT = os.geteuid() == 0


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.delenv("PGPASSFILE", raising=False)
    path = Path(tempfile.mkdtemp(prefix="leadimport-auth-"))
    yield path
    pg = EmbeddedPostgres(path)  # whatever server of this folder still runs: stop it
    pg.user = embedded.SERVICE_USER if ROOT else None
    if (pg.pgdata / "postmaster.pid").exists():
        pg._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(pg.pgdata))
    shutil.rmtree(path, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def connect_without_password(port: int) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=5
    )


def hba_methods(pg: EmbeddedPostgres) -> set[str]:
    """The auth method of every rule of the server's pg_hba.conf."""
    methods = set()
    for line in (pg.pgdata / "pg_hba.conf").read_text().splitlines():
        fields = line.partition("#")[0].split()
        if fields:
            methods.add(fields[-1])
    return methods


def made_by_an_earlier_version(data_dir: Path) -> EmbeddedPostgres:
    """A data folder as the releases before made it: ``initdb --auth=trust``, no password."""
    pg = EmbeddedPostgres(data_dir)
    if ROOT:
        pg.user = embedded._ensure_service_user()
        embedded._allow_traverse(pg.pgdata.parent)
        embedded._allow_traverse(pg.bin)
    pg.pgdata.mkdir(mode=0o700)
    if pg.user:
        os.chown(pg.pgdata, *pwd.getpwnam(pg.user)[2:4])
    done = pg._run("initdb", "--auth=trust", "-U", "postgres", "-D", str(pg.pgdata))
    assert done.returncode == 0, done.stderr
    return pg


def test_a_new_server_asks_for_the_password_kept_in_the_private_data_folder(
    data_dir: Path,
) -> None:
    pg = EmbeddedPostgres(data_dir)
    url = pg.start()
    password = (data_dir / "postgres.password").read_text().strip()
    assert len(password) >= 32 and f":{password}@" in url
    assert mode(data_dir / "postgres.password") == 0o600
    assert (data_dir / "postgres.password").stat().st_uid == os.geteuid()
    assert mode(data_dir) == (0o711 if ROOT else 0o700)
    assert mode(pg.pgdata) == 0o700
    assert hba_methods(pg) == {"scram-sha-256"}
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    assert pg.port is not None
    with pytest.raises(psycopg.OperationalError, match="password"):
        connect_without_password(pg.port)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url.replace(password, "not-the-password"), connect_timeout=5)

    # the next start (here: of the running server) hands out the same password
    assert EmbeddedPostgres(data_dir).start() == url
    pg.stop()
    again = EmbeddedPostgres(data_dir)
    assert again.start().split("@")[0] == url.split("@")[0]
    again.stop()


def test_a_stopped_trust_folder_of_an_earlier_version_gets_a_password(data_dir: Path) -> None:
    old = made_by_an_earlier_version(data_dir)
    old.port = embedded.free_port()
    old._start_server()
    with connect_without_password(old.port) as conn:  # what trust allowed
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('from before')")
    stopped = old._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(old.pgdata))
    assert stopped.returncode == 0, stopped.stderr
    assert not (data_dir / "postgres.password").exists()

    pg = EmbeddedPostgres(data_dir)
    url = pg.start()
    assert hba_methods(pg) == {"scram-sha-256"}
    assert mode(data_dir / "postgres.password") == 0o600
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("from before",)]
    assert pg.port is not None
    with pytest.raises(psycopg.OperationalError, match="password"):
        connect_without_password(pg.port)
    pg.stop()
    # and it starts as any password-protected folder afterwards
    again = EmbeddedPostgres(data_dir)
    assert again.start().split("@")[0] == url.split("@")[0]
    again.stop()


def test_a_running_trust_server_is_left_alone_with_a_clear_error(data_dir: Path) -> None:
    """Only a server this process starts is switched over: one still running on trust (an older
    `leadimport up`) stops the start, untouched, until it is stopped."""
    old = made_by_an_earlier_version(data_dir)
    old.port = embedded.free_port()
    old._start_server()  # e.g. `leadimport up` of the last release, still running

    with pytest.raises(SystemExit, match="stop the running leadimport up first, then start again"):
        EmbeddedPostgres(data_dir).start()
    assert hba_methods(old) == {"trust"}
    with connect_without_password(old.port) as conn:  # untouched: its owner still connects
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('from before')")

    stopped = old._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(old.pgdata))
    assert stopped.returncode == 0, stopped.stderr
    pg = EmbeddedPostgres(data_dir)
    url = pg.start()
    assert pg.started_here and hba_methods(pg) == {"scram-sha-256"}
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("from before",)]
    assert pg.port is not None
    with pytest.raises(psycopg.OperationalError, match="password"):
        connect_without_password(pg.port)
    pg.stop()


def test_a_running_server_that_still_trusts_behind_a_rewritten_file_is_caught(
    data_dir: Path,
) -> None:
    """A crash between rewriting pg_hba.conf and the reload: the file asks for a password, the
    running server does not. Decided from the server, the start refuses."""
    old = made_by_an_earlier_version(data_dir)
    old.port = embedded.free_port()
    old._start_server()
    hba = old.pgdata / "pg_hba.conf"
    hba.write_text(hba.read_text().replace("trust", "scram-sha-256"))  # no reload
    (data_dir / "postgres.password").write_text("written-before-the-crash\n")
    assert hba_methods(old) == {"scram-sha-256"}

    with pytest.raises(SystemExit, match="stop the running leadimport up first"):
        EmbeddedPostgres(data_dir).start()
    with connect_without_password(old.port) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_lost_password_file_is_a_clear_error(data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir)
    pg.start()
    pg.stop()
    (data_dir / "postgres.password").unlink()
    with pytest.raises(RuntimeError, match=r"asks for a password, and the file .* is gone"):
        EmbeddedPostgres(data_dir).start()
