"""The undo of a whole import, as pure functions: given one lead's events and the job being
undone, which compensating events to append and what cannot be undone (and why).

The rules (also in docs/api.md, "Undo an import"). ``J`` is the job being undone; a *later
change* is an event on the lead after J's event in question that

- comes from another job (J's own later rows are undone together with the first one),
- is not itself a compensation (an undo only restores earlier state), and
- does not come from a job whose undo already compensated this lead: that job's changes were
  taken back, or kept because of a change after them, which is then a later change itself.

1. A lead J created is deleted (``LeadDeleted``: no read model row, identifiers released) when
   it has no later change. Otherwise it is kept exactly as it is: another import matched it and
   built on it, and the report names the first later change.
2. A profile field J changed on a lead it did not create goes back to its value just before J's
   first change of it (``LeadProfileReverted``; None removes the field), unless a later change
   set that field again: then the later value stays and the report names it.
3. An alias J added (``LeadAliasAdded``) is removed (``LeadAliasRemoved``, identifier released)
   unless it may have been *used later*: a later change came from a job whose file maps
   identifiers of the alias's kind (as its primary identifier or an alias column). Lead events
   record what a row changed, not which identifiers it carried, so any row of such a job may
   have reached the lead through that alias (or stated it again); the alias is kept rather than
   taking away an identifier a later import relied on.
4. Rows of J that changed nothing left no event and need nothing undone.
5. A lead that was erased (``LeadErased``) is left alone: nothing of it is left to undo, and
   the report counts it (``leads_erased``) and lists its id (``erased_lead_ids``).

Idempotence: the compensations of one lead are appended in one transaction. A lead that already
carries a compensation of J was handled by an earlier run (a redelivered undo request after a
crash): its decision is recomputed from the events before that compensation, marked
``already_applied`` (nothing is appended again), and reported as it was the first time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from domain.import_job import ImportJob
from domain.lead import Lead

COMPENSATIONS = (Lead.LeadProfileReverted, Lead.LeadAliasRemoved, Lead.LeadDeleted)
# Entries of "not undone" kept in the job's report; the total is always counted. A report is
# stored in one event, which must stay small whatever the size of the import.
MAX_LISTED = 1000
# What an entry of a report says about a lead erased after the report was made.
ERASED_REASON = "The lead was erased since: what this entry said about it is gone."

What = Literal["lead", "field", "alias"]


@dataclass(frozen=True)
class NotUndone:
    """A change of the job that stays, because of a later change of another job."""

    what: What
    later_job_id: str
    later_row: int
    reason: str
    field: str | None = None
    alias: Mapping[str, str] | None = None


@dataclass
class LeadUndo:
    """What undoing one job does to one lead."""

    lead_id: UUID
    delete: bool = False
    revert: dict[str, str | None] = field(default_factory=dict)  # field -> old value (None: remove)
    remove_aliases: list[dict[str, str]] = field(default_factory=list)
    not_undone: list[NotUndone] = field(default_factory=list)
    already_applied: bool = False  # an earlier run appended these compensations
    erased: bool = False  # the lead was erased: nothing of it is undone

    @property
    def compensates(self) -> bool:
        """Whether there are events to append (unless ``already_applied``)."""
        return self.delete or bool(self.revert) or bool(self.remove_aliases)


def identifier_kinds(job: ImportJob) -> frozenset[str]:
    """Identifier kinds a job's rows can carry: its primary kind and its alias kinds."""
    return frozenset({job.primary_identifier["kind"], *job.alias_mappings_kinds().values()})


def job_ids(events: Sequence[Any]) -> set[str]:
    """The jobs whose events are in ``events`` (to look up their identifier kinds); a
    ``LeadErased`` comes from no job."""
    return {_job(e) for e in events if not isinstance(e, Lead.LeadErased)}


def _job(event: Any) -> str:
    job_id: str = event.job_id
    return job_id


def is_compensation(event: Any) -> bool:
    return isinstance(event, COMPENSATIONS)


def _apply_fields(fields: dict[str, str], event: Any) -> None:
    """The profile after ``event`` (the same as Lead's mutators, for fields only)."""
    if isinstance(event, Lead.LeadCreated):
        fields.clear()
        fields.update(event.fields)
    elif isinstance(event, Lead.LeadProfileUpdated):
        fields.update(event.changed)
    elif isinstance(event, Lead.LeadProfileReverted):
        for name, value in event.fields.items():
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = value


def decide_undo(
    events: Sequence[Any], job_id: str, kinds_of: Mapping[str, frozenset[str]]
) -> LeadUndo:
    """Decide the undo of ``job_id`` on one lead, from all its events in version order (at least
    its created event).

    ``kinds_of`` gives, per job id, the identifier kinds that job's file maps (see
    ``identifier_kinds``); a job missing from it is assumed to map every kind (an alias is then
    kept, never removed on a guess).
    """
    lead_id: UUID = events[0].originator_id
    if any(isinstance(e, Lead.LeadErased) for e in events):
        return LeadUndo(lead_id, erased=True)
    cut = next((i for i, e in enumerate(events) if is_compensation(e) and _job(e) == job_id), None)
    history = events if cut is None else events[:cut]
    result = LeadUndo(lead_id, already_applied=cut is not None)
    if any(isinstance(e, Lead.LeadDeleted) for e in history):
        return result  # removed by the undo of the job that created it: nothing left to undo
    undone_jobs = {_job(e) for e in history if is_compensation(e)}

    def later_changes(after: int) -> Iterator[tuple[str, int, Any]]:
        for e in history[after + 1 :]:
            job = _job(e)
            if not is_compensation(e) and job != job_id and job not in undone_jobs:
                yield job, e.row, e

    if not any(_job(e) == job_id for e in history):
        return result
    created = history[0]
    if isinstance(created, Lead.LeadCreated) and created.job_id == job_id:
        later = next(later_changes(0), None)
        if later is None:
            result.delete = True
        else:
            result.not_undone.append(
                NotUndone(
                    "lead",
                    later[0],
                    later[1],
                    f"The lead was created by this job but changed later by job {later[0]}, "
                    f"row {later[1]}: it is kept as it is.",
                )
            )
        return result
    _decide_fields(history, job_id, later_changes, result)
    _decide_aliases(history, job_id, kinds_of, later_changes, result)
    return result


