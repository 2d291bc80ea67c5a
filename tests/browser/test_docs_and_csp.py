"""``/docs`` (Swagger UI of ``/openapi.json``, offline, with a working Authorize) and the pages'
Content-Security-Policy: present on every page and asset, absent from the JSON API (whose
answers are unchanged), and enforced by the browser (an injected inline script does not run).
"""

from __future__ import annotations

import httpx2
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, Site, Token

PAGES_AND_ASSETS = [
    "/",
    "/import",
    "/docs",
    "/static/wizard.js",
    "/static/wizard.css",
    "/static/docs.js",
    "/static/docs.css",
    "/static/swagger-ui/swagger-ui-bundle.js",
    "/static/swagger-ui/swagger-ui.css",
]


def test_docs_render_offline_and_try_it_out_sends_the_token(site: Site, token: Token) -> None:
    document = httpx2.get(f"{site.server.url}/openapi.json", timeout=10).json()
    operations = sum(len(item) for item in document["paths"].values())
    page = site.open("/docs")
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".opblock-summary-path", has_text="/leads/import/preview")).to_be_visible()
    site.shot("docs")

    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".auth-container input").fill(token.value)
    page.locator(".auth-btn-wrapper button.authorize").click()  # "Apply credentials"
    expect(page.locator(".auth-container")).to_contain_text("Authorized")
    page.locator(".auth-btn-wrapper button.btn-done").click()

    fields = page.locator("#operations-default-listImportFields")
    fields.locator(".opblock-summary").click()
    fields.get_by_role("button", name="Try it out").click()
    with page.expect_request(f"{site.server.url}/leads/import/fields") as sent:
        fields.get_by_role("button", name="Execute").click()
    assert sent.value.headers["authorization"] == f"Bearer {token.value}"
    status = fields.locator(".live-responses-table tbody .response-col_status")
    expect(status).to_have_text("200")
    expect(fields.locator(".live-responses-table .microlight").first).to_contain_text("first_name")
    site.shot("docs-try-it-out")
    # Every request of the page went to this server (checked for every test by the fixture);
    # Swagger UI came from it too.
    assert any("/static/swagger-ui/swagger-ui-bundle.js" in r for r in site.requests)


def test_the_docs_use_the_wizard_token_of_the_tab(site: Site, token: Token) -> None:
    page = site.sign_in(token)
    page.get_by_role("link", name="API docs").click()
    jobs = page.locator("#operations-default-listImportJobs")
    jobs.locator(".opblock-summary").click()
    jobs.get_by_role("button", name="Try it out").click()
    with page.expect_request(f"{site.server.url}/leads/import/jobs**") as sent:
        jobs.get_by_role("button", name="Execute").click()
    assert sent.value.headers["authorization"] == f"Bearer {token.value}"
    expect(jobs.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")


@pytest.mark.parametrize("path", PAGES_AND_ASSETS)
def test_pages_and_assets_carry_the_content_security_policy(server: Server, path: str) -> None:
    r = httpx2.get(f"{server.url}{path}", timeout=10)
    assert r.status_code == (307 if path == "/" else 200)
    policy = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/leads/import/jobs"])
def test_the_json_api_answers_as_before(server: Server, path: str) -> None:
    r = httpx2.get(f"{server.url}{path}", timeout=10)
    assert r.headers["content-type"].startswith("application/json")
    assert "content-security-policy" not in r.headers
    assert "x-frame-options" not in r.headers


def test_an_injected_inline_script_does_not_run(site: Site) -> None:
    page = site.open("/import")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener(
                "securitypolicyviolation", (e) => resolve(e.violatedDirective), {once: true});
            const script = document.createElement("script");
            script.textContent = "window.__inline = 1";
            document.body.append(script);
        })"""
    )
    assert blocked.startswith("script-src")
    page.evaluate(
        """() => {
            const img = document.createElement("img");
            img.setAttribute("onerror", "window.__inline = 2");
            img.src = "data:,not-an-image";
            document.body.append(img);
            document.body.setAttribute("onclick", "window.__inline = 3");
            document.body.click();
        }"""
    )
    expect(page.locator("img")).to_have_count(1)
    page.wait_for_function("window.__cspViolations.length >= 3")
    assert page.evaluate("window.__inline") is None
    # The violations were the point here; the fixture checks that no other test has any.
    page.evaluate("window.__cspViolations.length = 0")
