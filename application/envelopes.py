"""The records the relay publishes: a stored event's JSON envelope with its CloudEvents headers
(``envelope``), the tombstone after an erasure (``tombstone``), and the envelope ids that stay
the same at every republication (``event_id``). docs/events.md describes the envelope."""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha1
from typing import Any
from urllib.parse import quote
from uuid import UUID

import orjson

from adapters.kafka import TOPIC_JOB_EVENTS, TOPIC_LEAD_EVENTS
from domain.import_job import ImportJob, public_job_id
from domain.lead import Lead

SCHEMA_VERSION = 1  # of an event type's ``data``, unless the event class declares class_version
# Fixed forever: event ids are uuid5(EVENT_ID_NAMESPACE, "<aggregate id>:<version>").
EVENT_ID_NAMESPACE = UUID("6f3a1c52-5e0b-4d7e-9a43-2b1f0c8e7d15")
_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes
JOB_LIFECYCLE = frozenset({"JobCompleted", "JobFailed", "JobCancelled", "JobUndone"})
# Keys of an event's state that the envelope carries itself (or that are library bookkeeping).
ENVELOPE_KEYS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "ou", "job_id", "row"}
)


def event_id(originator_id: UUID, version: int) -> str:
    """The envelope ``id`` of a stored event: the same for every (re)publication of it.

    ``str(uuid5(EVENT_ID_NAMESPACE, f"{originator_id}:{version}"))``, computed the way
    ``uuid5`` does (SHA-1 of namespace and name, version and variant bits set) without building
    two UUID objects per event.
    """
    name = f"{originator_id}:{version}".encode()
    digest = bytearray(sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# CloudEvents (Kafka protocol binding, binary content mode): the event's attributes travel as
# these headers, the record's value is the envelope itself as the event's data (docs/events.md).
CE_SPECVERSION = b"1.0"
CE_SOURCE = "/leadimport"  # then "/ou/<OU, percent-encoded>" when the event's OU is known
CE_TYPE_PREFIX = {
    TOPIC_LEAD_EVENTS: "com.leadimport.lead.",
    TOPIC_JOB_EVENTS: "com.leadimport.job.",
}
CONTENT_TYPE = b"application/json"


@dataclass(frozen=True)
class Outgoing:
    """One record to publish."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Tombstone:
    """A record without value (``tombstone``)."""

    topic: str
    key: bytes
    value: None = None
    headers: tuple[tuple[str, bytes], ...] = ()


def cloudevents_headers(
    topic: str, event_id: str, name: str, ou: str | None, subject: str, time: bytes
) -> tuple[tuple[str, bytes], ...]:
    """The CloudEvents binary-mode headers of an envelope: fixed names, values from the event
    (the OU is percent-encoded into ``ce_source``, so any OU makes a valid URI reference)."""
    source = CE_SOURCE if ou is None else f"{CE_SOURCE}/ou/{quote(ou, safe='')}"
    return (
        ("ce_specversion", CE_SPECVERSION),
        ("ce_id", event_id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", (CE_TYPE_PREFIX[topic] + name).encode()),
        ("ce_time", time),
        ("ce_subject", subject.encode()),
        ("content-type", CONTENT_TYPE),
    )


def envelope(event: Any, ou: str | None) -> Outgoing | None:
    """The record for a decoded stored event, or None for events that are not published (the
    other ImportJob events, such as ``JobQueued`` or ``JobStarted``: the job's inner progress)."""
    cls = type(event)
    name = cls.__name__
    if isinstance(event, Lead.Event):
        topic, key = TOPIC_LEAD_EVENTS, str(event.originator_id)
        lead_id: str | None = key
        job_id: str | None = getattr(event, "job_id", None)
    elif isinstance(event, ImportJob.Event) and name in JOB_LIFECYCLE:
        topic, key = TOPIC_JOB_EVENTS, public_job_id(event.originator_id)
        lead_id, job_id = None, key
    else:
        return None
    state = vars(event)
    the_id = event_id(event.originator_id, event.originator_version)
    body = {
        "id": the_id,
        "type": name,
        "schema_version": getattr(cls, "class_version", None) or SCHEMA_VERSION,
        "ou": ou,
        "lead_id": lead_id,
        "occurred_at": event.timestamp,
        "job_id": job_id,
        "row": state.get("row"),
        "data": {k: v for k, v in state.items() if k not in ENVELOPE_KEYS},
    }
    time = orjson.dumps(event.timestamp, option=orjson.OPT_UTC_Z)[1:-1]  # as in the envelope
    headers = cloudevents_headers(topic, the_id, name, ou, key, time)
    return Outgoing(topic, key.encode(), orjson.dumps(body, option=orjson.OPT_UTC_Z), headers)


def tombstone(event: Any) -> Tombstone:
    """What follows a ``LeadErased`` envelope on ``leads.events``: the lead id as key and no
    value, so a compacted topic drops the lead's earlier records (the key's last record wins)
    and subscribers know to delete what they keep of the lead (docs/events.md, "Erasure")."""
    return Tombstone(TOPIC_LEAD_EVENTS, str(event.originator_id).encode())
