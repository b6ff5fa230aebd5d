"""Closing a month under moto: one correct invoice per account, exactly once."""

from __future__ import annotations

import hashlib
import json
import os

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from billing.dal import keys
from billing.errors import CloseOutOfOrder
from tests.conftest import LambdaContext, load_event
from tests.factories import profile_body
from tests.integration.billing_month import (
    ACCOUNTS,
    MONTH,
    Month,
    einvoice_versions,
    invoices,
    pdf_text,
    pdf_versions,
)
from tests.integration.conftest import BUCKET, Api
from tests.pint_jp import NO_BUYER_ENDPOINT, failed_asserts


@pytest.fixture
def month(aws):
    month = Month()
    month.seed()
    return month


def test_every_active_account_gets_one_numbered_invoice_and_pdf(month):
    month.run_close()
    found = invoices()
    assert set(found) == set(ACCOUNTS)
    numbers = sorted(i["invoice_number"]["S"] for i in found.values())
    assert numbers == [f"INV-202610-{n:07d}" for n in range(1, len(ACCOUNTS) + 1)]
    assert pdf_versions() == sorted(i["pdf_key"]["S"] for i in found.values())
    assert einvoice_versions() == sorted(i["einvoice_key"]["S"] for i in found.values())  # the XML beside each
    for account, item in found.items():
        assert item["pdf_key"]["S"] == f"invoices/{MONTH}/{account}/{item['invoice_number']['S']}.pdf"
        assert item["einvoice_key"]["S"] == f"invoices/{MONTH}/{account}/{item['invoice_number']['S']}.xml"
        xml = boto3.client("s3").get_object(Bucket=BUCKET, Key=item["einvoice_key"]["S"])["Body"].read()
        assert hashlib.sha256(xml).hexdigest() == item["einvoice_sha256"]["S"]
        assert [failed.id for failed in failed_asserts(xml)] == [NO_BUYER_ENDPOINT]  # the official rules; no 法人番号
        assert item["status"]["S"] == "issued"


def test_the_pdf_shows_the_qualified_invoice_fields(month):
    month.run_close()
    item = invoices()["transfer-postal"]
    text = pdf_text(item["pdf_key"]["S"])
    issuer = "T5999901234567"  # config/issuer.toml's registration number
    for expected in (issuer, "山田 太郎 様", "10,001", "2026年11月30日", "10%", item["invoice_number"]["S"]):
        assert expected in text, expected
    assert int(item["total"]["N"]) == 7000 + 3000 + (7000 + 3000) // 10  # bracket 2 + bridge + 10% tax
    debit = pdf_text(invoices()["debit-web"]["pdf_key"]["S"])
    assert "株式会社サンプル商事 経理部 佐藤 花子 様" in debit.replace("\n", " ") or "佐藤 花子 様" in debit
    assert "2026年11月27日" in debit  # 口座振替日: the 27th, a Friday
    company = pdf_text(invoices()["transfer-web"]["pdf_key"]["S"])
    assert "株式会社サンプル商事 経理部 御中" in company.replace("\n", " ")  # no person named: 御中


def test_the_close_run_shows_progress(month):
    month.run_close()
    run = month.close.stores.close_runs().get(MONTH)
    assert (run["total"], run["issued"], run["failed"]) == (len(ACCOUNTS), len(ACCOUNTS), 0)


def test_a_closed_month_refuses_counts_and_carries_the_last_count_over(month):
    month.run_close()
    status, body = month.report("debit-web", 99_999, "2026-10-31T23:59:00+09:00")
    assert (status, body["error"]["code"]) == (409, "month_closed")
    status, body = month.counts.replay("get_usage.json", path="/v1/accounts/debit-web/usage/2026-11")
    assert (body["opening_count"], body["peak"]) == (12_500, 12_500)
    status, body = month.counts.replay("get_usage.json", path="/v1/accounts/debit-web/usage/2026-10")
    assert (body["closed"], body["peak"], body["last_count"]) == (True, 25_000, 12_500)


def test_a_new_contract_cannot_start_in_or_before_a_month_whose_close_has_run(month):
    # Given October closed (its accounts listed, numbered and invoiced)
    month.run_close()
    total = len(invoices())

    def create(account, start):
        body = profile_body("bank_transfer", "web", contract_start=start)
        return month.accounts.replay("put_account.json", path=f"/v1/accounts/{account}", body=body)

    # When the platform creates accounts whose contracts start in October, or before it
    for account, start in (("late-october", "2026-10-01"), ("late-september", "2026-09-15")):
        status, body = create(account, start)
        # Then each is refused: its October would never be invoiced (the close has listed its accounts)
        assert (status, body["error"]["code"]) == (409, "month_closed"), body
        assert "2026-10" in body["error"]["message"]
        assert month.accounts.replay("get_account.json", path=f"/v1/accounts/{account}")[0] == 404
    # and one starting in November, the first open month, is created; the same body again is still a safe retry
    assert create("november", "2026-11-01")[0] == 201
    assert create("november", "2026-11-01")[0] == 200
    month.run_close()
    assert len(invoices()) == total  # and October's re-run bills nobody new
    # An existing account's same body stays a safe retry after the close too
    account, (payment, delivery, person, _) = next(iter(ACCOUNTS.items()))
    replay = month.accounts.replay(
        "put_account.json", path=f"/v1/accounts/{account}", body=profile_body(payment, delivery, person_name=person)
    )
    assert replay[0] == 200


