"""The request file byte for byte against a fixture written and checked by hand, field by field.

``tests/data/zengin/debit_request_2026-11-27.txt`` was built without the project's layout code (each field
written out at its width, from the Zengin 口座振替依頼データ layout) and read back by eye. Its records:

- header: 1 / 91 / 0 / 委託者コード 1234567890 / 委託者名 ｶ)ｻﾝﾌﾟﾙﾒ-ﾙﾊｲｼﾝ (40) / 引落日 1127 / 取引銀行 0999
  ｻﾝﾌﾟﾙ (15) / 支店 001 ﾎﾝﾃﾝ (15) / 預金種目 1 / 口座番号 1234567 / 17 spaces;
- data: 2 / 引落銀行 0005, name blank (15) / 支店 123, name blank (15) / 4 spaces / 預金種目 1 (普通) /
  口座番号 0012345 / ﾔﾏﾀﾞ ﾀﾛｳ (30) / 引落金額 0000012100 / 新規コード 1 (mandate pending) /
  顧客番号 0000000018 zero-filled to 20 / 振替結果コード 0 / 8 spaces; then 0009 / 045 / 2 (当座) / 7654321 /
  ｶ)ﾐﾅﾄｼﾖｸﾋﾝ / 0000046200 / 新規コード 0 / 0000000026;
- trailer: 8 / 000002 / 000000058300 / the six result fields zero / 65 spaces; end: 9 and 119 spaces;
- 120 bytes each in JIS X 0201 (CP932), CR LF after each: 610 bytes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from billing.contracts.payment_details import DebitAccount, customer_number
from billing.invoicing.issuer import load_collector
from billing.payments.debit_file import DebitRecord, request_file

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "zengin" / "debit_request_2026-11-27.txt"


def account(bank: str, branch: str, kind: str, number: str, holder: str) -> DebitAccount:
    return DebitAccount.of(
        bank_code=bank, branch_code=branch, account_type=kind, account_number=number, holder_kana=holder
    )


RECORDS = [  # given out of customer-number order: the file sorts them
    DebitRecord(
        "minato", customer_number(2), account("0009", "045", "current", "7654321", "ｶ)ﾐﾅﾄｼｮｸﾋﾝ"), 46_200, False, ()
    ),
    DebitRecord(
        "yamada", customer_number(1), account("0005", "123", "ordinary", "12345", "ヤマダ タロウ"), 12_100, True, ()
    ),
]


def test_the_request_file_is_the_hand_checked_fixture_byte_for_byte():
    made = request_file(load_collector(), date(2026, 11, 27), RECORDS)
    assert (customer_number(1), customer_number(2)) == ("0000000018", "0000000026")
    assert len(FIXTURE.read_bytes()) == 610
    assert made == FIXTURE.read_bytes()