# index -> the later changes after it, as (job id, row, event)
LaterChanges = Callable[[int], Iterator[tuple[str, int, Any]]]


def _decide_fields(
    history: Sequence[Any], job_id: str, later_changes: LaterChanges, result: LeadUndo
) -> None:
    fields: dict[str, str] = {}
    first_change: dict[str, int] = {}  # field -> index of the job's first event changing it
    before: dict[str, str | None] = {}  # field -> its value just before that event
    for i, e in enumerate(history):
        if isinstance(e, Lead.LeadProfileUpdated) and e.job_id == job_id:
            for name in e.changed:
                if name not in first_change:
                    first_change[name] = i
                    before[name] = fields.get(name)
        _apply_fields(fields, e)
    for name, i in first_change.items():
        later = next(
            (
                (job, row)
                for job, row, e in later_changes(i)
                if isinstance(e, Lead.LeadProfileUpdated) and name in e.changed
            ),
            None,
        )
        if later is not None:
            result.not_undone.append(
                NotUndone(
                    "field",
                    later[0],
                    later[1],
                    f"Field {name!r} was changed again later by job {later[0]}, row {later[1]}: "
                    "the later value is kept.",
                    field=name,
                )
            )
        elif fields.get(name) != before[name]:
            result.revert[name] = before[name]


def _decide_aliases(
    history: Sequence[Any],
    job_id: str,
    kinds_of: Mapping[str, frozenset[str]],
    later_changes: LaterChanges,
    result: LeadUndo,
) -> None:
    for i, e in enumerate(history):
        if not (isinstance(e, Lead.LeadAliasAdded) and e.job_id == job_id):
            continue
        kind = e.alias["kind"]
        later = next(
            (
                (job, row)
                for job, row, _ in later_changes(i)
                if job not in kinds_of or kind in kinds_of[job]
            ),
            None,
        )
        if later is None:
            result.remove_aliases.append(dict(e.alias))
            continue
        result.not_undone.append(
            NotUndone(
                "alias",
                later[0],
                later[1],
                f"Alias {kind} {e.alias['value']!r} may have been used later: job {later[0]} "
                f"(row {later[1]}) changed the lead and its file maps {kind} identifiers. "
                "The alias is kept.",
                alias=dict(e.alias),
            )
        )


@dataclass
class UndoReport:
    """What the undo of a job did, summed over its leads: stored in ``JobUndone``."""

    leads_deleted: int = 0
    leads_reverted: int = 0  # kept leads with fields reverted or aliases removed
    fields_reverted: int = 0
    aliases_removed: int = 0
    not_undone: list[dict[str, Any]] = field(default_factory=list)
    not_undone_total: int = 0
    leads_erased: int = 0
    erased_lead_ids: list[str] = field(default_factory=list)

    def add(self, undo: LeadUndo) -> None:
        if undo.erased:
            self.leads_erased += 1
            if len(self.erased_lead_ids) < MAX_LISTED:
                self.erased_lead_ids.append(str(undo.lead_id))
            return
        if undo.delete:
            self.leads_deleted += 1
        elif undo.compensates:
            self.leads_reverted += 1
        self.fields_reverted += len(undo.revert)
        self.aliases_removed += len(undo.remove_aliases)
        for item in undo.not_undone:
            self.not_undone_total += 1
            if len(self.not_undone) < MAX_LISTED:
                self.not_undone.append(_entry(undo.lead_id, item))

    def as_dict(self) -> dict[str, Any]:
        return {
            "leads_deleted": self.leads_deleted,
            "leads_reverted": self.leads_reverted,
            "fields_reverted": self.fields_reverted,
            "aliases_removed": self.aliases_removed,
            "not_undone": list(self.not_undone),
            "not_undone_total": self.not_undone_total,
            "leads_erased": self.leads_erased,
            "erased_lead_ids": list(self.erased_lead_ids),
        }


def redact_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A "not undone" entry of a report whose lead was erased: the alias value and the reason
    (which quotes it) are gone, the rest stays."""
    redacted = {k: v for k, v in entry.items() if k not in ("alias", "reason", "_sealed_")}
    if "alias" in entry:
        redacted["alias"] = {"kind": entry["alias"]["kind"]}
    redacted["reason"] = ERASED_REASON
    return redacted


def redact_report(report: Mapping[str, Any], lead_id: str) -> dict[str, Any]:
    """``report`` with the entries of ``lead_id`` that hold personal data (an alias) redacted
    (``redact_entry``), as they read back from the event store once the lead's key is gone."""
    entries = [
        redact_entry(e) if e.get("lead_id") == lead_id and "alias" in e else e
        for e in report.get("not_undone", ())
    ]
    return {**report, "not_undone": entries}


def _entry(lead_id: UUID, item: NotUndone) -> dict[str, Any]:
    entry: dict[str, Any] = {"lead_id": str(lead_id), "what": item.what}
    if item.field is not None:
        entry["field"] = item.field
    if item.alias is not None:
        entry["alias"] = dict(item.alias)
    entry.update(later_job_id=item.later_job_id, later_row=item.later_row, reason=item.reason)
    return entry
