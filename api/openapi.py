"""The OpenAPI 3.1 document of the API, built from the route table and the pydantic models of
``api.schemas``.

Every API route of ``api.app.routes`` is an ``ApiRoute``: the document takes each operation's
path and method from the route, and the rest (summary, answers, bodies, parameters) from the
``Operation`` the route carries. Schemas come from
``model_json_schema(ref_template="#/components/schemas/{model}")``; their ``$defs`` are collected
into ``components.schemas``. Query parameters of a ``query`` model come from its JSON schema.
The pages for people and their files (``PageRoute``, ``AssetMount``: ``api/web.py``) are not
API operations and are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from api import schemas

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
    # A body that is not JSON: media type -> media type object (e.g. a CSV download).
    content: dict[str, Any] | None = None


@dataclass(frozen=True)
class Operation:
    """The documentation of one route (its path and method are the route's own)."""

    operation_id: str
    summary: str
    replies: tuple[Reply, ...]
    description: str = ""
    parameters: tuple[dict[str, Any], ...] = ()
    query: type[BaseModel] | None = None  # parameters from the model's fields, after these
    json_body: type[BaseModel] | None = None
    multipart_body: type[BaseModel] | None = None
    public: bool = False
    raw_200_schema: dict[str, Any] | None = None


class ApiRoute(Route):
    """A route of one method that carries its documentation."""

    def __init__(
        self, method: str, path: str, endpoint: Callable[..., Any], operation: Operation
    ) -> None:
        super().__init__(path, endpoint, methods=[method])
        self.operation = operation
        # Every method of the path, for the ``Allow`` of a 405 (``link_methods``).
        self.allowed: set[str] = set(self.methods or ())

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in (self.methods or ()):
            # The router hands a request of another method to the first route of its path:
            # its 405 lists what every route of the path allows (RFC 9110).
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(self.allowed))})
        await super().handle(scope, receive, send)


def link_methods(routes: Sequence[BaseRoute]) -> None:
    """Let each ``ApiRoute`` know the methods of the other routes of its path (``Allow``)."""
    by_path: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, ApiRoute):
            by_path.setdefault(route.path, set()).update(route.methods or ())
    for route in routes:
        if isinstance(route, ApiRoute):
            route.allowed = by_path[route.path]


class PageRoute(Route):
    """A ``GET`` route of a page for people (HTML: the import wizard, the API docs), not an
    API operation: the document leaves it out (``api/web.py``)."""

    def __init__(self, path: str, endpoint: Callable[..., Any]) -> None:
        super().__init__(path, endpoint, methods=["GET"])


class AssetMount(Mount):
    """Static files of the pages (CSS, JS, images), not API operations: the document leaves
    them out (``api/web.py``)."""


UNAUTHORIZED = Reply(
    401,
    "No bearer token, a malformed `Authorization` header, an unknown token, or an expired "
    "(`token_expired`) or revoked (`token_revoked`) one.",
    schemas.ErrorBody,
    headers={
        "WWW-Authenticate": {
            "description": "Always `Bearer`.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
)


RATE_LIMITED = (
    "The token sent more requests than its rate limit allows (api/ratelimit.py); try again "
    "after `Retry-After` seconds."
)


def _rate_limited(components: _Components) -> dict[str, Any]:
    retry_after = {
        "description": "Seconds after which the token may send again.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"},
    }
    return {
        "description": RATE_LIMITED,
        "content": {
            "application/json": {"schema": components.ref(schemas.ErrorBody, "serialization")}
        },
        "headers": {"Retry-After": retry_after},
    }


def error(status: int, description: str) -> Reply:
    return Reply(status, description, schemas.ErrorBody)


def query_parameter(
    name: str, schema: dict[str, Any], description: str, *, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def path_parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


def header_parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An optional request header."""
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": schema,
        "description": description,
    }


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One query parameter per field of ``model``, its schema (bounds, default) from the
    model's JSON schema and its description from the field's."""
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        description = prop.pop("description", "")
        parameters.append(query_parameter(name, prop, description, required=name in required))
    return parameters


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
    parameters = [dict(p) for p in op.parameters]
    if op.query is not None:
        parameters += query_parameters(op.query)
    if parameters:
        doc["parameters"] = parameters
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
        elif reply.content is not None:
            entry["content"] = reply.content
        if reply.headers:
            entry["headers"] = reply.headers
        responses[str(reply.status)] = entry
    if not op.public:  # every authenticated request counts against its token's rate limit
        limited = responses.setdefault("429", _rate_limited(components))
        if RATE_LIMITED not in limited["description"]:
            limited["description"] += " Or: " + RATE_LIMITED[0].lower() + RATE_LIMITED[1:]
    doc["responses"] = responses
    doc["security"] = [] if op.public else [{BEARER: []}]
    return doc


def _operations(routes: Sequence[BaseRoute]) -> list[tuple[str, str, Operation]]:
    """(path, method, documentation) of every route; each must be an ``ApiRoute``, a
    ``PageRoute`` or an ``AssetMount`` (the last two are for browsers and not documented)."""
    operations = []
    for route in routes:
        if isinstance(route, PageRoute | AssetMount):
            continue
        if not isinstance(route, ApiRoute):
            raise TypeError(f"route {route!r} is not an ApiRoute: it has no documentation")
        for method in sorted((route.methods or set()) - {"HEAD"}):  # Starlette adds HEAD to GET
            operations.append((route.path, method, route.operation))
    return operations


def document_bytes(routes: Sequence[BaseRoute]) -> bytes:
    """The document of ``routes``, as JSON."""
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for path, method, op in _operations(routes):
        paths.setdefault(path, {})[method.lower()] = _operation(op, components)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "Lead Import API",
            "version": "0.1.0",
            "description": "Bulk import of leads from CSV files with field mapping and "
            "deduplication. Every `/leads...` endpoint needs `Authorization: Bearer <token>` "
            "and sees only its token's OU; errors have the body "
            '`{"error": {"code", "message", "request_id"}}`. Every response carries '
            "`X-Request-ID`: the request's own when it sent a sane one (1 to 128 of "
            "`A-Z a-z 0-9 . _ : -`), else a new one.",
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


def openapi_document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The document of ``routes`` (e.g. ``api.app.routes``), a fresh copy callers may change."""
    document: dict[str, Any] = orjson.loads(document_bytes(routes))
    return document


async def serve(request: Request) -> Response:
    """``GET /openapi.json``: public, no token needed. The document of the serving app's routes,
    built on the first request and kept in the app's state."""
    state = request.app.state
    body: bytes | None = getattr(state, "openapi_json", None)
    if body is None:
        body = state.openapi_json = document_bytes(request.app.routes)
    return Response(body, media_type="application/json")
