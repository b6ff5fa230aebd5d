"""The bank's own files of what reached the issuer's account: 振込入金通知 (Zengin 01) and 入出金取引明細 (Zengin 03).
Each is read whole and checked first; then each transfer credited to the issuer is matched to whose account it
is (消込), never on the amount alone.

**The file** is 200-byte records of JIS X 0201 (CP932 bytes), each followed by CR LF or not; its dates are 和暦
YYMMDD in 令和 (R01 = 2019), and no other era is read. ``read_bank_file`` tells the two apart by the first
record's 種別コード (``01`` or ``03``) and refuses anything else. Nothing is returned until the whole file has
been checked: the records' lengths, kinds and characters, the dates and the trailer's figures. The first fault is
a ``BankFileError`` naming the record (from 1), the field and what is wrong; nothing else is raised.

**A credit** is a transfer received: the receiving account (the header's: an issuer may receive on several
accounts, virtual ones included, so it is recorded, not checked), 照会番号 as the file wrote it, 勘定日, amount,
the payer's code (all zeros or spaces: none given) and name. It is identified by the receiving account, 照会番号,
勘定日 and amount (``payment_id``), so the same record in the same or a later file is imported once.

- In a 01 file every data record is a credit; 取消区分 ``1`` makes it a cancellation, which names the credit it
  undoes by the same account, 照会番号 and amount. The trailer's 振込合計 counts and sums the records whose
  取消区分 is ``0``, its 取消合計 those whose 取消区分 is ``1``.
- In a 03 file a credit is a data record with 入払区分 ``1`` (入金) and 取引区分 ``11`` (振込). The others (payments
  out, cash and other deposits) are read and checked like it but are not credits. A 03 file has no 取消区分, so
  its credits never cancel. Its trailer's 入金件数/入金額合計 and 出金件数/出金額合計 count and sum the data records
  with 入払区分 ``1`` and ``2``, and its データ・レコード件数 counts them all. Where both the header's 取引前残高 and
  the trailer's 取引後残高 are given (each signed by its 貸越区分: 1 plus, 2 minus; 0 or blank, none given),
  取引前残高 + 入金 - 出金 must be 取引後残高. Its 口座番号 is 10 digits, zero-filled: the account of a 01 file's
  7, and keyed the same. A 03 file holds one account (one header).

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
from billing.zengin.layouts import STATEMENT, TRANSFER_NOTICE
from billing.zengin.records import BankFileError

NO_PAYER_CODE = ("", "0" * 10)
HEADER_DATES = (("作成日", "created_on"), ("勘定日(自)", "booked_from"), ("勘定日(至)", "booked_to"))
DEPOSIT, WITHDRAWAL = "1", "2"  # 入払区分 in 03
TRANSFER = "11"  # 取引区分 in 03: 振込


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
        """The payment's identity: the same record imported again is the same payment, from a 01 or a 03 file
        alike (the 照会番号 zero-filled to 03's 8 digits)."""
        return f"{self.account.key}-{self.reference}-{self.booked_on:%Y%m%d}-{self.amount}"

    @property
    def reference(self) -> str:
        """The 照会番号 in one form: 01 writes 6 digits, 03 writes 8."""
        return self.inquiry_number.zfill(8)

    @property
    def cancels(self) -> tuple[str, str, int]:
        """What a cancellation and the credit it undoes share: the account, 照会番号 and amount."""
        return (self.account.key, self.reference, self.amount)


def read_bank_file(body: bytes) -> list[Credit]:
    """Every credit of a 振込入金通知 (01) or 入出金取引明細 (03), told apart by the first record's 種別コード; the
    whole file checked first, ``BankFileError`` for the first fault, also for any other kind of file."""
    readers = {b"01": read_transfer_notice, b"03": read_statement}
    kind = body[1:3]
    if kind not in readers:
        raise BankFileError(1, "種別コード", f"must be 01 (振込入金通知) or 03 (入出金取引明細), not {kind!r}")
    return readers[kind](body)


def read_transfer_notice(body: bytes) -> list[Credit]:
    """Every credit of a 振込入金通知, the whole file checked first; ``BankFileError`` for the first fault."""
    rows = TRANSFER_NOTICE.read_file(body)
    account = _receiving_account(rows[0][1])
    credits = []
    for number, (kind, values) in enumerate(rows, start=1):
        if kind != "2":
            continue
        if values["cancellation"] not in ("0", "1"):
            raise BankFileError(number, "取消区分", f"must be 0 or 1, not {values['cancellation']!r}")
        credits.append(_credit(account, values, number, cancelled=values["cancellation"] == "1"))
    _check_trailer(rows[-2][1], credits, len(rows) - 1)
    return credits


def read_statement(body: bytes) -> list[Credit]:
    """Every credit (入金 by 振込) of a 入出金取引明細, the whole file checked first; ``BankFileError`` for the first
    fault. Its other records are checked and counted in the trailer, but are not credits."""
    rows = STATEMENT.read_file(body)
    account = _receiving_account(rows[0][1])
    credits: list[Credit] = []
    amounts: dict[str, list[int]] = {DEPOSIT: [], WITHDRAWAL: []}
    for number, (kind, values) in enumerate(rows, start=1):
        if kind != "2":
            continue
        direction, transaction = values["direction"], values["transaction_kind"]
        if direction not in amounts:
            raise BankFileError(number, "入払区分", f"must be 1 (入金) or 2 (出金), not {direction!r}")
        if transaction and not (len(transaction) == 2 and transaction.isdigit()):
            raise BankFileError(number, "取引区分", f"must be 2 digits or blank, not {transaction!r}")
        reiwa_date(values["value_date"], number, "預入・払出日")
        credit = _credit(account, values, number, cancelled=False)  # checks what every data record shares
        amounts[direction].append(credit.amount)
        if direction == DEPOSIT and transaction == TRANSFER:
            credits.append(credit)
    _check_statement_trailer(rows[0][1], rows[-2][1], amounts[DEPOSIT], amounts[WITHDRAWAL], len(rows) - 1)
    return credits


def _receiving_account(header: dict) -> ReceivingAccount:
    """The account a file is for, its header's dates checked (令和)."""
    for label, name in HEADER_DATES:
        reiwa_date(header[name], 1, label)
    number = header["account_number"]
    if len(number) > 7 and not number[:-7].strip("0"):
        number = number[-7:]  # 03's 10 digits, zero-filled: the same account, and key, as 01's 7
    return ReceivingAccount(header["bank_code"], header["branch_code"], header["account_type"], number)


def _credit(account: ReceivingAccount, values: dict, number: int, *, cancelled: bool) -> Credit:
    """Data record ``number`` as a credit to ``account``, its 勘定日 and 振込依頼人コード checked."""
    code = values["payer_code"].strip()
    if code not in NO_PAYER_CODE and not (code.isascii() and code.isdigit()):
        raise BankFileError(number, "振込依頼人コード", f"must be digits or blank, not {code!r}")
    return Credit(
        account=account,
        inquiry_number=values["inquiry_number"],
        booked_on=reiwa_date(values["booked_on"], number, "勘定日"),
        amount=int(values["amount"]),
        payer_code=None if code in NO_PAYER_CODE else code,
        payer_name=values["payer_name"],
        cancelled=cancelled,
        record=number,
    )


def _check_trailer(trailer: dict, credits: list[Credit], number: int) -> None:
    transfers = [c for c in credits if not c.cancelled]
    cancels = [c for c in credits if c.cancelled]
    _check_figures(
        {
            "振込合計件数": (trailer["transfer_count"], len(transfers)),
            "振込合計金額": (trailer["transfer_total"], sum(c.amount for c in transfers)),
            "取消合計件数": (trailer["cancel_count"], len(cancels)),
            "取消合計金額": (trailer["cancel_total"], sum(c.amount for c in cancels)),
        },
        number,
    )


def _check_statement_trailer(
    header: dict, trailer: dict, deposits: list[int], withdrawals: list[int], number: int
) -> None:
    """03's trailer against its data records, and the balances (where both are given) against both."""
    _check_figures(
        {
            "入金件数": (trailer["deposit_count"], len(deposits)),
            "入金額合計": (trailer["deposit_total"], sum(deposits)),
            "出金件数": (trailer["withdrawal_count"], len(withdrawals)),
            "出金額合計": (trailer["withdrawal_total"], sum(withdrawals)),
            "データ・レコード件数": (trailer["data_count"], len(deposits) + len(withdrawals)),
        },
        number,
    )
    opening = _balance(header["opening_sign"], header["opening_balance"], 1, "取引前残高")
    closing = _balance(trailer["closing_sign"], trailer["closing_balance"], number, "取引後残高")
    if opening is not None and closing is not None:
        expected = opening + sum(deposits) - sum(withdrawals)
        if closing != expected:
            raise BankFileError(
                number,
                "取引後残高",
                f"says {closing}; 取引前残高 {opening} + 入金 {sum(deposits)} - 出金 {sum(withdrawals)} is {expected}",
            )


def _balance(sign: str, balance: str, number: int, label: str) -> int | None:
    """A signed balance (its 貸越区分 1 plus, 2 minus), or None when 貸越区分 is 0 or blank: none given."""
    if sign not in ("", "0", "1", "2"):
        raise BankFileError(number, "貸越区分", f"must be 1 (plus), 2 (minus), or 0 or blank (none), not {sign!r}")
    if balance and not (len(balance) == 14 and balance.isdigit()):
        raise BankFileError(number, label, f"must be 14 digits or blank, not {balance!r}")
    if sign in ("", "0"):
        return None
    if not balance:
        raise BankFileError(number, label, f"is blank; its 貸越区分 {sign} says one is given")
    return int(balance) if sign == "1" else -int(balance)


def _check_figures(figures: dict[str, tuple[str, int]], number: int) -> None:
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
