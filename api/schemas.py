"""Request and response bodies (pydantic v2), the source of the OpenAPI document.

Request models validate what the endpoints read (``JobListQuery``: the bounds of a query).
Response models shape what the endpoints answer: the use cases build plain dicts, and each
answer is validated by its model and dumped from it (``api.plumbing.answer``). Response models
forbid extra keys, so an answer never carries a field the document does not list;
``tests/integration/test_openapi_fuzz.py`` checks real responses against the document too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

from api.inputs import MODE_HELP, ImportModeName, PageSize, optional_schema
from domain.fields import FIELD_DESCRIPTIONS
from domain.identifiers import ALIAS_TARGETS, IdentifierKind

# --- responses -------------------------------------------------------------------------------

# ISO 8601 UTC, seconds precision, with ``Z``: what ``api.plumbing.JSON`` renders. An answer holds a
# ``datetime`` (rendered by ``api.plumbing.JSON``); a client reads the rendered string.
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
Timestamp = Annotated[
    Annotated[datetime, Strict()] | Annotated[str, StringConstraints(pattern=TIMESTAMP_PATTERN)],
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": TIMESTAMP_PATTERN,
            "examples": ["2025-01-15T10:00:00Z"],
        }
    ),
]
Count = Annotated[int, Field(ge=0)]
JobStatus = Literal[
    "queued", "in_progress", "completed", "failed", "cancelled", "undoing", "undone"
]


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(ResponseModel):
    code: str = Field(min_length=1, examples=["not_found"])
    message: str = Field(min_length=1, description="What is wrong and how to fix it.")
    request_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="The request's id, as in its `X-Request-ID` header: the request's own when "
        "it sent a sane one, else a new one. Quote it to find the request's log lines.",
    )


class ErrorBody(ResponseModel):
    """Every error answers with this body."""

    error: ErrorDetail


class AutoDetectedIdentifiers(ResponseModel):
    email_columns: list[str]
    phone_columns: list[str]


# A canonical profile field name and an alias target (documented with their values).
ProfileFieldName = Annotated[
    str, WithJsonSchema({"type": "string", "enum": list(FIELD_DESCRIPTIONS)})
]
AliasTarget = Annotated[str, WithJsonSchema({"type": "string", "enum": list(ALIAS_TARGETS)})]


class SuggestedPrimaryIdentifier(ResponseModel):
    column: str
    kind: IdentifierKind


class SuggestedMappings(ResponseModel):
    """Mappings the service suggests from the header names and the detected identifier
    columns; sent as they are (with the `file_id`), they are a valid start request."""

    primary_identifier: SuggestedPrimaryIdentifier | None = Field(
        description="An e-mail column if there is one, else a phone, cookie, external id or "
        "social column; null when no column looks like an identifier."
    )
    field_mappings: dict[str, ProfileFieldName] = Field(
        description="Column → profile field, at most one column per field."
    )
    alias_mappings: dict[str, AliasTarget] = Field(
        description="Column → alias target: the other identifier columns (a second e-mail, "
        "phone and mobile numbers, social handles, customer or record ids, cookies)."
    )
    ignored_columns: list[str] = Field(description="The columns the suggestion does not map.")


class PreviewResponse(ResponseModel):
    file_id: str = Field(examples=["preview_abc123"])
    file_name: str
    headers: list[str]
    sample_rows: list[list[str]] = Field(description="The first data rows (at most 5).")
    row_count: Count = Field(description="Data rows, the header and blank rows excluded.")
    auto_detected_identifiers: AutoDetectedIdentifiers
    suggested_mappings: SuggestedMappings
    expires_at: Timestamp
    encoding: str = Field(
        examples=["utf-8", "windows-1251"],
        description="The encoding the file was read with (a name of the request's `encoding`).",
    )
    encoding_source: Literal["requested", "bom", "detected", "guessed"] = Field(
        description="`requested`: the request's `encoding`; `bom`: a byte order mark declares "
        "it; `detected`: recognised from the content; `guessed`: too little text to tell "
        "(Windows-1252): check `sample_rows`, and send `encoding` if they look wrong."
    )
    delimiter: Literal[",", ";", "\t", "|"]


class StartResponse(ResponseModel):
    job_id: str = Field(examples=["job_0f8fad5bd9cb469fa16570867728950e"])
    status: Literal["queued"]
    message: str
    file_name: str
    total_rows: Count
    ignored_fields: list[str] = Field(
        default_factory=list,
        description="Mapped profile fields that are unknown and ignored; absent when none.",
    )
    encoding: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        None,
        description="The encoding the job reads the file with; present only when the request's "
        "`encoding` or `delimiter` changed how the file is read.",
        json_schema_extra=optional_schema,
    )
    delimiter: Annotated[
        str | None, WithJsonSchema({"type": "string", "enum": [",", ";", "\t", "|"]})
    ] = Field(
        None,
        description="The delimiter the job splits fields at; present with `encoding`.",
        json_schema_extra=optional_schema,
    )


SKIPPED_HELP = (
    "Rows the job's `mode` skipped. The job is `completed` when created + updated + failed + "
    "skipped = `total_rows`."
)
DRY_RUN_RESULT_HELP = (
    "The job only simulated the import: its counters, errors and warnings are what a real run "
    "would have had when it ran, and no lead changed."
)

PROCESSED_HELP = "Rows that have an outcome: created + updated + failed + skipped."
PERCENT_HELP = (
    "100 * `processed_rows` / `total_rows`, one decimal, rounded down: 100 only when every "
    "row has an outcome (a job of 0 rows: once it completed)."
)
Percent = Annotated[float, Field(ge=0, le=100, examples=[42.5])]


class JobListItem(ResponseModel):
    job_id: str
    status: JobStatus
    file_name: str
    created_at: Timestamp
    completed_at: Timestamp | None
    total_rows: Count
    created_count: Count
    updated_count: Count
    failed_count: Count
    skipped_count: Count = Field(description=SKIPPED_HELP)
    processed_rows: Count = Field(description=PROCESSED_HELP)
    percent: Percent = Field(description=PERCENT_HELP)
    mode: ImportModeName = Field(description=MODE_HELP)
    dry_run: bool = Field(description=DRY_RUN_RESULT_HELP)


class JobList(ResponseModel):
    jobs: list[JobListItem] = Field(description="Newest first.")
    total: Count
    page: int = Field(ge=1)
    limit: PageSize


class JobPrimaryIdentifier(ResponseModel):
    column: str
    kind: IdentifierKind


VALUE_HELP = (
    "The cell (or identifier) at fault; over 1000 characters, its first 1000 followed by "
    "`… [cut: N characters in all]`."
)


class RowError(ResponseModel):
    row: int = Field(ge=2, description="Spreadsheet row number: the header is row 1.")
    error: str = Field(examples=["Invalid email format"])
    value: str | None = Field(description=VALUE_HELP)


class RowWarning(ResponseModel):
    row: int = Field(ge=2, description="Spreadsheet row number: the header is row 1.")
    warning: str
    value: str = Field(description=VALUE_HELP)


class NotUndone(ResponseModel):
    """A change of the undone job that stays, because a later import changed it too."""

    lead_id: str = Field(json_schema_extra={"format": "uuid"})
    what: Literal["lead", "field", "alias"] = Field(
        description="`lead`: a lead the job created is kept; `field`: a profile field keeps its "
        "later value; `alias`: an alias the job added is kept."
    )
    field: str | None = Field(default=None, description="The profile field (`what` = `field`).")
    alias: dict[str, str] | None = Field(
        default=None, description="`{kind, value}` of the alias (`what` = `alias`)."
    )
    later_job_id: str = Field(description="The later import that changed the lead.")
    later_row: int = Field(ge=2, description="Its spreadsheet row.")
    reason: str


class UndoReport(ResponseModel):
    leads_deleted: Count = Field(description="Leads the job created, removed.")
    leads_reverted: Count = Field(description="Kept leads whose fields or aliases went back.")
    fields_reverted: Count
    aliases_removed: Count
    not_undone: list[NotUndone] = Field(description="What could not be undone (at most 1000).")
    not_undone_total: Count
    leads_erased: Count = Field(
        default=0, description="Leads of the job that were erased before the undo: left alone."
    )
    erased_lead_ids: list[str] = Field(
        default_factory=list, description="Their ids (at most 1000; absent before erasure existed)."
    )


class JobQueue(ResponseModel):
    """Where a queued job stands: jobs of an OU run at most `limit` at once
    (`LEADIMPORT_MAX_RUNNING_JOBS_PER_OU`) and start oldest first."""

    state: Literal["waiting_for_slot", "starting"] = Field(
        description="`waiting_for_slot`: the OU runs its limit of jobs, or the queued jobs "
        "ahead take the free slots; `starting`: a slot is free for it and the importer starts "
        "it within seconds."
    )
    reason: str = Field(
        description="The same for people.",
        examples=[
            "The OU already runs 3 jobs, the limit per OU is 3, and 1 queued job is ahead: "
            "this job starts when 2 running jobs have ended."
        ],
    )
    position: int = Field(ge=1, description="1: the OU's next job to start.")
    running: Count = Field(description="The OU's jobs in progress.")
    limit: int = Field(ge=0, description="How many jobs of one OU may run at once.")


class JobDetail(ResponseModel):
    job_id: str
    status: JobStatus
    file_name: str
    created_at: Timestamp
    started_at: Timestamp | None
    completed_at: Timestamp | None
    total_rows: Count
    created_count: Count
    updated_count: Count
    failed_count: Count
    skipped_count: Count = Field(description=SKIPPED_HELP)
    processed_rows: Count = Field(description=PROCESSED_HELP)
    percent: Percent = Field(description=PERCENT_HELP)
    rows_per_second: Annotated[float, Field(ge=0)] | None = Field(
        description="Rows processed per second over about the last 10 seconds (not the average "
        "since the start; 0 when nothing moved in that time); null unless `in_progress`, and "
        "until two batches of rows have been applied."
    )
    eta_seconds: Count | None = Field(
        description="Seconds until every row has an outcome at `rows_per_second`, rounded up; "
        "null unless `in_progress` with a rate above 0."
    )
    queue: JobQueue | None = Field(description="Why the job waits; null unless `queued`.")
    mode: ImportModeName = Field(description=MODE_HELP)
    dry_run: bool = Field(description=DRY_RUN_RESULT_HELP)
    primary_identifier: JobPrimaryIdentifier
    field_mappings: dict[str, str]
    alias_mappings: dict[str, str]
    ignored_fields: list[str]
    default_country: str
    failure_reason: str | None = Field(description="Why the job failed; null unless `failed`.")
    undo_report: UndoReport | None = Field(description="What the undo did; null unless `undone`.")
    errors: list[RowError] = Field(
        description="The first 100 row errors, in row order; all of them: "
        "`GET /leads/import/jobs/{job_id}/errors`."
    )
    errors_total: Count = Field(description="How many row errors the job has (= `failed_count`).")
    warnings: list[RowWarning] = Field(
        description="The first 100 alias warnings, in row order; all of them: "
        "`GET /leads/import/jobs/{job_id}/warnings`."
    )
    warnings_total: Count = Field(description="How many alias warnings the job has.")


NEXT_CURSOR = "Pass it as `cursor` for the next page; null on the last page."


class JobErrorPage(ResponseModel):
    job_id: str
    errors: list[RowError] = Field(description="In row order.")
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class JobWarningPage(ResponseModel):
    job_id: str
    warnings: list[RowWarning] = Field(description="In row order (a row's own order within it).")
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class Lead(ResponseModel):
    lead_id: str = Field(json_schema_extra={"format": "uuid"})
    identifiers: dict[IdentifierKind, list[str]] = Field(
        description="Normalized identifiers by kind."
    )
    fields: dict[str, str] = Field(description="Profile fields.")
    created_at: Timestamp
    updated_at: Timestamp


class LeadList(ResponseModel):
    leads: list[Lead]


class FieldChange(ResponseModel):
    field: str
    old: str | None = Field(description="null: the field was not set.")
    new: str | None = Field(description="null: the field was removed.")


class IdentifierChange(ResponseModel):
    identifier: IdentifierKind
    old: str | None = Field(description="null: the value was added.")
    new: str | None = Field(description="null: the value was removed.")


class LeadEvent(ResponseModel):
    version: int = Field(ge=1, description="1 for the lead's first event, then 2, 3, ...")
    occurred_at: Timestamp
    type: str = Field(examples=["LeadCreated", "LeadProfileUpdated", "LeadAliasAdded"])
    job_id: str | None = Field(description="The import that caused it (or that was undone).")
    row: int | None = Field(description="Its spreadsheet row; null for an undo's events.")
    changes: list[FieldChange | IdentifierChange] = Field(description="Old → new values.")
    erased: bool | None = Field(
        default=None,
        description="`true`: the lead was erased; the event's values are gone and `changes` is "
        "empty (absent otherwise).",
    )


class LeadHistory(ResponseModel):
    lead_id: str = Field(json_schema_extra={"format": "uuid"})
    events: list[LeadEvent] = Field(description="A page of events, oldest first.")
    next_after: int | None = Field(
        ge=1,
        description="Pass it as `after` for the next page; null on the last page.",
    )


class Erasure(ResponseModel):
    """A request to erase a lead (`DELETE /leads/{lead_id}`), as the erasure log keeps it."""

    erasure_id: str = Field(pattern="^erasure_[0-9a-f]{32}$")
    lead_id: str = Field(json_schema_extra={"format": "uuid"})
    status: Literal["pending", "done"] = Field(
        description="`pending` until every copy is gone; the lead is out of every read model "
        "and its key destroyed within seconds of the request, once the importer's sweep took it."
    )
    reason: str = Field(examples=["data_subject_request"])
    requested_by: str = Field(description="The API token id (`tok_…`) or `cli:…` that asked.")
    requested_at: Timestamp
    done_at: Timestamp | None
    report: dict[str, int] | None = Field(
        description="When done: how many copies of each kind were blanked (counts only)."
    )


class Health(ResponseModel):
    status: Literal["ok"]


class Ready(ResponseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["up", "down"]
    broker: Literal["up", "down"]


class JobRef(ResponseModel):
    """A job id and status (the answer of commands that do not return the detail)."""

    job_id: str
    status: JobStatus


class ProfileFieldInfo(ResponseModel):
    name: ProfileFieldName = Field(description="The canonical name, as `field_mappings` takes it.")
    description: str


class AliasTargetInfo(ResponseModel):
    target: AliasTarget = Field(description="As `alias_mappings` takes it.")
    kind: IdentifierKind = Field(description="The identifier kind the column's values are.")
    description: str


class MappingTargets(ResponseModel):
    """What a start request may map columns to."""

    fields: list[ProfileFieldInfo] = Field(description="The profile fields (stored as strings).")
    alias_targets: list[AliasTargetInfo]
