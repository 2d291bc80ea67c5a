"""Data keys for crypto-shredding: one random AES-256 key per lead, one per sealed row value.

``lead_keys (lead_id, key)``: a lead's key, inserted in the transaction that stores its first
event; the personal data of its events and snapshots is sealed with it (adapters/sealing.py).
Erasing the lead deletes the row: what was sealed with it cannot be read any more.

``value_keys (job_id, row, seq, key)``: a key for one value of the row ledger (``RowsApplied``):
the value of a failed row (``seq`` -1) or of a row's warning (``seq`` its number). A row's
values belong to the person of that row, not always to a lead (a failed row has none), so they
get keys of their own, and erasing a person deletes the keys of exactly the values that were
theirs.

A lead worker keeps the keys of the leads it works on (``KeyCache``), so a batch reads keys only
for leads it did not hold, with one query for all of them.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from psycopg import Cursor

KEY_BYTES = 32  # AES-256
ValueKeyId = tuple[str, int, int]  # (job_id, row, seq); seq -1: the row's error value
Effect = Callable[[Cursor[Any]], None]
# Keys a process keeps: a lead worker holds 10,000 leads; 64 bytes and a UUID each.
CACHE_SIZE = 20_000


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


class LeadKeyMissing(IntegrityError):
    """A lead the transaction relies on has no key any more: it was erased meanwhile (like a
    version conflict, the caller reads again and decides again)."""


def lead_keys(curs: Cursor[Any], ids: Iterable[UUID]) -> dict[UUID, bytes]:
    """The keys of the given leads that still have one (one query)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    curs.execute("SELECT lead_id, key FROM lead_keys WHERE lead_id = ANY(%b::uuid[])", (wanted,))
    return {r["lead_id"]: bytes(r["key"]) for r in curs.fetchall()}


def value_keys(curs: Cursor[Any], ids: Iterable[ValueKeyId]) -> dict[ValueKeyId, bytes]:
    """The keys of the given ledger values that still have one (one query)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    curs.execute(
        "SELECT k.job_id, k.row, k.seq, k.key FROM value_keys k"
        " JOIN unnest(%b::text[], %b::int[], %b::int[]) AS w(job_id, row, seq)"
        " ON k.job_id = w.job_id AND k.row = w.row AND k.seq = w.seq",
        ([w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted]),
    )
    return {(r["job_id"], r["row"], r["seq"]): bytes(r["key"]) for r in curs.fetchall()}


def insert_lead_keys(curs: Cursor[Any], keys: Mapping[UUID, bytes]) -> None:
    """Store new leads' keys (a lead id that has one already is a conflict: IntegrityError)."""
    if keys:
        curs.execute(
            "INSERT INTO lead_keys (lead_id, key) SELECT * FROM unnest(%b::uuid[], %b::bytea[])",
            (list(keys), list(keys.values())),
        )


def insert_value_keys(curs: Cursor[Any], keys: Sequence[tuple[ValueKeyId, bytes]]) -> None:
    """Store new ledger values' keys. A value that has one already is a conflict (the row was
    applied twice: ``UniqueViolation``, the batch plans again), never skipped: the value sealed
    with the key not stored could not be read."""
    if keys:
        curs.execute(
            "INSERT INTO value_keys (job_id, row, seq, key) SELECT * FROM"
            " unnest(%b::text[], %b::int[], %b::int[], %b::bytea[])",
            (
                [k[0][0] for k in keys],
                [k[0][1] for k in keys],
                [k[0][2] for k in keys],
                [k[1] for k in keys],
            ),
        )


def require_lead_keys(curs: Cursor[Any], ids: Sequence[UUID]) -> None:
    """Raise ``LeadKeyMissing`` unless every lead of ``ids`` still has its key."""
    if not ids:
        return
    wanted = sorted(set(ids))
    curs.execute("SELECT count(*) AS n FROM lead_keys WHERE lead_id = ANY(%b::uuid[])", (wanted,))
    row = curs.fetchone()
    if row is None or row["n"] != len(wanted):
        raise LeadKeyMissing("a lead of this transaction was erased meanwhile")


def delete_lead_key_effect(lead_id: UUID) -> Effect:
    """Crypto-shredding: the lead's key is gone, and with it what was sealed with it."""

    def effect(curs: Cursor[Any]) -> None:
        curs.execute("DELETE FROM lead_keys WHERE lead_id = %s", (lead_id,))

    return effect


def delete_value_keys(curs: Cursor[Any], ids: Sequence[ValueKeyId]) -> int:
    if not ids:
        return 0
    curs.execute(
        "DELETE FROM value_keys k USING unnest(%b::text[], %b::int[], %b::int[])"
        " AS w(job_id, row, seq) WHERE k.job_id = w.job_id AND k.row = w.row AND k.seq = w.seq",
        ([i[0] for i in ids], [i[1] for i in ids], [i[2] for i in ids]),
    )
    return int(curs.rowcount)


class KeyCache:
    """Lead keys a process holds, the least recently used dropped beyond ``max_size``.

    Safe to share between threads. A cached key may belong to a lead erased since: it only ever
    serves to seal new events of a lead the caller loaded (an erased lead gets no new events:
    its ``LeadErased`` takes the version they would need) and to read events a worker loaded
    with it (the lead then ends with ``LeadErased``, which drops every value)."""

    def __init__(self, max_size: int = CACHE_SIZE) -> None:
        self.max_size = max_size
        self._keys: OrderedDict[UUID, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def get_many(self, ids: Iterable[UUID]) -> dict[UUID, bytes]:
        found: dict[UUID, bytes] = {}
        with self._lock:
            for i in ids:
                key = self._keys.get(i)
                if key is not None:
                    found[i] = key
                    self._keys.move_to_end(i)
        return found

    def keep(self, keys: Mapping[UUID, bytes]) -> None:
        with self._lock:
            for i, key in keys.items():
                self._keys[i] = key
                self._keys.move_to_end(i)
            while len(self._keys) > self.max_size:
                self._keys.popitem(last=False)

    def forget(self, ids: Iterable[UUID]) -> None:
        with self._lock:
            for i in ids:
                self._keys.pop(i, None)
