"""The ImportJob aggregate: the lifecycle of one import, as the user started it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict


class JobStatus(StrEnum):
    """A job's status, as the API shows it and the read model (``import_jobs.status``) keeps it."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNDOING = "undoing"
    UNDONE = "undone"


QUEUED, IN_PROGRESS = JobStatus.QUEUED, JobStatus.IN_PROGRESS
COMPLETED, FAILED, CANCELLED = JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED
UNDOING, UNDONE = JobStatus.UNDOING, JobStatus.UNDONE
# Rows of these jobs are applied (lead workers drop rows of any other job).
OPEN = frozenset({QUEUED, IN_PROGRESS})
# No row of the job is applied any more (lead workers only apply rows of queued/in_progress jobs).
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, UNDOING, UNDONE})
# An undo starts only when no row can arrive any more: completed, or cancelled (rows not yet
# applied never are). A running job has to be cancelled first.
UNDOABLE = frozenset({COMPLETED, CANCELLED})
# Stopped by a person: an importer stops publishing the rows of these jobs.
STOPPED = frozenset({CANCELLED, UNDOING, UNDONE})


class ImportMode(StrEnum):
    """What a job does with a row, depending on whether its lead exists (``JobQueued.mode``).

    ``upsert``: create the lead, or update it (the default); ``create_only``: a row whose lead
    exists is skipped; ``update_only``: a row whose lead does not exist is skipped. A skipped
    row changes nothing and records no warning (``domain.merge.skips``)."""

    UPSERT = "upsert"
    CREATE_ONLY = "create_only"
    UPDATE_ONLY = "update_only"


UPSERT, CREATE_ONLY, UPDATE_ONLY = ImportMode.UPSERT, ImportMode.CREATE_ONLY, ImportMode.UPDATE_ONLY
MODES: tuple[str, ...] = tuple(m.value for m in ImportMode)

DRY_RUN_NOT_UNDOABLE = (
    "Job {job_id} was a dry run: it changed no lead, so there is nothing to undo. "
    "Start the import without dry_run to apply it."
)


def status_values(statuses: frozenset[JobStatus]) -> list[str]:
    """Plain strings, sorted, for a SQL parameter (``status = ANY(%s)``)."""
    return sorted(s.value for s in statuses)


def job_uuid(job_id: str) -> UUID:
    """``job_<32 hex>`` is the public form of the aggregate id."""
    return UUID(hex=job_id.removeprefix("job_"))


def public_job_id(aggregate_id: UUID) -> str:
    return f"job_{aggregate_id.hex}"


