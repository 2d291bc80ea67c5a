-- Lead Import schema. Idempotent: runs at every start, under an advisory lock.
-- The event store tables (leadimport_events) are created by eventsourcing itself.

CREATE TABLE IF NOT EXISTS api_tokens (
    token_hash  text PRIMARY KEY,          -- sha256 of the token; the token itself is never stored
    ou          text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Added after the second release (adapters/tokens.py): a public id that lists and revocations
-- name (rows made before get a random one), a name, an expiry, a revocation and when the token
-- was last used (written at most once a minute). Tokens without expiry or revocation still work.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'api_tokens'::regclass
                   AND attname = 'token_id' AND NOT attisdropped) THEN
        ALTER TABLE api_tokens ADD COLUMN token_id text NOT NULL
            DEFAULT ('tok_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 12));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'api_tokens'::regclass
                   AND attname = 'name' AND NOT attisdropped) THEN
        ALTER TABLE api_tokens ADD COLUMN name text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'api_tokens'::regclass
                   AND attname = 'expires_at' AND NOT attisdropped) THEN
        ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'api_tokens'::regclass
                   AND attname = 'revoked_at' AND NOT attisdropped) THEN
        ALTER TABLE api_tokens ADD COLUMN revoked_at timestamptz;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'api_tokens'::regclass
                   AND attname = 'last_used_at' AND NOT attisdropped) THEN
        ALTER TABLE api_tokens ADD COLUMN last_used_at timestamptz;
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS api_tokens_token_id_idx ON api_tokens (token_id);
CREATE INDEX IF NOT EXISTS api_tokens_ou_idx ON api_tokens (ou, created_at);

-- Uploaded files, kept for an hour (longer while a job still reads them, and after a job ended
-- as long as its result files: application/previews.py, purge_expired_files).
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
-- The per-OU cap counts an OU's unexpired previews.
CREATE INDEX IF NOT EXISTS preview_files_ou_idx ON preview_files (ou, expires_at);
-- source_file_id: set on the copy a start with another encoding or delimiter makes of a file
-- (the original stays as it was previewed); a later start asking the same reuses the copy.
-- Added after the first release, once (no lock at every start, unlike a bare ALTER).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'preview_files'::regclass
                   AND attname = 'source_file_id' AND NOT attisdropped) THEN
        ALTER TABLE preview_files ADD COLUMN source_file_id text;
    END IF;
END $$;

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

-- Idempotency-Key of a start (application/idempotency.py): per OU, inserted in the transaction
-- that stores the job's first event, so a key maps to exactly that job. Kept 24 hours (an older
-- one counts as unused), then purged by the importer's sweep.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    ou            text NOT NULL,
    key           text NOT NULL,          -- at most 200 printable ASCII characters
    request_hash  text NOT NULL,          -- sha256 of the normalized start request
    job_id        text NOT NULL,
    response      jsonb NOT NULL,         -- the 202 body, answered again to a retry
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (ou, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_idx ON idempotency_keys (created_at);

-- One row per applied CSV row: the idempotency key of the pipeline (job_id, row), written in the
-- same transaction as the lead events it caused.
CREATE TABLE IF NOT EXISTS row_outcomes (
    job_id   text NOT NULL,
    row      integer NOT NULL,
    outcome  text NOT NULL CHECK (outcome IN ('created', 'updated', 'failed', 'skipped')),
    lead_id  uuid,
    error    text,
    value    text,
    PRIMARY KEY (job_id, row)
);
-- The job's errors in row order (job detail, GET .../errors): without it a page of a job with
-- few failed rows among 100,000 reads every outcome of the job.
CREATE INDEX IF NOT EXISTS row_outcomes_failed_idx ON row_outcomes (job_id, row)
    WHERE outcome = 'failed';

CREATE TABLE IF NOT EXISTS job_warnings (
    job_id   text NOT NULL,
    row      integer NOT NULL,
    seq      integer NOT NULL,
    warning  text NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (job_id, row, seq)
);
-- import_jobs.warning_count: the job's warnings, counted with the other counters in the
-- transaction that stores them (its errors are failed_count), so the job detail reads a total
-- instead of counting. Added after the first release: a database from before gets the column
-- once, filled from job_warnings (hence here, after that table); afterwards this block does
-- nothing and, unlike a bare ALTER, takes no lock at every start.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'import_jobs'::regclass
                   AND attname = 'warning_count' AND NOT attisdropped) THEN
        ALTER TABLE import_jobs ADD COLUMN warning_count integer NOT NULL DEFAULT 0;
        UPDATE import_jobs j SET warning_count = w.n
            FROM (SELECT job_id, count(*) AS n FROM job_warnings GROUP BY job_id) w
            WHERE w.job_id = j.job_id;
    END IF;
