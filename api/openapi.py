"""The OpenAPI 3.1 document of the API, built from the pydantic models of ``api.schemas``.

Every route of ``api.app.routes`` has an entry in ``OPERATIONS`` (a test checks both ways).
Schemas come from ``model_json_schema(ref_template="#/components/schemas/{model}")``; their
``$defs`` are collected into ``components.schemas``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from api import schemas
from domain.identifiers import KINDS

REF = "#/components/schemas/{model}"
BEARER = "bearerAuth"

Mode = Literal["validation", "serialization"]


@dataclass(frozen=True)
class Reply:
    """One documented response: a status, what it means, and its body model."""

    status: int
    description: str
    model: type[BaseModel] | None = None
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    replies: tuple[Reply, ...]
    description: str = ""
    parameters: tuple[dict[str, Any], ...] = ()
    json_body: type[BaseModel] | None = None
    multipart_body: type[BaseModel] | None = None
    public: bool = False
    raw_200_schema: dict[str, Any] | None = None


UNAUTHORIZED = Reply(
    401,
    "No bearer token, a malformed `Authorization` header, or an unknown token.",
    schemas.ErrorBody,
    headers={
        "WWW-Authenticate": {
            "description": "Always `Bearer`.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
)


def _error(status: int, description: str) -> Reply:
    return Reply(status, description, schemas.ErrorBody)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


JOB_ID = _path("job_id", {"type": "string"}, "Import job id (`job_...`) from the start response.")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/healthz",
        "healthz",
        "Liveness: 200 while the process lives.",
        (Reply(200, "The process is alive.", schemas.Health),),
        public=True,
    ),
    Operation(
        "GET",
        "/readyz",
        "readyz",
        "Readiness: PostgreSQL and the broker answer.",
        (
            Reply(200, "PostgreSQL and the broker answer.", schemas.Ready),
            Reply(503, "PostgreSQL or the broker does not answer.", schemas.Ready),
        ),
        public=True,
    ),
    Operation(
        "GET",
        "/openapi.json",
        "openapi",
        "This OpenAPI document.",
        (Reply(200, "The OpenAPI 3.1 document."),),
        public=True,
        raw_200_schema={"type": "object"},
    ),
    Operation(
        "POST",
        "/leads/import/preview",
        "previewImport",
        "Upload a CSV file and preview its headers and first rows.",
        (
            Reply(200, "The file is kept for 1 hour under `file_id`.", schemas.PreviewResponse),
            _error(400, "No file, not multipart/form-data, or not a usable CSV."),
            UNAUTHORIZED,
            _error(413, "The file is over 10 MB."),
            _error(415, "The file is not a CSV (a spreadsheet, an archive, an image...)."),
        ),
        description="Multipart form with the CSV in the field `file`. UTF-8 (with or without "
        "BOM), UTF-16 with BOM or Windows-1252; delimiter `,` `;` tab or `|`.",
        multipart_body=schemas.PreviewUpload,
    ),
    Operation(
        "POST",
        "/leads/import/start",
        "startImport",
        "Start an import job of a previewed file with field and alias mappings.",
        (
            Reply(202, "The job is queued.", schemas.StartResponse),
            _error(400, "Invalid body, unknown column, kind, alias target or country."),
            UNAUTHORIZED,
            _error(404, "The file does not exist, expired, or belongs to another OU."),
        ),
        json_body=schemas.StartImport,
    ),
    Operation(
        "GET",
        "/leads/import/jobs",
        "listImportJobs",
        "List the import jobs of the token's OU, newest first.",
        (
            Reply(200, "A page of jobs.", schemas.JobList),
            _error(400, "`page` or `limit` is not a whole number in range."),
            UNAUTHORIZED,
        ),
        parameters=(
            _query(
                "page",
                {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
                "Page number.",
            ),
            _query(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
                "Jobs per page.",
            ),
        ),
    ),
    Operation(
        "GET",
        "/leads/import/jobs/{job_id}",
        "getImportJob",
        "The detail of an import job: counters, row errors and alias warnings.",
        (
            Reply(200, "The job.", schemas.JobDetail),
            UNAUTHORIZED,
            _error(404, "The job does not exist or belongs to another OU."),
        ),
        parameters=(JOB_ID,),
    ),
    Operation(
        "POST",
        "/leads/import/jobs/{job_id}/cancel",
        "cancelImportJob",
        "Cancel a queued or running job (idempotent); rows not yet applied never are.",
        (
            Reply(200, "The job as it stopped (status `cancelled`).", schemas.JobDetail),
            UNAUTHORIZED,
            _error(404, "The job does not exist or belongs to another OU."),
            _error(409, "The job already completed, failed, or is undoing or undone."),
        ),
        parameters=(JOB_ID,),
    ),
    Operation(
        "POST",
        "/leads/import/jobs/{job_id}/undo",
        "undoImportJob",
        "Undo a completed or cancelled import with compensating events (runs in the background).",
        (
            Reply(202, "The undo runs (status `undoing`, then `undone`).", schemas.JobRef),
            UNAUTHORIZED,
            _error(404, "The job does not exist or belongs to another OU."),
            _error(409, "The job is queued or running (cancel it first), failed, or undone."),
        ),
        description="Leads the job created are deleted, fields it changed go back, aliases it "
        "added are removed, except what a later import changed or may have used: the job "
        "detail's `undo_report` lists those. Asking again while it is `undoing` answers 202.",
        parameters=(JOB_ID,),
    ),
    Operation(
        "GET",
        "/leads",
        "findLeads",
        "Find leads by exactly one identifier, e.g. `?email=jane@example.com`.",
        (
            Reply(200, "The leads owning that identifier (zero or one).", schemas.LeadList),
            _error(400, "Not exactly one identifier, or the identifier is invalid."),
            UNAUTHORIZED,
        ),
        description="Give exactly one of " + ", ".join(f"`{k}`" for k in KINDS) + "; the "
        "value is normalized as on import.",
        parameters=(
            *(_query(kind, {"type": "string"}, f"A {kind} identifier.") for kind in KINDS),
            _query(
                "default_country",
                {"type": "string", "default": "US"},
                "ISO 3166-1 alpha-2 country for a phone number without a country code.",
            ),
        ),
    ),
    Operation(
        "GET",
        "/leads/{lead_id}",
        "getLead",
        "One lead.",
        (
            Reply(200, "The lead.", schemas.Lead),
            UNAUTHORIZED,
            _error(404, "The lead does not exist or belongs to another OU."),
        ),
        parameters=(_path("lead_id", {"type": "string", "format": "uuid"}, "Lead id."),),
    ),
    Operation(
        "GET",
        "/leads/{lead_id}/history",
        "getLeadHistory",
        "A lead's events in order: time, type, job and row, and what changed (old → new).",
        (
            Reply(200, "The lead's events, oldest first.", schemas.LeadHistory),
            UNAUTHORIZED,
            _error(404, "The lead does not exist or belongs to another OU."),
        ),
        description="Also for a lead an undo deleted: its last event is `LeadDeleted`.",
        parameters=(_path("lead_id", {"type": "string", "format": "uuid"}, "Lead id."),),
    ),
)


class _Components:
    """Collects model schemas and their ``$defs`` under ``components.schemas``."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def add(self, name: str, schema: dict[str, Any]) -> None:
        if name in self.schemas and self.schemas[name] != schema:
            raise ValueError(f"two different schemas named {name!r}")
        self.schemas[name] = schema

    def ref(self, model: type[BaseModel], mode: Mode) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        for name, sub in schema.pop("$defs", {}).items():
            self.add(name, sub)
        self.add(model.__name__, schema)
        return {"$ref": REF.format(model=model.__name__)}


