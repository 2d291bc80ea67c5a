"""The Lead aggregate: a person identified by one or more identifiers, with a profile.

Every event carries its provenance (job id and spreadsheet row) so an audit can say which file
row changed what; the compensating events of an undo carry the undone job's id instead.
"""

from __future__ import annotations

import os
import time
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic


def new_lead_id() -> UUID:
    """A UUID version 7 (RFC 9562): 48 bits of Unix time in milliseconds, then random bits.

    Lead ids are keys of several indexes (event store, read model, identifier index). Random
    (version 4) ids put every new lead on a random page of each, so with a million leads stored
    an import touched, and wrote out in full after each checkpoint, most of their pages;
    time-ordered ids append near the right edge. The creation time they reveal is public anyway
    (``created_at``).
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10))  # 80 random bits: 12 for rand_a, 62 for rand_b
    value = (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76  # version 7
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62  # RFC 9562 variant
        | rand & 0x3FFF_FFFF_FFFF_FFFF
    )
    return UUID(int=value)


class Lead(Aggregate):
    """A lead of one OU. Imports only add identifiers and only overwrite profile fields with
    non-empty values; only the undo of an import takes its changes back."""

    @staticmethod
    def create_id(*_: Any, **__: Any) -> UUID:
        return new_lead_id()

    class LeadCreated(Aggregate.Created):
        """Version 2 added ``source``: how the lead came in (``"csv"``: a row of an import
        file, which every version 1 event was; see ``upcast_v1_v2``)."""

        class_version = 2

        ou: str
        primary: dict[str, str]
        fields: dict[str, str]
        aliases: list[dict[str, str]]
        job_id: str
        row: int
        source: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["source"] = "csv"

    class LeadProfileUpdated(Aggregate.Event):
        changed: dict[str, str]
        job_id: str
        row: int

    class LeadAliasAdded(Aggregate.Event):
        alias: dict[str, str]
        job_id: str
        row: int

    # Compensating events, appended by the undo of a whole import (domain/undo.py). They never
    # erase history: ``job_id`` is the job being undone and ``undo`` is always True, so an audit
    # and the relay's envelope show which import was taken back. They carry no row: they stand
    # for the job as a whole.

    class LeadProfileReverted(Aggregate.Event):
        """Profile fields went back to their values before ``job_id``.

        Read models: each ``fields[name]`` is set to its value, or removed when the value is
        None (the field did not exist before the job). Identifiers do not change.
        """

        fields: dict[str, str | None]
        job_id: str
        undo: bool

    class LeadAliasRemoved(Aggregate.Event):
        """An alias that ``job_id`` had added was taken off the lead.

        Read models: ``alias`` leaves the lead's identifiers (a kind with no value left
        disappears) and its ``lead_identifiers`` row is deleted: the identifier is free again.
        """

        alias: dict[str, str]
        job_id: str
        undo: bool

    class LeadDeleted(Aggregate.Event):
        """The lead, created by ``job_id``, was removed by the undo of that job.

        Read models: the lead has no ``leads_view`` row any more and every ``lead_identifiers``
        row of it is deleted (its identifiers are released: a new import creates a new lead).
        The aggregate keeps its history; nothing writes to it again.
        """

        job_id: str
        undo: bool

    class LeadErased(Aggregate.Event):
        """The person asked to be erased (GDPR Art. 17, CCPA): the key their personal data was
        sealed with is destroyed in the same transaction (application/erasure.py).

        It carries no personal data: ``reason`` (one of ``ERASURE_REASONS``) and the id of the
        erasure request (who asked and when is in the erasure log). Read models: as
        ``LeadDeleted`` (no ``leads_view`` row, identifiers released). The lead's earlier events
        read back with their personal fields empty (``PERSONAL_FIELDS``); nothing writes to the
        lead again.
        """

        reason: str
        erasure_id: str

    @event(LeadCreated)
    def __init__(
        self,
        ou: str,
        primary: dict[str, str],
        fields: dict[str, str],
        aliases: list[dict[str, str]],
        job_id: str,
        row: int,
        source: str = "csv",
    ) -> None:
        self.ou = ou
        self.source = source
        self.identifiers: dict[str, list[str]] = {}
        self.fields: dict[str, str] = dict(fields)
        self.deleted = False
        self.erased = False
        self._add(primary)
        for alias in aliases:
            self._add(alias)

    @classmethod
    def create(
        cls,
        ou: str,
        primary: dict[str, str],
        fields: dict[str, str],
        aliases: list[dict[str, str]],
        job_id: str,
        row: int,
        source: str = "csv",
    ) -> Lead:
        """``Lead(...)`` for the hot path of an import: the same ``LeadCreated`` event, applied
        by the library's own ``mutate``, without the call machinery's argument coercion and
        checks, which cost more than the event itself (docs/development.md, "Measured")."""
        # The event classes are dataclasses made by the library's metaclass, which mypy does
        # not see through: their fields are not known to it as constructor arguments.
        created_class: Any = cls.LeadCreated
        created = created_class(
            originator_topic=_LEAD_TOPIC,
            originator_id=new_lead_id(),
            originator_version=cls.INITIAL_VERSION,
            timestamp=cls.LeadCreated.create_timestamp(),
            ou=ou,
            primary=primary,
            fields=fields,
            aliases=aliases,
            job_id=job_id,
            row=row,
            source=source,
        )
        lead = created.mutate(None)
        assert isinstance(lead, Lead)
        lead.pending_events.append(created)
        return lead

    @event(LeadProfileUpdated)
    def update_profile(self, changed: dict[str, str], job_id: str, row: int) -> None:
        self.fields.update(changed)

    @event(LeadAliasAdded)
    def add_alias(self, alias: dict[str, str], job_id: str, row: int) -> None:
        self._add(alias)

    def revert_profile(self, fields: dict[str, str | None], undo_of_job: str) -> None:
        """Put ``fields`` back as they were before ``undo_of_job`` (None: remove the field)."""
        self._reverted(fields=fields, job_id=undo_of_job, undo=True)

    @event(LeadProfileReverted)
    def _reverted(self, fields: dict[str, str | None], job_id: str, undo: bool) -> None:
        for name, value in fields.items():
            if value is None:
                self.fields.pop(name, None)
            else:
                self.fields[name] = value

    def remove_alias(self, alias: dict[str, str], undo_of_job: str) -> None:
        """Take off an alias ``undo_of_job`` added."""
        self._alias_removed(alias=alias, job_id=undo_of_job, undo=True)

    @event(LeadAliasRemoved)
    def _alias_removed(self, alias: dict[str, str], job_id: str, undo: bool) -> None:
        if "value" not in alias:
            return  # read back after an erasure: nothing left of it
        values = self.identifiers.get(alias["kind"], [])
        if alias["value"] in values:
            values.remove(alias["value"])
        if not values:
            self.identifiers.pop(alias["kind"], None)

    def delete(self, undo_of_job: str) -> None:
        """Remove the lead ``undo_of_job`` created."""
        self._deleted(job_id=undo_of_job, undo=True)

    @event(LeadDeleted)
    def _deleted(self, job_id: str, undo: bool) -> None:
        self.deleted = True
        self.identifiers = {}

    def erase(self, reason: str, erasure_id: str) -> None:
        """Erase the person: the lead drops every value it holds and counts as deleted."""
        if reason not in ERASURE_REASONS:
            raise ValueError(f"unknown erasure reason {reason!r}")
        self._erased(reason=reason, erasure_id=erasure_id)

    @event(LeadErased)
    def _erased(self, reason: str, erasure_id: str) -> None:
        self.deleted = True
        self.erased = True
        self.identifiers = {}
        self.fields = {}

    def _add(self, identifier: dict[str, str]) -> None:
        if "value" not in identifier:
            return  # an identifier of an event read back after an erasure: nothing left of it
        values = self.identifiers.setdefault(identifier["kind"], [])
        if identifier["value"] not in values:
            values.append(identifier["value"])

    def has_identifier(self, kind: str, value: str) -> bool:
        return value in self.identifiers.get(kind, ())

    def snapshot_view(self) -> dict[str, Any]:
        """The read shape of a lead (GET /leads/{lead_id}) without the timestamps."""
        return {
            "lead_id": str(self.id),
            "identifiers": {k: list(v) for k, v in self.identifiers.items()},
            "fields": dict(self.fields),
        }


_LEAD_TOPIC = get_topic(Lead)

# Why a lead was erased (``LeadErased.reason``): codes, never free text.
ERASURE_REASONS = ("data_subject_request", "consent_withdrawn", "legal_obligation", "other")

# The personal data of each Lead event: what the event store keeps sealed with the lead's own
# key (adapters/sealing.py), and what reads back as the empty value here once the key is gone.
# Everything else (type, ids, version, time, OU, job, row, source, undo flags) stays readable.
PERSONAL_FIELDS: dict[type, dict[str, Any]] = {
    Lead.LeadCreated: {"primary": {}, "fields": {}, "aliases": []},
    Lead.LeadProfileUpdated: {"changed": {}},
    Lead.LeadAliasAdded: {"alias": {}},
    Lead.LeadProfileReverted: {"fields": {}},
    Lead.LeadAliasRemoved: {"alias": {}},
}
# ... and of a snapshot of a lead (its ``state``).
PERSONAL_STATE: dict[str, Any] = {"identifiers": {}, "fields": {}}
