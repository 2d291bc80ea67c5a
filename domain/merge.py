"""The create / update / alias decision for one row, as a pure function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

from domain.import_job import CREATE_ONLY, UPDATE_ONLY, ImportMode
from domain.rows import Identifier, cap_value

ALIAS_TAKEN = "Alias not added: it already belongs to another lead"


@dataclass(frozen=True)
class LeadState:
    """What the decision needs to know of an existing lead."""

    lead_id: UUID
    identifiers: Mapping[str, list[str]]
    fields: Mapping[str, str]

    def has(self, identifier: Identifier) -> bool:
        return identifier.value in self.identifiers.get(identifier.kind, ())


@dataclass
class RowDecision:
    action: Literal["create", "update"]
    fields: dict[str, str]  # create: every non-empty field; update: only those that change
    aliases: list[Identifier]  # aliases to add
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (warning, value)


def skips(mode: ImportMode, lead_exists: bool) -> bool:
    """Whether a row of a job in ``mode`` is skipped: ``create_only`` skips a row whose lead
    exists (also one an earlier row of the same job created), ``update_only`` one whose lead
    does not. A skipped row is not decided: it changes nothing, claims no alias and records no
    warning (neither the alias warnings of its message nor any of ``decide``)."""
    if mode == CREATE_ONLY:
        return lead_exists
    if mode == UPDATE_ONLY:
        return not lead_exists
    return False


def decide(
    lead: LeadState | None,
    fields: Mapping[str, str],
    aliases: list[Identifier],
    owner_of: Callable[[Identifier], UUID | None],
) -> RowDecision:
    """Decide what one row does.

    ``lead`` is the lead that owns the row's primary identifier (None: create one).
    ``owner_of`` says which lead, if any, owns an identifier. An alias owned by another lead is
    never moved: it is skipped with a warning.
    """
    own_id = lead.lead_id if lead is not None else None
    to_add: list[Identifier] = []
    warnings: list[tuple[str, str]] = []
    for alias in aliases:
        if alias in to_add or (lead is not None and lead.has(alias)):
            continue  # duplicate aliases are ignored
        owner = owner_of(alias)
        if owner is not None and owner != own_id:
            # A normalized identifier is at most 255 characters, under the cap; capped anyway so
            # that every warning value goes through the one rule (domain.rows.cap_value).
            warnings.append((ALIAS_TAKEN, cap_value(alias.value)))
            continue
        to_add.append(alias)
    if lead is None:
        return RowDecision("create", dict(fields), to_add, warnings)
    changed = {k: v for k, v in fields.items() if v and lead.fields.get(k) != v}
    return RowDecision("update", changed, to_add, warnings)
