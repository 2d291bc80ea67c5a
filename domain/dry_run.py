"""A dry run's simulated leads: what a job would make of a lead, without changing any lead.

A dry-run job decides every row as a real one does (``domain.merge``), but it writes no lead
event, claims no identifier and leaves the read model alone. What its rows would have done lives
in the job's own tables instead (``dry_run_leads``: a ``SimulatedLead`` per lead it would create
or change; ``dry_run_claims``: the identifiers it would claim), written in each batch's
transaction with the row outcomes, so that its later rows, in any batch and any lead worker, see
the effects of its earlier rows as they would in a real run.

A lead the dry run would create has no real id: it gets a made-up one, stable for its job and
row (``made_up_lead_id``), used only inside the simulation; row outcomes name no lead for it
(``public_id`` is None).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.merge import LeadState, RowDecision
from domain.rows import Identifier

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:leadimport:dry-run")


def made_up_lead_id(job_id: str, row: int) -> UUID:
    """The id, inside the simulation, of the lead row ``row`` of dry run ``job_id`` would create:
    the same at every re-plan of the row (a name-based UUID, never a real lead's time-based one)."""
    return uuid5(_NAMESPACE, f"{job_id}:{row}")


@dataclass
class SimulatedLead:
    """The state a dry run gives one lead: a real lead as the job's rows would change it, or one
    its rows would create (``made_up``).

    ``version``: the version stored in ``dry_run_leads`` when it was read (0: not stored yet); a
    write expects it unchanged, so two workers simulating one lead at once conflict, as two
    writers of a real lead's events do. ``changed``: this batch changed it (to be written)."""

    lead_id: UUID
    made_up: bool
    identifiers: dict[str, list[str]]
    fields: dict[str, str]
    version: int = 0
    changed: bool = False

    @classmethod
    def of(
        cls, lead_id: UUID, identifiers: dict[str, list[str]], fields: dict[str, str]
    ) -> SimulatedLead:
        """A real lead's state, copied (the lead itself is never touched)."""
        return cls(lead_id, False, {k: list(v) for k, v in identifiers.items()}, dict(fields))

    @classmethod
    def created(
        cls, job_id: str, row: int, primary: Identifier, decision: RowDecision
    ) -> SimulatedLead:
        """The lead a row would create: as ``Lead.create`` builds it (primary, then aliases)."""
        lead = cls(made_up_lead_id(job_id, row), True, {}, dict(decision.fields), changed=True)
        for identifier in (primary, *decision.aliases):
            lead._add(identifier)
        return lead

    @property
    def public_id(self) -> UUID | None:
        """The lead id a row outcome names: the real lead's, none for a made-up one."""
        return None if self.made_up else self.lead_id

    def state(self) -> LeadState:
        return LeadState(self.lead_id, self.identifiers, self.fields)

    def apply(self, decision: RowDecision) -> None:
        """What an update row does to the lead (``Lead.update_profile`` and ``add_alias``)."""
        if decision.fields:
            self.fields.update(decision.fields)
            self.changed = True
        for alias in decision.aliases:
            self._add(alias)
            self.changed = True

    def _add(self, identifier: Identifier) -> None:
        values = self.identifiers.setdefault(identifier.kind, [])
        if identifier.value not in values:
            values.append(identifier.value)
