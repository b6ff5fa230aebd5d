"""Email through Amazon SES (v2): plain text, never with attachments."""

from __future__ import annotations

from billing.dal.clients import sesv2
from billing.emails import Email


def send_email(sender: str, email: Email, client=None) -> str:
    """Send one plain-text email; SES's message id."""
    client = client or sesv2()
    response = client.send_email(
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
