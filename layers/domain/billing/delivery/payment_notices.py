"""What the customer is told about money: the request to transfer after a debit did not go through.

Every notice names each document, its month and what is owed on it, the transfer account, the customer
number and the deadline, asks for the customer number before the payer name, and closes with the customary
「行き違いでお支払いいただいている場合は、ご容赦ください」: money may already be on its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from billing.emails import Email
from billing.japanese import jp_date, jp_month, yen
from billing.payments.reminders import TITLES as REMINDER_TITLES

CROSSED_IN_THE_POST = "行き違いでお支払いいただいている場合は、ご容赦ください。"


class WhyTransfer(StrEnum):
    DEBIT_FAILED = "debit_failed"  # 資金不足 and the like: the account may be debited again another month
    MANDATE_REJECTED = "mandate_rejected"  # the bank cannot debit this account at all
    NO_DEBIT_ACCOUNT = "no_debit_account"  # the debit was never set up


OPENINGS = {
    WhyTransfer.DEBIT_FAILED: "{debit_on}の口座振替で、次のご請求をお引き落としできませんでした。",
    WhyTransfer.MANDATE_REJECTED: (
        "{debit_on}の口座振替で、ご登録の口座からお引き落としができませんでした。"
        "お手数ですが、口座振替のお手続きを改めてお願いいたします。"
    ),
    WhyTransfer.NO_DEBIT_ACCOUNT: "口座振替のお手続きが済んでいないため、{debit_on}のお引き落としができませんでした。",
}


@dataclass(frozen=True)
class Owed:
    invoice_number: str
    month: str
    balance: int

    def line(self) -> str:
        return f"請求書番号: {self.invoice_number} ({jp_month(self.month)}ご利用分) ご請求残高: {yen(self.balance)}"


@dataclass(frozen=True)
class TransferRequest:
    """Everything a transfer request says; the email and the letter say the same."""

    why: WhyTransfer
    recipient_line: str
    email: str
    issuer_name: str
    customer_number: str
    bank_account: str  # the issuer's transfer account as printed (bank, branch, type, number)
    account_holder: str
    debit_on: date
    pay_by: date
    owed: tuple[Owed, ...]

    @property
    def total(self) -> int:
        return sum(o.balance for o in self.owed)

    def lines(self) -> list[str]:
        return [
            self.recipient_line,
            "",
            f"{self.issuer_name}です。いつもご利用いただきありがとうございます。",
            OPENINGS[self.why].format(debit_on=jp_date(self.debit_on)),
            f"お手数ですが、{jp_date(self.pay_by)}までに下記の口座へお振込みくださいますようお願いいたします。",
            "",
            *(o.line() for o in self.owed),
            f"お振込金額: {yen(self.total)}",
            f"お振込期限: {jp_date(self.pay_by)}",
            *transfer_to(self.bank_account, self.account_holder, self.customer_number),
            "",
            CROSSED_IN_THE_POST,
        ]

    @property
    def title(self) -> str:
        return "お振込のお願い (口座振替ができませんでした)"

    def as_email(self) -> Email:
        subject = f"【{self.issuer_name}】{self.title}"
        body = "\n".join([*self.lines(), "このメールは送信専用です。"])
        return Email(self.email, subject, body)


def transfer_to(bank_account: str, account_holder: str, customer_number: str) -> list[str]:
    """Where to transfer, and the customer number to give before the payer name (every notice says it so)."""
    return [
        f"お振込先: {bank_account} {account_holder}",
        f"お客様番号: {customer_number}",
        "お振込の際は、振込依頼人名の前にお客様番号 (10桁) をご入力ください。",
        f"例: {customer_number} ﾔﾏﾀﾞ ﾀﾛｳ",
    ]


REMINDER_OPENINGS = {
    1: "{pay_by}がお支払期限の次のご請求について、本日までにご入金を確認できておりません。",
    2: "先日ご案内いたしました次のご請求について、{pay_by}のお支払期限を過ぎた今もご入金を確認できておりません。",
    3: (
        "再三ご案内いたしました次のご請求について、ご入金を確認できておりません。"
        "本状を最終のご案内とさせていただきます。"
    ),
}


@dataclass(frozen=True)
class PaymentReminder:
    """A reminder (督促) of one document: its level, what is owed and by when; the email and the letter say the
    same."""

    level: int
    recipient_line: str
    email: str
    issuer_name: str
    customer_number: str
    bank_account: str
    account_holder: str
    owed: Owed
    pay_by: date

    @property
    def title(self) -> str:
        return REMINDER_TITLES[self.level]

    def lines(self) -> list[str]:
        return [
            self.recipient_line,
            "",
            f"{self.issuer_name}です。いつもご利用いただきありがとうございます。",
            REMINDER_OPENINGS[self.level].format(pay_by=jp_date(self.pay_by)),
            "お手数ですが、下記の口座へお振込みくださいますようお願いいたします。",
            "",
            self.owed.line(),
            f"お支払期限: {jp_date(self.pay_by)}",
            *transfer_to(self.bank_account, self.account_holder, self.customer_number),
            "",
            CROSSED_IN_THE_POST,
        ]

    def as_email(self) -> Email:
        subject = f"【{self.issuer_name}】{self.title} ({self.owed.invoice_number})"
        return Email(self.email, subject, "\n".join([*self.lines(), "このメールは送信専用です。"]))
