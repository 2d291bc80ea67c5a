"""Events stored before sealing existed (plain JSON, no ``_sealed_``): what an erasure does to
those of the erased lead (``application.erasure``), since deleting its key leaves them readable."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from uuid import UUID

from psycopg import Cursor

from adapters.eventstore import EVENTS_TABLE, SNAPSHOTS_TABLE
from adapters.sealing import ERASED, PERSONAL_BY_TOPIC, SEALED

Effect = Callable[[Cursor[Any]], None]


def blank_plain_events_effect(transcoder: Any, lead_id: UUID) -> Effect:
    """Rewrite the lead's events stored plain (before sealing existed: no ``_sealed_``) to the
    form a read without its key gives (personal fields blank, ``erased`` set), and delete its
    snapshots: for an erasure's shredding transaction (deleting the key alone leaves them)."""

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            f"SELECT originator_version, topic, state FROM {EVENTS_TABLE}"
            " WHERE originator_id = %s AND position('_sealed_'::bytea IN state) = 0"
            " AND topic = ANY(%s)",
            (lead_id, list(PERSONAL_BY_TOPIC)),
        )
        for r in curs.fetchall():
            state = transcoder.decode(bytes(r["state"]))
            if SEALED in state:
                continue
            state.update(copy.deepcopy(PERSONAL_BY_TOPIC[r["topic"]]))
            state[ERASED] = True
            curs.execute(
                f"UPDATE {EVENTS_TABLE} SET state = %s"
                " WHERE originator_id = %s AND originator_version = %s",
                (transcoder.encode(state), lead_id, r["originator_version"]),
            )
        curs.execute(f"DELETE FROM {SNAPSHOTS_TABLE} WHERE originator_id = %s", (lead_id,))

    return effect
