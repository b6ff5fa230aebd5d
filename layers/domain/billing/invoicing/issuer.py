"""The invoice issuer (適格請求書発行事業者): who bills and where to pay.

A qualified invoice must name its issuer and show the issuer's registration
number (登録番号): ``T`` followed by the 13-digit corporate number (法人番号),
whose first digit is a check digit over the other twelve. The issuer lives in
``config/issuer.toml`` next to the tariff, so changing the bank account is a
config change, not a code change. ``load_issuer`` validates the whole file and
names the field that is wrong, so a bad file fails the deployment, not an
invoice run.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_PATH = Path(__file__).parents[1] / "config" / "issuer.toml"
ACCOUNT_TYPES = ("普通", "当座")  # ordinary / current (checking) account

REGISTRATION_NUMBER = re.compile(r"^T([0-9])([0-9]{12})\Z")
CORPORATE_NUMBER = re.compile(r"^([0-9])([0-9]{12})\Z")
POSTAL_CODE = re.compile(r"^[0-9]{3}-[0-9]{4}\Z")
PHONE = re.compile(r"^\+?[0-9][0-9-]{5,19}\Z")
ACCOUNT_NUMBER = re.compile(r"^[0-9]{7}\Z")
# 口座名義 as banks print it: katakana (full- or half-width), the long-vowel
# mark, brackets used for legal-form abbreviations (カ）= 株式会社), '.', '-'
# and spaces.
KATAKANA_HOLDER = re.compile(r"^[\u30a0-\u30ff\uff66-\uff9f()（）.．\-－ 　]+\Z")


class IssuerError(ValueError):
    """The issuer file is unusable; the message names the field."""


def corporate_check_digit(base12: str) -> int:
    """The check digit of a corporate number (法人番号) from its other 12 digits.

    The National Tax Agency's formula: 9 - (sum of digit x weight) mod 9, with
    weights 1, 2, 1, 2, ... counted from the least significant digit.
    """
    if len(base12) != 12 or not base12.isascii() or not base12.isdigit():
        raise ValueError(f"a corporate number base is 12 digits, got {base12!r}")
    total = sum(int(digit) * (1 if i % 2 == 0 else 2) for i, digit in enumerate(reversed(base12)))
    return 9 - total % 9


def is_corporate_number(text: object) -> bool:
    """Whether ``text`` is a 法人番号: 13 ASCII digits whose first is the check digit of the other twelve."""
    match = CORPORATE_NUMBER.match(text) if isinstance(text, str) else None
    return match is not None and int(match.group(1)) == corporate_check_digit(match.group(2))


def is_registration_number(text: object) -> bool:
    """Whether ``text`` is a well-formed 登録番号 with a correct check digit."""
    match = REGISTRATION_NUMBER.match(text) if isinstance(text, str) else None
    return match is not None and int(match.group(1)) == corporate_check_digit(match.group(2))


@dataclass(frozen=True)
class BankAccount:
    """The account customers pay bank-transfer invoices into (振込先)."""

    bank_name: str
    branch_name: str
    account_type: str  # 普通 / 当座
    account_number: str
    account_holder: str  # 口座名義, katakana

    @property
    def display(self) -> str:
        return f"{self.bank_name} {self.branch_name} {self.account_type} {self.account_number}"


@dataclass(frozen=True)
class Issuer:
    name: str
    registration_number: str  # 登録番号 T + 13 digits
    postal_code: str
    address: str
    phone: str
    bank: BankAccount

    def as_record(self) -> dict:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> Issuer:
        return cls(**{**record, "bank": BankAccount(**record["bank"])})


@dataclass(frozen=True)
class Collector:
    """The issuer as a debit file's header names it (委託者): its code and name at the collecting bank, and the
    account the debited money goes to. Kept apart from ``Issuer``, which every invoice record holds a copy of."""

    consignor_code: str
    consignor_name: str  # half-width kana, as the bank registered it
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: str  # the Zengin code: 1 普通, 2 当座
    account_number: str


@functools.cache
def load_issuer(path: Path = DEFAULT_PATH) -> Issuer:
    return parse_issuer(_read(path))


@functools.cache
def load_collector(path: Path = DEFAULT_PATH) -> Collector:
    return parse_collector(_read(path))


def _read(path: Path) -> dict:
    with open(path, "rb") as handle:
        try:
            return tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise IssuerError(f"{path.name} is not valid TOML: {error}") from error


def parse_issuer(raw: dict) -> Issuer:
    registration = _text(raw, "registration_number")
    if not is_registration_number(registration):
        raise IssuerError(
            f"registration_number must be T + 13 digits whose first digit checks the other 12, got {registration!r}"
        )
    bank = raw.get("bank")
    if not isinstance(bank, dict):
        raise IssuerError("bank is missing (a [bank] table with the transfer account)")
    return Issuer(
        name=_text(raw, "name"),
        registration_number=registration,
        postal_code=_text(raw, "postal_code", POSTAL_CODE, "NNN-NNNN"),
        address=_text(raw, "address"),
        phone=_text(raw, "phone", PHONE, "digits and '-'"),
        bank=BankAccount(
            bank_name=_text(bank, "bank_name", where="bank."),
            branch_name=_text(bank, "branch_name", where="bank."),
            account_type=_one_of(bank, "account_type", ACCOUNT_TYPES),
            account_number=_text(bank, "account_number", ACCOUNT_NUMBER, "7 digits", "bank."),
            account_holder=_text(bank, "account_holder", KATAKANA_HOLDER, "katakana", "bank."),
        ),
    )


def parse_collector(raw: dict) -> Collector:
    debit = raw.get("direct_debit")
    if not isinstance(debit, dict):
        raise IssuerError("direct_debit is missing (a [direct_debit] table with the bank's collection contract)")

    def field(key: str, pattern: re.Pattern, hint: str) -> str:
        return _text(debit, key, pattern, hint, "direct_debit.")

    return Collector(
        consignor_code=field("consignor_code", _digits(10), "10 digits"),
        consignor_name=field("consignor_name", _zengin_kana(40), "at most 40 half-width kana (the bank's form)"),
        bank_code=field("bank_code", _digits(4), "4 digits"),
        bank_name=field("bank_name", _zengin_kana(15), "at most 15 half-width kana"),
        branch_code=field("branch_code", _digits(3), "3 digits"),
        branch_name=field("branch_name", _zengin_kana(15), "at most 15 half-width kana"),
        account_type={"普通": "1", "当座": "2"}[_one_of(debit, "account_type", ACCOUNT_TYPES, "direct_debit.")],
        account_number=field("account_number", ACCOUNT_NUMBER, "7 digits"),
    )


def _digits(width: int) -> re.Pattern:
    return re.compile(rf"^[0-9]{{{width}}}\Z")


def _zengin_kana(most: int) -> re.Pattern:
    return re.compile(rf"^[0-9A-Z\uff66-\uff9f ().\-/]{{1,{most}}}\Z")


def _text(raw: dict, key: str, pattern: re.Pattern | None = None, hint: str = "", where: str = "") -> str:
    if key not in raw:
        raise IssuerError(f"{where}{key} is missing")
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise IssuerError(f"{where}{key} must be a non-empty string, got {value!r}")
    if pattern is not None and not pattern.match(value):
        raise IssuerError(f"{where}{key} must be {hint}, got {value!r}")
    return value


def _one_of(raw: dict, key: str, allowed: tuple[str, ...], where: str = "bank.") -> str:
    value = _text(raw, key, where=where)
    if value not in allowed:
        raise IssuerError(f"{where}{key} must be one of {', '.join(allowed)}, got {value!r}")
    return value
