"""The row ledger: what each applied CSV row did, as events.

Lead events only exist for rows that change a lead; a failed row, an update that changed
nothing and the warnings of a row leave no trace there. ``RowsApplied`` records every row's
outcome, so the job counters, error lists and warnings can be rebuilt from events alone
(``leadimport replay``). One ``RowBatch`` aggregate per job per lead-worker batch: written once,
never updated, so concurrent workers never contend for it.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

# [row, outcome ("created" | "updated" | "failed" | "skipped"), lead id hex or None, error,
# value]. A dry run's rows: the lead id of a real lead only (None for one it would create).
Outcome = list[object]
# [row, seq, warning, value]
RowWarning = list[object]


class RowBatch(Aggregate):
    class RowsApplied(Aggregate.Created):
        ou: str
        job_id: str
        outcomes: list[Outcome]
        warnings: list[RowWarning]

    @event(RowsApplied)
    def __init__(
        self, ou: str, job_id: str, outcomes: list[Outcome], warnings: list[RowWarning]
    ) -> None:
        self.ou = ou
        self.job_id = job_id
        self.outcomes = outcomes
        self.warnings = warnings