END $$;

-- Import modes and dry runs (JobQueued version 3), added after the first release, once each:
-- import_jobs.mode ('upsert', 'create_only', 'update_only') and dry_run, which the lead worker
-- reads with the job's status; skipped_count, the rows a mode skipped (row outcome 'skipped',
-- which the CHECK of a database from before does not allow yet: it is replaced, once).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'import_jobs'::regclass
                   AND attname = 'skipped_count' AND NOT attisdropped) THEN
        ALTER TABLE import_jobs ADD COLUMN skipped_count integer NOT NULL DEFAULT 0;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'import_jobs'::regclass
                   AND attname = 'mode' AND NOT attisdropped) THEN
        ALTER TABLE import_jobs ADD COLUMN mode text NOT NULL DEFAULT 'upsert';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'import_jobs'::regclass
                   AND attname = 'dry_run' AND NOT attisdropped) THEN
        ALTER TABLE import_jobs ADD COLUMN dry_run boolean NOT NULL DEFAULT false;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'row_outcomes'::regclass
               AND conname = 'row_outcomes_outcome_check'
               AND pg_get_constraintdef(oid) NOT LIKE '%skipped%') THEN
        ALTER TABLE row_outcomes DROP CONSTRAINT row_outcomes_outcome_check;
        ALTER TABLE row_outcomes ADD CONSTRAINT row_outcomes_outcome_check
            CHECK (outcome IN ('created', 'updated', 'failed', 'skipped'));
    END IF;
END $$;

-- An identifier belongs to at most one lead: the primary key is the guard.
CREATE TABLE IF NOT EXISTS lead_identifiers (
    ou       text NOT NULL,
    kind     text NOT NULL,
    value    text NOT NULL,
    lead_id  uuid NOT NULL,
    PRIMARY KEY (ou, kind, value)
);
CREATE INDEX IF NOT EXISTS lead_identifiers_lead_idx ON lead_identifiers (lead_id);

-- A dry run's simulation (domain/dry_run.py): what the job's rows would have done, instead of
-- lead events, lead_identifiers and leads_view, written in each batch's transaction with its
-- row outcomes; deleted when the job ends. Not a projection of events: a replay leaves them.
-- dry_run_claims: the identifiers the job would claim; the primary key gives the conflicts of
-- lead_identifiers (two workers claiming one identifier: one batch is planned again).
CREATE TABLE IF NOT EXISTS dry_run_claims (
    job_id   text NOT NULL,
    ou       text NOT NULL,
    kind     text NOT NULL,
    value    text NOT NULL,
    lead_id  uuid NOT NULL,            -- a real lead, or one the job would create (made up)
    PRIMARY KEY (job_id, ou, kind, value)
);
-- dry_run_leads: each lead the job would create (made_up) or change, as it would be; version:
-- the writes' optimistic lock (two workers changing one lead: one batch is planned again).
CREATE TABLE IF NOT EXISTS dry_run_leads (
    job_id       text NOT NULL,
    lead_id      uuid NOT NULL,
    made_up      boolean NOT NULL,
    identifiers  jsonb NOT NULL,
    fields       jsonb NOT NULL,
    version      integer NOT NULL,
    PRIMARY KEY (job_id, lead_id)
);

-- A running job's recent progress, for the job detail's rows_per_second and eta_seconds
-- (projections/progress.py): one sample per lead-worker batch, written in the batch's
-- transaction after the job's counters (processed = created + updated + failed + skipped then);
-- the same statement deletes the job's samples older than a minute, and the end of the job
-- deletes all of them. Operational, like import_jobs.last_progress_at: not a projection of
-- events, a replay leaves it alone. No key: two samples may share a time.
CREATE TABLE IF NOT EXISTS job_progress (
    job_id     text NOT NULL,
    at         timestamptz NOT NULL,   -- statement_timestamp(), after the batch locked the job
    processed  integer NOT NULL
);
CREATE INDEX IF NOT EXISTS job_progress_job_at_idx ON job_progress (job_id, at);

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

