"""The emails the local stack sent, read back as their recipient would (moto keeps SES messages).

moto serves its state at ``<endpoint>/moto-api/data.json``, so this works for
any stack on moto, in this process or not.
"""

from __future__ import annotations

import re

import requests


def sent_emails(endpoint: str) -> list[dict]:
    """Every message SES accepted: ``destinations``, ``subject``, ``body`` and the rest of moto's record."""
    models = requests.get(f"{endpoint.rstrip('/')}/moto-api/data.json", timeout=30).json()
    return list(models.get("ses", {}).get("Message", []))


def confirmation_token(endpoint: str, change_request_id: str) -> str:
    """The one-time token of a change request, from the email that carried it."""
    found = [email for email in sent_emails(endpoint) if change_request_id in email["body"]]
    if not found:
        raise LookupError(f"no email names change request {change_request_id}")
    return re.search(r"確認コード: (\S+)", found[-1]["body"]).group(1)
