"""Mapping help: what a start request may map columns to (``GET /leads/import/fields``). The
suggested mappings of a file are part of its preview (``application.previews``, built by
``domain.suggest``)."""

from __future__ import annotations

from typing import Any

from domain.fields import ALIAS_DESCRIPTIONS, FIELD_DESCRIPTIONS
from domain.identifiers import ALIAS_TARGETS


def mapping_targets() -> dict[str, Any]:
    """The profile fields (``field_mappings`` targets) and the alias targets
    (``alias_mappings``), each with what it holds, in the order docs/api.md lists them."""
    return {
        "fields": [
            {"name": name, "description": description}
            for name, description in FIELD_DESCRIPTIONS.items()
        ],
        "alias_targets": [
            {"target": target, "kind": kind, "description": ALIAS_DESCRIPTIONS[target]}
            for target, kind in ALIAS_TARGETS.items()
        ],
    }
