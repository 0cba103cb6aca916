"""The app served by uvicorn in a subprocess on a free loopback port, against a fresh SQLite database of its own
that ``survey migrate`` and a seeding command prepared (the browser tests' servers).

Example::

    with served("survey-browser-", [sys.executable, "-m", "tests.support.browser_seed", seed]) as server:
        server.url, server.seeded   # 'http://127.0.0.1:41234', the seeding command's standard output
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Served:
    """A running server: its base URL, its folder (database, ``var``), its log and what the seeding printed."""

    url: str
    workdir: Path
    log: Path
    seeded: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_or_fail(command: list[str], env: dict[str, str], what: str, *, timeout: float = 180) -> str:
    """``command``'s standard output; the test fails with its output when it does not succeed."""
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}",
                    pytrace=False)
    return result.stdout


@contextmanager
def served(prefix: str, seed: list[str]) -> Iterator[Served]:
    """A fresh database in a temporary folder named ``prefix...``, migrated, seeded by the command ``seed`` (run
    with the server's environment) and served until the block ends; then the server stops and the folder goes."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    base_url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "SURVEY_DATABASE_URL": f"sqlite:///{workdir / 'survey.sqlite3'}",
           "SURVEY_VAR_DIR": str(workdir / "var"), "SURVEY_SECRET_KEY": secrets.token_urlsafe(48),
           "SURVEY_BASE_URL": base_url, "PICCOLO_CONF": "survey.piccolo_conf"}
    bin_dir = Path(sys.executable).parent
    run_or_fail([str(bin_dir / "survey"), "migrate"], env, "survey migrate")
    seeded = run_or_fail(seed, env, "seeding")
    log = workdir / "server.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [str(bin_dir / "uvicorn"), "survey.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
             base_url.rsplit(":", 1)[1], "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text()[-4000:]}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{base_url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"GET /health did not answer within 30 s:\n{log.read_text()[-4000:]}", pytrace=False)
            time.sleep(0.1)
        yield Served(base_url, workdir, log, seeded)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(workdir, ignore_errors=True)
