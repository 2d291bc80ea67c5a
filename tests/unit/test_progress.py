"""A job's progress figures (domain/progress.py): percent, the recent rate, the time left and why
a queued job waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.progress import (
    RATE_WINDOW_S,
    Sample,
    eta_seconds,
    percent,
    processed_rows,
    queue_state,
    recent_rate,
)

T0 = datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_processed_rows_count_every_outcome() -> None:
    assert processed_rows(5, 3, 2, 1) == 11


@pytest.mark.parametrize(
    ("processed", "total", "status", "expected"),
    [
        (0, 100, "queued", 0.0),
        (1, 3, "in_progress", 33.3),
        (2, 3, "in_progress", 66.6),  # rounded down, never up
        (425, 1000, "in_progress", 42.5),
        (99_999, 100_000, "in_progress", 99.9),  # 99.999: not 100 while a row has no outcome
        (1, 100_000, "in_progress", 0.0),
        (100_000, 100_000, "in_progress", 100.0),  # every row done, completion a moment later
        (100_000, 100_000, "completed", 100.0),
        (40, 100, "cancelled", 40.0),
        (0, 0, "completed", 100.0),  # a job of 0 rows
        (0, 0, "undone", 100.0),
        (0, 0, "queued", 0.0),
        (0, 0, "in_progress", 0.0),
        (0, 0, "failed", 0.0),
    ],
)
def test_percent(processed: int, total: int, status: str, expected: float) -> None:
    assert percent(processed, total, status) == expected


def test_percent_never_decreases_and_is_100_only_at_the_end() -> None:
    for total in (1, 7, 999, 1000, 100_001):
        done = sorted({*range(0, total, max(1, total // 97)), total - 1, total})
        shown = [percent(n, total, "in_progress") for n in done]
        assert shown == sorted(shown)
        assert all(0 <= p < 100 for p in shown[:-1])
        assert shown[-1] == 100


def test_rate_is_unknown_without_two_samples() -> None:
    assert recent_rate(at(5), 0, None, None) is None
    # one batch applied 2 s ago, nothing since: no rate yet
    assert recent_rate(at(5), 2000, None, Sample(at(3), 2000)) is None


def test_rate_of_a_job_younger_than_the_window_counts_from_its_first_sample() -> None:
    # 2,000 rows at 1 s, 8,000 at 4 s; asked at 4 s: 6,000 rows in 3 s
    assert recent_rate(at(4), 8000, None, Sample(at(1), 2000)) == 2000.0


def test_rate_is_the_recent_one_not_the_average_since_the_start() -> None:
    # 100,000 rows in the first minute, then only 1,000 rows in the last 10 s
    before = Sample(at(60 - RATE_WINDOW_S), 99_000)
    first = Sample(at(0), 0)
    assert recent_rate(at(60), 100_000, before, first) == pytest.approx(100.0)


def test_a_stalled_job_has_a_rate_of_zero_and_no_eta() -> None:
    last = Sample(at(0), 5000)
    rate = recent_rate(at(30), 5000, last, last)
    assert rate == 0.0
    assert eta_seconds(5000, 10_000, rate) is None


def test_a_clock_behind_the_sample_gives_no_rate() -> None:
    assert recent_rate(at(1), 4000, None, Sample(at(2), 2000)) is None


def test_eta_rounds_up_and_needs_a_positive_rate() -> None:
    assert eta_seconds(5000, 10_000, 2000.0) == 3  # 2.5 s
    assert eta_seconds(10_000, 10_000, 2000.0) == 0
    assert eta_seconds(0, 10_000, None) is None
    assert eta_seconds(0, 10_000, 0.0) is None


def test_a_queued_job_behind_the_running_limit_waits_for_a_slot() -> None:
    assert queue_state(1, 3, 3) == {
        "state": "waiting_for_slot",
        "reason": "The OU already runs 3 jobs, the limit per OU is 3: this job starts when a "
        "running job ends.",
        "position": 1,
        "running": 3,
        "limit": 3,
    }
    second = queue_state(2, 3, 3)
    assert second["state"] == "waiting_for_slot"
    assert second["reason"] == (
        "The OU already runs 3 jobs, the limit per OU is 3, and 1 queued job is ahead: this job "
        "starts when 2 running jobs have ended."
    )


def test_queued_jobs_ahead_may_take_the_free_slots() -> None:
    # one slot free, taken by the job ahead
    waiting = queue_state(2, 2, 3)
    assert waiting["state"] == "waiting_for_slot"
    assert waiting["reason"] == (
        "The OU runs 2 jobs of at most 3, and 1 queued job is ahead: this job starts when a "
        "running job ends."
    )


def test_a_queued_job_with_a_free_slot_is_starting() -> None:
    for position, running, limit in ((1, 0, 3), (1, 2, 3), (2, 1, 3), (1, 0, 1)):
        state = queue_state(position, running, limit)
        assert state["state"] == "starting", (position, running, limit)
        assert "starts this job within seconds" in state["reason"]
        assert (state["position"], state["running"], state["limit"]) == (position, running, limit)


def test_more_running_than_the_limit_counts_no_free_slot() -> None:
    # the limit was lowered while jobs ran: 3 of them end before this one starts
    state = queue_state(1, 4, 2)
    assert state["state"] == "waiting_for_slot"
    assert "starts when 3 running jobs have ended" in state["reason"]
