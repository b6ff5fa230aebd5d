"""The Zengin layouts this system writes and reads, as field lists (see ``zengin`` for what a field is)."""

from __future__ import annotations

from billing.zengin.records import Layout, Record, blank, c, n

# 口座振替依頼データ (種別コード 91, コード区分 0): the request a debit run sends, and the result the bank returns
# in the same layout with each data record's 振替結果コード and the trailer's 振替済/振替不能 filled in.
DIRECT_DEBIT = Layout(
    name="口座振替 (91)",
    length=120,
    records=(
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="1"),
                n("type_code", "種別コード", 2, fixed="91"),
                n("code_division", "コード区分", 1, fixed="0"),
                n("consignor_code", "委託者コード", 10),
                c("consignor_name", "委託者名", 40),
                n("debit_date", "引落日", 4),
                n("bank_code", "取引銀行番号", 4),
                c("bank_name", "取引銀行名", 15),
                n("branch_code", "取引支店番号", 3),
                c("branch_name", "取引支店名", 15),
                n("account_type", "預金種目(委託者)", 1),
                n("account_number", "口座番号(委託者)", 7),
                blank(17),
            )
        ),
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="2"),
                n("bank_code", "引落銀行番号", 4),
                c("bank_name", "引落銀行名", 15),
                n("branch_code", "引落支店番号", 3),
                c("branch_name", "引落支店名", 15),
                blank(4),
                n("account_type", "預金種目", 1),
                n("account_number", "口座番号", 7),
                c("holder", "預金者名", 30),
                n("amount", "引落金額", 10),
                n("new_code", "新規コード", 1),
                n("customer_number", "顧客番号", 20),
                n("result_code", "振替結果コード", 1),
                blank(8),
            )
        ),
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="8"),
                n("count", "合計件数", 6),
                n("total", "合計金額", 12),
                n("paid_count", "振替済件数", 6),
                n("paid_total", "振替済金額", 12),
                n("failed_count", "振替不能件数", 6),
                n("failed_total", "振替不能金額", 12),
                blank(65),
            )
        ),
        Record((n("record_kind", "データ区分", 1, fixed="9"), blank(119))),
    ),
)

# 振込入金通知 (種別コード 01, フォーマットA): the bank's notice of the transfers credited to the issuer's account.
# Dates are 和暦 YYMMDD in the 令和 era (``billing.zengin.era``).
TRANSFER_NOTICE = Layout(
    name="振込入金通知 (01)",
    length=200,
    records=(
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="1"),
                n("type_code", "種別コード", 2, fixed="01"),
                n("code_division", "コード区分", 1, fixed="0"),
                n("created_on", "作成日", 6),
                n("booked_from", "勘定日(自)", 6),
                n("booked_to", "勘定日(至)", 6),
                n("bank_code", "銀行コード", 4),
                c("bank_name", "銀行名", 15),
                n("branch_code", "支店コード", 3),
                c("branch_name", "支店名", 15),
                n("account_type", "預金種目", 1),
                n("account_number", "口座番号", 7),
                c("account_name", "口座名", 40),
                blank(93),
            )
        ),
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="2"),
                n("inquiry_number", "照会番号", 6),
                n("booked_on", "勘定日", 6),
                n("value_date", "起算日", 6),
                n("amount", "金額", 10),
                n("other_bank_checks", "うち他店券金額", 10),
                c("payer_code", "振込依頼人コード", 10),  # digits, or spaces when none was given
                c("payer_name", "振込依頼人名", 48),
                c("sending_bank", "仕向銀行名", 15),
                c("sending_branch", "仕向店名", 15),
                c("cancellation", "取消区分", 1),
                c("edi", "EDI情報", 20),
                blank(52),
            )
        ),
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="8"),
                n("transfer_count", "振込合計件数", 6),
                n("transfer_total", "振込合計金額", 12),
                n("cancel_count", "取消合計件数", 6),
                n("cancel_total", "取消合計金額", 12),
                blank(163),
            )
        ),
        Record((n("record_kind", "データ区分", 1, fixed="9"), blank(199))),
    ),
)