def _operation(op: Operation, components: _Components) -> dict[str, Any]:
    doc: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.description:
        doc["description"] = op.description
    if op.parameters:
        doc["parameters"] = [dict(p) for p in op.parameters]
    if op.json_body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": components.ref(op.json_body, "validation")}},
        }
    if op.multipart_body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": components.ref(op.multipart_body, "validation"),
                    "encoding": {"file": {"contentType": "text/csv, application/octet-stream"}},
                }
            },
        }
    responses: dict[str, Any] = {}
    for reply in op.replies:
        entry: dict[str, Any] = {"description": reply.description}
        if reply.model is not None:
            body = components.ref(reply.model, "serialization")
            entry["content"] = {"application/json": {"schema": body}}
        elif reply.status == 200 and op.raw_200_schema is not None:
            entry["content"] = {"application/json": {"schema": op.raw_200_schema}}
        if reply.headers:
            entry["headers"] = reply.headers
        responses[str(reply.status)] = entry
    doc["responses"] = responses
    doc["security"] = [] if op.public else [{BEARER: []}]
    return doc


@functools.cache
def _document_bytes() -> bytes:
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "Lead Import API",
            "version": "0.1.0",
            "description": "Bulk import of leads from CSV files with field mapping and "
            "deduplication. Every `/leads...` endpoint needs `Authorization: Bearer <token>` "
            "and sees only its token's OU; errors have the body "
            '`{"error": {"code", "message"}}`.',
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token made by `leadimport token create --ou OU`.",
                }
            },
        },
        "security": [{BEARER: []}],
    }
    return orjson.dumps(document)


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may change it)."""
    document: dict[str, Any] = orjson.loads(_document_bytes())
    return document


async def serve(request: Request) -> Response:
    """``GET /openapi.json``: public, no token needed."""
    return Response(_document_bytes(), media_type="application/json")
