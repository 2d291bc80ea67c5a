"""The Kafka settings of a real cluster: parsed and checked at start-up (a bad value stops the
process with a message naming the variable), and turned into the keyword arguments every
kafka-python client gets and the configs every topic is created with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from adapters.kafka import (
    TOPIC_JOB_EVENTS,
    TOPIC_JOBS,
    TOPIC_LEAD_EVENTS,
    TOPIC_ROWS,
    ClientOptions,
    TopicSettings,
)
from runtime.kafka_settings import KafkaSettings
from runtime.settings import Settings

HOUR_MS = 60 * 60 * 1000


def parse(**env: str) -> KafkaSettings:
    return KafkaSettings.from_env(env)


def refused(**env: str) -> str:
    with pytest.raises(SystemExit) as e:
        parse(**env)
    return str(e.value)


def test_defaults_are_plain_tcp_one_replica_a_day_of_rows_and_seven_days_of_events() -> None:
    kafka = parse()
    assert kafka.client.config() == {"security_protocol": "PLAINTEXT"}
    assert kafka.topics == TopicSettings(
        replication_factor=1,
        min_insync_replicas=None,
        rows_retention_ms=24 * HOUR_MS,
        events_retention_ms=168 * HOUR_MS,
    )
    assert Settings().kafka == kafka


def test_sasl_ssl_with_a_ca_file_reaches_the_client_config(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    kafka = parse(
        KAFKA_SECURITY_PROTOCOL="sasl_ssl",
        KAFKA_SASL_MECHANISM="scram-sha-512",
        KAFKA_SASL_USERNAME="leadimport",
        KAFKA_SASL_PASSWORD="s3cret",
        KAFKA_SSL_CAFILE=str(ca),
    )
    assert kafka.client.config() == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "leadimport",
        "sasl_plain_password": "s3cret",
        "ssl_cafile": str(ca),
    }
    assert "s3cret" not in repr(kafka)


def test_ssl_alone_and_sasl_plaintext() -> None:
    assert parse(KAFKA_SECURITY_PROTOCOL="SSL").client.config() == {"security_protocol": "SSL"}
    plain = parse(
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM="PLAIN",
        KAFKA_SASL_USERNAME="u",
        KAFKA_SASL_PASSWORD="p",
    )
    assert plain.client.config() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "u",
        "sasl_plain_password": "p",
    }


@pytest.mark.parametrize("client", [KafkaProducer, KafkaConsumer, KafkaAdminClient])
def test_every_option_is_a_keyword_the_kafka_python_clients_know(client: Any) -> None:
    options = ClientOptions("SASL_SSL", "PLAIN", "u", "p", "/etc/ssl/ca.pem")
    assert set(options.config()) <= set(client.DEFAULT_CONFIG)


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("LEADIMPORT_TOPIC_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("LEADIMPORT_TOPIC_MIN_INSYNC_REPLICAS", "2")
    monkeypatch.setenv("LEADIMPORT_ROWS_RETENTION_HOURS", "24")
    monkeypatch.setenv("LEADIMPORT_EVENTS_RETENTION_HOURS", "720")
    kafka = Settings.from_env().kafka
    assert kafka.client.security_protocol == "SSL"
    assert kafka.topics == TopicSettings(3, 2, 24 * HOUR_MS, 720 * HOUR_MS)


def test_topic_configs_per_topic() -> None:
    spec = parse(
        LEADIMPORT_TOPIC_REPLICATION_FACTOR="3",
        LEADIMPORT_TOPIC_MIN_INSYNC_REPLICAS="2",
        LEADIMPORT_ROWS_RETENTION_HOURS="24",
        LEADIMPORT_EVENTS_RETENTION_HOURS="720",
    ).topics
    assert spec.configs(TOPIC_ROWS) == {
        "min.insync.replicas": "2",
        "retention.ms": str(24 * HOUR_MS),
        "segment.ms": str(24 * HOUR_MS),
    }
    for topic in (TOPIC_LEAD_EVENTS, TOPIC_JOB_EVENTS):
        assert spec.configs(topic) == {
            "min.insync.replicas": "2",
            "retention.ms": str(720 * HOUR_MS),
            "segment.ms": str(24 * HOUR_MS),  # a record outlives its retention by a day at most
        }
    assert spec.configs(TOPIC_JOBS) == {"min.insync.replicas": "2"}
    assert TopicSettings().configs(TOPIC_JOBS) == {}


def test_a_short_retention_has_segments_as_short() -> None:
    spec = parse(LEADIMPORT_ROWS_RETENTION_HOURS="2").topics
    assert spec.configs(TOPIC_ROWS) == {
        "retention.ms": str(2 * HOUR_MS),
        "segment.ms": str(2 * HOUR_MS),
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"KAFKA_SECURITY_PROTOCOL": "TLS"},
            "KAFKA_SECURITY_PROTOCOL must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL,"
            " got 'TLS'",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u"},
            "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_MECHANISM too (one of PLAIN,"
            " SCRAM-SHA-256, SCRAM-SHA-512)",
        ),
        (
            {
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_MECHANISM": "PLAIN",
                "KAFKA_SASL_USERNAME": "u",
            },
            "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            " too",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "GSSAPI"},
            "KAFKA_SASL_MECHANISM must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, got 'GSSAPI'",
        ),
        (
            {"KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"},
            "KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD set, but KAFKA_SECURITY_PROTOCOL is"
            " PLAINTEXT: set KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT) to log in, or"
            " unset them",
        ),
        (
            {"KAFKA_SSL_CAFILE": "/etc/ssl/ca.pem"},
            "KAFKA_SSL_CAFILE set, but KAFKA_SECURITY_PROTOCOL is PLAINTEXT: set"
            " KAFKA_SECURITY_PROTOCOL=SSL (or SASL_SSL) to use TLS, or unset it",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"},
            "KAFKA_SSL_CAFILE=/nonexistent/ca.pem: no readable file there (the PEM file of the"
            " CA that signed the brokers' certificates)",
        ),
        (
            {"LEADIMPORT_TOPIC_REPLICATION_FACTOR": "0"},
            "LEADIMPORT_TOPIC_REPLICATION_FACTOR must be a whole number from 1 to 32767, got '0'",
        ),
        (
            {"LEADIMPORT_TOPIC_REPLICATION_FACTOR": "three"},
            "LEADIMPORT_TOPIC_REPLICATION_FACTOR must be a whole number from 1 to 32767,"
            " got 'three'",
        ),
        (
            {"LEADIMPORT_TOPIC_MIN_INSYNC_REPLICAS": "2"},
            "LEADIMPORT_TOPIC_MIN_INSYNC_REPLICAS (2) must be at most"
            " LEADIMPORT_TOPIC_REPLICATION_FACTOR (1): with more in-sync replicas required than"
            " copies, every write would fail",
        ),
        (
            {"LEADIMPORT_ROWS_RETENTION_HOURS": "0"},
            "LEADIMPORT_ROWS_RETENTION_HOURS must be a whole number from 1 to 87600, got '0'",
        ),
        (
            {"LEADIMPORT_EVENTS_RETENTION_HOURS": "-1"},
            "LEADIMPORT_EVENTS_RETENTION_HOURS must be a whole number from 1 to 87600, got '-1'",
        ),
        (
            {"LEADIMPORT_EVENTS_RETENTION_HOURS": "87601"},
            "LEADIMPORT_EVENTS_RETENTION_HOURS must be a whole number from 1 to 87600, got '87601'",
        ),
    ],
)
def test_bad_values_stop_with_a_message(env: dict[str, str], message: str) -> None:
    assert refused(**env) == message