-- Records and events a worker could not handle after a few attempts (the worker moved on).
-- A Kafka record: topic, partition, offset, key and the payload as received; an event of the
-- store the relay could not publish: its notification id. ``retried_at``: when an operator
-- re-drove it (``leadimport dead-letters retry``).
CREATE TABLE IF NOT EXISTS dead_letters (
    id               bigserial PRIMARY KEY,
    worker           text NOT NULL,
    topic            text,
    kafka_partition  integer,
    kafka_offset     bigint,
    notification_id  bigint,
    record_key       bytea,
    payload          bytea,
    job_id           text,
    error            text NOT NULL,
    attempts         integer NOT NULL,
    first_seen       timestamptz NOT NULL,
    last_seen        timestamptz NOT NULL,
    retried_at       timestamptz,
    retry_error      text
);
CREATE INDEX IF NOT EXISTS dead_letters_open_idx ON dead_letters (id) WHERE retried_at IS NULL;

-- Erasure by crypto-shredding (application/erasure.py, adapters/keys.py, adapters/sealing.py).
-- lead_keys: each lead's data key (AES-256), inserted with the lead's first event; the personal
-- data of its events and snapshots is stored sealed with it. Erasing the lead deletes the row.
-- Added after the third release: a database from before gets the table once, with a key for
-- every lead it already has (their events stored until then stay readable as they were: only
-- events stored from now on are sealed). Only leads created in plain get one: a lead whose first
-- event is sealed ('"_sealed_"' in its state) was sealed with a key of its own, which this
-- database lacks (its events were copied without their keys). gen_random_uuid() draws from the
-- server's strong random source; two of them make 32 bytes (244 random bits).
DO $$
BEGIN
    IF to_regclass('lead_keys') IS NULL THEN
        CREATE TABLE lead_keys (
            lead_id  uuid PRIMARY KEY,
            key      bytea NOT NULL
        );
        IF to_regclass('leadimport_events') IS NOT NULL THEN
            INSERT INTO lead_keys (lead_id, key)
                SELECT originator_id, uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
                FROM leadimport_events
                WHERE originator_version = 1 AND topic = 'domain.lead:Lead.LeadCreated'
                AND position(convert_to('"_sealed_"', 'UTF8') IN state) = 0;
        END IF;
    END IF;
END $$;
-- value_keys: a key per value of the row ledger (RowsApplied): a failed row's value (seq -1) or
-- a warning's (seq: its number). Erasing a person deletes the keys of the values that were theirs.
CREATE TABLE IF NOT EXISTS value_keys (
    job_id  text NOT NULL,
    row     integer NOT NULL,
    seq     integer NOT NULL,
    key     bytea NOT NULL,
    PRIMARY KEY (job_id, row, seq)
);
-- The erasure log and queue: who asked (API token id, or "cli:..."), when, for which lead (never
-- a value of it), why (a reason code) and how far it got. One per lead: asking again answers the
-- same request. The importer's sweep carries out the pending ones (lease_until: taken by a
-- sweep until then; a crashed sweep's request is taken again after it).
CREATE TABLE IF NOT EXISTS erasure_requests (
    erasure_id    text PRIMARY KEY,
    ou            text NOT NULL,
    lead_id       uuid NOT NULL UNIQUE,
    requested_by  text NOT NULL,
    reason        text NOT NULL,
    requested_at  timestamptz NOT NULL,
    shredded_at   timestamptz,        -- LeadErased stored, key destroyed, read models cleared
    done_at       timestamptz,        -- every other copy blanked too
    report        jsonb,              -- counts of what was blanked, no values
    attempts      integer NOT NULL DEFAULT 0,
    lease_until   timestamptz,
    last_error    text                -- the failure's class and SQLSTATE, never its message
);
CREATE INDEX IF NOT EXISTS erasure_requests_pending_idx ON erasure_requests (requested_at)
    WHERE done_at IS NULL;
-- The rows of a lead (an erasure blanks their warnings and upload records: application/
-- erasure_copies.py); only rows that name a lead (failed rows name none).
CREATE INDEX IF NOT EXISTS row_outcomes_lead_idx ON row_outcomes (lead_id)
    WHERE lead_id IS NOT NULL;
