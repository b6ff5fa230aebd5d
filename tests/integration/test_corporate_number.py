"""The buyer's 法人番号 under moto: taken at creation and by a change request, refused when wrong, and the buyer's
Peppol address on every document issued while it is set, as the official PINT JP rules check them."""

from __future__ import annotations

import re

import boto3
import pytest

from tests.factories import profile_body
from tests.integration.billing_month import Month, invoice_item
from tests.integration.conftest import BUCKET, TABLE, Api
from tests.pint_jp import NO_BUYER_ENDPOINT, failed_asserts
from tests.unit.test_einvoice import NS, tree

NUMBER = "7000012050002"  # 国税庁's own
BAD = {
    "wrong check digit": "6000012050002",
    "full-width digits": "７００００１２０５０００２",
    "12 digits": "700001205000",
    "14 digits": "70000120500020",
    "a JSON number": 7000012050002,
}


def put(api: Api, account: str, number=None) -> tuple[int, dict]:
    body = profile_body(contact=None if number is None else {"corporate_number": number})
    return api.replay("put_account.json", path=f"/v1/accounts/{account}", body=body)


def get(api: Api, account: str) -> tuple[int, dict]:
    return api.replay("get_account.json", path=f"/v1/accounts/{account}")


def request_change(api: Api, contact: dict, account: str = "acme") -> tuple[int, dict]:
    body = {"changes": {"billing_contact": contact}}
    return api.replay("request_change.json", path=f"/v1/accounts/{account}/change-requests", body=body)


def confirm_last(api: Api, change_request_id: str) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    email = ses_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"].sent_messages[-1]
    token = re.search(r"確認コード: (\S+)", email.body).group(1)
    status, body = api.replay(
        "confirm_change.json", path=f"/v1/change-requests/{change_request_id}/confirm", body={"token": token}
    )
    assert status == 200, body


def table_items() -> list:
    return boto3.client("dynamodb").scan(TableName=TABLE)["Items"]


def archived_xml(item: dict) -> bytes:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=item["einvoice_key"]["S"])["Body"].read()


@pytest.fixture
def changes_api(aws) -> Api:
    return Api("change_requests")


class TestTheContract:
    def test_a_valid_corporate_number_is_taken_at_creation_and_answered_back(self, accounts_api):
        status, body = put(accounts_api, "acme", NUMBER)
        assert status == 201, body
        status, body = get(accounts_api, "acme")
        assert status == 200 and body["billing_contact"]["corporate_number"] == NUMBER
        # and an account created without one answers without one
        assert put(accounts_api, "plain")[0] == 201
        assert "corporate_number" not in get(accounts_api, "plain")[1]["billing_contact"]

    @pytest.mark.parametrize("why", BAD)
    def test_a_bad_corporate_number_at_creation_is_400_and_creates_nothing(self, accounts_api, why):
        before = table_items()
        status, body = put(accounts_api, "acme", BAD[why])
        assert (status, body["error"]["code"]) == (400, "invalid_request"), body
        assert "billing_contact.corporate_number" in body["error"]["message"]
        assert table_items() == before
        assert get(accounts_api, "acme")[0] == 404

    def test_a_change_request_sets_it_and_null_removes_it(self, accounts_api, changes_api):
        assert put(accounts_api, "acme")[0] == 201
        status, body = request_change(changes_api, {"corporate_number": NUMBER})
        assert status == 201, body
        assert body["changes"] == {"billing_contact": {"corporate_number": NUMBER}}
        confirm_last(changes_api, body["change_request_id"])
        assert get(accounts_api, "acme")[1]["billing_contact"]["corporate_number"] == NUMBER

        status, body = request_change(changes_api, {"corporate_number": None})
        assert status == 201, body
        confirm_last(changes_api, body["change_request_id"])
        assert "corporate_number" not in get(accounts_api, "acme")[1]["billing_contact"]

    @pytest.mark.parametrize("why", BAD)
    def test_a_bad_corporate_number_in_a_change_request_is_400_and_changes_nothing(
        self, accounts_api, changes_api, why
    ):
        assert put(accounts_api, "acme", NUMBER)[0] == 201
        before = table_items()
        status, body = request_change(changes_api, {"corporate_number": BAD[why]})
        assert (status, body["error"]["code"]) == (400, "invalid_request"), body
        assert "corporate_number" in body["error"]["message"]
        assert table_items() == before


