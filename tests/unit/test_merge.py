"""Unit tests for domain.merge.decide: create vs update, changed fields, alias merge."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from domain.merge import ALIAS_TAKEN, LeadState, decide
from domain.rows import Identifier

OWN = UUID("00000000-0000-0000-0000-00000000000a")
OTHER = UUID("00000000-0000-0000-0000-00000000000b")


def email(value: str) -> Identifier:
    return Identifier(kind="email", value=value)


def phone(value: str) -> Identifier:
    return Identifier(kind="phone", value=value)


def owners(table: dict[Identifier, UUID]) -> Callable[[Identifier], UUID | None]:
    return lambda identifier: table.get(identifier)


def nobody(identifier: Identifier) -> UUID | None:
    return None


def jane(**fields: str) -> LeadState:
    return LeadState(
        lead_id=OWN,
        identifiers={"email": ["jane@example.com"], "phone": ["5550200"]},
        fields={"first_name": "Jane", "company": "Example Inc", **fields},
    )


# --- create ----------------------------------------------------------------------------------


def test_no_lead_creates_with_every_field_and_alias() -> None:
    decision = decide(
        None,
        {"first_name": "Jane", "company": "Example Inc"},
        [phone("5550100"), email("jd@example.org")],
        nobody,
    )
    assert decision.action == "create"
    assert decision.fields == {"first_name": "Jane", "company": "Example Inc"}
    assert decision.aliases == [phone("5550100"), email("jd@example.org")]
    assert decision.warnings == []


def test_create_skips_an_alias_of_another_lead_with_a_warning() -> None:
    decision = decide(
        None,
        {"first_name": "Jane"},
        [phone("5550100"), phone("5550101")],
        owners({phone("5550100"): OTHER}),
    )
    assert decision.action == "create"
    assert decision.aliases == [phone("5550101")]
    assert decision.warnings == [(ALIAS_TAKEN, "5550100")]


def test_create_with_no_fields_and_no_aliases() -> None:
    decision = decide(None, {}, [], nobody)
    assert (decision.action, decision.fields, decision.aliases, decision.warnings) == (
        "create",
        {},
        [],
        [],
    )


# --- update ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row_fields", "changed"),
    [
        pytest.param({}, {}, id="no fields"),
        pytest.param({"first_name": "Jane", "company": "Example Inc"}, {}, id="same values"),
        pytest.param({"company": "Acme"}, {"company": "Acme"}, id="one changed"),
        pytest.param({"title": "CEO"}, {"title": "CEO"}, id="new field"),
        pytest.param({"company": ""}, {}, id="empty never overwrites"),
        pytest.param(
            {"first_name": "Jane", "company": "", "title": "CTO"},
            {"title": "CTO"},
            id="mixed",
        ),
        pytest.param({"first_name": "jane"}, {"first_name": "jane"}, id="case is a change"),
    ],
)
def test_update_reports_only_changed_non_empty_fields(
    row_fields: dict[str, str], changed: dict[str, str]
) -> None:
    decision = decide(jane(), row_fields, [], nobody)
    assert decision.action == "update"
    assert decision.fields == changed
    assert decision.aliases == []
    assert decision.warnings == []


def test_update_when_nothing_changes_is_still_an_update() -> None:
    decision = decide(jane(), {"first_name": "Jane"}, [email("jane@example.com")], owners({}))
    assert decision.action == "update"
    assert decision.fields == {}
    assert decision.aliases == []


def test_aliases_already_on_the_lead_are_ignored() -> None:
    decision = decide(
        jane(),
        {},
        [phone("5550200"), email("jane@example.com"), phone("5550100")],
        owners({phone("5550200"): OWN, email("jane@example.com"): OWN}),
    )
    assert decision.aliases == [phone("5550100")]
    assert decision.warnings == []


def test_duplicate_aliases_in_one_row_are_added_once() -> None:
    decision = decide(
        jane(), {}, [phone("5550100"), phone("5550100"), email("j@x.org"), phone("5550100")], nobody
    )
    assert decision.aliases == [phone("5550100"), email("j@x.org")]


def test_spec_example_second_phone_is_added_not_replacing() -> None:
    # Existing lead: jane@example.com with phone 555-0200; the row brings 555-0100.
    decision = decide(jane(), {}, [phone("5550100")], nobody)
    assert decision.action == "update"
    assert decision.aliases == [phone("5550100")]


def test_alias_of_another_lead_is_not_moved_and_warns() -> None:
    taken = phone("5550999")
    decision = decide(jane(), {"title": "CEO"}, [taken, phone("5550100")], owners({taken: OTHER}))
    assert decision.action == "update"
    assert decision.fields == {"title": "CEO"}
    assert decision.aliases == [phone("5550100")]
    assert decision.warnings == [(ALIAS_TAKEN, "5550999")]
    assert ALIAS_TAKEN == "Alias not added: it already belongs to another lead"


def test_alias_owned_by_nobody_is_added() -> None:
    decision = decide(jane(), {}, [email("jane.doe@work.example")], owners({}))
    assert decision.aliases == [email("jane.doe@work.example")]
    assert decision.warnings == []


def test_same_value_of_another_kind_is_a_different_identifier() -> None:
    social = Identifier(kind="social", value="5550200")
    decision = decide(jane(), {}, [social], owners({phone("5550200"): OWN}))
    assert decision.aliases == [social]


def test_owner_lookup_uses_kind_and_value() -> None:
    other_lead = uuid4()
    decision = decide(
        jane(),
        {},
        [email("shared@example.com"), phone("5550300")],
        owners({email("shared@example.com"): other_lead}),
    )
    assert decision.aliases == [phone("5550300")]
    assert decision.warnings == [(ALIAS_TAKEN, "shared@example.com")]
