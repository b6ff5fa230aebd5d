"""Every AWS call of issuing, delivering, printing, correcting and returning, failed in turn.

For each flow, a clean run counts its calls (N). Then, for every k in 1..N,
one run fails call k and, when call k changes something, another kills the
step right after it succeeded (a kill after a read leaves the state a kill
after the write before it left, so those are not tried twice). The platform
retries as SQS, EventBridge, the scheduler and an operator's client do.
After each run the invariants of docs/architecture.md ("Invariants") must
hold: one document per request, one number each, one PDF version, at most one
letter and one email (and none lost), nothing left leased, counters that agree.

The world (moto, the template's resources, the accounts and, for the
documents flow, the clean close before it) is built once per flow; each run
starts from a snapshot of it.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from moto import mock_aws

from billing.dal import keys
from tests.conftest import load_event
from tests.factories import profile_body
from tests.integration.conftest import create_resources
from tests.integration.faults import Faults, Functions, Platform, Snapshot, changes, check_invariants

MONTH = "2026-10"
# account: (payment, delivery, contact person, October's peak)
ACCOUNTS = {
    "post-co": ("bank_transfer", "postal", "山田 太郎", 10_001),
    "web-co": ("direct_debit", "web", None, 25_000),
}


@contextlib.contextmanager
def world(functions: Functions):
    """A fresh AWS (moto) with the template's resources and two accounts that reported October."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        # The close pages through 2 account shards, not 16: the same calls per page, 8 times fewer pages.
        monkeypatch.setattr(keys, "ACCOUNT_SHARDS", 2)
        create_resources(monkeypatch)
        monkeypatch.setenv("STATEMENTS_URL", "https://statements.example.test/statements")
        for account, (payment, delivery, person, peak) in ACCOUNTS.items():
            body = profile_body(payment, delivery, person_name=person)
            assert functions.accounts.replay("put_account.json", path=f"/v1/accounts/{account}", body=body)[0] == 201
            report(functions, account, peak, "2026-10-10T12:00:00+09:00")
        yield


def report(functions: Functions, account: str, count: int, observed_at: str) -> None:
    status, body = functions.counts.replay(
        "record_count.json",
        path=f"/v1/accounts/{account}/record-counts",
        body={"count": count, "observed_at": observed_at},
    )
    assert status < 300 or body["error"]["code"] == "month_closed", body


def month_flow(platform: Platform, functions: Functions) -> dict[str, str]:
    """The scheduled close, each InvoiceIssued delivered, the print run."""
    platform.close_month(MONTH)
    platform.deliver_announced()
    platform.print_waiting_letters()
    return {"INV-202610-0000001": "invoice", "INV-202610-0000002": "invoice"}


def closed_october(platform: Platform, functions: Functions) -> None:
    """What the documents flow starts from: October closed, delivered and printed cleanly, then a late report."""
    month_flow(platform, functions)
    report(functions, "post-co", 25_000, "2026-10-20T12:00:00+09:00")  # late: the third bracket


def documents_flow(platform: Platform, functions: Functions) -> dict[str, str]:
    """After a clean close: a late report, its correction, a return invoice, each delivered and printed."""
    post, web = (f"INV-202610-000000{n}" for n in (1, 2))
    correction = platform.request(
        "correct_invoice.json",
        f"/v1/invoices/{post}/corrections",
        json.loads(load_event("correct_invoice.json")["body"]),
        "fix-1",
    )
    credit = platform.request(
        "credit_note.json", f"/v1/invoices/{web}/credit-notes", {"reason": "障害による一部返金", "amount": 1100}, "cn-1"
    )
    assert (correction["invoice_number"], credit["invoice_number"]) == ("INV-202610-0000003", "CN-202610-0000001")
    platform.deliver_announced()
    platform.print_waiting_letters()
    return {
        post: "invoice",
        web: "invoice",
        correction["invoice_number"]: "correction",
        credit["invoice_number"]: "credit_note",
    }


PREPARED = {month_flow: None, documents_flow: closed_october}


def starting_point(flow, functions: Functions) -> Snapshot:
    """The world a flow's runs start from, made once without faults."""
    faults = Faults()
    with faults.installed(), faults.pause():
        platform = Platform(faults, functions)
        if PREPARED[flow]:
            PREPARED[flow](platform, functions)
    return Snapshot.take(faults.notices)


def run(flow, faults: Faults, functions: Functions, start: Snapshot) -> dict:
    start.restore()
    faults.notices = list(start.notices)
    with faults.installed():
        expected = flow(Platform(faults, functions), functions)
        with faults.pause():
            counted = check_invariants(expected, faults)
            status, close_run = functions.close_runs.replay("get_close_run.json", path=f"/v1/close-runs/{MONTH}")
        assert status == 200 and close_run["status"] == "done", close_run
        assert close_run["issued"] == close_run["total"] == len(ACCOUNTS), close_run
        assert (close_run["failed"], close_run["dead_letters"]) == (0, 0), close_run
        return counted


@pytest.mark.slow
@pytest.mark.parametrize("flow", [month_flow, documents_flow], ids=["close-deliver-print", "correct-return"])
def test_every_aws_call_failed_or_killed_in_turn_loses_and_doubles_nothing(aws_env, flow, capsys):
    functions = Functions()
    with world(functions):
        start = starting_point(flow, functions)
        clean = Faults()
        run(flow, clean, functions, start)
        calls = len(clean.calls)
        assert calls > 20, clean.calls  # the flow really ran through its AWS calls
        tried = 0
        for k, call in enumerate(clean.calls, start=1):
            for mode in ("fail", "kill") if changes(call) else ("fail",):
                faults = Faults(at=k, mode=mode)
                try:
                    run(flow, faults, functions, start)
                except AssertionError as broken:
                    raise AssertionError(f"{mode} at call {k} ({faults.injected}): {broken}") from broken
                assert faults.injected == call, f"call {k} was {faults.injected}, not {call}, with {mode}"
                tried += 1
    with capsys.disabled():
        print(
            f"\n{flow.__name__}: {tried} injected faults ({calls} calls failed, the {tried - calls} that change"
            " something also killed right after) and every invariant held after each"
        )
