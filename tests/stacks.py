"""The local stacks the black-box tests share: ``python -m local up --port 0``, started once per session (per
pytest-xdist worker) as a platform engineer would, and sessions that sign calls to it.

A pytest plugin (``tests/conftest.py`` names it), so the product's black box (``tests/local/``) and the local
stack's own tests (``tests/local_stack/``) share one stack per worker instead of starting one each.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.client import SignedSession
from tests.local.support import new_account_id, profile

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 60


@dataclass
class RunningStack:
    process: subprocess.Popen
    config: dict
    state_path: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_local_up(directory: Path, *extra: str, log_name: str = "up.log") -> RunningStack:
    """Run ``python -m local up --port 0 [extra...]`` in its own process group and wait for its first line."""
    state_path, log_path = directory / "stack.json", directory / log_name
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "up", "--port", "0", "--state", str(state_path), *extra],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,  # its function containers can be killed with it, as one group
        )
    ready, _, _ = select.select([process.stdout], [], [], STARTUP_TIMEOUT_S)
    line = process.stdout.readline() if ready else ""
    if not line:
        stop_local_up(process)
        pytest.fail(f"`python -m local up` printed nothing in {STARTUP_TIMEOUT_S}s:\n{log_path.read_text()}")
    return RunningStack(process, json.loads(line), state_path, log_path)


def stop_local_up(process: subprocess.Popen, timeout_s: float = 10) -> int:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


# The worker's session-long stacks: each is told to stop when the first of them is, so they stop side by side at
# the end of the session instead of one after the other (each takes seconds to stop its containers).
_SESSION_STACKS: list[subprocess.Popen] = []


def _session_stack(directory: Path, log_name: str) -> Iterator[RunningStack]:
    stack = start_local_up(directory, log_name=log_name)
    _SESSION_STACKS.append(stack.process)
    yield stack
    for process in _SESSION_STACKS:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
    stop_local_up(stack.process)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from _session_stack(tmp_path_factory.mktemp("local-up"), "up.log")


@pytest.fixture(scope="session")
def closing_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A second stack, for the tests that close months. Once a month's close has run, no new contract may start
    in or before it (its bill would never be made), so the stack the other tests create accounts on, with
    contracts from April, never has a month closed."""
    yield from _session_stack(tmp_path_factory.mktemp("closing-up"), "closing-up.log")


@pytest.fixture(scope="session")
def closing_operator(closing_stack: RunningStack) -> SignedSession:
    return SignedSession.from_config(closing_stack.config, principal="operator")


@pytest.fixture(scope="session")
def api(local_stack: RunningStack) -> SignedSession:
    """A session that signs with the credentials ``up`` printed, like the email platform."""
    return SignedSession.from_config(local_stack.config)


@pytest.fixture(scope="session")
def operator(local_stack: RunningStack) -> SignedSession:
    """A session that signs with the operator credentials ``up`` printed, like billing operations staff."""
    return SignedSession.from_config(local_stack.config, principal="operator")


@pytest.fixture
def account(api: SignedSession) -> str:
    """A fresh account, created through the API, that no other test touches."""
    account_id = new_account_id()
    response = api.put(f"/v1/accounts/{account_id}", json=profile())
    assert response.status_code == 201, response.text
    return account_id


def run_cli(stack: RunningStack, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
    """``python -m local <args> --state <the session stack's state>``, as a developer runs it next to ``up``."""
    return subprocess.run(
        [sys.executable, "-m", "local", *args, "--state", str(stack.state_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