def test_a_report_from_before_the_contract_is_refused_as_such_and_kept_nowhere_even_after_closes(month):
    # Given an account whose contract starts in November, and October and November both closed
    body = profile_body("bank_transfer", "web", contract_start="2026-11-01")
    assert month.accounts.replay("put_account.json", path="/v1/accounts/starts-nov", body=body)[0] == 201
    assert month.report("starts-nov", 7_000, "2026-11-05T12:00:00+09:00")[0] == 200
    month.run_close("2026-10")
    month.run_close("2026-11")
    # When a report from October (before its contract) arrives
    status, body = month.report("starts-nov", 99_999, "2026-10-31T23:59:59+09:00")
    # Then it is refused for what it is, not as a late report of a closed month, and October keeps nothing
    assert (status, body["error"]["code"]) == (409, "contract_not_started"), body
    status, october = month.counts.replay("get_usage.json", path="/v1/accounts/starts-nov/usage/2026-10")
    assert (october["peak"], october["late_reports"]) == (0, {"count": 0, "peak": None})
    # while a late report of November, inside the contract, is still kept as one
    assert month.report("starts-nov", 8_000, "2026-11-30T23:00:00+09:00")[1]["error"]["code"] == "month_closed"
    status, november = month.counts.replay("get_usage.json", path="/v1/accounts/starts-nov/usage/2026-11")
    assert november["late_reports"] == {"count": 1, "peak": 8_000}


def test_running_the_close_twice_changes_nothing(month):
    month.run_close()
    before = invoices()
    month.run_close()
    assert invoices() == before
    assert len(pdf_versions()) == len(ACCOUNTS)


def test_a_redelivered_message_makes_no_second_invoice(month):
    month.run_close()
    before = invoices()
    messages = [
        {"MessageId": "again", "ReceiptHandle": "again", "Body": json.dumps(message)}
        for message in issue_messages(before)
    ]
    month.deliver(month.issue, messages)
    assert invoices() == before
    assert len(pdf_versions()) == len(ACCOUNTS)


def test_a_redelivered_page_sends_the_same_numbers_again(month):
    month.close.lambda_handler({"month": MONTH}, LambdaContext())
    pages = month.sqs.receive_message(QueueUrl=os.environ["ACCOUNT_PAGES_QUEUE_URL"], MaxNumberOfMessages=10)
    month.deliver(month.close, pages["Messages"])
    month.deliver(month.close, pages["Messages"])  # SQS delivered the same pages twice
    month.drain("ISSUE_INVOICE_QUEUE_URL", month.issue)
    found = invoices()
    assert sorted(i["invoice_number"]["S"] for i in found.values()) == [
        f"INV-202610-{n:07d}" for n in range(1, len(ACCOUNTS) + 1)
    ]
    run = month.close.stores.close_runs().get(MONTH)
    assert (run["total"], run["issued"]) == (len(ACCOUNTS), len(ACCOUNTS))


def test_pages_that_race_for_the_counter_get_blocks_that_do_not_overlap(month, monkeypatch):
    runs = month.close.stores.close_runs()
    first = runs.record_page(MONTH, "SHARD#00:a", ["a1", "a2", "a3"], None)
    real_counter, stale_reads = runs._counter, [0]  # its first read missed the first page's block
    monkeypatch.setattr(runs, "_counter", lambda m: stale_reads.pop() if stale_reads else real_counter(m))
    second = runs.record_page(MONTH, "SHARD#01:b", ["b1", "b2"], None)
    assert first.numbered() == [("a1", 1), ("a2", 2), ("a3", 3)]
    assert stale_reads == []
    assert second.numbered() == [("b1", 4), ("b2", 5)]
    assert runs.record_page(MONTH, "SHARD#00:a", ["other"], None) == first  # a page is recorded once
    assert runs.get(MONTH)["total"] == 5


def failing(monkeypatch, target, method: str, why: str) -> None:
    def fail(*args, **kwargs):
        raise RuntimeError(why)

    monkeypatch.setattr(target, method, fail)


