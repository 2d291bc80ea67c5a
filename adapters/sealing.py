"""The event store's mapper with crypto-shredding: personal data is stored sealed (AES-256-GCM)
with a key that erasing the person destroys (adapters/keys.py).

What is sealed, and with which key:

* Lead events: the fields ``domain.lead.PERSONAL_FIELDS`` names (identifiers, profile values,
  the old values of a revert), with the lead's key; a snapshot of a lead: its identifiers and
  fields, with the lead's key.
* ``RowsApplied`` (the row ledger): the value of each failed row and of each warning, with a key
  of its own (``value_keys``, ``seq`` -1 for a failed row's value).
* ``JobUndone``: the alias value and reason of each "alias kept" entry of the report, with the
  key of the entry's lead.

Everything else stays readable JSON (types, ids, versions, OU, job ids, rows, times, error
messages). A sealed part is ``"_sealed_": base64(nonce ‖ ciphertext ‖ tag)`` in place of the
fields it holds: a fresh 96-bit nonce each time, and associated data naming where it belongs
(the aggregate id and version, or job, row and seq), so a ciphertext moved elsewhere does not
open. Events stored before sealing existed (no ``_sealed_``) read as they are.

When the key is gone, the event reads back with its personal fields empty (the blanks of
``PERSONAL_FIELDS``) and ``erased`` set; a ledger value reads back as ``""``; an undo report
entry is redacted (``domain.undo.redact_entry``). Every Lead event of a lead without a key is
marked ``erased``, so an audit can say so.
"""

from __future__ import annotations

import base64
import copy
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from adapters.keys import LeadKeyMissing, ValueKeyId, new_key
from domain.import_job import ImportJob
from domain.lead import PERSONAL_FIELDS, PERSONAL_STATE, Lead
from domain.row_ledger import RowBatch
from domain.undo import redact_entry

SEALED = "_sealed_"
NONCE_BYTES = 12
ERASED = "erased"  # set on a Lead event read back without its lead's key

LEAD_CREATED = get_topic(Lead.LeadCreated)
LEAD_ERASED = get_topic(Lead.LeadErased)
LEAD_TOPIC = get_topic(Lead)
SNAPSHOT_TOPIC = get_topic(Snapshot)
ROWS_APPLIED = get_topic(RowBatch.RowsApplied)
JOB_UNDONE = get_topic(ImportJob.JobUndone)
PERSONAL_BY_TOPIC = {get_topic(cls): blanks for cls, blanks in PERSONAL_FIELDS.items()}
LEAD_EVENT_TOPICS = frozenset(
    get_topic(cls)
    for cls in vars(Lead).values()
    if isinstance(cls, type) and issubclass(cls, Lead.Event)
)


class KeySource(Protocol):
    """Where the mapper gets keys (``LeadImportStore``)."""

    def lead_keys(self, ids: set[UUID], *, cached: bool) -> dict[UUID, bytes]: ...

    def value_keys(self, ids: set[ValueKeyId]) -> dict[ValueKeyId, bytes]: ...


@dataclass(frozen=True)
class SealedStoredEvent(StoredEvent):
    """A stored event with the keys its transaction must store, or find still there."""

    new_lead_keys: tuple[tuple[UUID, bytes], ...] = ()
    new_value_keys: tuple[tuple[ValueKeyId, bytes], ...] = ()
    # Leads whose keys sealed part of it: the insert fails if one was erased meanwhile.
    requires_keys: tuple[UUID, ...] = ()


def seal(key: bytes, plain: bytes, associated: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plain, associated)).decode()


def unseal(key: bytes, sealed: str, associated: bytes) -> bytes:
    data = base64.b64decode(sealed)
    return AESGCM(key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], associated)


def _event_ad(originator_id: UUID, version: int, snapshot: bool = False) -> bytes:
    return originator_id.bytes + version.to_bytes(8, "big") + (b"snapshot" if snapshot else b"")


def _value_ad(value_id: ValueKeyId) -> bytes:
    return f"{value_id[0]}\x1f{value_id[1]}\x1f{value_id[2]}".encode()


