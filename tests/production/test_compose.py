"""compose.yaml against the compose specification, offline: Debian's docker-compose 1.29 validates
and interpolates it without a Docker engine (.ci/run installs it). And what a new operator relies
on: no default secret, pinned images, Kafka's log on its volume, a listener for the host, the
image's build copying every package."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.embedded import free_port
from tests.production.support import REPO, dockerfile_build_copies, pyproject_packages

pytestmark = pytest.mark.production

MISSING_PASSWORD = (
    "POSTGRES_PASSWORD is not set - copy .env.example to .env and set it there"
    " (letters, digits and - _ . ~ only)"
)


def compose(env_file: Path, *args: str, file: Path = REPO / "compose.yaml") -> Any:
    exe = shutil.which("docker-compose")
    if exe is None:
        message = "docker-compose is not installed (apt-get install docker-compose; .ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    return subprocess.run(
        [exe, "--env-file", str(env_file), "-f", str(file), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / "env"
    path.write_text("POSTGRES_PASSWORD=0123456789abcdef0123456789abcdef\n")
    return path


def resolved(env_file: Path) -> dict[str, Any]:
    done = compose(env_file, "config")
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def test_valid_with_a_password(env_file: Path) -> None:
    done = compose(env_file, "config", "-q")
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("template", [False, True], ids=["no-env", "env.example-as-is"])
def test_no_password_no_start_and_a_message_that_says_what_to_do(
    tmp_path: Path, template: bool
) -> None:
    env_file = REPO / ".env.example" if template else tmp_path / "empty"
    if not template:
        env_file.write_text("")
    done = compose(env_file, "config", "-q")
    assert done.returncode != 0
    assert MISSING_PASSWORD in done.stderr


def test_the_validator_checks_the_specification(env_file: Path, tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    text = (REPO / "compose.yaml").read_text()
    broken.write_text(
        text.replace('    command: ["api"]\n', '    command: ["api"]\n    bogus: 1\n')
    )
    done = compose(env_file, "config", "-q", file=broken)
    assert done.returncode != 0
    assert "bogus" in done.stderr


def test_the_password_reaches_postgres_and_the_database_url(env_file: Path) -> None:
    services = resolved(env_file)["services"]
    password = "0123456789abcdef0123456789abcdef"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == password
    for name in ("api", "importer", "leads", "relay"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"] == (
            f"postgresql://leadimport:{password}@postgres:5432/leadimport"
        )
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_images_are_pinned(env_file: Path) -> None:
    services = resolved(env_file)["services"]
    assert re.fullmatch(r"postgres:16\.\d+(-\w+)?", services["postgres"]["image"])
    assert re.fullmatch(r"apache/kafka:3\.9\.\d+", services["kafka"]["image"])
    froms = re.findall(r"(?m)^FROM (\S+)", (REPO / "Dockerfile").read_text())
    assert froms and all(re.fullmatch(r"python:3\.11\.\d+-slim-\w+", f) for f in froms), froms


def test_kafka_keeps_its_log_on_the_volume_and_listens_for_the_host(env_file: Path) -> None:
    kafka = resolved(env_file)["services"]["kafka"]
    env = kafka["environment"]
    # docker-compose 1.29 prints both in the short syntax
    assert kafka["volumes"] == [f"kafkadata:{env['KAFKA_LOG_DIRS']}:rw"]
    assert "EXTERNAL://127.0.0.1:29092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "EXTERNAL://:29092" in env["KAFKA_LISTENERS"].split(",")
    assert kafka["ports"] == ["127.0.0.1:29092:29092/tcp"]


def test_only_the_api_has_a_health_check(env_file: Path) -> None:
    services = resolved(env_file)["services"]
    assert "readyz" in " ".join(services["api"]["healthcheck"]["test"])
    for name in ("importer", "leads", "relay"):
        assert services[name]["healthcheck"]["test"] == ["NONE"]


def test_the_image_builds_every_package_and_runs_as_a_user_of_its_own() -> None:
    copied = set(dockerfile_build_copies())
    assert set(pyproject_packages()) <= copied
    assert {"pyproject.toml", "README.md"} <= copied
    text = (REPO / "Dockerfile").read_text()
    [user] = re.findall(r"(?m)^USER (\S+)", text)
    assert user.split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in text
    assert "embedded" not in re.sub(r"(?m)^#.*$", "", text)  # no extra: no embedded services


def healthchecks() -> dict[str, list[str]]:
    """The API's health check command of the image and of compose.yaml (argv, without CMD)."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    [image] = re.findall(r"(?m)^HEALTHCHECK .*?CMD (\[.*\])\s*$", text)
    compose_file = yaml.safe_load((REPO / "compose.yaml").read_text())
    test = compose_file["services"]["api"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return {"image": json.loads(image), "compose": test[1:]}


@pytest.mark.parametrize("where", ["image", "compose"])
def test_the_api_health_check_asks_the_port_the_api_listens_on(where: str) -> None:
    """Run the health check as the container would (``python`` being the venv's), with ``PORT``
    set to where a server answers /readyz: healthy; without it (8000, nothing there here, or
    not this server) or against a server that is not ready: unhealthy."""
    command = healthchecks()[where]
    assert command[0] == "python"

    class Ready(http.server.BaseHTTPRequestHandler):
        ready = True

        def do_GET(self) -> None:
            ok = self.path == "/readyz" and Ready.ready
            self.send_response(200 if ok else 503)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    def healthy(**env: str) -> bool:
        done = subprocess.run(
            [sys.executable, *command[1:]],
            env={"PATH": os.environ["PATH"], **env},
            capture_output=True,
            timeout=30,
            check=False,
        )
        return done.returncode == 0

    try:
        assert healthy(PORT=str(port))
        Ready.ready = False
        assert not healthy(PORT=str(port))
        assert not healthy(PORT=str(free_port()))  # nothing listens there
    finally:
        server.shutdown()
        server.server_close()
