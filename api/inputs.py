"""Request bodies and queries (pydantic v2): what the endpoints read, and their part of the
OpenAPI document. Query bounds are stated here once (``JobListQuery``, ``RowPageQuery``, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)
from pydantic.fields import FieldInfo

from application.audit import DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT
from domain.encodings import DELIMITERS, ENCODINGS
from domain.errors import InvalidRequest

# --- requests --------------------------------------------------------------------------------

KIND_HELP = "Identifier kind, case-insensitive: email, phone, cookie, external_id or social."


def optional_schema(schema: dict[str, Any]) -> None:
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
        json_schema_extra=optional_schema,
    )
    delimiter: Delimiter = Field(
        None,
        description=DELIMITER_HELP + " Absent: the preview's.",
        json_schema_extra=optional_schema,
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
        None, description=ENCODING_HELP + " Absent: detected.", json_schema_extra=optional_schema
    )
    delimiter: Delimiter = Field(
        None, description=DELIMITER_HELP + " Absent: detected.", json_schema_extra=optional_schema
    )
