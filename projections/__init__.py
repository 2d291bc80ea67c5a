"""Read models built from events and row outcomes: job counters, statuses, errors, leads."""
