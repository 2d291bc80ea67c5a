"""Unit tests for ``adapters.eventstore.AggregateCache``: a lead worker's committed leads between
batches, handed out once, kept only when committed, bounded."""

from __future__ import annotations

from adapters.eventstore import AggregateCache
from domain.lead import Lead


def committed(n: int) -> Lead:
    lead = Lead.create(
        ou="ou-1",
        primary={"kind": "email", "value": f"lead{n}@example.com"},
        fields={"company": "Acme"},
        aliases=[],
        job_id="job_a",
        row=n + 2,
    )
    lead.collect_events()  # as the store does in the transaction that commits them
    return lead


def test_take_hands_a_lead_out_once() -> None:
    cache = AggregateCache(10)
    a, b = committed(1), committed(2)
    cache.keep([a, b])
    assert len(cache) == 2
    assert cache.take([a.id, committed(3).id]) == {a.id: a}
    assert a.id not in cache and b.id in cache
    assert cache.take([a.id]) == {}  # whoever took it may change it: it is no longer cached


def test_a_lead_with_pending_events_is_not_kept() -> None:
    cache = AggregateCache(10)
    lead = committed(1)
    cache.keep([lead])
    changed = cache.take([lead.id])[lead.id]
    changed.update_profile(changed={"company": "Globex"}, job_id="job_b", row=3)
    cache.keep([changed])
    assert lead.id not in cache
    changed.collect_events()  # committed
    cache.keep([changed])
    assert cache.take([lead.id])[lead.id].fields == {"company": "Globex"}


def test_the_least_recently_kept_go_first_beyond_the_size() -> None:
    cache = AggregateCache(3)
    leads = [committed(n) for n in range(5)]
    cache.keep(leads[:3])
    cache.keep([cache.take([leads[0].id])[leads[0].id]])  # used again: now the most recent
    cache.keep(leads[3:])
    assert len(cache) == 3
    assert [lead.id in cache for lead in leads] == [True, False, False, True, True]


def test_discard_forgets() -> None:
    cache = AggregateCache(3)
    lead = committed(1)
    cache.keep([lead])
    cache.discard([lead.id, committed(2).id])
    assert len(cache) == 0
