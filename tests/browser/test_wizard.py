"""The import wizard (``/import``) in headless Chromium, as a person uses it: sign in, upload,
preview, mapping, progress, result (errors, files, undo) and the job list, by mouse and by
keyboard, on a desktop and on a phone, with a file of script payloads that must show as text.

What the tests expect comes from the files they write (which rows fail and why, what a row
creates or updates: docs/api.md) and from the API itself (its own answer for the same file),
never from the page's code.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.browser.conftest import DESKTOP, PHONE, Site, Token
from tests.helpers import wait_for
from tests.services import Workers

DONE_TIMEOUT = 120_000  # ms: a job to finish on a busy CI machine


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def cell_texts(locator: Locator) -> list[str]:
    texts: list[str] = locator.evaluate_all("(cells) => cells.map((c) => c.textContent)")
    return texts


def tab_to(page: Page, target: Locator, limit: int = 60) -> None:
    """Press Tab until ``target`` has the focus (a keyboard user's way to it)."""
    for _ in range(limit):
        if target.evaluate("(e) => e === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} was not reached with Tab in {limit} presses")


def wait_finished(token: Token, job_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = token.get(f"/leads/import/jobs/{job_id}")
        return job if job["status"] in ("completed", "failed", "cancelled") else None

    return wait_for(finished, 120, f"job {job_id} to finish")


# --- 1. sign in ----------------------------------------------------------------------------------


def test_a_wrong_token_is_refused_in_words_and_the_right_one_is_kept_for_the_tab(
    site: Site, token: Token
) -> None:
    page = site.open("/")
    expect(page).to_have_url(f"{site.server.url}/import")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    site.shot("sign-in")

    page.get_by_label("API token").fill("li_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#signin-error")
    expect(error).to_contain_text("The API did not accept this token")
    expect(error).to_contain_text("The bearer token is not valid")  # the API's own words
    expect(page.get_by_label("API token")).to_be_focused()
    assert page.evaluate("sessionStorage.getItem('leadimport.token')") is None
    site.shot("wrong-token")

    page.get_by_label("API token").fill(token.value)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Upload a CSV file")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('leadimport.token')") == token.value
    assert page.evaluate("localStorage.length") == 0  # nothing outlives the tab
    page.reload()  # the tab keeps it
    expect(page.get_by_role("heading", name="Upload a CSV file")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('leadimport.token')") is None


# --- 2./3. a hostile file shows as text ----------------------------------------------------------

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>",
    "javascript:window.__pwned=3",
    '"><svg onload="window.__pwned=4">',
    '<a href="javascript:window.__pwned=5">click me</a>',
    '<iframe srcdoc="<script>parent.__pwned=6</script>"></iframe>',
    "<style>body{display:none}</style>&lt;b&gt;&amp;",
]
# No '"' in it: browsers send it as %22 in a multipart file name (the HTML standard's encoding).
HOSTILE_NAME = "<img src=x onerror=window.__pwned=7>.csv"


def test_a_file_of_script_payloads_shows_them_literally_and_runs_nothing(
    site: Site, token: Token
) -> None:
    headers = ["Email", *PAYLOADS]
    rows = [[f"p{i}@example.com", *PAYLOADS] for i in range(3)]
    rows += [[payload, *PAYLOADS] for payload in PAYLOADS]  # each an invalid e-mail: a row error
    page = site.sign_in(token)
    site.upload(HOSTILE_NAME, csv_text([headers, *rows]))

    expect(page.locator("#pv-name")).to_have_text(HOSTILE_NAME)
    assert cell_texts(page.locator("#pv-table thead th")) == headers
    first = page.locator("#pv-table tbody tr").first.locator("td")
    assert cell_texts(first) == rows[0]
    site.shot("preview-of-payloads")

    page.get_by_role("button", name="Next: map the columns").click()
    labels = cell_texts(page.locator("#map-table tbody th label"))
    assert labels == headers
    page.get_by_label(PAYLOADS[0], exact=True).select_option("field:notes")
    page.get_by_role("button", name="Start the import").click()
    expect(page.locator("#rs-status")).to_have_text("completed", timeout=DONE_TIMEOUT)
    expect(page.locator("#rs-failed")).to_have_text(str(len(PAYLOADS)))
    expect(page.locator("#rs-errors tbody tr")).to_have_count(len(PAYLOADS))
    values = cell_texts(page.locator("#rs-errors tbody td.value"))
    assert values == PAYLOADS  # rows in file order: the error values as written
    site.shot("errors-of-payloads")

    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.locator("#jobs-table tbody td.file a")).to_have_text(HOSTILE_NAME)
    site.shot("job-list-of-payloads")

    # Nothing ran and nothing became markup: no element any payload would have made.
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main img, main script, main svg, main iframe, main style").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0


