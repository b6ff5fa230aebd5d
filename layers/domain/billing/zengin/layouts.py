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

# 入出金取引明細 (種別コード 03, コード区分 0): the bank's statement of one account over a span of 勘定日, every
# deposit (入払区分 1) and withdrawal (入払区分 2), with the balance before and after. The data record is the one for
# 普通・当座・貯蓄預金 (預金種目 1, 2, 4); 通知・定期預金 use another, which this system never receives. Dates are 和暦
# YYMMDD in the 令和 era (``billing.zengin.era``).
#
# The widths follow the published 全銀協 layout as banks and public readers of it state it: 口座番号 10 digits, not 7
# as in other Zengin files (right-aligned, zero-filled; most sources agree, so 71 bytes of ダミー end the header),
# 照会番号 8, 取引金額 12, EDI情報 20 then one byte of ダミー (older readers call those 21 bytes ダミー, from before
# EDI情報 was added: the same offsets). The standard leaves many fields optional: a bank fills them with zeros or
# spaces, so they are read as text and checked where they are used (``billing.payments.bank_statements``).
# 貸越区分 is the sign of the balance beside it (1 plus, 2 minus); 0 or a space says no balance was given.
STATEMENT = Layout(
    name="入出金取引明細 (03)",
    length=200,
    records=(
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="1"),
                n("type_code", "種別コード", 2, fixed="03"),
                n("code_division", "コード区分", 1, fixed="0"),
                n("created_on", "作成日", 6),
                n("booked_from", "勘定日(自)", 6),
                n("booked_to", "勘定日(至)", 6),
                n("bank_code", "銀行コード", 4),
                c("bank_name", "銀行名", 15),
                n("branch_code", "支店コード", 3),
                c("branch_name", "支店名", 15),
                c("reserved", "ダミー", 3),  # "000" in the standard, spaces from some banks
                n("account_type", "預金種目", 1),
                n("account_number", "口座番号", 10),
                c("account_name", "口座名", 40),
                c("opening_sign", "貸越区分", 1),  # of 取引前残高
                c("passbook", "通帳・証書区分", 1),
                c("opening_balance", "取引前残高", 14),  # digits, or spaces when none is given
                blank(71),
            )
        ),
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="2"),
                n("inquiry_number", "照会番号", 8),
                n("booked_on", "勘定日", 6),
                n("value_date", "預入・払出日", 6),
                n("direction", "入払区分", 1),  # 1 入金, 2 出金
                c(
                    "transaction_kind", "取引区分", 2
                ),  # 10 現金, 11 振込, 12 他店券入金, 13 交換, 14 振替, 18, 19; or blank
                n("amount", "取引金額", 12),
                n("other_bank_checks", "うち他店券金額", 12),
                c("presented_on", "交換呈示日", 6),
                c("dishonoured_on", "不渡返還日", 6),
                c("bill_kind", "手形・小切手区分", 1),
                c("bill_number", "手形・小切手番号", 7),
                c("transaction_branch", "僚店番号", 3),
                c("payer_code", "振込依頼人コード", 10),  # digits, or zeros or spaces when none was given
                c("payer_name", "振込依頼人名または契約者番号", 48),  # 入金: the payer; 出金: a direct debit's contract
                c("sending_bank", "仕向銀行名", 15),
                c("sending_branch", "仕向店名", 15),
                c("description", "摘要内容", 20),
                c("edi", "EDI情報", 20),
                blank(1),
            )
        ),
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="8"),
                n("deposit_count", "入金件数", 6),
                n("deposit_total", "入金額合計", 13),
                n("withdrawal_count", "出金件数", 6),
                n("withdrawal_total", "出金額合計", 13),
                c("closing_sign", "貸越区分", 1),  # of 取引後残高
                c("closing_balance", "取引後残高", 14),  # digits, or spaces when none is given
                n("data_count", "データ・レコード件数", 7),
                blank(139),
            )
        ),
        Record(
            (
                n("record_kind", "データ区分", 1, fixed="9"),
                c("record_count", "レコード総件数", 10),  # banks differ on what it counts: read, not checked
                c("account_count", "口座数", 5),  # a file of several accounts is refused by its second header
                blank(184),
            )
        ),
    ),
)
