"""Files sent as downloads: a streamed CSV with a safe ``Content-Disposition``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import StreamingResponse

from application.results import Download

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# The headers every download carries, as documented in the route table.
CONTENT_DISPOSITION = {
    "description": "`attachment` with the file name: `filename` in plain ASCII and, when the "
    "name is not plain ASCII, `filename*=UTF-8''…` (RFC 6266).",
    "required": True,
    "schema": {"type": "string", "pattern": '^attachment; filename="[^"]+"'},
}
CSV_CONTENT: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}


def content_disposition(name: str, ascii_name: str) -> str:
    """``attachment; filename="ascii"`` and, when ``name`` is not that, RFC 6266's
    ``filename*=UTF-8''<percent-encoded name>``. ``ascii_name`` holds no quote, backslash or
    control character (``domain.resultfiles.download_names``)."""
    header = f'attachment; filename="{ascii_name}"'
    if name != ascii_name:
        header += "; filename*=UTF-8''" + quote(name, safe="")
    return header


def csv_download(download: Download) -> StreamingResponse:
    """The file, sent as its chunks are produced (never held whole)."""
    return StreamingResponse(
        download.chunks,
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": content_disposition(download.name, download.ascii_name),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
