"""The relay's envelope ids: uuid5 of (aggregate id, version), fixed forever."""

from __future__ import annotations

import random
from uuid import UUID, uuid5

from application.envelopes import EVENT_ID_NAMESPACE, event_id


def test_event_id_is_uuid5_of_aggregate_and_version() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        aggregate = UUID(int=rng.getrandbits(128), version=4)
        version = rng.randint(1, 10_000)
        expected = str(uuid5(EVENT_ID_NAMESPACE, f"{aggregate}:{version}"))
        assert event_id(aggregate, version) == expected


def test_event_id_is_stable_across_releases() -> None:
    # Subscribers deduplicate on it: a change here would make every event look new.
    lead = UUID("12345678-1234-5678-1234-567812345678")
    assert event_id(lead, 1) == "a826283d-c277-5881-ae74-70b4c10c2fd6"
