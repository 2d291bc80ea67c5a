"""The per-OU caps come from the environment (runtime/settings.py) and reach the use cases
through the Container's ``Limits`` (runtime/bootstrap.py)."""

from __future__ import annotations

import pytest

from application.container import Limits
from runtime.bootstrap import limits_from
from runtime.settings import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADIMPORT_MAX_PREVIEWS_PER_OU", raising=False)
    monkeypatch.delenv("LEADIMPORT_MAX_QUEUED_JOBS_PER_OU", raising=False)
    monkeypatch.delenv("LEADIMPORT_MAX_RUNNING_JOBS_PER_OU", raising=False)
    assert limits_from(Settings.from_env()) == Limits(100, 20, 3) == Limits()


def test_the_running_limit_reaches_the_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API tells a queued job's place with it (the job detail's ``queue``), the importer
    enforces it: both read it from their Container."""
    monkeypatch.setenv("LEADIMPORT_MAX_RUNNING_JOBS_PER_OU", "2")
    assert limits_from(Settings.from_env()).max_running_jobs_per_ou == 2


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADIMPORT_MAX_PREVIEWS_PER_OU", "7")
    monkeypatch.setenv("LEADIMPORT_MAX_QUEUED_JOBS_PER_OU", " 3 ")
    limits = limits_from(Settings.from_env())
    assert (limits.max_previews_per_ou, limits.max_queued_jobs_per_ou) == (7, 3)


def test_not_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADIMPORT_MAX_QUEUED_JOBS_PER_OU", "many")
    with pytest.raises(SystemExit, match="LEADIMPORT_MAX_QUEUED_JOBS_PER_OU must be an integer"):
        Settings.from_env()
