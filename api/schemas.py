"""Request and response bodies (pydantic v2), the source of the OpenAPI document.

Request models validate what the endpoints read (``JobListQuery``: the bounds of a query).
Response models shape what the endpoints answer: the use cases build plain dicts, and each
answer is validated by its model and dumped from it (``api.app.answer``). Response models
forbid extra keys, so an answer never carries a field the document does not list;
``tests/integration/test_openapi_fuzz.py`` checks real responses against the document too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic.fields import FieldInfo

from application.audit import DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT
from domain.encodings import DELIMITERS, ENCODINGS
from domain.errors import InvalidRequest
from domain.fields import FIELD_DESCRIPTIONS
from domain.identifiers import ALIAS_TARGETS, IdentifierKind

# --- requests --------------------------------------------------------------------------------

KIND_HELP = "Identifier kind, case-insensitive: email, phone, cookie, external_id or social."


def _optional(schema: dict[str, Any]) -> None:
    """An optional field documented by its type alone (absent: None), without a default."""
    schema.pop("default", None)


# Names of an encoding and of a delimiter a request may give (domain/csvfile.py, docs/api.md).
Encoding = Annotated[str | None, WithJsonSchema({"type": "string", "enum": list(ENCODINGS)})]
Delimiter = Annotated[str | None, WithJsonSchema({"type": "string", "enum": list(DELIMITERS)})]
ENCODING_HELP = (
    "Read the file with this encoding instead of the detected one: one of these names (any "
    "case), or Python's name of one of them (cp1251, latin-1)."
)
DELIMITER_HELP = (
    "Split the fields at this delimiter instead of the detected one: `,` `;` a tab `|`, or "
    "comma, semicolon, tab, pipe."
)


class PrimaryIdentifier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str = Field(min_length=1, description="CSV column holding the identifier.")
    kind: str = Field(min_length=1, description=KIND_HELP, examples=["email"])


# ``domain.import_job.MODES`` (tests/unit/test_import_modes.py holds them equal).
ImportModeName = Literal["upsert", "create_only", "update_only"]
MODE_HELP = (
    "`upsert`: create a lead or update it; `create_only`: skip a row whose lead exists; "
    "`update_only`: skip a row whose lead does not exist. Skipped rows change nothing and "
    "count in `skipped_count`."
)
DRY_RUN_HELP = (
    "Only simulate the import: every row is validated and looked up against the current leads "
    "and counted as a real run would count it, but no lead, identifier or lead event changes. "
    "A dry run cannot be undone (there is nothing to undo)."
)


class StartImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_id: str = Field(
        min_length=1, description="`file_id` of a preview of this OU (valid for 1 hour)."
    )
    primary_identifier: PrimaryIdentifier
    field_mappings: dict[str, str] = Field(
        default_factory=dict,
        description="CSV column → profile field (case-insensitive; unknown fields are ignored "
        "and listed in `ignored_fields`).",
    )
    alias_mappings: dict[str, str] = Field(
        default_factory=dict,
        description="CSV column → alias target: _alias_email, _alias_phone, _alias_cookie, "
        "_alias_external_id or _alias_social.",
    )
    default_country: str = Field(
        "US", description="ISO 3166-1 alpha-2 country for phone numbers without a country code."
    )
    encoding: Encoding = Field(
        None,
        description=ENCODING_HELP + " Absent: the preview's. The mappings then name the "
        "headers of that reading.",
        json_schema_extra=_optional,
    )
    delimiter: Delimiter = Field(
        None, description=DELIMITER_HELP + " Absent: the preview's.", json_schema_extra=_optional
    )
    mode: ImportModeName = Field("upsert", description=MODE_HELP)
    dry_run: bool = Field(False, description=DRY_RUN_HELP)

    @field_validator("dry_run", mode="before")
    @classmethod
    def _json_boolean(cls, value: Any) -> Any:
        # Not "yes", 1 or "true": a JSON boolean, as documented.
        if not isinstance(value, bool):
            raise ValueError("dry_run must be true or false (a JSON boolean)")
        return value

    @field_validator("file_id")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        # PostgreSQL text cannot hold NUL, and no file_id contains one.
        if "\x00" in value:
            raise ValueError("a file_id never contains NUL characters; use the preview's file_id")
        return value


PageSize = Annotated[int, Field(ge=1, le=100)]


class WholeNumberQuery(BaseModel):
    """Query parameters that are whole numbers, each with a default, ``ge`` and maybe ``le``.

    The bounds of the fields are both the parsing rule (``from_query``) and the documented
    parameters (``api.openapi.query_parameters``).
    """

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Self:
        """Parse ``params`` strictly: ASCII digits only, within the bounds, else 400 naming
        the parameter; an absent or empty parameter takes its default."""
        values: dict[str, int] = {}
        for name, info in cls.model_fields.items():
            raw = params.get(name)
            if raw is None or raw == "":
                continue
            low, high = _bounds(name, info)
            # ASCII digits: int() of "²" fails; at most 12: int() of 5000 digits fails too.
            digits = raw.isascii() and raw.isdigit() and len(raw) <= 12
            if not digits or int(raw) < low or (high is not None and int(raw) > high):
                bound = f" and at most {high}" if high else ""
                raise InvalidRequest(
                    f"Query parameter {name!r} must be a whole number of at least {low}{bound}."
                )
            values[name] = int(raw)
        return cls.model_validate(values)


def _bounds(name: str, info: FieldInfo) -> tuple[int, int | None]:
    """The ``ge`` and ``le`` (None: unbounded) of a whole-number query field: pydantic keeps
    them in the field's metadata as ``annotated_types.Ge`` and ``Le``."""
    lows = [m.ge for m in info.metadata if isinstance(getattr(m, "ge", None), int)]
    highs = [m.le for m in info.metadata if isinstance(getattr(m, "le", None), int)]
    if not lows:
        raise TypeError(f"query field {name!r} needs a whole-number lower bound (ge=)")
    return lows[-1], highs[-1] if highs else None


