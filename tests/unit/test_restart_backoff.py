"""``leadimport up`` restarts a worker that dies after a back-off that doubles while it keeps
dying soon after its start (0.5 s, 1, 2, ... at most 30 s), and starts over once it ran a while."""

from __future__ import annotations

import pytest

from runtime import supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def delays_of(restart: supervisor.Restart, clock: Clock, lifetimes: list[float]) -> list[float]:
    """Let the child live each lifetime, die, and measure how long until ``due``."""
    waited = []
    for lifetime in lifetimes:
        clock.now += lifetime
        start = clock.now
        while not restart.due(1, ["worker", "leads"]):
            clock.now += 0.25
        waited.append(clock.now - start)
        restart.started()
    return waited


def test_back_off_doubles_up_to_the_cap_and_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("runtime.supervisor.time.monotonic", clock)
    restart = supervisor.Restart()
    waited = delays_of(restart, clock, [1.0] * 9 + [61.0, 1.0])
    assert waited == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 0.5, 1.0]


def test_the_reason_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    monkeypatch.setattr("runtime.supervisor.time.monotonic", clock)
    restart = supervisor.Restart()
    clock.now += 3
    with caplog.at_level("WARNING"):
        restart.due(-9, ["worker", "relay"])
    assert "worker relay died (signal 9) after 3.0 s; restarting it in 0.5 s" in caplog.text
