"""What the customer is told when the month's peak nears or enters a higher fee bracket.

Every alert names the month, the peak and when it was observed, the bracket concerned and the monthly fee it
means under the month's terms (tax included), and says what the FAQ is asked most: the fee follows the month's
peak, so deleting records afterwards does not lower it. The email and the event say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from billing import months
from billing.emails import Email
from billing.invoicing.estimate import Estimate
from billing.japanese import jp_month, jp_time, yen
from billing.usage.alerts import Alert, AlertKind
from billing.usage.counts import Reading

PEAK_SETS_THE_FEE = (
    "月額料金は、その月の最大件数 (ピーク) で決まります。"
    "一時的な増加でも料金帯は上がり、後から件数を削除されても、この月の料金は下がりません。"
)
TITLES = {
    AlertKind.CROSSED: "ご利用件数が次の料金帯に入りました",
    AlertKind.APPROACHING: "ご利用件数が次の料金帯に近づいています",
}


@dataclass(frozen=True)
class UsageAlertNotice:
    """One alert as the customer reads it; ``bracket_from``/``bracket_to`` are the bracket the alert concerns
    (entered, or near), and ``fee`` the month's bill with the peak in it."""

    alert: Alert
    account_id: str
    month: str
    recipient_line: str
    email: str
    issuer_name: str
    peak: Reading
    bracket_from: int
    bracket_to: int
    fee: Estimate
    approach_ratio: Fraction

    @property
    def title(self) -> str:
        return TITLES[self.alert.kind]

    def news(self) -> list[str]:
        observed = f"{jp_month(self.month)}のご利用件数が、{jp_time(self.peak.at)}に{self.peak.count:,}件となり、"
        brackets = f"{self.bracket_from:,}〜{self.bracket_to:,}件"
        if self.alert.kind is AlertKind.CROSSED:
            return [
                observed + f"{brackets}の料金帯に入りました。",
                f"この月の月額料金は、現在のご契約内容で {yen(self.fee.total)} (税込) となる見込みです。",
            ]
        top = self.bracket_from - 1
        return [
            observed + f"現在の料金帯の上限 ({top:,}件) の{self.approach_ratio * 100:.0f}%に達しました。",
            f"{top:,}件を超えると{brackets}の料金帯となり、"
            f"この月の月額料金は、現在のご契約内容で {yen(self.fee.total)} (税込) となります。",
        ]

    def lines(self) -> list[str]:
        return [
            self.recipient_line,
            "",
            f"{self.issuer_name}です。いつもご利用いただきありがとうございます。",
            *self.news(),
            "",
            PEAK_SETS_THE_FEE,
            "ご利用状況は、ご請求明細のページの「今月のご利用状況」でご確認いただけます。",
            "このお知らせは、料金帯ごとに月1回お送りしています。",
        ]

    def as_email(self) -> Email:
        subject = f"【{self.issuer_name}】{self.title} ({jp_month(self.month)}ご利用分)"
        return Email(self.email, subject, "\n".join([*self.lines(), "", "このメールは送信専用です。"]))

    @property
    def notice_id(self) -> str:
        """The email's and the event's stable identity: one per account, month, kind and bracket."""
        return f"usage-{self.account_id}-{self.month}-{self.alert.kind.value}-{self.alert.bracket}"

    def detail(self) -> dict:
        """The ``UsageBracketCrossed`` or ``UsageBracketApproaching`` event's detail."""
        return {
            "alert_id": self.notice_id,
            "account_id": self.account_id,
            "month": self.month,
            "kind": self.alert.kind.value,
            "bracket": {"index": self.alert.bracket, "from": self.bracket_from, "to": self.bracket_to},
            "peak": self.peak.count,
            "peak_observed_at": months.iso_tokyo(self.peak.at),
            "estimate": self.fee.as_json(),
        }
