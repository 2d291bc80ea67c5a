"""The Kafka settings from the environment: how clients connect to a real cluster (TLS, SASL) and
what the topics are created with (replication, in-sync replicas, retention). Read and checked once
at start-up: a bad value stops the process with a message that names the variable and says what
it accepts (docs/operations.md, "Production shape")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from adapters.kafka import (
    HOUR_MS,
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    ClientOptions,
    TopicSettings,
)

# Retention in hours: from one hour to ten years (a record is deleted then, read or not).
RETENTION_HOURS_MAX = 87_600
DEFAULT_RETENTION_HOURS = 168  # 7 days, Kafka's own default
# lead-import.rows: read within seconds; a job stalled longer is re-driven from its stored file
# (application/importing.py ``sweep``), never from the topic: a day is plenty.
DEFAULT_ROWS_RETENTION_HOURS = 24
REPLICATION_MAX = 32_767  # the protocol's 16-bit field

SASL_VARIABLES = ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")


@dataclass(frozen=True)
class KafkaSettings:
    client: ClientOptions = field(default_factory=ClientOptions)
    topics: TopicSettings = field(default_factory=TopicSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSettings:
        env = os.environ if environ is None else environ
        return cls(client=_client(env), topics=_topics(env))


def _get(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _one_of(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    raw = _get(env, name)
    if raw is None:
        return None
    if raw.upper() not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw.upper()


def _whole(env: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = _get(env, name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or not low <= int(raw) <= high:
        raise SystemExit(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def _client(env: Mapping[str, str]) -> ClientOptions:
    protocol = _one_of(env, "KAFKA_SECURITY_PROTOCOL", SECURITY_PROTOCOLS) or "PLAINTEXT"
    mechanism = _one_of(env, "KAFKA_SASL_MECHANISM", SASL_MECHANISMS)
    username = _get(env, "KAFKA_SASL_USERNAME")
    password = _get(env, "KAFKA_SASL_PASSWORD")
    cafile = _get(env, "KAFKA_SSL_CAFILE")
    if protocol.startswith("SASL_"):
        if mechanism is None:
            raise SystemExit(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_MECHANISM too (one of"
                f" {', '.join(SASL_MECHANISMS)})"
            )
        if username is None or password is None:
            raise SystemExit(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and"
                " KAFKA_SASL_PASSWORD too"
            )
    else:
        stray = [name for name in SASL_VARIABLES if _get(env, name) is not None]
        if stray:
            raise SystemExit(
                f"{', '.join(stray)} set, but KAFKA_SECURITY_PROTOCOL is {protocol}: set"
                " KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT) to log in, or unset them"
            )
    if cafile is not None:
        if protocol not in ("SSL", "SASL_SSL"):
            raise SystemExit(
                f"KAFKA_SSL_CAFILE set, but KAFKA_SECURITY_PROTOCOL is {protocol}: set"
                " KAFKA_SECURITY_PROTOCOL=SSL (or SASL_SSL) to use TLS, or unset it"
            )
        path = Path(cafile)
        if not path.is_file() or not os.access(path, os.R_OK):
            raise SystemExit(
                f"KAFKA_SSL_CAFILE={cafile}: no readable file there (the PEM file of the CA that"
                " signed the brokers' certificates)"
            )
    return ClientOptions(
        security_protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_username=username,
        sasl_password=password,
        ssl_cafile=cafile,
    )


def _topics(env: Mapping[str, str]) -> TopicSettings:
    replication = _whole(env, "LEADIMPORT_TOPIC_REPLICATION_FACTOR", 1, REPLICATION_MAX) or 1
    min_insync = _whole(env, "LEADIMPORT_TOPIC_MIN_INSYNC_REPLICAS", 1, REPLICATION_MAX)
    if min_insync is not None and min_insync > replication:
        raise SystemExit(
            f"LEADIMPORT_TOPIC_MIN_INSYNC_REPLICAS ({min_insync}) must be at most"
            f" LEADIMPORT_TOPIC_REPLICATION_FACTOR ({replication}): with more in-sync replicas"
            " required than copies, every write would fail"
        )
    rows = _whole(env, "LEADIMPORT_ROWS_RETENTION_HOURS", 1, RETENTION_HOURS_MAX)
    events = _whole(env, "LEADIMPORT_EVENTS_RETENTION_HOURS", 1, RETENTION_HOURS_MAX)
    return TopicSettings(
        replication_factor=replication,
        min_insync_replicas=min_insync,
        rows_retention_ms=(rows or DEFAULT_ROWS_RETENTION_HOURS) * HOUR_MS,
        events_retention_ms=(events or DEFAULT_RETENTION_HOURS) * HOUR_MS,
    )
