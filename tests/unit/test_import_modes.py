"""Import modes and dry runs, the pure parts: which rows a mode skips, JobQueued version 3 and
its upcaster, a dry run's undo, and the simulated lead a dry run keeps instead of a Lead."""

from __future__ import annotations

from typing import Any, get_args
from uuid import UUID

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, Mapper, StoredEvent, UUIDAsHex
from eventsourcing.utils import get_topic
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.eventstore import project
from adapters.transcoder import OrjsonTranscoder
from api.inputs import ImportModeName, StartImport
from domain.dry_run import SimulatedLead, made_up_lead_id
from domain.errors import Conflict
from domain.import_job import MODES, ImportJob, ImportMode
from domain.lead import Lead
from domain.merge import ALIAS_TAKEN, LeadState, decide, skips
from domain.rows import Identifier


def _mapper() -> Mapper[UUID]:
    transcoder = OrjsonTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder)


MAPPER = _mapper()


def new_job(**extra: Any) -> ImportJob:
    return ImportJob(
        ou="ou",
        file_id="f",
        file_name="f.csv",
        total_rows=1,
        primary_identifier={"column": "Email", "kind": "email"},
        field_mappings=[["First Name", "first_name"]],
        alias_mappings=[],
        ignored_fields=[],
        default_country="US",
        **extra,
    )


# --- modes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "exists", "skipped"),
    [
        ("upsert", True, False),
        ("upsert", False, False),
        ("create_only", True, True),
        ("create_only", False, False),
        ("update_only", True, False),
        ("update_only", False, True),
    ],
)
def test_which_rows_a_mode_skips(mode: str, exists: bool, skipped: bool) -> None:
    assert skips(ImportMode(mode), exists) is skipped


def test_the_api_offers_exactly_the_domains_modes() -> None:
    assert get_args(ImportModeName) == MODES == ("upsert", "create_only", "update_only")
    assert StartImport.model_fields["mode"].default == "upsert"
    assert StartImport.model_fields["dry_run"].default is False


# --- JobQueued version 3 ---------------------------------------------------------------------


def test_a_new_job_stores_its_mode_and_dry_run() -> None:
    job = new_job(mode="create_only", dry_run=True)
    [queued] = job.collect_events()
    read = project([MAPPER.to_domain_event(MAPPER.to_stored_event(queued))])
    assert (read.mode, read.dry_run) == (ImportMode.CREATE_ONLY, True)
    assert ImportJob.JobQueued.class_version == 3


def test_defaults_are_upsert_and_no_dry_run() -> None:
    job = new_job()
    assert (job.mode, job.dry_run) == (ImportMode.UPSERT, False)


def test_a_version_2_job_reads_as_an_upsert_that_is_no_dry_run() -> None:
    """``JobQueued`` of version 2 had neither field: the upcaster gives the behaviour every job
    had then."""
    [queued] = new_job().collect_events()
    state = {
        k: v
        for k, v in vars(queued).items()
        if k not in ("originator_id", "originator_version", "mode", "dry_run")
    }
    state["class_version"] = 2
    stored = StoredEvent(
        originator_id=queued.originator_id,
        originator_version=1,
        topic=get_topic(ImportJob.JobQueued),
        state=MAPPER.transcoder.encode(state),
    )
    read = project([MAPPER.to_domain_event(stored)])
    assert (read.mode, read.dry_run) == (ImportMode.UPSERT, False)
    assert read.field_mappings == {"First Name": "first_name"}


def test_a_dry_run_cannot_be_undone() -> None:
    job = new_job(dry_run=True)
    job.start()
    job.complete()
    with pytest.raises(Conflict, match="dry run: it changed no lead, so there is nothing to undo"):
        job.request_undo()
    assert job.status == "completed"


def test_a_real_job_can_still_be_undone() -> None:
    job = new_job(mode="update_only")
    job.start()
    job.complete()
    assert job.request_undo() is True


# --- the simulated lead ----------------------------------------------------------------------


def email(value: str) -> Identifier:
    return Identifier(kind="email", value=value)


def phone(value: str) -> Identifier:
    return Identifier(kind="phone", value=value)


def nobody(identifier: Identifier) -> UUID | None:
    return None


def test_made_up_ids_are_stable_per_job_and_row() -> None:
    assert made_up_lead_id("job_a", 2) == made_up_lead_id("job_a", 2)
    assert made_up_lead_id("job_a", 2) != made_up_lead_id("job_a", 3)
    assert made_up_lead_id("job_a", 2) != made_up_lead_id("job_b", 2)
    assert made_up_lead_id("job_a", 2).version == 5  # never a real (version 7) lead id


