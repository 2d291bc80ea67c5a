"""PostgreSQL advisory-lock keys: one place, so no two locks of the project share a key."""

from __future__ import annotations

MIGRATION = 7_431_001  # one process migrates the schema at a time (and a replay's swap waits)
RELAY = 7_431_002  # one relay publishes at a time (session level, held while it runs)
REPLAY = 7_431_003  # one replay rebuilds at a time


def ou_starts(ou: str) -> str:
    """The text whose ``hashtext`` keys the per-OU lock that serialises job starts."""
    return "leadimport-ou:" + ou


# Per-OU caps (application/limits.py): ``pg_advisory_xact_lock(<class>, hashtext(ou))``. Locks of
# two int4 keys are a key space apart from the one-key locks above.
OU_PREVIEWS = 7_431_101  # an OU's preview count and the insert of a new one
OU_QUEUE = 7_431_102  # an OU's queued-job count and the insert of a new job