def _undo_ad(job_aggregate: UUID, lead_id: str) -> bytes:
    return b"undo" + job_aggregate.bytes + lead_id.encode()


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _is_sealed(value: Any) -> bool:
    return type(value) is dict and len(value) == 1 and SEALED in value


class SealingMapper(Mapper[UUID]):
    """``Mapper`` that seals personal data on the way in and opens it on the way out."""

    source: KeySource  # set by LeadImportStore once its recorder exists

    # --- writing -------------------------------------------------------------------------------

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        return self.seal_events([domain_event])[0]

    def seal_events(
        self,
        events: Sequence[Any],
        *,
        cached: bool = True,
        ring: dict[UUID, bytes] | None = None,
    ) -> list[StoredEvent]:
        """The stored form of ``events``: the keys of the leads they need are read at once
        (from the cache first when ``cached``); new leads get new keys. ``ring``: keys known
        already (those of an earlier call for the same transaction); the keys read and made
        here are added to it."""
        wanted: set[UUID] = set()
        created: set[UUID] = set()  # new leads: they get new keys
        for e in events:
            topic = get_topic(type(e))
            if topic in PERSONAL_BY_TOPIC:
                (created if topic == LEAD_CREATED else wanted).add(e.originator_id)
            elif topic == SNAPSHOT_TOPIC and e.topic == LEAD_TOPIC:
                wanted.add(e.originator_id)
            elif topic == JOB_UNDONE:
                wanted.update(_undo_leads(e.report))
        ring = {} if ring is None else ring
        wanted -= created | ring.keys()
        if wanted:
            ring.update(self.source.lead_keys(wanted, cached=cached))
        return [self._seal_one(e, ring) for e in events]

    def _seal_one(self, event: Any, ring: dict[UUID, bytes]) -> StoredEvent:
        """``event`` stored; a new lead's key goes into ``ring`` (its next events need it)."""
        topic = get_topic(type(event))
        state = dict(vars(event))
        state.pop(ERASED, None)
        originator_id: UUID = state.pop("originator_id")
        version: int = state.pop("originator_version")
        class_version = getattr(type(event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        extra: dict[str, Any] = {}
        blanks = PERSONAL_BY_TOPIC.get(topic)
        if blanks is not None:
            if topic == LEAD_CREATED:
                key = ring[originator_id] = new_key()
                extra["new_lead_keys"] = ((originator_id, key),)
            elif (found := ring.get(originator_id)) is not None:
                key = found
            else:
                raise LeadKeyMissing(f"lead {originator_id} has no key: it was erased")
            personal = {name: state.pop(name) for name in blanks if name in state}
            state[SEALED] = seal(key, orjson.dumps(personal), _event_ad(originator_id, version))
        elif topic == SNAPSHOT_TOPIC and state.get("topic") == LEAD_TOPIC:
            key = ring.get(originator_id)  # type: ignore[assignment]
            if key is None:
                raise LeadKeyMissing(f"lead {originator_id} has no key: it was erased")
            inner = dict(state["state"])
            personal = {name: inner.pop(name) for name in PERSONAL_STATE if name in inner}
            inner[SEALED] = seal(
                key, orjson.dumps(personal), _event_ad(originator_id, version, True)
            )
            state["state"] = inner
        elif topic == ROWS_APPLIED:
            extra["new_value_keys"] = _seal_ledger(state)
        elif topic == JOB_UNDONE:
            state["report"], extra["requires_keys"] = _seal_report(
                state["report"], originator_id, ring
            )
        stored_state = self.transcoder.encode(state)
        if extra:
            return SealedStoredEvent(originator_id, version, topic, stored_state, **extra)
        return StoredEvent(originator_id, version, topic, stored_state)

    # --- reading -------------------------------------------------------------------------------

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.decoder([stored_event])(stored_event)

    def decoder(
        self, stored: Iterable[StoredEvent], *, cached: bool = False
    ) -> Callable[[StoredEvent], Any]:
        """A function that reads each of ``stored`` (and any other stored event) into its
        domain event. The keys all of them need are read at once, here: from the cache first
        when ``cached`` (a lead worker's own leads), else fresh from the database. A state that
        cannot be read raises when that event is read, not here."""
        parsed: dict[int, Any] = {}
        leads: set[UUID] = set()
        values: set[ValueKeyId] = set()
        for s in stored:
            try:
                state = self.transcoder.decode(s.state)
            except Exception as e:  # raised when this one is read
                parsed[id(s)] = e
                continue
            parsed[id(s)] = state
            _needs(s, state, leads, values)
        ring = self.source.lead_keys(leads, cached=cached) if leads else {}
        value_ring = self.source.value_keys(values) if values else {}

        def decode(s: StoredEvent) -> Any:
            state = parsed.pop(id(s), None)
            if state is None:  # not one of those given: on its own
                return self.decoder([s], cached=cached)(s)
            if isinstance(state, Exception):
                raise _unreadable(s, state) from state
            try:
                _open(s, state, ring, value_ring)
            except (InvalidTag, ValueError, KeyError, TypeError) as e:
                raise _unreadable(s, e) from e
            return self._domain_event(s, state)

        return decode

    def _domain_event(self, stored: StoredEvent, state: dict[str, Any]) -> Any:
        """What the library's ``to_domain_event`` does once the state is decoded."""
        cls = resolve_topic(stored.topic)
        state["originator_id"] = stored.originator_id
        state["originator_version"] = stored.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event


def _unreadable(stored: StoredEvent, error: Exception) -> MapperDeserialisationError:
    return MapperDeserialisationError(
        f"Failed to deserialise state of stored event with topic '{stored.topic}', originator_id"
        f" '{stored.originator_id}' and originator_version {stored.originator_version}: {error!r}"
    )


def _needs(s: StoredEvent, state: Any, leads: set[UUID], values: set[ValueKeyId]) -> None:
    """The keys reading ``s`` takes."""
    topic = s.topic
    if topic in LEAD_EVENT_TOPICS or (
        topic == SNAPSHOT_TOPIC and type(state) is dict and state.get("topic") == LEAD_TOPIC
    ):
        leads.add(_uuid(s.originator_id))
    elif topic == ROWS_APPLIED and type(state) is dict:
        job_id: str = state["job_id"]
        for outcome in state.get("outcomes", ()):
            if _is_sealed(outcome[4]):
                values.add((job_id, outcome[0], -1))
        for warning in state.get("warnings", ()):
            if _is_sealed(warning[3]):
                values.add((job_id, warning[0], warning[1]))
    elif topic == JOB_UNDONE and type(state) is dict:
        leads.update(_undo_leads(state.get("report") or {}, sealed_only=True))


def _open(
    s: StoredEvent,
    state: dict[str, Any],
    ring: Mapping[UUID, bytes],
    value_ring: Mapping[ValueKeyId, bytes],
) -> None:
    """Open the sealed parts of ``state`` in place (or blank them: their key is gone)."""
    topic = s.topic
    if topic in LEAD_EVENT_TOPICS:
        lead_id = _uuid(s.originator_id)
        key = ring.get(lead_id)
        sealed = state.pop(SEALED, None)
        if key is None:
            for name, blank in PERSONAL_BY_TOPIC.get(topic, {}).items():
                state[name] = copy.copy(blank)
            state[ERASED] = True
        elif sealed is not None:
            ad = _event_ad(lead_id, s.originator_version)
            state.update(orjson.loads(unseal(key, sealed, ad)))
    elif topic == SNAPSHOT_TOPIC and state.get("topic") == LEAD_TOPIC:
        lead_id = _uuid(s.originator_id)
        inner = state["state"]
        sealed = inner.pop(SEALED, None)
        key = ring.get(lead_id)
        if key is None:
            inner.update({name: copy.copy(blank) for name, blank in PERSONAL_STATE.items()})
        elif sealed is not None:
            ad = _event_ad(lead_id, s.originator_version, True)
            inner.update(orjson.loads(unseal(key, sealed, ad)))
    elif topic == ROWS_APPLIED:
        job_id = state["job_id"]
        for outcome in state["outcomes"]:
            if _is_sealed(outcome[4]):
                outcome[4] = _open_value(outcome[4], (job_id, outcome[0], -1), value_ring)
        for warning in state["warnings"]:
            if _is_sealed(warning[3]):
                warning[3] = _open_value(warning[3], (job_id, warning[0], warning[1]), value_ring)
    elif topic == JOB_UNDONE:
        job_aggregate = _uuid(s.originator_id)
        report = state["report"]
        report["not_undone"] = [
            _open_entry(entry, job_aggregate, ring) for entry in report.get("not_undone", ())
        ]


# --- the row ledger ------------------------------------------------------------------------------


def _seal_ledger(state: dict[str, Any]) -> tuple[tuple[ValueKeyId, bytes], ...]:
    """Seal the values of ``state`` (a ``RowsApplied``) in new lists; the keys it took."""
    job_id: str = state["job_id"]
    keys: list[tuple[ValueKeyId, bytes]] = []

    def sealed(value_id: ValueKeyId, value: str) -> dict[str, str]:
        key = new_key()
        keys.append((value_id, key))
        return {SEALED: seal(key, value.encode(), _value_ad(value_id))}

    outcomes = []
    for outcome in state["outcomes"]:
        value = outcome[4]
        if isinstance(value, str) and value:
            outcome = [*outcome[:4], sealed((job_id, outcome[0], -1), value)]
        outcomes.append(outcome)
    warnings = []
    for warning in state["warnings"]:
        value = warning[3]
        if isinstance(value, str) and value:
            warning = [*warning[:3], sealed((job_id, warning[0], warning[1]), value)]
        warnings.append(warning)
    state["outcomes"], state["warnings"] = outcomes, warnings
    return tuple(keys)


def _open_value(
    value: dict[str, str], value_id: ValueKeyId, value_ring: Mapping[ValueKeyId, bytes]
) -> str:
    key = value_ring.get(value_id)
    if key is None:
        return ""  # erased
    return unseal(key, value[SEALED], _value_ad(value_id)).decode()


# --- undo reports --------------------------------------------------------------------------------


def _undo_leads(report: Mapping[str, Any], *, sealed_only: bool = False) -> set[UUID]:
    """The leads of the report's entries that hold personal data (alias entries; with
    ``sealed_only``, those stored sealed)."""
    marker = SEALED if sealed_only else "alias"
    return {UUID(e["lead_id"]) for e in report.get("not_undone", ()) if marker in e}


def _seal_report(
    report: dict[str, Any], job_aggregate: UUID, ring: Mapping[UUID, bytes]
) -> tuple[dict[str, Any], tuple[UUID, ...]]:
    """The report with each alias entry's value and reason sealed with its lead's key, and the
    leads whose keys were used. A lead without a key was erased after the undo decided about
    it: ``LeadKeyMissing`` (the undo decides again, and leaves it out)."""
    entries = []
    used: set[UUID] = set()
    for entry in report.get("not_undone", ()):
        if "alias" not in entry:
            entries.append(entry)
            continue
        lead_id = UUID(entry["lead_id"])
        key = ring.get(lead_id)
        if key is None:
            raise LeadKeyMissing(f"lead {lead_id} of the undo report was erased meanwhile")
        used.add(lead_id)
        secret = {"alias": entry["alias"], "reason": entry["reason"]}
        kept = {k: v for k, v in entry.items() if k not in secret}
        kept["alias"] = {"kind": entry["alias"]["kind"]}
        kept[SEALED] = seal(key, orjson.dumps(secret), _undo_ad(job_aggregate, entry["lead_id"]))
        entries.append(kept)
    return {**report, "not_undone": entries}, tuple(sorted(used))


def _open_entry(
    entry: dict[str, Any], job_aggregate: UUID, ring: Mapping[UUID, bytes]
) -> dict[str, Any]:
    if SEALED not in entry:
        return entry
    sealed = entry.pop(SEALED)
    key = ring.get(UUID(entry["lead_id"]))
    if key is None:
        return redact_entry(entry)
    entry.update(orjson.loads(unseal(key, sealed, _undo_ad(job_aggregate, entry["lead_id"]))))
    return entry