def test_a_created_lead_names_no_lead_and_an_existing_one_its_own() -> None:
    decision = decide(None, {"first_name": "Ann"}, [phone("+14155550101")], nobody)
    created = SimulatedLead.created("job_a", 2, email("ann@example.com"), decision)
    assert created.public_id is None and created.made_up and created.changed
    assert created.identifiers == {"email": ["ann@example.com"], "phone": ["+14155550101"]}
    real = UUID("0190a000-0000-7000-8000-000000000001")
    copy = SimulatedLead.of(real, {"email": ["bob@example.com"]}, {"first_name": "Bob"})
    assert copy.public_id == real and not copy.changed and copy.version == 0


def test_copying_a_real_lead_never_changes_it() -> None:
    identifiers = {"email": ["bob@example.com"]}
    fields = {"first_name": "Bob"}
    copy = SimulatedLead.of(UUID(int=1), identifiers, fields)
    decision = decide(copy.state(), {"first_name": "Rob"}, [phone("5550100")], nobody)
    copy.apply(decision)
    assert identifiers == {"email": ["bob@example.com"]} and fields == {"first_name": "Bob"}
    assert copy.identifiers == {"email": ["bob@example.com"], "phone": ["5550100"]}
    assert copy.fields == {"first_name": "Rob"} and copy.changed


def test_an_update_that_changes_nothing_leaves_it_unchanged() -> None:
    copy = SimulatedLead.of(UUID(int=1), {"email": ["bob@example.com"]}, {"first_name": "Bob"})
    unchanged = decide(copy.state(), {"first_name": "Bob"}, [email("bob@example.com")], nobody)
    copy.apply(unchanged)
    assert not copy.changed


ROW = st.tuples(
    st.dictionaries(st.sampled_from(["first_name", "company"]), st.sampled_from(["A", "B"])),
    st.lists(
        st.builds(
            Identifier,
            kind=st.sampled_from(["email", "phone"]),
            value=st.sampled_from(["x@example.com", "y@example.com", "5550100", "5550101"]),
        ),
        max_size=3,
    ),
)


@given(first=ROW, later=st.lists(ROW, max_size=6), taken=st.sets(st.sampled_from(["5550101"])))
@settings(max_examples=200, deadline=None)
def test_a_simulated_lead_follows_the_rows_as_a_lead_does(
    first: tuple[dict[str, str], list[Identifier]],
    later: list[tuple[dict[str, str], list[Identifier]]],
    taken: set[str],
) -> None:
    """The same rows decided against a real Lead and against a SimulatedLead end in the same
    identifiers, fields and warnings (an alias of another lead stays a warning in both)."""
    other = UUID(int=99)
    primary = email("p@example.com")

    def owners_for(lead_id: UUID, own: dict[tuple[str, str], UUID]) -> Any:
        def owner_of(i: Identifier) -> UUID | None:
            if i.kind == "phone" and i.value in taken:
                return other
            return own.get((i.kind, i.value))

        return owner_of

    fields, aliases = first
    decision = decide(None, fields, aliases, owners_for(UUID(int=0), {}))
    lead = Lead.create(
        ou="ou",
        primary=primary.model_dump(),
        fields=decision.fields,
        aliases=[a.model_dump() for a in decision.aliases],
        job_id="job_a",
        row=2,
    )
    sim = SimulatedLead.created("job_a", 2, primary, decision)
    warnings = [decision.warnings]
    sim_warnings = [decision.warnings]
    for row, (fields, aliases) in enumerate(later, start=3):
        own = {(k, v): lead.id for k, vs in lead.identifiers.items() for v in vs}
        state = LeadState(lead.id, lead.identifiers, lead.fields)  # as the lead worker does
        real = decide(state, fields, aliases, owners_for(lead.id, own))
        if real.fields:
            lead.update_profile(changed=real.fields, job_id="job_a", row=row)
        for a in real.aliases:
            lead.add_alias(alias=a.model_dump(), job_id="job_a", row=row)
        warnings.append(real.warnings)
        sim_own = {(k, v): sim.lead_id for k, vs in sim.identifiers.items() for v in vs}
        simulated = decide(sim.state(), fields, aliases, owners_for(sim.lead_id, sim_own))
        sim.apply(simulated)
        sim_warnings.append(simulated.warnings)
    assert sim.identifiers == lead.identifiers
    assert sim.fields == lead.fields
    assert sim_warnings == warnings
    assert all(w == ALIAS_TAKEN for ws in warnings for w, _ in ws)
