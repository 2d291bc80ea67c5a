"""``leadimport import``, ``jobs`` and ``job`` as a person and a script use them: against the API
served by a real ``leadimport api`` process and the shared workers, in plain output (a pipe)
and on a terminal (tmux: what the screen shows).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.tokens import create_token
from application.container import Container
from tests.helpers import wait_for
from tests.services import ApiServer, Workers

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "runtime.cli"]


@dataclass
class User:
    """A person with a token of a fresh OU and a folder of files."""

    env: dict[str, str]
    folder: Path

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def file(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text)
        return path


@pytest.fixture
def user(
    api: ApiServer,
    workers: Workers,
    container: Container,
    new_ou: Callable[[], str],
    tmp_path: Path,
) -> User:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "LEADIMPORT_API_URL": api.url,
        "LEADIMPORT_TOKEN": create_token(container.pool, new_ou()),
    }
    return User(env, tmp_path)


CSV = (
    "Email,First Name,Company,Phone\n"
    "ann@example.com,Ann,Acme,+1 415 555 2671\n"
    "bob@example.com,Bob,Beta,\n"
    "ANN@example.com,,Acme Two,\n"
)


def test_import_prints_plain_progress_and_a_summary_when_not_on_a_terminal(user: User) -> None:
    user.file("leads.csv", CSV)
    done = user.run(
        "import", "leads.csv", "--primary", "Email:email",
        "--map", "First Name=first_name", "--map", "Company=company",
        "--alias", "Phone=_alias_phone",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Started the import job job_" in done.stderr
    lines = done.stdout.splitlines()
    assert "status: completed" in lines
    assert "created: 2" in lines and "updated: 1" in lines and "failed: 0" in lines
    assert any(line.startswith("job_") and "3 of 3 rows" in line for line in lines)


def test_exit_codes_tell_what_happened(user: User) -> None:
    user.file("some-bad.csv", "Email\nann@example.com\nnot-an-email\n")
    with_failures = user.run("import", "some-bad.csv", "--primary", "Email:email")
    assert with_failures.returncode == 3, with_failures.stderr
    assert "failed: 1" in with_failures.stdout.splitlines()

    user.file("ok.csv", "Email\nzed@example.com\n")
    usage = user.run("import", "ok.csv", "--primary", "Email")  # no kind
    assert usage.returncode == 2 and "COLUMN:KIND" in usage.stderr
    unknown_column = user.run("import", "ok.csv", "--primary", "Mail:email")
    assert unknown_column.returncode == 2
    assert "'Mail'" in unknown_column.stderr and "not a header" in unknown_column.stderr
    missing = user.run("import", "nope.csv", "--primary", "Email:email")
    assert missing.returncode == 2 and "no such file" in missing.stderr

    no_token = {k: v for k, v in user.env.items() if k != "LEADIMPORT_TOKEN"}
    refused = subprocess.run(
        [*CLI, "jobs"], env=no_token, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 2 and "LEADIMPORT_TOKEN" in refused.stderr
    wrong = user.run("jobs", "--token", "li_wrong")
    assert wrong.returncode == 2 and "not valid" in wrong.stderr
    away = user.run("jobs", "--api-url", "http://127.0.0.1:9")
    assert away.returncode == 1 and "could not reach the API" in away.stderr


def test_no_wait_then_jobs_and_job(user: User) -> None:
    user.file("leads.csv", CSV)
    started = user.run("import", "leads.csv", "--primary", "Email:email", "--no-wait")
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip()
    assert job_id.startswith("job_")

    def finished() -> bool:
        shown = user.run("job", job_id)
        return shown.returncode == 0 and '"status": "completed"' in shown.stdout

    wait_for(finished, 60, "the job to complete")
    listed = user.run("jobs")
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stdout.splitlines() if line.startswith(job_id)]
    assert "completed" in line and "leads.csv" in line
    assert "page 1 of 1 (1 jobs)" in listed.stderr


# --- on a terminal -----------------------------------------------------------------------------

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@dataclass
class Screen:
    """A tmux session running one command; ``text`` is what a person sees."""

    name: str

    def text(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name, "-S", "-50"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def ended(self) -> str | None:
        """The screen once the command ended (it prints ``EXIT=<code>``), else None."""
        text = self.text()
        return text if "EXIT=" in text else None

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)


@pytest.fixture
def screen(user: User) -> Iterator[Callable[[str], Screen]]:
    names: list[str] = []

    def open_screen(command: str) -> Screen:
        name = f"li-{uuid.uuid4().hex[:8]}"
        names.append(name)
        exports = " ".join(f"{k}={v!r}" for k, v in user.env.items())
        shell = f"cd {str(user.folder)!r} && env {exports} {command}; echo EXIT=$?; sleep 600"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", shell],
            check=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        return Screen(name)

    yield open_screen
    for name in names:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def big_file(user: User, rows: int) -> None:
    lines = ["Email,First Name"] + [f"p{i}@example.com,P{i}" for i in range(rows)]
    user.file("big.csv", "\n".join(lines) + "\n")


@needs_tmux
def test_a_terminal_shows_a_progress_bar_and_a_summary_table(
    user: User, screen: Callable[[str], Screen]
) -> None:
    big_file(user, 5000)
    cli = " ".join([sys.executable, "-m", "runtime.cli"])
    s = screen(f"{cli} import big.csv --primary Email:email --map 'First Name=first_name'")
    final = wait_for(s.ended, 120, "the import to end")
    assert "EXIT=0" in final
    assert "5000/5000" in final and "rows" in final  # the progress bar, full
    assert "━" in final  # drawn as a bar
    table = final[final.index("Import summary") :]
    assert "job_" in table
    for name, value in [("created", "5,000"), ("updated", "0"), ("failed", "0")]:
        [line] = [line for line in table.splitlines() if f" {name} " in line]
        assert value in line


@needs_tmux
def test_ctrl_c_asks_whether_to_cancel_the_job(user: User, screen: Callable[[str], Screen]) -> None:
    big_file(user, 100_000)
    cli = " ".join([sys.executable, "-m", "runtime.cli"])
    s = screen(f"{cli} import big.csv --primary Email:email")
    wait_for(lambda: "in_progress" in s.text(), 120, "the job to run")
    s.keys("C-c")
    wait_for(lambda: "Cancel the import job" in s.text(), 30, "the question")
    s.keys("y", "Enter")
    final = wait_for(s.ended, 60, "the command to end")
    assert "Cancelled the job" in final and "EXIT=4" in final
    [status] = [line for line in final.splitlines() if " status " in line]
    assert "cancelled" in status