# --- 4. mapping ----------------------------------------------------------------------------------

MAPPING_CSV = (
    "E-Mail,Vorname,Nachname,Firma,Mobil,Kundennummer,Lieblingsfarbe\n"
    "ann@example.com,Ann,Lee,Acme,+49 151 1234567,K-1,blue\n"
    "bob@example.com,Bob,Ray,Beta,+49 151 7654321,K-2,green\n"
)


def chosen(page: Page, column: str) -> str:
    return page.get_by_label(column, exact=True).input_value()


def test_the_mapping_is_filled_from_the_suggestions_and_explains_invalid_choices(
    site: Site, token: Token
) -> None:
    page = site.sign_in(token)
    site.upload("kontakte.csv", MAPPING_CSV)
    page.get_by_role("button", name="Next: map the columns").click()
    expect(page.get_by_role("heading", name="Map the columns")).to_be_focused()

    # What the page shows is what the API suggests for the same file...
    suggested = token.post(
        "/leads/import/preview", files={"file": ("kontakte.csv", MAPPING_CSV.encode())}
    )["suggested_mappings"]
    primary = page.locator("#primary-column option:checked")
    assert primary.text_content() == suggested["primary_identifier"]["column"]
    assert page.locator("#primary-kind").input_value() == suggested["primary_identifier"]["kind"]
    for column, field in suggested["field_mappings"].items():
        assert chosen(page, column) == f"field:{field}", column
    for column, target in suggested["alias_mappings"].items():
        assert chosen(page, column) == f"alias:{target}", column
    for column in suggested["ignored_columns"]:
        assert chosen(page, column) == "ignore", column
    # ... and that is what docs/api.md ("Mapping help") promises for these German headers.
    assert primary.text_content() == "E-Mail"
    assert chosen(page, "Vorname") == "field:first_name"
    assert chosen(page, "Firma") == "field:company"
    assert chosen(page, "Mobil") == "alias:_alias_phone"
    assert chosen(page, "Kundennummer") == "alias:_alias_external_id"
    assert chosen(page, "Lieblingsfarbe") == "ignore"
    # The lists come from GET /leads/import/fields.
    fields = token.get("/leads/import/fields")
    offered = (
        page.get_by_label("Vorname", exact=True)
        .locator("option")
        .evaluate_all("(options) => options.map((o) => o.value)")
    )
    assert offered == [
        "ignore",
        *(f"field:{f['name']}" for f in fields["fields"]),
        *(f"alias:{a['target']}" for a in fields["alias_targets"]),
    ]
    site.shot("mapping-suggested")

    problems = page.locator("#mapping-errors")
    start = page.get_by_role("button", name="Start the import")

    page.get_by_label("Column", exact=True).select_option("")
    start.click()
    expect(problems).to_contain_text("Choose the primary identifier")
    expect(page.get_by_label("Column", exact=True)).to_be_focused()
    site.shot("mapping-no-primary")

    page.get_by_label("Column", exact=True).select_option(label="E-Mail")
    page.get_by_label("Nachname", exact=True).select_option("field:first_name")
    page.get_by_label("E-Mail", exact=True).select_option("alias:_alias_email")
    start.click()
    expect(problems).to_contain_text(
        "The profile field first_name is chosen for 2 columns (“Vorname”, “Nachname”)"
    )
    expect(problems).to_contain_text("Column “E-Mail” is the primary identifier and is also")
    site.shot("mapping-used-twice")

    page.get_by_label("Nachname", exact=True).select_option("field:last_name")
    page.get_by_label("E-Mail", exact=True).select_option("ignore")
    page.get_by_label("Country of phone numbers", exact=False).fill("ZZ")
    start.click()
    # Valid for the page, refused by the API: its 400 message as worded.
    expect(problems).to_contain_text(
        "default_country 'ZZ' is not an ISO 3166-1 alpha-2 country code"
    )
    site.shot("mapping-api-400")
    assert token.get("/leads/import/jobs")["total"] == 0  # nothing was started


