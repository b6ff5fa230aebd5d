"""Close runs over HTTP: an operator watches a month close; the platform may not."""

from __future__ import annotations

import pytest

from local.client import SignedSession
from tests.local.conftest import RunningStack, run_cli
from tests.local.support import new_account_id, profile
from tests.local.test_close_month import previous_month

FORBIDDEN = {"message": "Forbidden"}


@pytest.fixture(scope="module")
def closed_month(local_stack: RunningStack, api: SignedSession) -> str:
    """Last month, closed by ``python -m local close-month`` (a re-run if another module closed it already)."""
    month, _ = previous_month()
    assert api.put(f"/v1/accounts/{new_account_id('run')}", json=profile()).status_code == 201
    result = run_cli(local_stack, "close-month", month)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return month


def test_the_operator_sees_a_finished_close_with_its_first_and_last_numbers(operator: SignedSession, closed_month):
    response = operator.get(f"/v1/close-runs/{closed_month}")
    assert response.status_code == 200, response.text
    run = response.json()
    digits = closed_month.replace("-", "")
    assert run["status"] == "done" and run["total"] >= 1
    assert (run["issued"], run["failed"], run["dead_letters"]) == (run["total"], 0, 0)
    assert run["first_number"] == f"INV-{digits}-0000001"
    assert run["last_number"] == f"INV-{digits}-{run['total']:07d}"  # every reserved number was used
    retried = operator.post(f"/v1/close-runs/{closed_month}/retry")
    assert (retried.status_code, retried.json()) == (202, {"month": closed_month, "queued": 0})


def test_a_month_never_closed_is_not_found(operator: SignedSession):
    response = operator.get("/v1/close-runs/2001-01")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_the_platform_may_not_watch_or_retry_a_close(api: SignedSession, closed_month):
    watched = api.get(f"/v1/close-runs/{closed_month}")
    retried = api.post(f"/v1/close-runs/{closed_month}/retry")
    assert (watched.status_code, watched.json()) == (403, FORBIDDEN)
    assert (retried.status_code, retried.json()) == (403, FORBIDDEN)
