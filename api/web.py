"""The pages for people: the import wizard (``/import``; ``/`` leads there) and the interactive
API docs (``/docs``, Swagger UI of ``/openapi.json``).

Everything a page loads is served by this process: our HTML in ``api/pages``, our CSS and JS in
``api/static`` (``/static/...``) and Swagger UI's files from the ``swagger-ui-py`` package
(``/static/swagger-ui/...``); nothing is fetched from elsewhere, so the pages work offline. The
wizard is a client of the public API only (the same bearer token, the same endpoints).

Pages and assets carry a Content-Security-Policy that allows scripts, styles and connections
only from this origin and no inline script, so a value from an uploaded file can never run even
if it reached the page as markup (the wizard renders every such value as text). The JSON API's
responses are left as they are. ``openapi.PageRoute`` and ``openapi.AssetMount`` keep these
routes out of ``/openapi.json``: they are not API operations.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from api.openapi import AssetMount, PageRoute

HERE = Path(__file__).resolve().parent
PAGES_DIR = HERE / "pages"
STATIC_DIR = HERE / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# On every page and asset (not on the JSON API's answers).
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidated (ETag / Last-Modified): a new release shows at once
}


def swagger_ui_dir() -> Path:
    """The folder of Swagger UI's files in the ``swagger-ui-py`` package (a dependency), found
    without importing the package (its code, a server integration, is not used)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "The package swagger-ui-py is missing; it serves /docs. Install the project again "
            "(pip install -e .)."
        )
    return Path(spec.origin).parent / "static"


class Assets(StaticFiles):
    """Static files with the pages' security headers (also on a 304)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(PAGE_HEADERS)
        return response


def _page(name: str) -> FileResponse:
    return FileResponse(
        PAGES_DIR / name, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS
    )


async def home(request: Request) -> Response:
    """``/``: the import wizard is the home page."""
    return RedirectResponse("/import", status_code=307, headers=PAGE_HEADERS)


async def wizard(request: Request) -> Response:
    return _page("import.html")


async def docs(request: Request) -> Response:
    return _page("docs.html")


def _assets(directory: Path) -> Assets:
    return Assets(directory=directory, follow_symlink=False)


routes = [
    PageRoute("/", home),
    PageRoute("/import", wizard),
    PageRoute("/docs", docs),
    # Swagger UI's own files before ours: the longer prefix first.
    AssetMount("/static/swagger-ui", app=_assets(swagger_ui_dir()), name="swagger-ui"),
    AssetMount("/static", app=_assets(STATIC_DIR), name="static"),
]
