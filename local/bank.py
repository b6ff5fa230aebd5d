"""The bank's side, for the demo and the tests: a debit run's result file, and the files it sends of the transfers
credited to the issuer (振込入金通知, 01; 入出金取引明細, 03)."""

from __future__ import annotations

from local.domain import use_domain_layer

use_domain_layer()

from billing.zengin.layouts import DIRECT_DEBIT  # noqa: E402 - the layer is on the path only now


def debit_results(request: bytes, codes: dict[str, str] | None = None) -> bytes:
    """The bank's answer to ``request``: each data record's 振替結果コード by its customer number (10 digits;
    ``0`` for any not named), and the trailer's paid and failed figures filled in."""
    codes = codes or {}
    rows = DIRECT_DEBIT.read(request)
    figures = {"paid_count": 0, "paid_total": 0, "failed_count": 0, "failed_total": 0}
    answered = []
    for kind, values in rows:
        if kind == "2":
            code = codes.get(values["customer_number"][-10:], "0")
            values = {**values, "result_code": code}
            outcome = "paid" if code == "0" else "failed"
            figures[f"{outcome}_count"] += 1
            figures[f"{outcome}_total"] += int(values["amount"])
        elif kind == "8":
            values = {**values, **figures}
        answered.append((kind, values))
    return DIRECT_DEBIT.write(answered)


def transfer_notice(
    credits: list[dict], account: tuple[str, str, str, str] = ("0999", "001", "1", "1234567"), created: str = "081201"
) -> bytes:
    """A 振込入金通知 (Zengin 01) the bank would send for ``credits`` into ``account`` (bank, branch, type, number):
    each a dict with ``inquiry_number``, ``booked_on`` (令和 YYMMDD), ``amount``, ``payer_name`` and, optionally,
    ``payer_code`` and ``cancellation`` ("1" undoes an earlier credit)."""
    from billing.zengin.layouts import TRANSFER_NOTICE

    rows = [("1", _header(account, [c["booked_on"] for c in credits], created))]
    for c in credits:
        rows.append(
            (
                "2",
                {
                    "inquiry_number": c["inquiry_number"],
                    "booked_on": c["booked_on"],
                    "value_date": c["booked_on"],
                    "amount": c["amount"],
                    "other_bank_checks": 0,
                    "payer_code": c.get("payer_code", ""),
                    "payer_name": c["payer_name"],
                    "cancellation": c.get("cancellation", "0"),
                },
            )
        )
    kept = [c for c in credits if c.get("cancellation", "0") == "0"]
    undone = [c for c in credits if c.get("cancellation", "0") == "1"]
    trailer = {
        "transfer_count": len(kept),
        "transfer_total": sum(c["amount"] for c in kept),
        "cancel_count": len(undone),
        "cancel_total": sum(c["amount"] for c in undone),
    }
    return TRANSFER_NOTICE.write([*rows, ("8", trailer), ("9", {})])


def statement(
    entries: list[dict],
    account: tuple[str, str, str, str] = ("0999", "001", "1", "1234567"),
    created: str = "081201",
    opening: int = 1_000_000,
) -> bytes:
    """A 入出金取引明細 (Zengin 03) of ``account`` with ``entries``: each a dict with ``inquiry_number`` (8 digits),
    ``booked_on`` (令和 YYMMDD), ``amount``, ``payer_name``, optionally ``payer_code``, and ``direction`` ("1" in,
    the default; "2" out) and ``kind`` (取引区分, "11" 振込 by default); the trailer and the balances add up."""
    from billing.zengin.layouts import STATEMENT

    values = [
        {
            "inquiry_number": e["inquiry_number"],
            "booked_on": e["booked_on"],
            "value_date": e["booked_on"],
            "direction": e.get("direction", "1"),
            "transaction_kind": e.get("kind", "11"),
            "amount": e["amount"],
            "other_bank_checks": 0,
            "payer_code": e.get("payer_code", ""),
            "payer_name": e["payer_name"],
        }
        for e in entries
    ]
    ins = [v["amount"] for v in values if v["direction"] == "1"]
    outs = [v["amount"] for v in values if v["direction"] == "2"]
    closing = opening + sum(ins) - sum(outs)
    header = {
        **_header(account, [e["booked_on"] for e in entries], created, number_width=10),
        "reserved": "000",
        "passbook": "1",
        "opening_sign": "1",
        "opening_balance": f"{opening:014d}",
    }
    trailer = {
        "deposit_count": len(ins),
        "deposit_total": sum(ins),
        "withdrawal_count": len(outs),
        "withdrawal_total": sum(outs),
        "closing_sign": "1" if closing >= 0 else "2",
        "closing_balance": f"{abs(closing):014d}",
        "data_count": len(values),
    }
    rows = [("1", header), *(("2", v) for v in values), ("8", trailer), ("9", {"record_count": len(values) + 3})]
    return STATEMENT.write(rows)


def _header(account: tuple[str, str, str, str], days: list[str], created: str, number_width: int = 7) -> dict:
    """What the headers of 01 and 03 share: the dates the file covers and the issuer's receiving account."""
    bank, branch, kind, number = account
    days = sorted(days) or [created]
    return {
        "created_on": created,
        "booked_from": days[0],
        "booked_to": days[-1],
        "bank_code": bank,
        "bank_name": "ｻﾝﾌﾟﾙ",
        "branch_code": branch,
        "branch_name": "ﾎﾝﾃﾝ",
        "account_type": kind,
        "account_number": number.rjust(number_width, "0"),
        "account_name": "ｶ)ｻﾝﾌﾟﾙﾒ-ﾙﾊｲｼﾝ",
    }