def issue_messages(found):
    return [
        {"month": MONTH, "account_id": account, "sequence": int(item["invoice_number"]["S"].rsplit("-", 1)[1])}
        for account, item in found.items()
    ]


def test_a_crash_after_the_pdf_is_stored_is_repaired_by_a_rerun(month, monkeypatch):
    store = month.issue.closer().stores.invoices
    real = store.store_issued
    failing(monkeypatch, store, "store_issued", "killed between the S3 put and the record")
    messages = month.fan_out()
    with pytest.raises(BatchProcessingError):  # every record failed: Lambda fails, SQS redelivers
        month.deliver(month.issue, messages)
    assert invoices() == {} and len(pdf_versions()) == len(ACCOUNTS)  # archived; the record comes last
    first_bytes = {key: boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in pdf_versions()}

    monkeypatch.setattr(store, "store_issued", real)
    month.deliver(month.issue, messages)
    assert {i["status"]["S"] for i in invoices().values()} == {"issued"}
    assert len(pdf_versions()) == len(ACCOUNTS)  # no second locked version
    for key, body in first_bytes.items():
        assert boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    run = month.close.stores.close_runs().get(MONTH)
    assert (run["issued"], run["failed"]) == (len(ACCOUNTS), 0)  # a try that a retry repaired is no failure


def test_an_invoice_that_fails_its_last_try_counts_as_failed(month, monkeypatch):
    failing(monkeypatch, month.issue.closer().stores.archive, "store", "S3 is down")
    messages = month.fan_out()
    last_try = int(os.environ["ISSUE_MAX_RECEIVE_COUNT"])
    for receive_count in range(1, last_try + 1):
        with pytest.raises(BatchProcessingError):
            month.deliver(month.issue, messages, receive_count=receive_count)
        expected_failed = len(ACCOUNTS) if receive_count == last_try else 0
        assert month.close.stores.close_runs().get(MONTH)["failed"] == expected_failed


def test_an_account_whose_contract_ended_before_the_month_is_not_billed(month):
    for account, end_month in (("ended", "2026-09"), ("last-month", "2026-10")):
        body = profile_body("bank_transfer", "web", person_name=None, contract_start="2026-01-01")
        month.accounts.replay("put_account.json", path=f"/v1/accounts/{account}", body=body)
        cancellation = {"received_on": "2026-08-15", "end_month": end_month}
        status, _ = month.accounts.replay(
            "cancel_account.json", path=f"/v1/accounts/{account}/cancellation", body=cancellation
        )
        assert status == 201
    month.run_close()
    assert "ended" not in invoices()
    assert "last-month" in invoices()
    assert invoices()["last-month"]["final"] == {"BOOL": True}


def test_the_sample_events_close_a_month_page_by_page(month):
    # Given the scheduler's sample input and one sample page message
    started = month.close.lambda_handler(load_event("close_month.json"), LambdaContext())
    run = f"close/{MONTH}/{LambdaContext.aws_request_id}"  # the run's correlation id, for its logs
    assert started == {"month": MONTH, "shards": 16, "started": True, "correlation_id": run}
    page = load_event("account_page.json")
    shard = json.loads(page["Records"][0]["body"])["shard"]
    # When that page is fanned out
    assert month.close.lambda_handler(page, LambdaContext()) == {"batchItemFailures": []}
    # Then its accounts, and only they, are queued with consecutive reserved numbers
    url = os.environ["ISSUE_INVOICE_QUEUE_URL"]
    queued = []
    while batch := month.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        queued += [json.loads(m["Body"]) for m in batch]
        month.sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch]
        )
    in_shard = sorted(a for a in ACCOUNTS if keys.account_shard(a) == shard)
    assert in_shard == ["debit-postal"]
    assert sorted(m["account_id"] for m in queued) == in_shard
    assert sorted(m["sequence"] for m in queued) == list(range(1, len(in_shard) + 1))


def refused_close(month: Month, wanted: str) -> CloseOutOfOrder:
    with pytest.raises(CloseOutOfOrder) as refused:
        month.close.lambda_handler({"month": wanted}, LambdaContext())
    return refused.value


def test_months_close_in_order_and_a_refusal_names_the_month_to_close_first(month):
    # Given September closed (billing begins with it)
    month.run_close("2026-09")
    # When November is asked for while October is open
    refused = refused_close(month, "2026-11")
    # Then it is refused, naming October, and nothing of November's close is recorded
    assert (refused.status, refused.code, refused.open_month) == (409, "close_out_of_order", "2026-10")
    assert "2026-10" in refused.message and "close 2026-10 first" in refused.message
    assert month.close.stores.close_runs().progress("2026-11") is None
    # And a month before the latest close can no longer be closed
    assert "2026-09 has been closed already" in refused_close(month, "2026-08").message
    # While October, then November, close in turn, and September's re-run changes nothing
    before = invoices()
    month.run_close("2026-09")
    assert invoices() == before
    month.run_close("2026-10")
    month.run_close("2026-11")
    assert month.close.stores.close_runs().progress("2026-11").every_account_closed


