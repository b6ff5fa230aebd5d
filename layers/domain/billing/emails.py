"""An email as the domain composes it; ``billing.dal.mail`` sends it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str  # plain text; the service never attaches invoices to email
