"""The token buckets of the per-token rate limit (api/ratelimit.py), on a clock the test moves:
the burst, the sustained rate, the wait it tells, and memory bounded by the tokens in use."""

from __future__ import annotations

import pytest

from api.ratelimit import TokenBuckets
from domain.errors import TooManyRequests


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_sustained_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_second=4, burst=10, clock=clock)
    assert [buckets.take("a") for _ in range(10)] == [0.0] * 10
    assert buckets.take("a") == pytest.approx(0.25)
    clock.now += 1.0  # four more earned
    assert [buckets.take("a") == 0.0 for _ in range(5)] == [True] * 4 + [False]
    assert buckets.take("b") == 0.0  # each key has its own bucket


def test_check_raises_429_with_whole_seconds_of_at_least_one() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_second=10, burst=1, clock=clock)
    buckets.check("a")
    with pytest.raises(TooManyRequests) as raised:
        buckets.check("a")
    assert raised.value.retry_after == 1  # 0.1 s, rounded up
    assert raised.value.code == "rate_limited"
    slow = TokenBuckets(per_second=0.25, burst=1, clock=clock)
    slow.check("a")
    with pytest.raises(TooManyRequests) as raised:
        slow.check("a")
    assert raised.value.retry_after == 4


def test_idle_buckets_are_dropped() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_second=10, burst=20, clock=clock)  # full again after 2 s
    for i in range(5000):
        buckets.take(f"tok_{i}")
    assert len(buckets) == 5000
    clock.now += 1.0
    buckets.take("busy")
    assert len(buckets) == 5001  # not yet full again: kept
    clock.now += 2.0
    buckets.take("busy")
    assert len(buckets) == 1  # only the one just used


@pytest.mark.parametrize(("per_second", "burst"), [(-1, 10), (float("nan"), 10), (5, 0)])
def test_bad_settings_are_refused(per_second: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        TokenBuckets(per_second=per_second, burst=burst)


def test_zero_turns_it_off() -> None:
    buckets = TokenBuckets(per_second=0, burst=0)
    assert {buckets.take("a") for _ in range(100)} == {0.0}
    assert len(buckets) == 0
