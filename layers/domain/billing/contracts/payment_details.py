"""How an account pays, beyond its method: its customer number, the account a direct debit draws on and the
state of its mandate, and the name its transfers arrive under.

Each value is checked here and kept in the form the bank files need; the edge turns a ``ValueError`` from
these checks into a 400 naming the field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from billing.zengin.kana import to_zengin

HOLDER_KANA_MAX = 30  # 預金者名 in a debit record
PAYER_NAME_KANA_MAX = 48  # 振込依頼人名 in a bank's transfer notice


class AccountType(StrEnum):
    ORDINARY = "ordinary"  # 普通
    CURRENT = "current"  # 当座
    SAVINGS = "savings"  # 貯蓄

    @property
    def zengin_code(self) -> str:
        return {"ordinary": "1", "current": "2", "savings": "4"}[self.value]


class MandateStatus(StrEnum):
    PENDING = "pending"  # until a debit of the account succeeds
    ACTIVE = "active"
    REJECTED = "rejected"  # a result said the account cannot be debited: its invoices go out as transfers


def digits(value: str, low: int, high: int, what: str) -> str:
    if not (value.isascii() and value.isdigit() and low <= len(value) <= high):
        width = f"{low}" if low == high else f"{low} to {high}"
        raise ValueError(f"{what} must be {width} ASCII digits")
    return value


@dataclass(frozen=True)
class DebitAccount:
    """The account a direct debit draws on (from the customer's signed 口座振替依頼書)."""

    bank_code: str
    branch_code: str
    account_type: AccountType
    account_number: str  # 7 digits, zero-padded
    holder_kana: str  # the Zengin form: half-width kana, small kana large

    @classmethod
    def of(
        cls, *, bank_code: str, branch_code: str, account_type: str, account_number: str, holder_kana: str
    ) -> DebitAccount:
        """A debit account from what the customer wrote; ``ValueError`` names what is wrong."""
        return cls(
            bank_code=digits(bank_code, 4, 4, "bank_code"),
            branch_code=digits(branch_code, 3, 3, "branch_code"),
            account_type=AccountType(account_type),
            account_number=digits(account_number, 1, 7, "account_number").zfill(7),
            holder_kana=holder_kana_of(holder_kana),
        )

    @property
    def masked_number(self) -> str:
        return "****" + self.account_number[-3:]

    def as_json(self) -> dict:
        """As stored: the whole number (the table is the one place that holds it)."""
        return {**asdict(self), "account_type": self.account_type.value}

    def shown(self) -> dict:
        """As every answer, page and log line shows it: the number masked."""
        return {**self.as_json(), "account_number": self.masked_number}

    @classmethod
    def from_json(cls, body: dict) -> DebitAccount:
        return cls(**{**body, "account_type": AccountType(body["account_type"])})


def customer_number(sequence: int) -> str:
    """The ``sequence``-th customer number: 9 digits of sequence and a check digit (Luhn), 10 in all.

    The check digit lets a transfer's payer code or name be read as a customer number only when it is one:
    a mistyped digit matches no account rather than another's.
    """
    if not 1 <= sequence < 10**9:
        raise ValueError(f"customer number sequence {sequence} is out of range")
    body = f"{sequence:09d}"
    return body + luhn_digit(body)


def is_customer_number(text: str) -> bool:
    return (
        len(text) == 10 and text.isascii() and text.isdigit() and text != "0" * 10 and luhn_digit(text[:9]) == text[9]
    )


def luhn_digit(body: str) -> str:
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def holder_kana_of(name: str) -> str:
    """A debit account holder's name, in the bank's form."""
    return to_zengin(name, HOLDER_KANA_MAX)


def payer_name_kana_of(name: str) -> str:
    """The name a bank-transfer account's payments arrive under, in the bank's form."""
    return to_zengin(name, PAYER_NAME_KANA_MAX)
