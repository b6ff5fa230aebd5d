"""The bank's 振込入金通知 (Zengin 01): each transfer credited to the issuer, read whole and checked first, and
whose account it is (消込), never decided on the amount alone.

**A credit** is one data record: the receiving account (the header's: an issuer may receive on several
accounts, virtual ones included, so it is recorded, not checked), 照会番号, 勘定日, amount, the payer's code
and name, and whether it cancels an earlier credit (取消区分 ``1``). It is identified by the receiving account,
照会番号, 勘定日 and amount (``payment_id``), so the same record in the same or a later file is imported once; a
cancellation names the credit it undoes by the same account, 照会番号 and amount.

**The file** is checked before anything else: the records' lengths and kinds, the dates (令和), and the
trailer: 振込合計 counts and sums the records whose 取消区分 is ``0``, 取消合計 those whose 取消区分 is ``1``.

**Matching**, in order: a customer number (10 digits, its check digit right) as the 振込依頼人コード, or at
the start of the 振込依頼人名 (then a space or nothing); else the payer's name, normalised
(``billing.zengin.kana.payer_key``), equal to one account's ``payer_name_kana`` or a name learned from an
operator's allocation. No match, or more than one account, leaves the credit unmatched for an operator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from billing.contracts.payment_details import is_customer_number
from billing.zengin.era import reiwa_date
from billing.zengin.kana import payer_key
from billing.zengin.layouts import TRANSFER_NOTICE
from billing.zengin.records import BankFileError

NO_PAYER_CODE = ("", "0" * 10)


@dataclass(frozen=True)
class ReceivingAccount:
    bank_code: str
    branch_code: str
    account_type: str
    account_number: str

    @property
    def key(self) -> str:
        return f"{self.bank_code}-{self.branch_code}-{self.account_type}{self.account_number}"


@dataclass(frozen=True)
class Credit:
    account: ReceivingAccount
    inquiry_number: str  # 照会番号, the bank's
    booked_on: date  # 勘定日
    amount: int
    payer_code: str | None  # 振込依頼人コード, None when none was given
    payer_name: str  # 振込依頼人名, as the bank wrote it
    cancelled: bool  # 取消区分 1: this record undoes the credit it names
    record: int  # where it stands in its file, from 1

    @property
    def payment_id(self) -> str:
        """The payment's identity: the same record imported again is the same payment."""
        return f"{self.account.key}-{self.inquiry_number}-{self.booked_on:%Y%m%d}-{self.amount}"

    @property
    def cancels(self) -> tuple[str, str, int]:
        """What a cancellation and the credit it undoes share: the account, 照会番号 and amount."""
        return (self.account.key, self.inquiry_number, self.amount)


def read_transfer_notice(body: bytes) -> list[Credit]:
    """Every credit of a 振込入金通知, the whole file checked first; ``BankFileError`` for the first fault."""
    rows = TRANSFER_NOTICE.read_file(body)
    header = rows[0][1]
    for label, name in (("作成日", "created_on"), ("勘定日(自)", "booked_from"), ("勘定日(至)", "booked_to")):
        reiwa_date(header[name], 1, label)
    account = ReceivingAccount(
        header["bank_code"], header["branch_code"], header["account_type"], header["account_number"]
    )
    credits = []
    for number, (kind, values) in enumerate(rows, start=1):
        if kind != "2":
            continue
        if values["cancellation"] not in ("0", "1"):
            raise BankFileError(number, "取消区分", f"must be 0 or 1, not {values['cancellation']!r}")
        code = values["payer_code"].strip()
        if code not in NO_PAYER_CODE and not code.isdigit():
            raise BankFileError(number, "振込依頼人コード", f"must be digits or blank, not {code!r}")
        credits.append(
            Credit(
                account=account,
                inquiry_number=values["inquiry_number"],
                booked_on=reiwa_date(values["booked_on"], number, "勘定日"),
                amount=int(values["amount"]),
                payer_code=None if code in NO_PAYER_CODE else code,
                payer_name=values["payer_name"],
                cancelled=values["cancellation"] == "1",
                record=number,
            )
        )
    _check_trailer(rows[-2][1], credits, len(rows) - 1)
    return credits


def _check_trailer(trailer: dict, credits: list[Credit], number: int) -> None:
    transfers = [c for c in credits if not c.cancelled]
    cancels = [c for c in credits if c.cancelled]
    figures = {
        "振込合計件数": (trailer["transfer_count"], len(transfers)),
        "振込合計金額": (trailer["transfer_total"], sum(c.amount for c in transfers)),
        "取消合計件数": (trailer["cancel_count"], len(cancels)),
        "取消合計金額": (trailer["cancel_total"], sum(c.amount for c in cancels)),
    }
    for label, (written, counted) in figures.items():
        if int(written) != counted:
            raise BankFileError(number, label, f"says {int(written)}; the records add up to {counted}")


def customer_number_of(credit: Credit) -> str | None:
    """The customer number the payer gave: as the 振込依頼人コード, or first in the 振込依頼人名."""
    if credit.payer_code is not None and is_customer_number(credit.payer_code):
        return credit.payer_code
    name = credit.payer_name.strip()
    head, rest = name[:10], name[10:]
    if is_customer_number(head) and (not rest or rest.startswith(" ")):
        return head
    return None


def match(
    credit: Credit,
    account_of_number: Callable[[str], str | None],
    accounts_named: Callable[[str], Iterable[str]],
) -> str | None:
    """The one account ``credit`` pays, or None (no match, or more than one): by customer number first, then by
    the payer's normalised name (an account's ``payer_name_kana`` or a name learned from an operator)."""
    number = customer_number_of(credit)
    if number is not None:
        return account_of_number(number)
    named = set(accounts_named(payer_key(credit.payer_name)))
    return named.pop() if len(named) == 1 else None
