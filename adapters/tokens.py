"""API tokens: random, stored only as a SHA-256 hash, each bound to one OU."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from psycopg_pool import ConnectionPool

TOKEN_PREFIX = "li_"  # noqa: S105 - a prefix that makes tokens recognisable, not a secret


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(pool: ConnectionPool[Any], ou: str) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with pool.connection() as conn:
        conn.execute("INSERT INTO api_tokens (token_hash, ou) VALUES (%s, %s)", (_hash(token), ou))
    return token


def ou_for_token(pool: ConnectionPool[Any], token: str) -> str | None:
    """The OU a token is bound to, or None. The lookup is by hash; the final comparison of the
    stored hash is constant-time so response timing says nothing about near misses."""
    digest = _hash(token)
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT token_hash, ou FROM api_tokens WHERE token_hash = %s", (digest,)
        ).fetchone()
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        return None
    return str(row["ou"])
