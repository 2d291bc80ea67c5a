"""Pure domain of Lead Import: CSV reading, identifiers, aggregates, decisions.

Imports nothing of the infrastructure (no database, broker or HTTP code).
"""