def test_the_preview_shows_the_format_and_reads_the_file_again_with_another(
    site: Site, token: Token
) -> None:
    text = "Email;Name\njose@example.com;José Núñez\n"
    page = site.sign_in(token)
    site.upload("cp1252.csv", text.encode("cp1252"))
    expect(page.locator("#pv-delimiter")).to_have_text("semicolon ;")
    expect(page.locator("#pv-rows")).to_contain_text("1")
    answer = token.post(
        "/leads/import/preview", files={"file": ("cp1252.csv", text.encode("cp1252"))}
    )
    expect(page.locator("#pv-encoding")).to_contain_text(answer["encoding"])
    site.shot("preview-detected")

    page.get_by_label("Encoding").fill("koi8-r")
    page.get_by_label("Delimiter").select_option("comma")
    page.get_by_role("button", name="Read again").click()
    expect(page.locator("#pv-encoding")).to_have_text("koi8-r (as you chose)")
    expect(page.locator("#pv-delimiter")).to_have_text("comma ,")
    assert cell_texts(page.locator("#pv-table thead th")) == ["Email;Name"]
    site.shot("preview-read-again")

    page.get_by_label("Encoding").fill("no-such-encoding")
    page.get_by_role("button", name="Read again").click()
    expect(page.locator("#rr-error")).to_contain_text("no-such-encoding")  # the API's 400

    page.get_by_role("button", name="Choose another file").click()
    page.get_by_label("Choose a CSV file").set_input_files(
        {"name": "book.xlsx", "mimeType": "application/zip", "buffer": b"PK\x03\x04"}
    )
    expect(page.locator("#upload-error")).to_contain_text("'book.xlsx' is not a CSV file")  # 415
    # Dropped on the page (made in the browser: 10 MB + 1 byte need not cross the wire).
    page.locator("#dropzone").dispatch_event(
        "drop", {"dataTransfer": page.evaluate_handle(BIG_DROP)}
    )
    expect(page.locator("#upload-error")).to_contain_text(
        "“big.csv” is 10.0 MB (10,485,761 bytes): over the 10 MB limit (10,485,760 bytes)."
    )
    assert token.get("/leads/import/jobs")["total"] == 0
    site.shot("upload-refused")


BIG_DROP = """() => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(10 * 1024 * 1024 + 1)], "big.csv", {type: "text/csv"}));
    return data;
}"""


def test_a_file_dropped_on_the_page_is_previewed(site: Site, token: Token) -> None:
    page = site.sign_in(token)
    dropped = page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["Email,Name\\nann@example.com,Ann\\n"], "dropped.csv"));
            return data;
        }"""
    )
    page.locator("#dropzone").dispatch_event("dragover", {"dataTransfer": dropped})
    page.locator("#dropzone").dispatch_event("drop", {"dataTransfer": dropped})
    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    expect(page.locator("#pv-name")).to_have_text("dropped.csv")
    assert cell_texts(page.locator("#pv-table tbody td")) == ["ann@example.com", "Ann"]


# --- 5./6. a real import, its errors and files, undo ---------------------------------------------


def flow_file() -> tuple[list[list[str]], list[tuple[int, str, str]], dict[str, int]]:
    """The file of the whole flow, the row errors it must give (row, error, value) and its
    counts, worked out from docs/api.md's import rules."""
    header = ["Email", "First Name", "Firma", "Phone", "Lieblingsfarbe"]
    rows: list[list[str]] = []
    for i in range(40):  # 40 new leads; the first two give the same phone as an alias
        phone = "+1 415 555 2671" if i < 2 else ""
        rows.append([f"lead{i:02d}@example.com", f"Name{i}", f"Firma {i}", phone, f"colour {i}"])
    for i in range(3):  # the same leads again (e-mail case differs): 3 updates
        rows.append([f"LEAD{i:02d}@example.com", "", f"Firma {i} neu", "", ""])
    for i in range(55):
        rows.append([f"broken-{i}", "Bad", "", "", ""])  # Invalid email format
    rows.append(["", "Nobody", "", "", ""])  # Missing required identifier
    rows.append(["n/a", "Nobody", "", "", ""])  # a placeholder: Missing required identifier
    errors = []
    for number, row in enumerate(rows, start=2):  # the header is row 1
        if row[0] in ("", "n/a"):
            errors.append((number, "Missing required identifier", row[0]))
        elif "@" not in row[0]:
            errors.append((number, "Invalid email format", row[0]))
    # An identifier belongs to one lead: one of the two leads gets the phone, the other's row a
    # warning (which one depends on which row is applied first).
    counts = {"total": len(rows), "created": 40, "updated": 3, "failed": len(errors), "warnings": 1}
    return [header, *rows], errors, counts


