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
from typing import Annotated, Literal, Self

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

from domain.errors import InvalidRequest
from domain.identifiers import IdentifierKind

# --- requests --------------------------------------------------------------------------------

KIND_HELP = "Identifier kind, case-insensitive: email, phone, cookie, external_id or social."


class PrimaryIdentifier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str = Field(min_length=1, description="CSV column holding the identifier.")
    kind: str = Field(min_length=1, description=KIND_HELP, examples=["email"])


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


class PreviewUpload(BaseModel):
    """The multipart form of ``POST /leads/import/preview`` (documentation only)."""

    file: Annotated[bytes, WithJsonSchema({"type": "string", "format": "binary"})] = Field(
        description="The CSV file (at most 10 MB), with a header row."
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


class PreviewResponse(ResponseModel):
    file_id: str = Field(examples=["preview_abc123"])
    file_name: str
    headers: list[str]
    sample_rows: list[list[str]] = Field(description="The first data rows (at most 5).")
    row_count: Count = Field(description="Data rows, the header and blank rows excluded.")
    auto_detected_identifiers: AutoDetectedIdentifiers
    expires_at: Timestamp


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


class JobList(ResponseModel):
    jobs: list[JobListItem] = Field(description="Newest first.")
    total: Count
    page: int = Field(ge=1)
    limit: PageSize


class JobPrimaryIdentifier(ResponseModel):
    column: str
    kind: IdentifierKind


class RowError(ResponseModel):
    row: int = Field(ge=2, description="Spreadsheet row number: the header is row 1.")
    error: str = Field(examples=["Invalid email format"])
    value: str | None


class RowWarning(ResponseModel):
    row: int = Field(ge=2, description="Spreadsheet row number: the header is row 1.")
    warning: str
    value: str


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
    primary_identifier: JobPrimaryIdentifier
    field_mappings: dict[str, str]
    alias_mappings: dict[str, str]
    ignored_fields: list[str]
    default_country: str
    failure_reason: str | None = Field(description="Why the job failed; null unless `failed`.")
    undo_report: UndoReport | None = Field(description="What the undo did; null unless `undone`.")
    errors: list[RowError]
    warnings: list[RowWarning]


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
    events: list[LeadEvent]


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
