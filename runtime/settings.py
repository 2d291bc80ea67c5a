"""Settings from the environment (12-factor), with defaults that work on a fresh machine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from runtime.kafka_settings import KafkaSettings


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as e:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from e


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as e:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from e


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know, read once at start-up."""

    database_url: str | None = field(default=None, repr=False)  # carries the password
    kafka_bootstrap_servers: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".leadimport"))
    host: str = "127.0.0.1"
    port: int = 8000
    partitions: int = 6
    lead_workers: int = 2
    # A job whose row outcomes have not advanced for this long is re-driven from its file.
    stall_timeout_s: float = 60.0
    # Jobs of one OU that run at once; more wait as "queued".
    max_running_jobs_per_ou: int = 3
    # Per OU: stored (unexpired) previews and queued jobs; more are answered 429.
    max_previews_per_ou: int = 100
    max_queued_jobs_per_ou: int = 20
    preview_ttl_s: int = 3600
    # CPU priority of the relay (os.nice increment): imports first, fan-out in the gaps.
    relay_nice: int = 15
    # Days a finished job's result files (errors.csv, results.csv) and its upload are kept.
    result_retention_days: int = 7
    # Logs on stderr: "text" lines, or one JSON object per line (runtime/logs.py).
    log_format: str = "text"
    # A Kafka cluster's security and topic settings (runtime/kafka_settings.py)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    # Per API token, in each API process (api/ratelimit.py): requests a second sustained (0: no
    # limit) and at once; more are answered 429.
    rate_limit_per_second: float = 100.0
    rate_limit_burst: int = 1000

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            data_dir=Path(os.environ.get("LEADIMPORT_DATA_DIR") or ".leadimport").absolute(),
            host=os.environ.get("HOST") or "127.0.0.1",
            port=_int("PORT", 8000),
            partitions=_int("LEADIMPORT_PARTITIONS", 6),
            lead_workers=_int("LEADIMPORT_LEAD_WORKERS", 2),
            stall_timeout_s=_float("LEADIMPORT_STALL_TIMEOUT_S", 60.0),
            max_running_jobs_per_ou=_int("LEADIMPORT_MAX_RUNNING_JOBS_PER_OU", 3),
            max_previews_per_ou=_int("LEADIMPORT_MAX_PREVIEWS_PER_OU", 100),
            max_queued_jobs_per_ou=_int("LEADIMPORT_MAX_QUEUED_JOBS_PER_OU", 20),
            relay_nice=_int("LEADIMPORT_RELAY_NICE", 15),
            result_retention_days=_int("LEADIMPORT_RESULT_RETENTION_DAYS", 7),
            log_format=_choice("LOG_FORMAT", ("text", "json"), "text"),
            kafka=KafkaSettings.from_env(),
            rate_limit_per_second=_float("LEADIMPORT_RATE_LIMIT_PER_SECOND", 100.0),
            rate_limit_burst=_int("LEADIMPORT_RATE_LIMIT_BURST", 1000),
        )