class ImportJob(Aggregate):
    class JobQueued(Aggregate.Created):
        """The user started an import.

        Version 2: the mappings are lists of ``[column, target]`` pairs. Column names come from
        the uploaded file, so they are stored only as values, never as keys: a header such as
        ``_type_`` or ``_data_`` would otherwise be read back as the event store's tag of a
        typed value (version 1 stored ``{column: target}``; the upcaster turns those into
        pairs, see ``adapters.transcoder`` for how such a stored dict still reads back).

        Version 3: ``mode`` (an ``ImportMode`` value) and ``dry_run`` (simulate the import: no
        lead changes). Older events are read as ``upsert``, not a dry run (``upcast_v2_v3``).
        """

        class_version = 3

        ou: str
        file_id: str
        file_name: str
        total_rows: int
        primary_identifier: dict[str, str]  # {"column": ..., "kind": ...}: fixed keys
        field_mappings: list[list[str]]  # [[column, profile field], ...]
        alias_mappings: list[list[str]]  # [[column, "_alias_<kind>"], ...]
        ignored_fields: list[str]
        default_country: str
        mode: str
        dry_run: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            for key in ("field_mappings", "alias_mappings"):
                state[key] = [[column, target] for column, target in state[key].items()]

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["mode"] = UPSERT.value
            state["dry_run"] = False

    class JobStarted(Aggregate.Event):
        pass

    class JobRowsPublished(Aggregate.Event):
        total: int

    class JobCompleted(Aggregate.Event):
        pass

    class JobFailed(Aggregate.Event):
        reason: str

    class JobCancelled(Aggregate.Event):
        pass

    class JobUndoRequested(Aggregate.Event):
        """The undo of the whole job began; the importer appends the compensating lead events
        in the background. Read model: ``import_jobs.status`` becomes ``undoing``."""

    class JobUndone(Aggregate.Event):
        """Every lead the job touched was compensated or kept (see domain/undo.py).

        ``report``: counts of what was undone and the list of what was not, with reasons
        (``UndoReport.as_dict``). Read model: ``import_jobs.status`` becomes ``undone`` and
        ``import_jobs.undo_report`` holds ``report``.
        """

        report: dict[str, Any]

    @event(JobQueued)
    def __init__(
        self,
        ou: str,
        file_id: str,
        file_name: str,
        total_rows: int,
        primary_identifier: dict[str, str],
        field_mappings: list[list[str]],
        alias_mappings: list[list[str]],
        ignored_fields: list[str],
        default_country: str,
        mode: str = UPSERT.value,
        dry_run: bool = False,
    ) -> None:
        self.ou = ou
        self.file_id = file_id
        self.file_name = file_name
        self.total_rows = total_rows
        self.primary_identifier = primary_identifier
        # In memory (never stored) as {column: target}: columns are unique in a file.
        self.field_mappings = {column: target for column, target in field_mappings}
        self.alias_mappings = {column: target for column, target in alias_mappings}
        self.ignored_fields = ignored_fields
        self.default_country = default_country
        self.mode = ImportMode(mode)
        self.dry_run = dry_run
        self.status = QUEUED
        self.rows_published: int | None = None
        self.undo_report: dict[str, Any] | None = None

    @property
    def job_id(self) -> str:
        return public_job_id(self.id)

    def start(self) -> None:
        """Processing began; a no-op when it already had (a re-driven job)."""
        if self.status == QUEUED:
            self._started()

    @event(JobStarted)
    def _started(self) -> None:
        self.status = IN_PROGRESS

    def record_rows_published(self, total: int) -> None:
        if self.rows_published != total:
            self._rows_published(total)

    @event(JobRowsPublished)
    def _rows_published(self, total: int) -> None:
        self.rows_published = total

    def complete(self) -> None:
        if self.status in TERMINAL:
            raise Conflict(f"Job {self.job_id} is already {self.status}.")
        self._completed()

    @event(JobCompleted)
    def _completed(self) -> None:
        self.status = COMPLETED

    def cancel(self) -> bool:
        """Stop the job where it is; True when this call cancelled it (False: it already was)."""
        if self.status == CANCELLED:
            return False
        if self.status in TERMINAL:
            raise Conflict(f"Job {self.job_id} is already {self.status} and cannot be cancelled.")
        self._cancelled()
        return True

    @event(JobCancelled)
    def _cancelled(self) -> None:
        self.status = CANCELLED

    def fail(self, reason: str) -> None:
        if self.status in TERMINAL:
            raise Conflict(f"Job {self.job_id} is already {self.status}.")
        self._failed(reason)

    @event(JobFailed)
    def _failed(self, reason: str) -> None:
        self.status = FAILED

    def request_undo(self) -> bool:
        """Start undoing the job; True when this call started it (False: already undoing, so a
        repeated request only asks the importer again). A dry run has nothing to undo."""
        if self.dry_run:
            raise Conflict(DRY_RUN_NOT_UNDOABLE.format(job_id=self.job_id))
        if self.status == UNDOING:
            return False
        if self.status == UNDONE:
            raise Conflict(
                f"Job {self.job_id} is already undone; what could not be undone is listed in "
                "its undo_report (GET /leads/import/jobs/{jobId})."
            )
        if self.status not in UNDOABLE:
            hint = (
                "Cancel it first (POST /leads/import/jobs/{jobId}/cancel), then undo it."
                if self.status in (QUEUED, IN_PROGRESS)
                else "Only completed or cancelled jobs can be undone."
            )
            raise Conflict(f"Job {self.job_id} is {self.status}. {hint}")
        self._undo_requested()
        return True

    @event(JobUndoRequested)
    def _undo_requested(self) -> None:
        self.status = UNDOING

    def finish_undo(self, report: dict[str, Any]) -> None:
        if self.status != UNDOING:
            raise Conflict(f"Job {self.job_id} is {self.status}, not being undone.")
        self._undone(report)

    @event(JobUndone)
    def _undone(self, report: dict[str, Any]) -> None:
        self.status = UNDONE
        self.undo_report = report

    def alias_mappings_kinds(self) -> dict[str, Any]:
        """``{column: identifier kind}`` from ``{column: "_alias_<kind>"}``."""
        return {col: target.removeprefix("_alias_") for col, target in self.alias_mappings.items()}

    def describe(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status, "file_name": self.file_name}
