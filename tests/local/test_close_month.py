"""`python -m local close-month`, `print-run` and a debit run: invoices are issued, delivered, posted and
collected, and customers see them."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import requests

from local import bank, debits
from local.client import SignedSession
from tests.local.support import TOKYO, new_account_id, profile
from tests.stacks import RunningStack, run_cli


def previous_month() -> tuple[str, datetime]:
    """The Tokyo month before this one, and a moment on its 10th."""
    first = datetime.now(TOKYO).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month = (first - timedelta(days=1)).strftime("%Y-%m")
    return month, datetime.strptime(f"{month}-10 10:00", "%Y-%m-%d %H:%M").replace(tzinfo=TOKYO)


def bearer(stack: RunningStack, account: str) -> dict:
    result = run_cli(stack, "token", account)
    assert result.returncode == 0, result.stderr
    return {"Authorization": f"Bearer {result.stdout.strip()}"}


@pytest.fixture(scope="module")
def closed(closing_stack: RunningStack) -> dict:
    """Two accounts that reported last month, then `close-month` for that month."""
    api = SignedSession.from_config(closing_stack.config)
    month, moment = previous_month()
    accounts = {"postal": new_account_id("close"), "web": new_account_id("close")}
    for delivery, account in accounts.items():
        assert api.put(f"/v1/accounts/{account}", json=profile(delivery_method=delivery)).status_code == 201
    debtor = new_account_id("debit")  # collected by direct debit after the close
    assert api.put(f"/v1/accounts/{debtor}", json=profile("direct_debit", "web")).status_code == 201
    reports = [
        (debtor, 4_000),
        (accounts["postal"], 12_000),
        (accounts["web"], 9_500),
        (accounts["web"], 31_000),
        (accounts["web"], 800),
    ]
    for index, (account, count) in enumerate(reports):
        at = (moment + timedelta(hours=index)).isoformat()
        response = api.post(f"/v1/accounts/{account}/record-counts", json={"count": count, "observed_at": at})
        assert response.status_code == 200, response.text
    result = run_cli(closing_stack, "close-month", month)
    return {"month": month, "moment": moment, "accounts": accounts, "debtor": debtor, "result": result, "api": api}


def test_close_month_reports_a_clean_close(closed: dict):
    result = closed["result"]
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout)
    assert report["month"] == closed["month"]
    assert report["ok"] is True and report["drained"] is True
    assert not any(report["dead_letters"].values())


def test_each_customer_sees_their_own_statement_with_its_pdf(closing_stack: RunningStack, closed: dict):
    month = closed["month"]
    for delivery, account in closed["accounts"].items():
        headers = bearer(closing_stack, account)
        listed = requests.get(f"{closing_stack.config['url']}/v1/statements", headers=headers, timeout=30)
        assert listed.status_code == 200, listed.text
        (statement,) = [item for item in listed.json()["statements"] if item["month"] == month]
        assert statement["delivery_method"] == delivery
        assert statement["currency"] == "JPY" and statement["total"] > statement["tax"] > 0
        # The PDF link is a short-lived presigned URL to the archived PDF
        pdf = requests.get(
            f"{closing_stack.config['url']}/v1/statements/{month}/pdf",
            headers=headers,
            allow_redirects=False,
            timeout=30,
        )
        assert pdf.status_code == 302, pdf.text
        document = requests.get(pdf.headers["Location"], timeout=30)
        assert document.status_code == 200
        assert document.content.startswith(b"%PDF")


def test_the_peak_of_a_spike_sets_the_statement(closing_stack: RunningStack, closed: dict):
    month, account = closed["month"], closed["accounts"]["web"]
    detail = requests.get(
        f"{closing_stack.config['url']}/v1/statements/{month}", headers=bearer(closing_stack, account), timeout=30
    )
    assert detail.status_code == 200, detail.text
    assert detail.json()["usage"]["peak"] == 31_000


def test_a_count_for_a_closed_month_is_refused(closed: dict):
    account = closed["accounts"]["postal"]
    late = (closed["moment"] + timedelta(days=1)).isoformat()
    response = closed["api"].post(f"/v1/accounts/{account}/record-counts", json={"count": 99_999, "observed_at": late})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "month_closed"
    usage = closed["api"].get(f"/v1/accounts/{account}/usage/{closed['month']}").json()
    assert usage["peak"] == 12_000 and usage["closed"] is True


def test_a_customer_cannot_reach_another_accounts_statement(closing_stack: RunningStack, closed: dict):
    # Given a customer whose account was not billed for the month the other accounts were
    newcomer = new_account_id("close")
    this_month = datetime.now(TOKYO).date().replace(day=1).isoformat()  # after the close: an open month
    assert closed["api"].put(f"/v1/accounts/{newcomer}", json=profile(contract_start=this_month)).status_code == 201
    month, headers, url = closed["month"], bearer(closing_stack, newcomer), closing_stack.config["url"]
    # When they ask for that month, its PDF, or name another account in the query
    detail = requests.get(f"{url}/v1/statements/{month}", headers=headers, timeout=30)
    pdf = requests.get(f"{url}/v1/statements/{month}/pdf", headers=headers, allow_redirects=False, timeout=30)
    query = requests.get(
        f"{url}/v1/statements/{month}?account_id={closed['accounts']['postal']}", headers=headers, timeout=30
    )
    # Then it is 404 not_found (never 403, which would say it exists), and the query is refused
    assert (detail.status_code, detail.json()["error"]["code"]) == (404, "not_found")
    assert (pdf.status_code, pdf.json()["error"]["code"]) == (404, "not_found")
    assert (query.status_code, query.json()["error"]["code"]) == (400, "invalid_request")


def test_the_operator_lists_the_closed_months_invoices_and_downloads_them_as_csv(
    closing_stack: RunningStack, closed: dict, closing_operator: SignedSession
):
    # Given the month's close dated its invoices the 1st of the next month
    issued_on = (datetime.strptime(closed["month"] + "-01", "%Y-%m-%d") + timedelta(days=32)).strftime("%Y-%m-01")
    ours = set(closed["accounts"].values())
    query = {"issued_from": issued_on, "issued_to": issued_on}
    # When the operator pages through the documents issued that day
    found, token = [], None
    while True:
        response = closing_operator.get(
            "/v1/invoices", params={**query, "limit": 100, **({"next_token": token} if token else {})}
        )
        assert response.status_code == 200, response.text
        found += response.json()["invoices"]
        if not (token := response.json()["next_token"]):
            break
    # Then each of our accounts' invoices is listed once, oldest first
    mine = [row for row in found if row["account_id"] in ours]
    assert sorted(row["account_id"] for row in mine) == sorted(ours)
    assert all(row["issued_on"] == issued_on and row["kind"] == "invoice" for row in mine)
    assert [(r["issued_on"], r["invoice_number"]) for r in found] == sorted(
        (r["issued_on"], r["invoice_number"]) for r in found
    )
    # And the CSV holds the same rows, and one document reads whole with a PDF link
    export = closing_operator.get("/v1/invoices", params={**query, "format": "csv"})
    assert export.status_code == 200, export.text
    assert export.headers["Content-Type"].startswith("text/csv")
    text = export.content.decode("utf-8")
    assert text.startswith("\ufeffinvoice_number,")
    assert all(row["invoice_number"] in text for row in mine)
    detail = closing_operator.get(f"/v1/invoices/{mine[0]['invoice_number']}")
    assert detail.status_code == 200, detail.text
    assert requests.get(detail.json()["pdf_url"], timeout=30).content.startswith(b"%PDF")


def test_the_platform_cannot_search_or_read_invoices(closed: dict):
    month = closed["month"].replace("-", "")
    for path in ("/v1/invoices", f"/v1/invoices/INV-{month}-0000001"):
        response = closed["api"].get(path, params={"issued_from": "2026-11-01", "issued_to": "2026-11-30"})
        assert response.status_code == 403, (path, response.text)


def test_a_late_report_then_its_correction_and_a_return_invoice_over_http(
    closing_stack: RunningStack, closed: dict, closing_operator: SignedSession
):
    api, month, account = closed["api"], closed["month"], closed["accounts"]["web"]  # its peak was 31,000
    # Given a count for the closed month that would have put it in a higher bracket
    late_at = (closed["moment"] + timedelta(days=5)).isoformat()
    late = api.post(f"/v1/accounts/{account}/record-counts", json={"count": 45_000, "observed_at": late_at})
    assert (late.status_code, late.json()["error"]["code"]) == (409, "month_closed")
    usage = api.get(f"/v1/accounts/{account}/usage/{month}").json()
    assert (usage["late_reports"], usage["correction_suggested"]) == ({"count": 1, "peak": 45_000}, True)
    listed = closing_operator.get("/v1/invoices", params={**_issue_day(month), "correction_suggested": "true"})
    (row,) = [r for r in listed.json()["invoices"] if r["account_id"] == account]
    number = row["invoice_number"]
    # The platform may not correct or return; the operator corrects it once, whatever the retries
    path = f"/v1/invoices/{number}/corrections"
    assert api.post(path, json={"reason": "late"}).status_code == 403
    key = {"Idempotency-Key": f"local-{number}"}
    first = closing_operator.post(path, json={"reason": "締め後の件数報告"}, headers=key)
    again = closing_operator.post(path, json={"reason": "締め後の件数報告"}, headers=key)
    assert first.status_code == 201, first.text
    assert again.json() == first.json()
    correction = first.json()
    assert (correction["kind"], correction["replaces"]) == ("correction", number)
    replaced = closing_operator.post(path, json={"reason": "again"})
    assert (replaced.status_code, replaced.json()["error"]["code"]) == (409, "invoice_replaced")
    # Then a return invoice against the correction, never more than it
    credit_path = f"/v1/invoices/{correction['invoice_number']}/credit-notes"
    assert api.post(credit_path, json={"reason": "補償", "amount": 1_100}).status_code == 403
    returned = closing_operator.post(credit_path, json={"reason": "補償", "amount": 1_100})
    assert (returned.status_code, returned.json()["invoice_number"]) == (201, f"CN-{month.replace('-', '')}-0000001")
    over = closing_operator.post(credit_path, json={"reason": "過大", "amount": correction["total"]})
    assert (over.status_code, over.json()["error"]["code"]) == (409, "credit_exceeds_invoice")
    # And the customer sees the correction as the month's statement, with its history and the return
    statement = requests.get(
        f"{closing_stack.config['url']}/v1/statements/{month}", headers=bearer(closing_stack, account), timeout=30
    ).json()
    assert (statement["invoice_number"], statement["replaces"]) == (correction["invoice_number"], number)
    assert [h["status"] for h in statement["history"]] == ["replaced", "issued"]
    assert [c["total"] for c in statement["credit_notes"]] == [1_100]
    page = requests.get(f"{closing_stack.config['url']}/statements", headers=bearer(closing_stack, account), timeout=30)
    assert f"{number}（" in page.text and "訂正されました" in page.text
    assert returned.json()["invoice_number"] in page.text and "einvoice" in page.text


def _issue_day(month: str) -> dict:
    issued_on = (datetime.strptime(month + "-01", "%Y-%m-%d") + timedelta(days=32)).strftime("%Y-%m-01")
    return {"issued_from": issued_on, "issued_to": issued_on}


def test_print_run_writes_the_posting_days_batches_once_and_the_letter_is_posted(closing_stack: RunningStack, closed):
    # Given the closed month's postal statement, waiting for its posting day's print run
    account = closed["accounts"]["postal"]
    url = f"{closing_stack.config['url']}/v1/statements/{closed['month']}"
    waiting = requests.get(url, headers=bearer(closing_stack, account), timeout=30).json()
    assert waiting["status"] == "batched"
    # When `print-run` runs that day, twice (a re-run)
    first = run_cli(closing_stack, "print-run", waiting["posting_on"])
    again = run_cli(closing_stack, "print-run", waiting["posting_on"])
    # Then the day's batches are written, the letter is posted, and the re-run writes the same batches
    assert first.returncode == 0, f"{first.stdout}\n{first.stderr}"
    report = json.loads(first.stdout)
    assert report["ok"] is True and report["letters"] >= 1 and report["batches"]
    assert all(batch["folder"].rstrip("/").rsplit("/", 2)[-2] == waiting["posting_on"] for batch in report["batches"])
    assert json.loads(again.stdout)["batches"] == report["batches"]
    posted = requests.get(url, headers=bearer(closing_stack, account), timeout=30).json()
    assert (posted["status"], posted["posting_on"]) == ("posted", waiting["posting_on"])


# ---------------------------------------------------------------- close runs over HTTP

FORBIDDEN = {"message": "Forbidden"}


def test_the_operator_sees_a_finished_close_with_its_first_and_last_numbers(closing_operator: SignedSession, closed):
    response = closing_operator.get(f"/v1/close-runs/{closed['month']}")
    assert response.status_code == 200, response.text
    run = response.json()
    digits = closed["month"].replace("-", "")
    assert run["status"] == "done" and run["total"] >= 1
    assert (run["issued"], run["failed"], run["dead_letters"]) == (run["total"], 0, 0)
    assert run["delivery_dead_letters"] == 0 and isinstance(run["undelivered"], int)
    assert run["first_number"] == f"INV-{digits}-0000001"
    assert run["last_number"] == f"INV-{digits}-{run['total']:07d}"  # every reserved number was used
    retried = closing_operator.post(f"/v1/close-runs/{closed['month']}/retry")
    assert (retried.status_code, retried.json()) == (
        202,
        {"month": closed["month"], "queued": 0, "redelivered": 0, "failed": []},
    )


def test_a_month_never_closed_is_not_found(closing_operator: SignedSession):
    response = closing_operator.get("/v1/close-runs/2001-01")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_the_platform_may_not_watch_or_retry_a_close(closed):
    watched = closed["api"].get(f"/v1/close-runs/{closed['month']}")
    retried = closed["api"].post(f"/v1/close-runs/{closed['month']}/retry")
    assert (watched.status_code, watched.json()) == (403, FORBIDDEN)
    assert (retried.status_code, retried.json()) == (403, FORBIDDEN)


def test_a_debit_run_collects_over_http_and_the_banks_result_is_taken_once_of_three_sent_at_once(
    closing_stack: RunningStack, closed: dict
):
    # Given the month's invoices, and an operator signed as such
    operator = SignedSession.from_config(closing_stack.config, principal="operator")
    debtor, month = closed["debtor"], closed["month"]
    issued_on = (datetime.strptime(f"{month}-01", "%Y-%m-%d") + timedelta(days=32)).strftime("%Y-%m-01")
    listed = operator.get("/v1/invoices", params={"issued_from": issued_on, "issued_to": issued_on}).json()
    (row,) = [r for r in listed["invoices"] if r["account_id"] == debtor and r["kind"] == "invoice"]
    detail = operator.get(f"/v1/invoices/{row['invoice_number']}").json()
    debit_date = detail["debit_on"]
    # When the operator makes the debit date's run
    ok, run = debits.debit_run(operator, debit_date, out=None, progress=lambda line: None)
    assert ok and run["status"] == "requested" and run["records"] >= 1, run
    request = requests.get(run["file_url"], timeout=30).content
    number = operator.get(f"/v1/accounts/{debtor}").json()["customer_number"]
    assert f"{number:0>20}".encode() in request  # its record, under its customer number
    # And the bank's result is sent three times at once: twice one file (資金不足), once another (paid)
    failed, paid = bank.debit_results(request, {number: "1"}), bank.debit_results(request)
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda body: debits.debit_results(operator, debit_date, body), [failed, failed, paid]))
    # Then one file is taken (each copy of it answered alike) and the other refused as already imported
    taken = [body for body, (ok, _) in zip([failed, failed, paid], answers, strict=True) if ok]
    assert taken and len({*taken}) == 1, answers
    refused = [answer for ok, answer in answers if not ok]
    assert refused and {answer["error"]["code"] for answer in refused} == {"results_already_imported"}, answers
    # And the debtor's invoice ends as that file says, once its result is applied
    expected = "debit_failed" if taken[0] == failed else "paid"
    deadline = time.monotonic() + 60
    while (state := operator.get(f"/v1/invoices/{row['invoice_number']}").json())["payment_status"] != expected:
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert operator.get(f"/v1/debit-runs/{debit_date}").json()["status"] == "settled"


def test_a_bank_file_sent_three_times_at_once_is_imported_once_over_http(closing_stack: RunningStack, closed: dict):
    # Given what a transfer account owes on the closed month's documents (the postal one: no other test moves it)
    operator = SignedSession.from_config(closing_stack.config, principal="operator")
    account, month = closed["accounts"]["postal"], closed["month"]
    issued_on = (datetime.strptime(f"{month}-01", "%Y-%m-%d") + timedelta(days=32)).strftime("%Y-%m-01")
    listed = operator.get("/v1/invoices", params={"issued_from": issued_on, "issued_to": issued_on}).json()
    (row,) = [r for r in listed["invoices"] if r["account_id"] == account and r.get("balance")]
    number = operator.get(f"/v1/accounts/{account}").json()["customer_number"]
    # And the bank's 振込入金通知 paying it by customer number
    booked = datetime.now(TOKYO)
    reiwa = f"{booked.year - 2018:02d}{booked:%m%d}"
    credit = {"inquiry_number": "700001", "booked_on": reiwa, "amount": row["balance"], "payer_name": "ﾌﾘｺﾐ"}
    body = bank.transfer_notice([{**credit, "payer_code": number}], created=reiwa)
    # The platform may not upload it
    assert closed["api"].post("/v1/bank-statements", data=body, headers=debits.OCTET_STREAM).status_code == 403
    # When the operator's upload is sent three times at once
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(lambda _: operator.post("/v1/bank-statements", data=body, headers=debits.OCTET_STREAM), range(3))
        )
    # Then one upload imported it and the other two imported nothing
    summaries = sorted((a.status_code, a.json()["imported"], a.json()["duplicates"]) for a in answers)
    assert summaries == [(200, 0, 1), (200, 0, 1), (200, 1, 0)], summaries
    # And the invoice is paid once, and the payment is listed once, matched to the account
    detail = operator.get(f"/v1/invoices/{row['invoice_number']}").json()
    assert (detail["payment_status"], detail["balance"]) == ("paid", 0), detail
    assert [p["amount"] for p in detail["payments"]] == [row["balance"]]
    day = booked.date().isoformat()
    payments = operator.get("/v1/payments", params={"received_from": day, "received_to": day}).json()["payments"]
    assert [(p["account_id"], p["amount"], p["status"]) for p in payments] == [(account, row["balance"], "matched")]
