"""The use cases, one module per capability. They get their adapters handed in (``Container``)
and never read settings."""