def test_a_close_waits_for_the_month_before_to_finish(month):
    # Given October's close fanned out, its invoices not issued yet
    messages = month.fan_out("2026-10")
    # Then November's close is refused, naming October and how far it got
    refused = refused_close(month, "2026-11")
    assert refused.open_month == "2026-10"
    assert f"0 of {len(ACCOUNTS)} accounts issued" in refused.message, refused.message
    # Until every account of October is issued
    month.deliver(month.issue, messages)
    month.run_close("2026-11")
    assert month.close.stores.close_runs().progress("2026-11").every_account_closed


def test_closing_out_of_order_never_refuses_an_open_months_count_nor_drops_a_closed_ones(month):
    # Given an account (standard + bridge) that reported 5,000 in October and in November, September closed
    body = profile_body("bank_transfer", "web", person_name=None)
    assert month.accounts.replay("put_account.json", path="/v1/accounts/ordered", body=body)[0] == 201
    month.run_close("2026-09")
    month.report("ordered", 5_000, "2026-10-15T12:00:00+09:00")
    month.report("ordered", 5_000, "2026-11-15T12:00:00+09:00")
    # When November is closed first: refused, October is open
    assert refused_close(month, "2026-11").open_month == "2026-10"
    # Then a report of 50,000 for October is taken, as October is open
    status, body = month.report("ordered", 50_000, "2026-10-20T12:00:00+09:00")
    assert (status, body["peak"]) == (200, 50_000), body
    # And October's invoice bills the 50,000 peak
    month.run_close("2026-10")
    october = invoices()["ordered"]
    assert int(october["usage"]["M"]["peak"]["N"]) == 50_000
    assert int(october["total"]["N"]) > 4_400 * 2
    # And once October is closed, a report for it is refused and kept as a late report
    status, body = month.report("ordered", 60_000, "2026-10-21T12:00:00+09:00")
    assert (status, body["error"]["code"]) == (409, "month_closed")
    status, usage = month.counts.replay("get_usage.json", path="/v1/accounts/ordered/usage/2026-10")
    assert (usage["peak"], usage["late_reports"]) == (50_000, {"count": 1, "peak": 60_000})


def test_a_report_refused_between_the_gate_shutting_and_the_freeze_is_kept_late(month):
    # Given October shut for an account by its close, its usage not frozen yet (an issuer stopped between)
    closer = Api("issue_invoice").module.closer()
    closer.stores.usage.shut("debit-web", MONTH)
    # When a report for October arrives
    status, body = month.report("debit-web", 99_000, "2026-10-30T12:00:00+09:00")
    # Then it is refused as closed and kept as a late report, never billed by the close
    assert (status, body["error"]["code"]) == (409, "month_closed")
    month.run_close()
    status, usage = month.counts.replay("get_usage.json", path="/v1/accounts/debit-web/usage/2026-10")
    assert (usage["closed"], usage["peak"]) == (True, 25_000)
    assert usage["late_reports"] == {"count": 1, "peak": 99_000}
    # And the invoice is stored flagged for correction, as 99,000 is in a higher bracket (only that one)
    assert usage["correction_suggested"] is True
    assert {account for account, item in invoices().items() if "correction_suggested" in item} == {"debit-web"}
    assert invoices()["debit-web"]["correction_suggested"] == {"BOOL": True}


def test_a_report_kept_late_between_the_freeze_and_the_invoice_being_stored_flags_the_invoice(month, monkeypatch):
    # Given October's close between freezing debit-web's usage and storing its invoice
    store = month.issue.closer().stores.invoices
    real = store.store_issued

    def late_report_first(invoice, *args, **kwargs):
        if invoice.account_id == "debit-web" and not invoices().get("debit-web"):
            # When a report for October arrives just then (its own flag cannot reach an invoice not yet stored)
            status, body = month.report("debit-web", 99_000, "2026-10-30T12:00:00+09:00")
            assert (status, body["error"]["code"]) == (409, "month_closed")
        return real(invoice, *args, **kwargs)

    monkeypatch.setattr(store, "store_issued", late_report_first)
    month.run_close()
    # Then the invoice is stored flagged for correction all the same, billing the frozen peak
    found = invoices()
    assert found["debit-web"]["correction_suggested"] == {"BOOL": True}
    assert int(found["debit-web"]["usage"]["M"]["peak"]["N"]) == 25_000
    assert {account for account, item in found.items() if "correction_suggested" in item} == {"debit-web"}
