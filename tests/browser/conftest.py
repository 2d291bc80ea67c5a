"""Browser tests: Debian's Chromium, headless, driven by Playwright (Python), against a real
``leadimport api`` process and the shared workers, PostgreSQL and broker.

Chromium is not downloaded (Playwright's own browser download cannot work here): the tests use
the system's ``chromium`` (``/usr/bin/chromium``, or ``LEADIMPORT_CHROMIUM``). Without it they
skip, saying how to install it, except under CI (``CI`` set), where they fail: CI installs it
(``.ci/run``) and must never skip them (docs/development.md).

Each test's screenshots go to ``test-output/browser/<test>/`` (``LEADIMPORT_TEST_OUTPUT``
overrides ``test-output``). Every page of every test is watched: a request to anything but the
local server, a request to an API path that ``/openapi.json`` does not document, a JavaScript
error, a Content-Security-Policy violation or a dialog (``alert``...) fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

from adapters.tokens import create_token
from application.container import Container
from tests.services import ApiServer, Workers

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "Chromium is needed for the browser tests (tests/browser) and was not found at "
    "/usr/bin/chromium (or LEADIMPORT_CHROMIUM). Install Debian's package as root: "
    "`apt-get update && apt-get install -y chromium` (.ci/run does this in CI)."
)
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}

expect.set_options(timeout=20_000)

# Put into every page before its own scripts: records CSP violations.
WATCH_SCRIPT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

# The page's width, the window's, and (to say what is too wide) the first elements past the
# window's right edge that are not inside a scrolling box of their own.
WIDTH_SCRIPT = """() => {
  const inScroller = (e) => {
    for (let p = e.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > innerWidth && !inScroller(e))
    .slice(0, 5)
    .map((e) => `${e.tagName}#${e.id}.${e.className}: ${e.getBoundingClientRect().right}`);
  return [document.scrollingElement.scrollWidth, window.innerWidth, wide];
}"""


def chromium_executable() -> str | None:
    """``LEADIMPORT_CHROMIUM`` when set (that one only), else Debian's Chromium."""
    explicit = os.environ.get("LEADIMPORT_CHROMIUM")
    candidates = (
        [explicit]
        if explicit
        else ["/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    )
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where the screenshots of this run go (emptied at the start of the run)."""
    root = Path(os.environ.get("LEADIMPORT_TEST_OUTPUT") or REPO / "test-output")
    folder = root / "browser"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT + " CI must run these tests: it never skips them.")
        pytest.skip(INSTALL_HINT)
    b = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


Server = ApiServer


@pytest.fixture(scope="session")
def server(api: ApiServer) -> ApiServer:
    """The real ``leadimport api`` process the browser talks to (tests/conftest.py ``api``)."""
    return api


@pytest.fixture(scope="session")
def documented_paths(server: Server) -> list[re.Pattern[str]]:
    """The API paths of /openapi.json, as patterns (``{job_id}`` matches one segment)."""
    document = httpx2.get(f"{server.url}/openapi.json", timeout=10).json()
    return [
        re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for path in document["paths"]
    ]


@dataclass
class Token:
    """A token of a fresh OU, and a client of the API with it (the tests' own oracle)."""

    value: str
    url: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"}

    def get(self, path: str, **params: Any) -> Any:
        r = httpx2.get(f"{self.url}{path}", headers=self.headers, params=params, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, **kwargs: Any) -> Any:
        r = httpx2.post(f"{self.url}{path}", headers=self.headers, timeout=30, **kwargs)
        assert r.status_code in (200, 202), r.text
        return r.json()


@pytest.fixture
def token(container: Container, server: Server) -> Token:
    return Token(create_token(container.pool, f"ou-{uuid.uuid4().hex[:12]}"), server.url)


@dataclass
class Site:
    """A browser tab on the local server, watched while the test runs."""

    server: Server
    context: BrowserContext
    page: Page
    shots: Path
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    _shot: int = 0

    def open(self, path: str = "/") -> Page:
        self.page.goto(self.server.url + path)
        return self.page

    def sign_in(self, token: Token) -> Page:
        page = self.open("/import")
        page.get_by_label("API token").fill(token.value)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Upload a CSV file")).to_be_visible()
        return page

    def upload(self, name: str, content: str | bytes) -> Page:
        data = content.encode() if isinstance(content, str) else content
        self.page.get_by_label("Choose a CSV file").set_input_files(
            {"name": name, "mimeType": "text/csv", "buffer": data}
        )
        expect(self.page.get_by_role("heading", name="Preview")).to_be_visible()
        return self.page

    def shot(self, name: str) -> Path:
        """A full-page screenshot of the step, numbered in the order taken."""
        self._shot += 1
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self._shot:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def fits(self) -> None:
        """No horizontal scrolling: the page is as wide as the window at most."""
        width, inner, wide = self.page.evaluate(WIDTH_SCRIPT)
        assert width <= inner, f"the page is {width} px wide in a {inner} px window: {wide}"


@pytest.fixture
def make_site(
    browser: Browser,
    server: Server,
    output_dir: Path,
    documented_paths: list[re.Pattern[str]],
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Site]]:
    """Opens watched tabs (``make_site(viewport=PHONE)``); checks what they did at the end."""
    sites: list[Site] = []
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def make(viewport: ViewportSize = DESKTOP) -> Site:
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        context.add_init_script(WATCH_SCRIPT)
        page = context.new_page()
        suffix = "" if not sites else f"-{len(sites) + 1}"
        site = Site(server, context, page, output_dir / f"{name}{suffix}")
        context.on("request", lambda r: site.requests.append(f"{r.method} {r.url}"))
        page.on("pageerror", lambda e: site.errors.append(str(e)))

        def on_dialog(dialog: Any) -> None:
            site.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        sites.append(site)
        return site

    yield make
    for site in sites:
        try:
            violations = [] if site.page.is_closed() else _violations(site.page)
        finally:
            site.context.close()
        assert site.errors == [], f"JavaScript errors: {site.errors}"
        assert site.dialogs == [], f"a dialog opened: {site.dialogs}"
        assert violations == [], f"Content-Security-Policy violations: {violations}"
        for line in site.requests:
            url = line.split(" ", 1)[1]
            if url.startswith(("data:", "blob:")):
                continue
            assert url.startswith(server.url + "/"), f"a request left the local server: {line}"
            path = urlsplit(url).path
            page_or_asset = path in ("/", "/import", "/docs") or path.startswith("/static/")
            assert page_or_asset or any(p.match(path) for p in documented_paths), (
                f"a request to an undocumented API path: {line}"
            )


def _violations(page: Page) -> list[str]:
    try:
        found: list[str] = page.evaluate("window.__cspViolations || []")
    except Exception:  # the page navigated away or closed: nothing left to read
        return []
    return found


@pytest.fixture
def site(make_site: Callable[..., Site], workers: Workers) -> Site:
    """A watched desktop tab (1280 x 800), with the workers running."""
    return make_site()
