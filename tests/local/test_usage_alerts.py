"""Usage alerts over the wire: counts reported through the signed platform API, alerted by the stream's watch.

The local stack runs UsageWatchFunction from the template's ``Type: DynamoDB`` event (its filter lets the usage
items' changes through by their key's prefix), and SES is moto's: the emails are read back as their recipient
would read them.
"""

from __future__ import annotations

import time

from local.client import SignedSession
from local.mailbox import sent_emails
from tests.local.support import month_of, new_account_id, profile, recent_times
from tests.stacks import RunningStack

STREAM_TIMEOUT_S = 30
CONTACT = profile()["billing_contact"]


def alert_emails(stack: RunningStack, company: str) -> list[dict]:
    return [
        email
        for email in sent_emails(stack.config["endpoint"])
        if "料金帯" in email["subject"] and email["body"].startswith(company)
    ]


def wait_for(stack: RunningStack, company: str, count: int) -> list[dict]:
    deadline = time.monotonic() + STREAM_TIMEOUT_S
    while len(found := alert_emails(stack, company)) < count and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def test_nearing_then_passing_the_brackets_top_sends_each_alert_once(api: SignedSession, local_stack: RunningStack):
    # Given an account whose billing contact is a company of its own
    account_id = new_account_id("alerts")
    company = f"株式会社{account_id}"
    body = profile(contact={"company_name": company})
    assert api.put(f"/v1/accounts/{account_id}", json=body).status_code == 201
    moments = recent_times(3)
    month = month_of(moments[0])

    def report(count, at):
        response = api.post(f"/v1/accounts/{account_id}/record-counts", json={"count": count, "observed_at": at})
        assert response.status_code == 200, response.text

    # When its peak reaches 90% of the first bracket's top, and the same report is sent again (a retry)
    report(8_500, moments[0].isoformat())
    report(9_200, moments[1].isoformat())
    report(9_200, moments[1].isoformat())
    approaching = wait_for(local_stack, company, 1)
    # And then passes the top
    report(10_400, moments[2].isoformat())
    emails = wait_for(local_stack, company, 2)

    # Then its billing contact has exactly two emails: the warning, then the crossing
    assert [email["subject"].split("】")[1] for email in emails] == [
        f"ご利用件数が次の料金帯に近づいています ({int(month[:4])}年{int(month[5:])}月ご利用分)",
        f"ご利用件数が次の料金帯に入りました ({int(month[:4])}年{int(month[5:])}月ご利用分)",
    ]
    assert approaching == emails[:1] and emails[1]["destinations"]["ToAddresses"] == [CONTACT["email"]]
    assert "10,400件となり、10,001〜20,000件の料金帯に入りました" in emails[1]["body"]
    # And the usage lists both alerts and the estimate (standard 7,000 + bridge 3,000, tax 10%)
    usage = api.get(f"/v1/accounts/{account_id}/usage/{month}").json()
    assert [(alert["kind"], alert["bracket"]) for alert in usage["alerts"]] == [("approaching", 2), ("crossed", 2)]
    assert usage["estimate"] == {"subtotal": 10_000, "tax": 1_000, "total": 11_000}
    # And nothing more arrives once the stream has settled
    time.sleep(2)
    assert len(alert_emails(local_stack, company)) == 2
