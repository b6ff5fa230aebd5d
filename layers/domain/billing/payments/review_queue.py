"""The operator's list of bank-file payments (the review queue: ``status=unmatched``), in plain Python.

A search names a range of 勘定日 (both ends inclusive, at most 366 days, as on the invoice desk) and a status:
``unmatched`` (waiting for an operator), ``matched`` or ``all`` (cancelled ones too). Rows come oldest first: by
勘定日, then payment id; a page's ``next_token`` continues after its last row (``billing.paging``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from billing import paging
from billing.errors import InvalidRequest

MAX_DAYS = 366
POSITION = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})#([0-9-]{20,60})\Z")


@dataclass(frozen=True)
class PaymentSearch:
    status: str
    received_from: date
    received_to: date

    def __post_init__(self):
        if self.received_to < self.received_from:
            raise InvalidRequest(f"received_to {self.received_to} is before received_from {self.received_from}")
        days = (self.received_to - self.received_from).days + 1
        if days > MAX_DAYS:
            raise InvalidRequest(f"the date range spans {days} days; search at most {MAX_DAYS} at a time")

    def fingerprint(self) -> str:
        conditions = f"{self.status}|{self.received_from}|{self.received_to}"
        return hashlib.sha256(conditions.encode()).hexdigest()[:12]

    def token(self, after: str) -> str:
        return paging.encode_token(self.fingerprint(), after)

    def after(self, token: str) -> str:
        return paging.decode_token(self.fingerprint(), token, POSITION, self.received_from, self.received_to)
