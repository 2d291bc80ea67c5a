"""The routes of leads (find by identifier, one lead, its history, its erasure and the erasure
request), each with its OpenAPI documentation; ``api.app`` puts them into its route table."""

from __future__ import annotations

from starlette.routing import BaseRoute

from api import inputs, openapi, schemas
from api.handlers import erase_lead, find_leads, get_erasure, get_lead, lead_history
from api.openapi import UNAUTHORIZED, ApiRoute, Operation, Reply, error
from domain.identifiers import KINDS
from domain.lead import ERASURE_REASONS

LEAD_ID = openapi.path_parameter("lead_id", {"type": "string", "format": "uuid"}, "Lead id.")
LEAD_NOT_FOUND = error(404, "The lead does not exist or belongs to another OU.")
ERASURE_LOCATION = {
    "description": "The erasure request: `/leads/erasures/{erasure_id}`.",
    "required": True,
    "schema": {"type": "string", "pattern": "^/leads/erasures/erasure_[0-9a-f]{32}$"},
}

routes: list[BaseRoute] = [
    ApiRoute(
        "GET",
        "/leads",
        find_leads,
        Operation(
            "findLeads",
            "Find leads by exactly one identifier, e.g. `?email=jane@example.com`.",
            (
                Reply(200, "The leads owning that identifier (zero or one).", schemas.LeadList),
                error(400, "Not exactly one identifier, or the identifier is invalid."),
                UNAUTHORIZED,
            ),
            description="Give exactly one of " + ", ".join(f"`{k}`" for k in KINDS) + "; the "
            "value is normalized as on import.",
            parameters=(
                *(
                    openapi.query_parameter(kind, {"type": "string"}, f"A {kind} identifier.")
                    for kind in KINDS
                ),
                openapi.query_parameter(
                    "default_country",
                    {"type": "string", "default": "US"},
                    "ISO 3166-1 alpha-2 country for a phone number without a country code.",
                ),
            ),
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/{lead_id}",
        get_lead,
        Operation(
            "getLead",
            "One lead.",
            (Reply(200, "The lead.", schemas.Lead), UNAUTHORIZED, LEAD_NOT_FOUND),
            parameters=(LEAD_ID,),
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/{lead_id}/history",
        lead_history,
        Operation(
            "getLeadHistory",
            "A lead's events in order: time, type, job and row, and what changed (old → new).",
            (
                Reply(200, "A page of the lead's events, oldest first.", schemas.LeadHistory),
                error(400, "`after` or `limit` is not a whole number in range."),
                UNAUTHORIZED,
                LEAD_NOT_FOUND,
            ),
            description="A page at a time: the first `limit` events after version `after`; "
            "`next_after` is the `after` of the next page (null on the last). Every page shows "
            "the same old → new values as the whole history. Also for a lead an undo deleted: "
            "its last event is `LeadDeleted`; for an erased lead, every event is marked "
            "`erased` and shows no values.",
            parameters=(LEAD_ID,),
            query=inputs.LeadHistoryQuery,
        ),
    ),
    ApiRoute(
        "DELETE",
        "/leads/{lead_id}",
        erase_lead,
        Operation(
            "eraseLead",
            "Erase a lead and the personal data kept about it (GDPR Art. 17, CCPA); runs in "
            "the background.",
            (
                Reply(
                    202,
                    "The erasure is logged (or was: asking again answers the same request); "
                    "`Location` is where to follow it.",
                    schemas.Erasure,
                    headers={"Location": ERASURE_LOCATION},
                ),
                error(400, "`reason` is not one of the reason codes (the message lists them)."),
                UNAUTHORIZED,
                error(404, "The lead does not exist or belongs to another OU."),
            ),
            description="The lead's key is destroyed, so its events can no longer be read "
            "(crypto-shredding); `LeadErased` and a tombstone go out on `leads.events`; the lead "
            "leaves `GET /leads` and its identifiers are free (a later import creates a new "
            "lead); its values are blanked in row errors, warnings, stored uploads, dead letters "
            "and undo reports. Also for a lead an undo deleted. See docs/operations.md, "
            '"Erasure", for what it cannot reach (backups, copies downstream).',
            parameters=(
                LEAD_ID,
                openapi.query_parameter(
                    "reason",
                    {"type": "string", "enum": list(ERASURE_REASONS)},
                    "Why (kept in the erasure log and `LeadErased`); default "
                    "`data_subject_request`.",
                ),
            ),
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/erasures/{erasure_id}",
        get_erasure,
        Operation(
            "getErasure",
            "An erasure request: `pending`, or `done` with counts of what was blanked.",
            (
                Reply(200, "The request.", schemas.Erasure),
                UNAUTHORIZED,
                error(404, "The request does not exist or belongs to another OU."),
            ),
            parameters=(
                openapi.path_parameter(
                    "erasure_id", {"type": "string"}, "From `DELETE /leads/{lead_id}`."
                ),
            ),
        ),
    ),
]
