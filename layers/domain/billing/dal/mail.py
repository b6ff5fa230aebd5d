"""Email through Amazon SES (v2): plain text, never with attachments."""

from __future__ import annotations

from billing.dal.clients import sesv2
from billing.emails import Email


def send_email(sender: str, email: Email, notice_id: str | None = None, client=None) -> str:
    """Send one plain-text email; SES's message id.

    ``notice_id`` is the email's stable identity (the same on every retry), sent
    as the SES tag ``notice``: SES's sending events carry it, so a second copy
    (a sender that died after SES accepted the first) can be recognised.
    """
    client = client or sesv2()
    tags = {"EmailTags": [{"Name": "notice", "Value": notice_id}]} if notice_id else {}
    response = client.send_email(
        **tags,
        FromEmailAddress=sender,
        Destination={"ToAddresses": [email.to]},
        Content={
            "Simple": {
                "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": email.body, "Charset": "UTF-8"}},
            }
        },
    )
    return response["MessageId"]