class TestTheDocuments:
    def test_every_document_names_the_buyer_by_its_corporate_number_and_passes_the_official_rules(
        self, aws, changes_api
    ):
        # Given one account with a 法人番号 and one without, both billed for October
        month = Month()
        assert put(month.accounts, "numbered", NUMBER)[0] == 201
        assert put(month.accounts, "plain")[0] == 201
        for account in ("numbered", "plain"):
            month.report(account, 9_000, "2026-10-10T12:00:00+09:00")
        # When October closes
        month.run_close("2026-10")
        numbered, plain = invoice_item("numbered"), invoice_item("plain")
        xml = archived_xml(numbered)
        # Then the numbered account's invoice names its buyer's Peppol address, and the official rules pass it
        party = tree(xml).find("cac:AccountingCustomerParty/cac:Party", NS)
        endpoint = party.find("cbc:EndpointID", NS)
        assert (endpoint.text, endpoint.get("schemeID")) == (NUMBER, "0188")
        assert party.find("cac:PartyLegalEntity/cbc:CompanyID", NS).text == NUMBER
        assert failed_asserts(xml) == []
        # And the other's is archived all the same, failing only for want of that address (it is offered like any
        # other: test_delivery's e-invoice link is to an account without a 法人番号)
        assert [failed.id for failed in failed_asserts(archived_xml(plain))] == [NO_BUYER_ENDPOINT]
        assert plain["einvoice_sha256"]["S"]
        # And the invoice keeps the number it was issued with, whatever the contact says later
        status, body = request_change(changes_api, {"corporate_number": None}, account="numbered")
        assert status == 201, body
        confirm_last(changes_api, body["change_request_id"])
        assert "corporate_number" not in get(month.accounts, "numbered")[1]["billing_contact"]
        stored = invoice_item("numbered")
        assert stored["recipient"]["M"]["corporate_number"]["S"] == NUMBER
        assert archived_xml(stored) == xml

    def test_a_correction_carries_the_originals_issue_date_and_its_reason(self, aws):
        # Given a closed October for an account with a 法人番号, and a late report that moves its bracket
        month = Month()
        assert put(month.accounts, "acme", NUMBER)[0] == 201
        month.report("acme", 9_000, "2026-10-10T12:00:00+09:00")
        month.run_close("2026-10")
        original = invoice_item("acme")
        month.report("acme", 15_000, "2026-10-20T12:00:00+09:00")
        # When the desk corrects the invoice
        status, body = Api("invoice_documents").replay(
            "correct_invoice.json",
            path=f"/v1/invoices/{original['invoice_number']['S']}/corrections",
            body={"reason": "締め後に届いた件数報告の反映"},
            headers={"idempotency-key": "fix-1"},
        )
        assert status == 201, body
        correction = invoice_item("acme", kind="correction")
        xml = archived_xml(correction)
        root = tree(xml)
        # Then it names the original by number and issue date, says why, and passes the official rules
        reference = root.find("cac:BillingReference/cac:InvoiceDocumentReference", NS)
        assert reference.find("cbc:ID", NS).text == original["invoice_number"]["S"]
        assert reference.find("cbc:IssueDate", NS).text == original["issued_on"]["S"]
        assert [note.text for note in root.findall("cbc:Note", NS)] == ["訂正理由: 締め後に届いた件数報告の反映"]
        assert failed_asserts(xml) == []
