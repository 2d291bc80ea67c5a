"""API tokens: random, stored only as a SHA-256 hash, each bound to one OU.

A token has a short public id (``tok_`` + 12 hex digits) that lists and revocations name; the
secret itself is shown once, when it is made. A token may expire (``expires_at``) and may be
revoked (``revoked_at``); ``last_used_at`` is written at most once a minute per token, not on
every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from psycopg_pool import ConnectionPool

TOKEN_PREFIX = "li_"  # noqa: S105 - a prefix that makes tokens recognisable, not a secret
TOKEN_ID_PREFIX = "tok_"  # noqa: S105 - the prefix of the public id, not a secret
LAST_USED_EVERY = timedelta(minutes=1)  # how stale last_used_at may get before it is written
MAX_LIST = 1000

State = Literal["active", "expired", "revoked"]
_COLUMNS = "token_hash, token_id, ou, name, created_at, expires_at, revoked_at, last_used_at"


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown of a token: everything but its secret and hash."""

    token_id: str
    ou: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> State:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        token_id=row["token_id"],
        ou=row["ou"],
        name=row["name"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


def issue_token(
    pool: ConnectionPool[Any],
    ou: str,
    *,
    name: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, TokenInfo]:
    """A new token (the secret, shown only now) and what may be shown of it later."""
    with pool.connection() as conn:
        for _ in range(5):  # an id or hash that is taken already: draw again
            token = TOKEN_PREFIX + secrets.token_urlsafe(32)
            row = conn.execute(
                "INSERT INTO api_tokens (token_hash, token_id, ou, name, expires_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
                f" RETURNING {_COLUMNS}",
                (_hash(token), TOKEN_ID_PREFIX + secrets.token_hex(6), ou, name, expires_at),
            ).fetchone()
            if row is not None:
                return token, _info(row)
    raise RuntimeError("could not draw an unused token id in 5 tries")


def create_token(
    pool: ConnectionPool[Any],
    ou: str,
    *,
    name: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """A new token bound to ``ou``; the secret."""
    return issue_token(pool, ou, name=name, expires_at=expires_at)[0]


def lookup_token(pool: ConnectionPool[Any], token: str, *, touch: bool = True) -> TokenInfo | None:
    """The token's record, whatever its state, or None when no such token exists. The lookup is
    by hash; the final comparison of the stored hash is constant-time so response timing says
    nothing about near misses. ``touch``: an active token's ``last_used_at`` is brought up to
    date when it is older than a minute."""
    digest = _hash(token)
    with pool.connection() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS}, now() AS now FROM api_tokens WHERE token_hash = %s", (digest,)
        ).fetchone()
        if row is None or not hmac.compare_digest(row["token_hash"], digest):
            return None
        info = _info(row)
        now: datetime = row["now"]
        stale = info.last_used_at is None or now - info.last_used_at >= LAST_USED_EVERY
        if touch and stale and info.state(now) == "active":
            conn.execute(
                "UPDATE api_tokens SET last_used_at = %s WHERE token_hash = %s", (now, digest)
            )
    return info


def ou_for_token(pool: ConnectionPool[Any], token: str) -> str | None:
    """The OU of an active token, or None."""
    info = lookup_token(pool, token)
    if info is None or info.state(datetime.now(UTC)) != "active":
        return None
    return info.ou


def list_tokens(
    pool: ConnectionPool[Any],
    *,
    ou: str | None = None,
    include_inactive: bool = False,
    limit: int = 100,
) -> tuple[list[TokenInfo], int]:
    """The newest ``limit`` tokens (of ``ou``; only active ones unless ``include_inactive``),
    and how many there are in all."""
    where = ["(%(ou)s::text IS NULL OR ou = %(ou)s)"]
    if not include_inactive:
        where.append("revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())")
    condition = " AND ".join(where)
    params = {"ou": ou, "limit": max(1, min(limit, MAX_LIST))}
    with pool.connection() as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM api_tokens WHERE {condition}"
            " ORDER BY created_at DESC, token_id LIMIT %(limit)s",
            params,
        ).fetchall()
        total = conn.execute(
            f"SELECT count(*) AS n FROM api_tokens WHERE {condition}", params
        ).fetchone()
    return [_info(r) for r in rows], int(total["n"]) if total else 0


def revoke_token(pool: ConnectionPool[Any], token_id: str) -> tuple[TokenInfo | None, bool]:
    """Revoke the token with this public id: (its record, True when revoked now). (None, False)
    when no such token exists; (record, False) when it was revoked already."""
    with pool.connection() as conn:
        row = conn.execute(
            "UPDATE api_tokens SET revoked_at = now()"
            f" WHERE token_id = %s AND revoked_at IS NULL RETURNING {_COLUMNS}",
            (token_id,),
        ).fetchone()
        if row is not None:
            return _info(row), True
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM api_tokens WHERE token_id = %s", (token_id,)
        ).fetchone()
    return (_info(row), False) if row is not None else (None, False)
