"""The HTTP API (Starlette): thin endpoints over the use cases in ``application``."""
