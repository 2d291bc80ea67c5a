"""Token life cycle: expiry and revocation answer 401 saying which, ``last_used_at`` is written at
most once a minute, tokens made before ids and expiry existed keep working, and the
``leadimport token`` commands (create, list, revoke) with their errors."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg_pool import ConnectionPool
from starlette.testclient import TestClient

from adapters import postgres as db
from adapters import tokens
from adapters.tokens import issue_token, list_tokens, lookup_token, revoke_token
from application.container import Container, Limits
from runtime.supervisor import dev_token
from tests.helpers import assert_error, run_cli
from tests.services import app_on, own_database

REPO = Path(__file__).resolve().parents[2]
JOBS = "/leads/import/jobs"
ISO_Z = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_revoked_token_answers_401_saying_so_and_others_keep_working(
    client: TestClient, container: Container, new_ou: Callable[[], str]
) -> None:
    ou = new_ou()
    revoked, info = issue_token(container.pool, ou, name="laptop")
    kept, _ = issue_token(container.pool, ou)
    assert client.get(JOBS, headers=bearer(revoked)).status_code == 200

    with container.pool.connection() as conn:
        row = conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_id = %s RETURNING revoked_at",
            (info.token_id,),
        ).fetchone()
    assert row is not None
    r = client.get(JOBS, headers=bearer(revoked))
    error = assert_error(r, 401, "token_revoked")
    assert r.headers["www-authenticate"].lower().startswith("bearer")
    assert error["message"] == (
        f"The bearer token {info.token_id} was revoked (on {z(row['revoked_at'])}). "
        f"Create a new one with 'leadimport token create --ou {ou}'."
    )
    assert client.get(JOBS, headers=bearer(kept)).status_code == 200


def test_an_expired_token_answers_401_saying_when_and_an_unexpired_one_works(
    client: TestClient, container: Container, new_ou: Callable[[], str]
) -> None:
    ou = new_ou()
    ended = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    expired, info = issue_token(container.pool, ou, expires_at=ended)
    error = assert_error(client.get(JOBS, headers=bearer(expired)), 401, "token_expired")
    assert error["message"] == (
        f"The bearer token {info.token_id} has expired (on {z(ended)}). "
        f"Create a new one with 'leadimport token create --ou {ou}'."
    )
    later = datetime.now(UTC) + timedelta(days=1)
    valid, _ = issue_token(container.pool, ou, expires_at=later)
    assert client.get(JOBS, headers=bearer(valid)).status_code == 200
    # an unknown token still says only that it is not valid
    unknown = assert_error(client.get(JOBS, headers=bearer("li_nope")), 401, "unauthorized")
    assert "not valid" in unknown["message"]


def test_last_used_is_written_at_most_once_a_minute(
    client: TestClient, container: Container, new_ou: Callable[[], str]
) -> None:
    token, info = issue_token(container.pool, new_ou())
    assert info.last_used_at is None

    def last_used() -> datetime | None:
        found = lookup_token(container.pool, token, touch=False)
        assert found is not None
        return found.last_used_at

    def set_last_used(ago: timedelta) -> datetime:
        with container.pool.connection() as conn:
            row = conn.execute(
                "UPDATE api_tokens SET last_used_at = now() - %s WHERE token_id = %s"
                " RETURNING last_used_at",
                (ago, info.token_id),
            ).fetchone()
        assert row is not None
        return row["last_used_at"]  # type: ignore[no-any-return]

    assert client.get(JOBS, headers=bearer(token)).status_code == 200
    first = last_used()
    assert first is not None

    recent = set_last_used(timedelta(seconds=30))
    for _ in range(3):
        assert client.get(JOBS, headers=bearer(token)).status_code == 200
    assert last_used() == recent  # used within the minute: not written again

    stale = set_last_used(timedelta(minutes=2))
    assert client.get(JOBS, headers=bearer(token)).status_code == 200
    updated = last_used()
    assert updated is not None and updated > stale + timedelta(minutes=1)


def test_tokens_made_before_ids_and_expiry_keep_working(
    database_url: str, kafka_bootstrap: str
) -> None:
    """A database whose api_tokens has only (token_hash, ou, created_at), as the releases before
    made it: the schema adds the columns, gives the old rows an id, and their tokens work."""
    with own_database(database_url, "leadimport_tokens") as url:
        old = "li_" + "o" * 43
        with db.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE api_tokens")
            conn.execute(
                "CREATE TABLE api_tokens (token_hash text PRIMARY KEY, ou text NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.execute(
                "INSERT INTO api_tokens (token_hash, ou) VALUES (%s, 'ou-old'), (%s, 'ou-old')",
                (hashlib.sha256(old.encode()).hexdigest(), "0" * 64),
            )
        db.migrate(url)
        db.migrate(url)  # twice: nothing changes the second time
        with app_on(url, kafka_bootstrap, Limits()) as (client, c):
            assert client.get(JOBS, headers=bearer(old)).status_code == 200
            found, total = list_tokens(c.pool, ou="ou-old")
            assert total == 2
            ids = {info.token_id for info in found}
            assert len(ids) == 2 and all(re.fullmatch(r"tok_[0-9a-f]{12}", i) for i in ids)
            assert all(info.expires_at is None and info.revoked_at is None for info in found)
            info = lookup_token(c.pool, old, touch=False)
            assert info is not None and info.last_used_at is not None


def test_the_development_token_of_up_is_kept_until_it_no_longer_works(
    database_url: str, container: Container, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    first = dev_token(database_url, folder)
    assert dev_token(database_url, folder) == first  # the next start: the same one
    info = lookup_token(container.pool, first, touch=False)
    assert info is not None
    assert (info.name, info.ou, info.expires_at) == ("development", "default", None)
    assert (folder / "dev-token").read_text().strip() == first

    revoke_token(container.pool, info.token_id)
    second = dev_token(database_url, folder)  # revoked: a new one, written over the file
    assert second != first and (folder / "dev-token").read_text().strip() == second
    assert dev_token(database_url, folder) == second
    assert dev_token(database_url, tmp_path / "elsewhere") not in (first, second)


def test_only_the_active_development_token_is_reused_and_one_replaced_is_revoked(
    database_url: str, tmp_path: Path
) -> None:
    """`up`'s token file is reused only while it holds the development token (OU ``default``,
    named ``development``) and the database still accepts it; a token it replaces is revoked.
    (On a database of its own: it lists the active tokens of OU ``default``.)"""
    data_dir = tmp_path / "data"
    path = data_dir / "dev-token"

    def info(pool: ConnectionPool[Any], token: str) -> tokens.TokenInfo:
        found = tokens.lookup_token(pool, token, touch=False)
        assert found is not None
        return found

    def state(pool: ConnectionPool[Any], token: str) -> tuple[str, str | None, str]:
        found = info(pool, token)
        return found.ou, found.name, found.state(datetime.now(UTC))

    with own_database(database_url, "devtoken") as url:
        pool = db.make_pool(url, max_size=1)
        try:
            other_ou = tokens.create_token(pool, "ou-elsewhere", name="development")
            other_name = tokens.create_token(pool, "default", name="ci")
            data_dir.mkdir()
            path.write_text(other_ou + "\n")
            first = dev_token(url, data_dir)
            assert first != other_ou
            assert state(pool, first) == ("default", "development", "active")
            assert state(pool, other_ou) == ("ou-elsewhere", "development", "revoked")
            assert dev_token(url, data_dir) == first  # the development token: kept

            path.write_text(other_name + "\n")
            second = dev_token(url, data_dir)
            assert second not in (first, other_name)
            assert state(pool, other_name) == ("default", "ci", "revoked")

            tokens.revoke_token(pool, info(pool, second).token_id)
            third = dev_token(url, data_dir)
            assert third != second and state(pool, third)[2] == "active"
            assert path.read_text().strip() == third
            # active in OU default: the first development token (never in the file again, so
            # never replaced) and the third; the second and the ci token are revoked
            active = {t.token_id for t in tokens.list_tokens(pool, ou="default")[0]}
            assert active == {info(pool, first).token_id, info(pool, third).token_id}
        finally:
            pool.close()


# --- the command line --------------------------------------------------------------------------


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env["DATABASE_URL"] = database_url
    return run_cli("token", *args, env=env)


def test_token_commands_create_list_and_revoke(
    database_url: str, client: TestClient, new_ou: Callable[[], str]
) -> None:
    ou = new_ou()
    made = cli(database_url, "create", "--ou", ou, "--name", "ci deploy", "--expires-in", "90d")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert re.fullmatch(r"li_[A-Za-z0-9_-]{43}", secret)
    said = re.search(
        r"Created token (tok_[0-9a-f]{12}) \('ci deploy'\) for OU '([^']+)'", made.stderr
    )
    assert said is not None and said[2] == ou, made.stderr
    token_id = said[1]
    other = cli(database_url, "create", "--ou", ou)
    assert other.returncode == 0, other.stderr
    assert client.get(JOBS, headers=bearer(secret)).status_code == 200

    listed = cli(database_url, "list", "--ou", ou, "--json")
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, Any]] = json.loads(listed.stdout)
    assert secret not in listed.stdout and secret not in listed.stderr
    assert hashlib.sha256(secret.encode()).hexdigest() not in listed.stdout
    assert [r["name"] for r in rows] == [None, "ci deploy"]  # newest first
    mine = rows[1]
    assert set(mine) == {
        "id", "name", "ou", "created_at", "expires_at", "last_used_at", "revoked_at", "state"
    }  # fmt: skip
    assert (mine["id"], mine["ou"], mine["state"], mine["revoked_at"]) == (
        token_id, ou, "active", None
    )  # fmt: skip
    created = datetime.fromisoformat(mine["created_at"])
    expires = datetime.fromisoformat(mine["expires_at"])
    assert timedelta(days=90) - timedelta(minutes=2) < expires - created <= timedelta(days=90)
    assert re.fullmatch(ISO_Z, mine["last_used_at"])  # the request above
    assert rows[0]["expires_at"] is None

    table = cli(database_url, "list", "--ou", ou)
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "OU", "CREATED", "EXPIRES", "LAST", "USED", "STATE"]
    assert len(lines) == 2 and token_id in lines[1] and "ci deploy" in lines[1]
    assert secret not in table.stdout

    revoked = cli(database_url, "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert re.fullmatch(rf"revoked {token_id} \(OU '{ou}'\) on {ISO_Z}", revoked.stdout.strip())
    assert_error(client.get(JOBS, headers=bearer(secret)), 401, "token_revoked")
    again = cli(database_url, "revoke", token_id)
    assert again.returncode == 0, again.stderr
    assert re.fullmatch(rf"{token_id} was already revoked \(on {ISO_Z}\)", again.stdout.strip())

    in_use = json.loads(cli(database_url, "list", "--ou", ou, "--json").stdout)
    assert [r["name"] for r in in_use] == [None]  # the revoked one only with --all
    every = json.loads(cli(database_url, "list", "--ou", ou, "--all", "--json").stdout)
    assert {r["id"]: r["state"] for r in every}[token_id] == "revoked"


def test_token_commands_reject_bad_input(database_url: str) -> None:
    unknown = cli(database_url, "revoke", "tok_000000000000")
    assert unknown.returncode == 1
    assert "no token has the id 'tok_000000000000'" in unknown.stderr
    assert "token list --all" in unknown.stderr
    for duration in ("90", "1y", "-5d", "0h", "99999d", "12 hours"):
        bad = cli(database_url, "create", "--ou", "x", f"--expires-in={duration}")
        assert bad.returncode == 2, (duration, bad.stderr)
        assert "--expires-in" in bad.stderr and ("90d" in bad.stderr or "at most" in bad.stderr)
        assert bad.stdout == ""
