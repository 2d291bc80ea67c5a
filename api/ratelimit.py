"""Per-token rate limit: a token bucket per API token, in this API process.

Each token may send ``burst`` requests at once and ``per_second`` requests a second sustained;
beyond that a request is answered 429 with ``Retry-After``. The buckets live in the process: with
N API processes behind a load balancer a token gets up to N times the limit. The key is the
token's public id, known only after authentication, so a client cannot pick keys of its own.
A bucket that has filled up again holds nothing worth keeping and is dropped: memory stays
proportional to the tokens used in the last few seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from domain.errors import TooManyRequests

DEFAULT_PER_SECOND = 100.0
DEFAULT_BURST = 1000


class TokenBuckets:
    """``take(key)`` for every request; ``per_second`` 0 disables the limit."""

    def __init__(
        self,
        per_second: float = DEFAULT_PER_SECOND,
        burst: int = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second < 0 or not math.isfinite(per_second):
            raise ValueError(f"the rate must be 0 (no limit) or more, got {per_second}")
        if per_second > 0 and burst < 1:
            raise ValueError(f"the burst must be 1 or more, got {burst}")
        self.per_second = per_second
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()
        self._swept_at = clock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def take(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0.0 when allowed, otherwise the seconds until
        the next request would be."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            self._sweep(now)
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.per_second

    def check(self, key: str) -> None:
        """Raise ``TooManyRequests`` (HTTP 429 with ``Retry-After``) when ``key`` is over."""
        wait = self.take(key)
        if wait > 0:
            raise TooManyRequests(
                f"This token sent more than {self.burst} requests at once or more than "
                f"{self.per_second:g} a second. Wait {math.ceil(wait)} s (Retry-After) and "
                "slow down; the limit is per token (LEADIMPORT_RATE_LIMIT_PER_SECOND, "
                "LEADIMPORT_RATE_LIMIT_BURST).",
                retry_after=math.ceil(wait),
                code="rate_limited",
            )

    def __len__(self) -> int:
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        """Drop the buckets that are full again (their tokens would not be idle otherwise), once
        per refill time."""
        refill = self.burst / self.per_second
        if now - self._swept_at < refill:
            return
        self._swept_at = now
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.per_second >= self.burst
        ]
        for key in full:
            del self._buckets[key]