class JobListQuery(WholeNumberQuery):
    """The query of ``GET /leads/import/jobs``."""

    page: int = Field(1, ge=1, le=1_000_000, description="Page number.")
    limit: PageSize = Field(25, description="Jobs per page.")


class LeadHistoryQuery(WholeNumberQuery):
    """The query of ``GET /leads/{lead_id}/history``: a page of events after a version."""

    after: int = Field(
        0,
        ge=0,
        description="The version after which the page starts: `next_after` of the "
        "previous page (0: from the lead's first event).",
    )
    limit: int = Field(
        DEFAULT_HISTORY_LIMIT, ge=1, le=MAX_HISTORY_LIMIT, description="Events per page."
    )


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class RowPageLimitQuery(WholeNumberQuery):
    """The whole-number part of ``RowPageQuery``."""

    limit: int = Field(100, ge=1, le=1000, description="Items per page.")


class RowPageQuery(RowPageLimitQuery):
    """The query of ``GET /leads/import/jobs/{job_id}/errors`` and ``.../warnings``."""

    # Documented as an optional string (absent: None), not as a string or null.
    cursor: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        None,
        description="`next_cursor` of the previous page, unchanged; absent: the first page.",
        json_schema_extra=_no_default,
    )

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Self:
        """``limit`` as ``WholeNumberQuery`` parses it; ``cursor`` as given (the use case
        decodes it)."""
        limit = RowPageLimitQuery.from_query(params).limit
        return cls(limit=limit, cursor=params.get("cursor") or None)


class PreviewUpload(BaseModel):
    """The multipart form of ``POST /leads/import/preview`` (documentation only)."""

    file: Annotated[bytes, WithJsonSchema({"type": "string", "format": "binary"})] = Field(
        description="The CSV file (at most 10 MB), with a header row."
    )
    encoding: Encoding = Field(
        None, description=ENCODING_HELP + " Absent: detected.", json_schema_extra=_optional
    )
    delimiter: Delimiter = Field(
        None, description=DELIMITER_HELP + " Absent: detected.", json_schema_extra=_optional
    )


# --- responses -------------------------------------------------------------------------------

# ISO 8601 UTC, seconds precision, with ``Z``: what ``api.app.JSON`` renders. An answer holds a
# ``datetime`` (rendered by ``api.app.JSON``); a client reads the rendered string.
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
        json_schema_extra=_optional,
    )
    delimiter: Annotated[
        str | None, WithJsonSchema({"type": "string", "enum": [",", ";", "\t", "|"]})
    ] = Field(
        None,
        description="The delimiter the job splits fields at; present with `encoding`.",
        json_schema_extra=_optional,
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


class LeadHistory(ResponseModel):
    lead_id: str = Field(json_schema_extra={"format": "uuid"})
    events: list[LeadEvent] = Field(description="A page of events, oldest first.")
    next_after: int | None = Field(
        ge=1,
        description="Pass it as `after` for the next page; null on the last page.",
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
