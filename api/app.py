"""The route table (each route carries its OpenAPI documentation) and the application factory.
The endpoints are in ``api.handlers``, their request plumbing in ``api.plumbing``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute

from api import errors, inputs, job_routes, lead_routes, metrics, openapi, schemas, web
from api.handlers import (
    healthz,
    mapping_targets,
    preview,
    readyz,
    start,
)
from api.middleware import ObservedApp
from api.openapi import UNAUTHORIZED, ApiRoute, Operation, Reply, error
from api.plumbing import JSON, answer
from api.ratelimit import TokenBuckets
from application.container import Container
from domain.errors import DomainError

__all__ = ["JSON", "answer", "create_app", "routes"]

IDEMPOTENCY_KEY = openapi.header_parameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    "A unique key of this start request (a UUID), 1 to 200 printable ASCII characters. The same "
    "request sent again with it within 24 hours answers the job the first one queued, with "
    "the same body and `Location`; with another body, 409. Keys are per OU.",
)
LOCATION = {
    "description": "The job: `/leads/import/jobs/{job_id}`.",
    "required": True,
    "schema": {"type": "string", "pattern": "^/leads/import/jobs/job_[0-9a-f]{32}$"},
}


def too_many(description: str) -> Reply:
    """A 429 with its ``Retry-After`` (api/errors.py sets it from ``TooManyRequests``)."""
    retry_after = {
        "description": "Seconds after which a slot is likely free.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"},
    }
    return Reply(429, description, schemas.ErrorBody, headers={"Retry-After": retry_after})


routes: list[BaseRoute] = [
    ApiRoute(
        "GET",
        "/healthz",
        healthz,
        Operation(
            "healthz",
            "Liveness: 200 while the process lives.",
            (Reply(200, "The process is alive.", schemas.Health),),
            public=True,
        ),
    ),
    ApiRoute(
        "GET",
        "/readyz",
        readyz,
        Operation(
            "readyz",
            "Readiness: PostgreSQL and the broker answer.",
            (
                Reply(200, "PostgreSQL and the broker answer.", schemas.Ready),
                Reply(503, "PostgreSQL or the broker does not answer.", schemas.Ready),
            ),
            public=True,
        ),
    ),
    ApiRoute(
        "GET",
        "/openapi.json",
        openapi.serve,
        Operation(
            "openapi",
            "This OpenAPI document.",
            (Reply(200, "The OpenAPI 3.1 document."),),
            public=True,
            raw_200_schema={"type": "object"},
        ),
    ),
    ApiRoute(
        "GET",
        "/metrics",
        metrics.serve,
        Operation(
            "metrics",
            'Metrics in the Prometheus text format (docs/operations.md, "Metrics").',
            (
                Reply(
                    200,
                    "HTTP requests and latency by route, jobs by status, rows by outcome, dead "
                    "letters, relay lag, consumer lag per group and partition. Answers also "
                    "when PostgreSQL or the broker does not: `leadimport_metrics_source_up` "
                    "says which source is left out.",
                    content={"text/plain": {"schema": {"type": "string"}}},
                ),
            ),
            description="For Prometheus to scrape: no token (it shows no OU's data and no OU "
            "name; every figure sums all OUs).",
            public=True,
        ),
    ),
    ApiRoute(
        "POST",
        "/leads/import/preview",
        preview,
        Operation(
            "previewImport",
            "Upload a CSV file and preview its headers and first rows.",
            (
                Reply(200, "The file is kept for 1 hour under `file_id`.", schemas.PreviewResponse),
                error(
                    400,
                    "No file, not multipart/form-data, not a usable CSV (also: over 1,000 "
                    "columns, or a cell over 131,072 characters), or an unknown `encoding` or "
                    "`delimiter`.",
                ),
                UNAUTHORIZED,
                error(413, "The file is over 10 MB."),
                error(415, "The file is not a CSV (a spreadsheet, an archive, an image...)."),
                too_many(
                    "The OU already stores its limit of previews (100 by default); "
                    "`Retry-After`: until the oldest expires."
                ),
            ),
            description="Multipart form with the CSV in the field `file`. The encoding is "
            "detected (UTF-8, UTF-16, the Windows and ISO code pages, Shift_JIS, GB18030, "
            "EUC-KR...; Windows-1252 when there is too little text to tell) and the delimiter "
            "(`,` `;` tab or `|`); the optional fields `encoding` and `delimiter` override them. "
            "The answer says which were used.",
            multipart_body=inputs.PreviewUpload,
        ),
    ),
    ApiRoute(
        "POST",
        "/leads/import/start",
        start,
        Operation(
            "startImport",
            "Start an import job of a previewed file with field and alias mappings.",
            (
                Reply(
                    202,
                    "The job is queued (or, for a start sent again with its `Idempotency-Key`, "
                    "was queued: the first answer again).",
                    schemas.StartResponse,
                    headers={"Location": LOCATION},
                ),
                error(
                    400,
                    "Invalid body, unknown column, kind, alias target or country, unknown "
                    "`mode` (the message lists them), `dry_run` not a JSON boolean, unknown "
                    "`encoding` or `delimiter`, or the file cannot be read with them; an "
                    "`Idempotency-Key` that is empty, over 200 characters or not printable ASCII.",
                ),
                UNAUTHORIZED,
                error(404, "The file does not exist, expired, or belongs to another OU."),
                too_many(
                    "The OU already has its limit of queued jobs (20 by default; `Retry-After`: "
                    "an estimate of when one starts), or a start with another `encoding` or "
                    "`delimiter` needs a copy of the file and the OU stores its limit of "
                    "previews."
                ),
                error(
                    409,
                    "The `Idempotency-Key` was used in the last 24 hours for another start "
                    "request (another body).",
                ),
            ),
            description="`encoding` and `delimiter` read the file otherwise than its preview "
            "did (the preview stays as it was; the job reads a copy of the file with them). "
            "With an `Idempotency-Key`, a start sent again (a retry after a timeout) starts no "
            "second job: it answers 202 with the first answer. `mode` says what a row does "
            "when its lead exists or not; `dry_run` only simulates the import (no lead changes) "
            "and reports what a real run would count.",
            parameters=(IDEMPOTENCY_KEY,),
            json_body=inputs.StartImport,
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/import/fields",
        mapping_targets,
        Operation(
            "listImportFields",
            "The profile fields and alias targets a start request may map columns to.",
            (
                Reply(200, "Every profile field and alias target.", schemas.MappingTargets),
                UNAUTHORIZED,
            ),
            description="`fields`: the targets of `field_mappings` (canonical names; a "
            "mapping may also spell them in any case, with spaces or `-`); `alias_targets`: "
            "the targets of `alias_mappings` with the identifier kind each adds. The preview's "
            "`suggested_mappings` use these names.",
        ),
    ),
    *job_routes.routes,  # /leads/import/jobs and each job's resources
    *lead_routes.routes,  # /leads, /leads/{lead_id}: find, read, history, erase
    # The import wizard (/import, / leads there), the API docs (/docs) and their static files:
    # pages for people, left out of /openapi.json (api/web.py).
    *web.routes,
]


openapi.link_methods(routes)  # GET and DELETE /leads/{lead_id}: a 405 names both


def create_app(
    c: Container,
    rate_limit: TokenBuckets | None = None,
    *,
    consumer_groups: Mapping[str, Sequence[str]] | None = None,
    metrics_max_age_s: float = metrics.MAX_AGE_S,
) -> Starlette:
    """The application over ``c``; ``rate_limit``: the per-token limit (``api.ratelimit``; its
    defaults unless given: the API process passes the settings'); ``consumer_groups``: the
    consumer groups (``{group: [topic, ...]}``) whose lag ``GET /metrics`` reports (the API
    process passes the workers'); ``metrics_max_age_s``: how long ``GET /metrics`` reuses a
    database reading (``api.metrics``; tests that scrape before and after an action pass 0)."""
    registry, http_metrics = metrics.make_registry(
        c, consumer_groups or {}, max_age_s=metrics_max_age_s
    )
    app = ObservedApp(
        routes=routes,
        exception_handlers={
            DomainError: errors.domain_error,
            ValidationError: errors.validation_error,
            HTTPException: errors.http_error,
            Exception: errors.server_error,
        },
    )
    app.http_metrics = http_metrics  # RequestContext (api/middleware.py) around everything
    app.state.metrics = registry
    app.state.container = c
    app.state.rate_limit = rate_limit if rate_limit is not None else TokenBuckets()
    return app