def error_rows(page: Page) -> list[tuple[int, str, str]]:
    found = page.locator("#rs-errors tbody tr").evaluate_all(
        "(rows) => rows.map((r) => [...r.cells].map((c) => c.textContent))"
    )
    return [(int(row), error, value) for row, error, value in found]


def test_a_whole_import_errors_files_and_undo(site: Site, token: Token, tmp_path: Path) -> None:
    rows, errors, counts = flow_file()
    page = site.sign_in(token)
    site.shot("upload")
    site.upload("leads.csv", csv_text(rows))
    expect(page.locator("#pv-rows")).to_contain_text(str(counts["total"]))
    site.shot("preview")

    page.get_by_role("button", name="Next: map the columns").click()
    assert chosen(page, "Lieblingsfarbe") == "ignore"
    page.get_by_label("Lieblingsfarbe", exact=True).select_option("field:notes")  # a change
    site.shot("mapping")
    page.get_by_role("button", name="Start the import").click()

    expect(page.locator("#rs-status")).to_have_text("completed", timeout=DONE_TIMEOUT)
    expect(page.get_by_role("heading", name="Import result")).to_be_visible()
    expect(page.locator("#rs-total")).to_have_text(str(counts["total"]))
    expect(page.locator("#rs-created")).to_have_text(str(counts["created"]))
    expect(page.locator("#rs-updated")).to_have_text(str(counts["updated"]))
    expect(page.locator("#rs-skipped")).to_have_text("0")
    expect(page.locator("#rs-failed")).to_have_text(str(counts["failed"]))
    expect(page.locator("#rs-warnings-count")).to_have_text(str(counts["warnings"]))
    [warning] = page.locator("#rs-warnings tbody tr").evaluate_all(
        "(rows) => rows.map((r) => [...r.cells].map((c) => c.textContent))"
    )
    assert warning[0] in ("2", "3") and "4155552671" in warning[2].replace(" ", "")

    # The errors, 50 a page, in row order, with the values as written.
    expect(page.locator("#rs-errors tbody tr")).to_have_count(50)
    assert error_rows(page) == errors[:50]
    pager = page.locator("#rs-errors-pager")
    expect(pager).to_contain_text(f"1\N{EN DASH}50 of {len(errors)}")
    site.shot("result")
    page.get_by_role("button", name="Next errors").click()
    expect(page.locator("#rs-errors tbody tr")).to_have_count(len(errors) - 50)
    assert error_rows(page) == errors[50:]
    expect(page.get_by_role("button", name="Next errors")).to_be_disabled()
    page.get_by_role("button", name="Previous errors").click()
    expect(page.locator("#rs-errors tbody tr")).to_have_count(50)
    assert error_rows(page)[0] == errors[0]

    # The error file: the failed rows as uploaded, with row, error and value in front.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the failed rows (errors.csv)").click()
    assert download.value.suggested_filename == "leads-errors.csv"
    saved = tmp_path / "errors.csv"
    download.value.save_as(saved)
    lines = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert lines[0] == ["row", "error", "value", *rows[0]]
    assert [(int(r[0]), r[1], r[2]) for r in lines[1:]] == errors
    assert [r[3:] for r in lines[1:]] == [rows[number - 1] for number, _, _ in errors]
    with page.expect_download() as download:
        page.get_by_role("button", name="Download every row's outcome (results.csv)").click()
    results = tmp_path / "results.csv"
    download.value.save_as(results)
    outcomes = [r[1] for r in csv.reader(io.StringIO(results.read_text(encoding="utf-8-sig")))]
    assert outcomes[0] == "outcome"
    assert outcomes.count("created") == counts["created"]
    assert outcomes.count("updated") == counts["updated"]
    assert outcomes.count("failed") == counts["failed"]

    # The changed mapping was imported: the colour went to notes.
    [lead] = token.get("/leads", email="lead01@example.com")["leads"]
    assert lead["fields"]["notes"] == "colour 1"

    # Undo: the confirmation says what it does; Escape keeps the import.
    undo = page.get_by_role("button", name="Undo this import…")
    undo.click()
    dialog = page.get_by_role("dialog", name="Undo this import?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("leads it created are deleted")
    expect(dialog).to_contain_text("profile fields it changed get their values from before")
    expect(dialog).to_contain_text("aliases it added are removed")
    site.shot("undo-confirmation")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(undo).to_be_focused()
    assert token.get("/leads", email="lead01@example.com")["leads"] == [lead]

    undo.click()
    dialog.get_by_role("button", name="Undo the import").click()
    expect(page.locator("#rs-status")).to_have_text("undone", timeout=DONE_TIMEOUT)
    expect(page.locator("#ur-deleted")).to_have_text(str(counts["created"]))
    expect(page.get_by_role("button", name="Undo this import…")).to_be_hidden()
    site.shot("undone")
    assert token.get("/leads", email="lead01@example.com")["leads"] == []


def test_a_running_import_shows_its_progress_and_can_be_cancelled(site: Site, token: Token) -> None:
    total = 80_000  # long enough to be watched and cancelled (seconds, even on a fast machine)
    text = "Email,Name\n" + "".join(f"c{i}@example.com,N{i}\n" for i in range(total))
    page = site.sign_in(token)
    site.upload("big.csv", text)
    page.get_by_role("button", name="Next: map the columns").click()
    page.get_by_role("button", name="Start the import").click()

    expect(page.get_by_role("heading", name="Importing")).to_be_visible()
    expect(page.locator("#pg-rows")).to_contain_text(f"of {total:,}")
    expect(page.locator("#pg-status")).to_have_text("in progress")
    expect(page.locator("#pg-rate")).to_contain_text("rows/s")  # two looks at the job
    expect(page.locator("#pg-eta")).to_contain_text("about")
    bar = page.get_by_label("Rows done")
    assert 0 <= float(bar.evaluate("(b) => b.value")) < 100
    site.shot("progress")

    page.get_by_role("button", name="Cancel the import").click()
    expect(page.locator("#rs-status")).to_have_text("cancelled")
    job_id = page.evaluate("location.hash").rsplit("/", 1)[-1]
    job = wait_finished(token, job_id)
    assert job["status"] == "cancelled"
    applied = int(job["created_count"]) + int(job["updated_count"]) + int(job["failed_count"])
    assert applied < total
    expect(page.get_by_role("button", name="Undo this import…")).to_be_visible()
    site.shot("cancelled")


# --- 7. the job list -----------------------------------------------------------------------------


def test_the_job_list_is_newest_first_paged_and_opens_each_result(site: Site, token: Token) -> None:
    ids = []
    for n in range(1, 13):
        content = f"Email\nj{n}@example.com\nnot-an-email\n".encode()
        preview = token.post("/leads/import/preview", files={"file": (f"job-{n:02d}.csv", content)})
        body = {
            "file_id": preview["file_id"],
            "primary_identifier": {"column": "Email", "kind": "email"},
            "dry_run": n == 12,
        }
        ids.append(token.post("/leads/import/start", json=body)["job_id"])
    for job_id in ids:
        wait_finished(token, job_id)

    page = site.sign_in(token)
    page.get_by_role("link", name="Jobs", exact=True).click()
    page.get_by_label("Jobs per page").select_option("10")
    names = page.locator("#jobs-table tbody td.file a")
    expect(names).to_have_count(10)
    assert cell_texts(names) == [f"job-{n:02d}.csv" for n in range(12, 2, -1)]
    expect(page.locator("#jobs-pager")).to_contain_text("Page 1 of 2 (12 jobs)")
    expect(page.get_by_role("button", name="Newer jobs")).to_be_disabled()
    site.shot("jobs-page-1")

    page.get_by_role("button", name="Older jobs").click()
    expect(names).to_have_count(2)
    assert cell_texts(names) == ["job-02.csv", "job-01.csv"]
    site.shot("jobs-page-2")

    page.get_by_role("link", name="job-01.csv").click()
    expect(page.get_by_role("heading", name="Import result")).to_be_visible()
    expect(page.locator("#rs-file")).to_have_text("job-01.csv")
    expect(page.locator("#rs-created")).to_have_text("1")
    expect(page.locator("#rs-failed")).to_have_text("1")
    assert cell_texts(page.locator("#rs-errors tbody td.value")) == ["not-an-email"]
    page.go_back()
    expect(names).to_have_count(2)

    page.go_back()
    expect(names).to_have_count(10)
    page.get_by_role("link", name="job-12.csv").click()
    expect(page.locator("#rs-dry-run")).to_be_visible()  # a dry run: nothing to undo
    expect(page.get_by_role("button", name="Undo this import…")).to_be_hidden()
    site.shot("dry-run-result")


# --- keyboard only -------------------------------------------------------------------------------


def test_sign_in_upload_and_start_by_keyboard_only(site: Site, token: Token) -> None:
    page = site.open("/import")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    tab_to(page, page.get_by_label("API token"))
    page.keyboard.type(token.value)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Upload a CSV file")).to_be_focused()

    chooser = page.get_by_label("Choose a CSV file")
    tab_to(page, chooser)
    with page.expect_file_chooser() as choice:
        page.keyboard.press("Space")
    choice.value.set_files(
        {"name": "keys.csv", "mimeType": "text/csv", "buffer": b"Email\nkey@example.com\n"}
    )
    expect(page.get_by_role("heading", name="Preview")).to_be_focused()
    site.shot("preview-by-keyboard")

    tab_to(page, page.get_by_role("button", name="Next: map the columns"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Map the columns")).to_be_focused()
    tab_to(page, page.get_by_label("Dry run"))
    page.keyboard.press("Space")
    expect(page.get_by_label("Dry run")).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Start the import"))
    page.keyboard.press("Enter")
    expect(page.locator("#rs-status")).to_have_text("completed", timeout=DONE_TIMEOUT)
    expect(page.locator("#rs-created")).to_have_text("1")
    expect(page.locator("#rs-dry-run")).to_be_visible()
    site.shot("result-by-keyboard")


# --- two screen sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_every_step_fits_the_screen(
    make_site: Callable[..., Site], workers: Workers, token: Token, viewport: ViewportSize
) -> None:
    site = make_site(viewport=viewport)
    wide = [f"A rather long column name number {i}" for i in range(24)]
    long_value = "x" * 300  # no place to break
    rows = [["Email", *wide], ["bad-" + long_value, *(["value"] * 24)]]
    rows += [[f"w{i}@example.com", *([long_value] * 24)] for i in range(3)]

    page = site.open("/import")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    site.fits()
    site.shot("sign-in")
    site.sign_in(token)
    site.fits()
    site.shot("upload")
    site.upload("wide.csv", csv_text(rows))
    site.fits()
    site.shot("preview")
    page.get_by_role("button", name="Next: map the columns").click()
    site.fits()
    site.shot("mapping")
    page.get_by_role("button", name="Start the import").click()
    expect(page.locator("#rs-status")).to_have_text("completed", timeout=DONE_TIMEOUT)
    expect(page.locator("#rs-errors tbody tr")).to_have_count(1)
    site.fits()
    site.shot("result")
    page.get_by_role("button", name="Undo this import…").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    site.fits()
    site.shot("undo-dialog")
    page.get_by_role("button", name="Keep the import").click()
    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    site.fits()
    site.shot("jobs")
    page.goto(f"{site.server.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    site.fits()
    site.shot("docs")
