"""The consumer loop's error policy (``consumers.loop.handle_or_park``), as plain logic: a failing
batch is split until the record that fails on its own is found; it is tried three times, then
parked; every other record is handled once, in order; what is not the record's fault stops."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import psycopg
import pytest

from consumers.loop import handle_or_park


class Worker:
    """Handles records (ints); fails whole batches that hold a bad one, like a transaction."""

    def __init__(self, bad: set[int], flaky: dict[int, int] | None = None) -> None:
        self.bad = bad
        self.flaky = dict(flaky or {})  # record -> failures before it succeeds
        self.handled: list[int] = []
        self.parked: list[tuple[int, str, int]] = []
        self.calls = 0

    def handle(self, records: list[int]) -> None:
        self.calls += 1
        for r in records:
            if r in self.bad:
                raise ValueError(f"bad record {r}")
            if self.flaky.get(r, 0) > 0:
                self.flaky[r] -= 1
                raise ValueError(f"flaky record {r}")
        self.handled.extend(records)

    def park(self, record: Any, error: BaseException, attempts: int, first: datetime) -> None:
        self.parked.append((record, str(error), attempts))


def run(worker: Worker, records: list[int]) -> None:
    handle_or_park(records, worker.handle, worker.park, threading.Event())


@pytest.mark.parametrize("bad", [set(), {0}, {7}, {15}, {3, 4}, {0, 8, 15}, set(range(16))])
def test_every_good_record_once_in_order_and_every_bad_one_parked(bad: set[int]) -> None:
    worker = Worker(bad)
    run(worker, list(range(16)))
    assert worker.handled == [r for r in range(16) if r not in bad]
    assert worker.parked == [(r, f"bad record {r}", 3) for r in sorted(bad)]


def test_a_record_that_fails_twice_then_succeeds_is_not_parked() -> None:
    worker = Worker(set(), flaky={5: 3})  # in the batch, then its half, then alone twice
    run(worker, list(range(8)))
    assert worker.handled == list(range(8)) and worker.parked == []


def test_a_good_batch_is_handled_in_one_call() -> None:
    worker = Worker(set())
    run(worker, list(range(2000)))
    assert worker.calls == 1 and worker.parked == []


@pytest.mark.parametrize("error", [psycopg.OperationalError("server closed the connection")])
def test_what_is_not_the_records_fault_stops_the_worker(error: Exception) -> None:
    def handle(records: list[int]) -> None:
        raise error

    parked: list[Any] = []
    with pytest.raises(type(error)):
        handle_or_park([1, 2], handle, lambda *a: parked.append(a), threading.Event())
    assert parked == []


def test_after_stop_nothing_is_parked() -> None:
    stop = threading.Event()
    stop.set()
    worker = Worker({1})
    with pytest.raises(ValueError):
        handle_or_park([0, 1], worker.handle, worker.park, stop)
    assert worker.parked == []
