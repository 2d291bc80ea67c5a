"""Idempotent starts: a start request sent again with the same ``Idempotency-Key`` header (a
client retrying after a timeout or a lost answer) answers the job of the first one, with the
same body, instead of starting a second job.

- A key belongs to an OU: another OU's same key is a key of its own.
- A key is 1 to ``MAX_KEY_LENGTH`` printable ASCII characters (a UUID is a good key).
- A key is kept ``KEY_TTL`` (24 hours) after the start that used it; an older one counts as
  unused, and the importer's sweep purges it (`purge_expired_keys`).
- With the key, the request is kept as the SHA-256 of its normalized form (the parsed start
  command as JSON with sorted keys: key order, white space, and defaults given or left out do
  not matter). The same key with another request is a `Conflict` (409).
- Only a start that queued a job keeps its key: a request that failed (400, 404, 429) may be
  sent again with the same key.

Race-free: the key row is inserted (`claim`) in the transaction that stores the job's first
event, before anything else of it (so a retry is never counted against the OU's queue). Of two
requests at once with one key, the second's insert waits for the first's transaction; once that
committed, the second's insert does nothing, `KeyTaken` rolls back its whole transaction (its
job never existed, and it was never requested), and it answers the first's job from the key
row. A key thus maps to exactly the job stored with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from adapters.eventstore import Effect
from application.container import Container
from domain.errors import Conflict, DomainError, InvalidRequest

KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Claim:
    """An OU's key and the digest of the request it comes with."""

    ou: str
    key: str
    request_hash: str


class KeyTaken(Exception):
    """Another request with the same key stored its job first (this transaction rolls back)."""


def claim_for(ou: str, key: str, request: Mapping[str, Any]) -> Claim:
    """The claim of ``key`` for ``request`` (the normalized start command, JSON types only);
    `InvalidRequest` for a key that is empty, too long or not printable ASCII. White space
    around the key is not part of it (as around any HTTP header value)."""
    key = key.strip(" \t")
    if not key:
        raise InvalidRequest(
            "The Idempotency-Key header is empty. Send a unique key per start request, such "
            "as a UUID, or leave the header out."
        )
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            f"The Idempotency-Key header is {len(key):,} characters long; at most "
            f"{MAX_KEY_LENGTH} are allowed. Use a shorter unique key, such as a UUID."
        )
    if not all(" " <= ch <= "~" for ch in key):
        raise InvalidRequest(
            "The Idempotency-Key header may hold only printable ASCII characters. Use a key "
            "such as a UUID."
        )
    canonical = orjson.dumps(request, option=orjson.OPT_SORT_KEYS)
    return Claim(ou=ou, key=key, request_hash=hashlib.sha256(canonical).hexdigest())


def once(c: Container, claim: Claim, start: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The answer of the job ``claim``'s key started, or ``start()``: it stores its job
    together with the key (`claim_effect`). A start that fails because a request with the same
    key got there first (`KeyTaken`, or e.g. a queue that request filled) answers that job."""
    found = _find(c, claim)
    if found is not None:
        return _replay(found, claim)
    try:
        return start()
    except (KeyTaken, DomainError) as e:
        found = _find(c, claim)
        if found is not None:
            return _replay(found, claim)
        if isinstance(e, KeyTaken):  # that job's key expired in the meantime: no answer to give
            raise Conflict(
                f"Another start with the Idempotency-Key {claim.key!r} was being stored at the "
                "same time; send the request again."
            ) from None
        raise


def claim_effect(claim: Claim, job_id: str, response: Mapping[str, Any], now: datetime) -> Effect:
    """An effect for ``events.put``: keep the key with the job and its answer; `KeyTaken` when
    the OU's key is in use (not expired), which rolls the job's transaction back."""

    def effect(cursor: Any) -> None:
        cursor.execute(
            "INSERT INTO idempotency_keys (ou, key, request_hash, job_id, response, created_at)"
            " VALUES (%s, %s, %s, %s, %s::jsonb, %s)"
            " ON CONFLICT (ou, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
            " job_id = EXCLUDED.job_id, response = EXCLUDED.response,"
            " created_at = EXCLUDED.created_at"
            " WHERE idempotency_keys.created_at <= %s"
            " RETURNING job_id",
            (
                claim.ou,
                claim.key,
                claim.request_hash,
                job_id,
                orjson.dumps(response).decode(),
                now,
                now - KEY_TTL,
            ),
        )
        if cursor.fetchone() is None:
            raise KeyTaken(claim.key)

    return effect


def _find(c: Container, claim: Claim) -> dict[str, Any] | None:
    with c.pool.connection() as conn:
        row: dict[str, Any] | None = conn.execute(
            "SELECT request_hash, job_id, response FROM idempotency_keys"
            " WHERE ou = %s AND key = %s AND created_at > %s",
            (claim.ou, claim.key, c.clock() - KEY_TTL),
        ).fetchone()
    return row


def _replay(found: dict[str, Any], claim: Claim) -> dict[str, Any]:
    if found["request_hash"] != claim.request_hash:
        raise Conflict(
            f"The Idempotency-Key {claim.key!r} was already used in the last 24 hours for "
            f"another start request (it started job {found['job_id']}). Send a new key with a "
            "new request; send the same request again to get that job."
        )
    response: dict[str, Any] = found["response"]
    return response


def purge_expired_keys(c: Container) -> int:
    """Delete the keys older than ``KEY_TTL`` (they count as unused already)."""
    with c.pool.connection() as conn:
        cur = conn.execute(
            "DELETE FROM idempotency_keys WHERE created_at <= %s", (c.clock() - KEY_TTL,)
        )
        return int(cur.rowcount)
