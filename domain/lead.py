"""The Lead aggregate: a person identified by one or more identifiers, with a profile.

Every event carries its provenance (job id and spreadsheet row) so an audit can say which file
row changed what.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event


class Lead(Aggregate):
    """A lead of one OU. Identifiers are only ever added; profile fields only ever overwritten
    by non-empty values."""

    class LeadCreated(Aggregate.Created):
        ou: str
        primary: dict[str, str]
        fields: dict[str, str]
        aliases: list[dict[str, str]]
        job_id: str
        row: int

    class LeadProfileUpdated(Aggregate.Event):
        changed: dict[str, str]
        job_id: str
        row: int

    class LeadAliasAdded(Aggregate.Event):
        alias: dict[str, str]
        job_id: str
        row: int

    @event(LeadCreated)
    def __init__(
        self,
        ou: str,
        primary: dict[str, str],
        fields: dict[str, str],
        aliases: list[dict[str, str]],
        job_id: str,
        row: int,
    ) -> None:
        self.ou = ou
        self.identifiers: dict[str, list[str]] = {}
        self.fields: dict[str, str] = dict(fields)
        self._add(primary)
        for alias in aliases:
            self._add(alias)

    @event(LeadProfileUpdated)
    def update_profile(self, changed: dict[str, str], job_id: str, row: int) -> None:
        self.fields.update(changed)

    @event(LeadAliasAdded)
    def add_alias(self, alias: dict[str, str], job_id: str, row: int) -> None:
        self._add(alias)

    def _add(self, identifier: dict[str, str]) -> None:
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
