"""The emails the local stack sent, as the recipient would read them (moto keeps SES messages in memory).

Only for a stack whose moto runs in this process (``python -m local demo``, the tests' stacks).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Email:
    to: list[str]
    subject: str
    body: str


def sent_emails(account_id: str, region: str) -> list[Email]:
    from moto.ses.models import ses_backends  # moto is a test and local dependency, never a deployed one

    return [
        Email(list(message.destinations.get("ToAddresses", [])), message.subject, message.body)
        for message in ses_backends[account_id][region].sent_messages
    ]


def last_email_to(account_id: str, region: str, address: str) -> Email:
    found = [email for email in sent_emails(account_id, region) if address in email.to]
    if not found:
        raise LookupError(f"no email was sent to {address}")
    return found[-1]
