-- Lead Import schema. Idempotent: runs at every start, under an advisory lock.
-- The event store tables (leadimport_events) are created by eventsourcing itself.

CREATE TABLE IF NOT EXISTS api_tokens (
    token_hash  text PRIMARY KEY,          -- sha256 of the token; the token itself is never stored
    ou          text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Uploaded files, kept for an hour (longer while a job still reads them).
CREATE TABLE IF NOT EXISTS preview_files (
    file_id     text PRIMARY KEY,
    ou          text NOT NULL,
    file_name   text NOT NULL,
    content     bytea NOT NULL,
    encoding    text NOT NULL,
    delimiter   text NOT NULL,
    headers     jsonb NOT NULL,
    row_count   integer NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS preview_files_expires_idx ON preview_files (expires_at);

-- Projection of ImportJob events plus the counters of row outcomes.
CREATE TABLE IF NOT EXISTS import_jobs (
    job_id              text PRIMARY KEY,
    ou                  text NOT NULL,
    status              text NOT NULL,
    file_id             text NOT NULL,
    file_name           text NOT NULL,
    created_at          timestamptz NOT NULL,
    started_at          timestamptz,
    completed_at        timestamptz,
    total_rows          integer NOT NULL,
    created_count       integer NOT NULL DEFAULT 0,
    updated_count       integer NOT NULL DEFAULT 0,
    failed_count        integer NOT NULL DEFAULT 0,
    primary_identifier  json NOT NULL,
    field_mappings      json NOT NULL,   -- json, not jsonb: keeps the user's order
    alias_mappings      json NOT NULL,
    ignored_fields      json NOT NULL DEFAULT '[]',
    default_country     text NOT NULL,
    failure_reason      text,
    last_progress_at    timestamptz NOT NULL,
    redrive_count       integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS import_jobs_ou_created_idx ON import_jobs (ou, created_at DESC, job_id);
CREATE INDEX IF NOT EXISTS import_jobs_open_idx ON import_jobs (status)
    WHERE status IN ('queued', 'in_progress');
-- The report of JobUndone (what an undo did and could not do); null until the job is undone.
-- Added after the first release: ALTER keeps existing databases migrating.
ALTER TABLE import_jobs ADD COLUMN IF NOT EXISTS undo_report jsonb;

-- One row per applied CSV row: the idempotency key of the pipeline (job_id, row), written in the
-- same transaction as the lead events it caused.
CREATE TABLE IF NOT EXISTS row_outcomes (
    job_id   text NOT NULL,
    row      integer NOT NULL,
    outcome  text NOT NULL CHECK (outcome IN ('created', 'updated', 'failed')),
    lead_id  uuid,
    error    text,
    value    text,
    PRIMARY KEY (job_id, row)
);

CREATE TABLE IF NOT EXISTS job_warnings (
    job_id   text NOT NULL,
    row      integer NOT NULL,
    seq      integer NOT NULL,
    warning  text NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (job_id, row, seq)
);

-- An identifier belongs to at most one lead: the primary key is the guard.
CREATE TABLE IF NOT EXISTS lead_identifiers (
    ou       text NOT NULL,
    kind     text NOT NULL,
    value    text NOT NULL,
    lead_id  uuid NOT NULL,
    PRIMARY KEY (ou, kind, value)
);
CREATE INDEX IF NOT EXISTS lead_identifiers_lead_idx ON lead_identifiers (lead_id);

-- Read model of leads for GET /leads.
CREATE TABLE IF NOT EXISTS leads_view (
    lead_id      uuid PRIMARY KEY,
    ou           text NOT NULL,
    identifiers  jsonb NOT NULL,
    fields       jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- Outbox relay position: the last notification id of leadimport_events published to Kafka,
-- updated only after the broker acknowledged everything up to it (consumers/relay.py).
CREATE TABLE IF NOT EXISTS relay_position (
    name             text PRIMARY KEY,
    notification_id  bigint NOT NULL
);
