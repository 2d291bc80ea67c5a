"""Request bodies (pydantic v2). Response shapes are plain dicts built by the use cases."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PrimaryIdentifier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str = Field(min_length=1)
    kind: str = Field(min_length=1)


class StartImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_id: str = Field(min_length=1)
    primary_identifier: PrimaryIdentifier
    field_mappings: dict[str, str] = Field(default_factory=dict)
    alias_mappings: dict[str, str] = Field(default_factory=dict)
    default_country: str = "US"
