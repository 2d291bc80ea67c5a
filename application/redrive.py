"""Re-drive dead letters after a fix (``leadimport dead-letters retry``)."""

from __future__ import annotations

import logging

from application import dead_letters, relaying
from application.container import Container

log = logging.getLogger(__name__)


def retry(c: Container, dead_letter_id: int) -> str | None:
    """Re-drive one dead letter; None when done (it is no longer listed), else why not (it
    stays listed, with that reason as ``retry_error``)."""
    letter = dead_letters.load(c, dead_letter_id)
    if letter is None:
        return f"there is no dead letter {dead_letter_id}"
    if letter["retried_at"] is not None:
        return f"dead letter {dead_letter_id} was already retried"
    try:
        if letter["notification_id"] is not None:
            if not relaying.republish(c, letter["notification_id"]):
                raise LookupError(f"notification {letter['notification_id']} no longer exists")
        else:
            dead_letters.retry_record(c, letter)
    except Exception as e:  # any failure of the retry is reported and kept with the letter
        error = f"{type(e).__name__}: {e}"
        dead_letters.mark_retried(c, dead_letter_id, error)
        return error
    dead_letters.mark_retried(c, dead_letter_id, None)
    return None
