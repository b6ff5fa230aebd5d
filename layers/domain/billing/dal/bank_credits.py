"""Bank-file payments in the BillingTable: the files imported, each payment once, and who its payer is.

- ``BANKFILE#<sha256>`` / ``FILE``: an imported file, its pages, the pages done and their counts.
- ``CREDITS#<勘定日>`` / ``<payment id>``: one payment, by the day it was booked (the review queue reads the
  days asked for): its status, the account and allocations once matched. The payment id carries the day, so
  the id alone finds the item.
- ``CREDITREF#<account>-<照会番号>-<amount>`` / ``<勘定日>``: where a cancellation (取消) finds the payment it
  undoes; written with the payment.
- ``PAYER#<normalised payer name>`` / ``PAYER``: the accounts that pay under that name (``accounts``): an
  account's ``payer_name_kana``, and the names learned from an operator's allocations. Matching reads these and
  the customer numbers' claims by key, never by scanning accounts.

A matched payment is recorded in the same transaction as its allocation (``LedgerStore.settle``), so a
payment is never recorded without its money applied, nor applied twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from botocore.exceptions import ClientError

from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import cancellation_reasons, put_if_absent
from billing.dal.customer_numbers import claim_key
from billing.dal.ledger import MAX_ATTEMPTS, LedgerBusy, LedgerStore
from billing.dal.payer_names import learn_payer_name, payer_name_key
from billing.errors import (
    AllocationMoved,
    CreditAlreadyUsed,
    NotFound,
    PaymentAlreadyAllocated,
    PaymentCancelled,
    PaymentNotAllocated,
)
from billing.payments.bank_credits import (
    BankFile,
    Cancelled,
    CreditStatus,
    ImportSummary,
    MatchedBy,
    Recorded,
    StoredCredit,
    credit_from_json,
    credit_json,
)
from billing.payments.bank_statements import Credit, customer_number_of
from billing.payments.ledger import Allocation, Payment
from billing.zengin.kana import payer_key

logger = logging.getLogger(__name__)

FILE = "FILE"
PAYMENT_ID = re.compile(r"^[0-9]{4}-[0-9]{3}-[0-9]{8,11}-[0-9]{1,10}-(?P<day>[0-9]{8})-[0-9]{1,12}$")
SUMMARY_FIELDS = tuple(ImportSummary().as_json())


def file_key(sha256: str) -> dict:
    return keys.key(keys.bank_file_pk(sha256), FILE)


def credit_key(payment_id: str) -> dict:
    """The payment's item; ``NotFound`` for an id no bank file could have given."""
    found = PAYMENT_ID.fullmatch(payment_id)
    if found is None:
        raise NotFound(f"no payment {payment_id!r}")
    day = found["day"]
    return keys.key(keys.credits_pk(f"{day[:4]}-{day[4:6]}-{day[6:]}"), payment_id)


def credit_ref_pk(credit: Credit) -> str:
    account, inquiry, amount = credit.cancels
    return keys.credit_ref_pk(f"{account}-{inquiry}-{amount}")


@dataclass(frozen=True)
class KnownOwners:
    """The accounts of the customer numbers and payer names a page's credits carry, read by key."""

    numbers: dict[str, str]
    names: dict[str, frozenset[str]]

    def account_of(self, customer_number: str) -> str | None:
        return self.numbers.get(customer_number)

    def accounts_named(self, key: str) -> frozenset[str]:
        return self.names.get(key, frozenset())


class BankCreditStore:
    def __init__(self, table: str, ledger: LedgerStore | None = None, client=None):
        self.table = table
        self.client = client or dynamodb()
        self.ledger = ledger or LedgerStore(table, self.client)

    # ------------------------------------------------------------ files
    def start_file(self, file: BankFile, archive_key: str) -> tuple[BankFile, bool]:
        item = {
            **from_item(file_key(file.sha256)),
            "records": file.records,
            "pages": file.pages,
            "archive_key": archive_key,
            **dict.fromkeys(SUMMARY_FIELDS, 0),
        }
        stored, existing = put_if_absent(self.client, self.table, item)
        return (file, True) if stored else (_file_of(file.sha256, existing), False)

    def get_file(self, sha256: str) -> BankFile | None:
        item = self.client.get_item(TableName=self.table, Key=file_key(sha256), ConsistentRead=True).get("Item")
        return _file_of(sha256, from_item(item)) if item else None

    def page_done(self, sha256: str, page: int, summary: ImportSummary) -> BankFile:
        """Count a page's summary into its file, once."""
        counts = summary.as_json()
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key=file_key(sha256),
                UpdateExpression="ADD pages_done :page, " + ", ".join(f"{name} :{name}" for name in counts),
                ConditionExpression="attribute_exists(pk) AND NOT contains(pages_done, :number)",
                ExpressionAttributeValues={
                    ":page": {"NS": [str(page)]},
                    ":number": {"N": str(page)},
                    **to_item({f":{name}": value for name, value in counts.items()}),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return self.get_file(sha256)  # counted before: a page delivered again
        return _file_of(sha256, from_item(answer["Attributes"]))

    # ------------------------------------------------------------ matching
    def owners(self, credits: Sequence[Credit]) -> KnownOwners:
        """Who the page's customer numbers and payer names belong to: one BatchGetItem per 100 keys."""
        numbers = {n for c in credits if (n := customer_number_of(c)) is not None}
        names = {payer_key(c.payer_name) for c in credits if customer_number_of(c) is None}
        wanted = [claim_key(n) for n in sorted(numbers)] + [payer_name_key(n) for n in sorted(names) if n]
        found_numbers, found_names = {}, {}
        for item in self._batch_get(wanted):
            if item["pk"].startswith(keys.customer_pk("")):
                found_numbers[item["pk"].removeprefix(keys.customer_pk(""))] = item["account_id"]
            else:
                found_names[item["pk"].removeprefix(keys.payer_pk(""))] = frozenset(item.get("accounts", ()))
        return KnownOwners(found_numbers, found_names)

    def _batch_get(self, wanted: list[dict]) -> Iterator[dict]:
        for start in range(0, len(wanted), 100):
            request = wanted[start : start + 100]
            while request:
                answer = self.client.batch_get_item(RequestItems={self.table: {"Keys": request}})
                yield from (from_item(item) for item in answer.get("Responses", {}).get(self.table, []))
                request = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])

    # ------------------------------------------------------------ recording
    def record(self, credit: Credit, file: str, account_id: str | None, matched_by: MatchedBy | None) -> Recorded:
        """Record the credit once: matched with its allocation (one transaction), or unmatched alone."""
        if account_id is None:
            stored = StoredCredit(credit, CreditStatus.UNMATCHED, file)
            writes = self._puts(stored)
            refused = _refusal(self.client, writes)
            if refused is None:
                return Recorded(True, stored)
            return Recorded(refused.file == file, refused)
        payment = Payment(credit.payment_id, credit.booked_on, credit.amount, "bank_transfer")

        def claim(allocations: list[Allocation], left: int, settled: tuple[str, ...]) -> list[dict]:
            matched = StoredCredit(
                credit, CreditStatus.MATCHED, file, account_id, tuple(allocations), left, matched_by, settled
            )
            return self._puts(matched)

        applied = self.ledger.settle(account_id, payment, claim)
        if applied is None:  # recorded before, by this file's earlier try or by another file
            stored = self.get(credit.payment_id)
            return Recorded(stored.file == file, stored)
        stored = StoredCredit(
            credit,
            CreditStatus.MATCHED,
            file,
            account_id,
            applied.allocations,
            applied.credited,
            matched_by,
            applied.settled,
        )
        return Recorded(True, stored)

    def _puts(self, stored: StoredCredit) -> list[dict]:
        credit = stored.credit
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {**credit_key(stored.payment_id), **to_item(_item_of(stored))},
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(
                        {
                            "pk": credit_ref_pk(credit),
                            "sk": credit.booked_on.isoformat(),
                            "payment_id": stored.payment_id,
                        }
                    ),
                }
            },
        ]

    def get(self, payment_id: str) -> StoredCredit | None:
        item = self.client.get_item(TableName=self.table, Key=credit_key(payment_id), ConsistentRead=True).get("Item")
        return _stored_of(from_item(item)) if item else None

    # ------------------------------------------------------------ cancellations
    def cancel(self, cancellation: Credit, file: str) -> Cancelled:
        """Undo the payment a cancellation names: the latest with its account, 照会番号 and amount, booked no later,
        that no other cancellation undid. A cancellation is known by its own identity, so the same 取消 in a
        later file is a duplicate; one whose payment cannot be undone whole (its credit was spent, or a document
        it paid was corrected since) is left for an operator and logged, and the page goes on."""
        refs = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk <= :day",
            ExpressionAttributeValues=to_item(
                {":pk": credit_ref_pk(cancellation), ":day": cancellation.booked_on.isoformat()}
            ),
            ScanIndexForward=False,
            ConsistentRead=True,
        ).get("Items", [])
        mark = cancellation.payment_id
        for ref in refs:
            for _ in range(MAX_ATTEMPTS):
                stored = self.get(from_item(ref)["payment_id"])
                if stored.status is CreditStatus.CANCELLED:
                    if stored.cancelled_by == mark:
                        return Cancelled.DONE if stored.cancelled_in == file else Cancelled.DUPLICATE
                    break  # undone by another cancellation: look at an older payment
                fields = {"cancelled_by": mark, "cancelled_in": file}
                writes = [self._status_update(stored, CreditStatus.CANCELLED, fields)]
                if stored.status is CreditStatus.MATCHED:
                    writes += self.ledger.take_back(
                        stored.account_id, stored.payment_id, stored.allocations, stored.credited
                    )
                refused = cancellation_reasons(self.client, writes)
                if refused is None:
                    return Cancelled.DONE
                if refused[0] == "ConditionalCheckFailed" or "TransactionConflict" in refused:
                    continue  # the payment was placed or taken back meanwhile: read it again
                logger.error(
                    "a cancellation cannot undo its payment whole: left for an operator",
                    extra={"payment_id": stored.payment_id, "cancellation": mark, "refused": refused},
                )
                return Cancelled.BLOCKED
            else:
                return Cancelled.BLOCKED
        return Cancelled.NOT_FOUND

    # ------------------------------------------------------------ an operator's allocation
    def allocate(self, payment_id: str, account_id: str) -> StoredCredit:
        """Give an unmatched payment to ``account_id``: allocated, and its payer name learned for the account."""
        stored = self._existing(payment_id)
        _check_unmatched(stored)
        payment = Payment(payment_id, stored.credit.booked_on, stored.credit.amount, "bank_transfer")
        learned = [learn_payer_name(self.table, stored.credit.payer_name, account_id)]
        if not payer_key(stored.credit.payer_name):
            learned = []

        def claim(allocations: list[Allocation], left: int, settled: tuple[str, ...]) -> list[dict]:
            matched = replace(
                stored,
                status=CreditStatus.MATCHED,
                account_id=account_id,
                allocations=tuple(allocations),
                credited=left,
                matched_by=MatchedBy.OPERATOR,
                settled=settled,
            )
            return [self._status_update(stored, CreditStatus.MATCHED, _allocation_of(matched)), *learned]

        applied = self.ledger.settle(account_id, payment, claim)
        if applied is None:  # allocated (or cancelled) meanwhile
            _check_unmatched(self._existing(payment_id))
            raise LedgerBusy(f"payment {payment_id}: its allocation kept being refused")
        return replace(
            stored,
            status=CreditStatus.MATCHED,
            account_id=account_id,
            allocations=applied.allocations,
            credited=applied.credited,
            matched_by=MatchedBy.OPERATOR,
            settled=applied.settled,
        )

    def take_back(self, payment_id: str) -> StoredCredit:
        """Undo a payment's allocation: the documents' balances return, the payment waits for an operator."""
        for _ in range(MAX_ATTEMPTS):
            stored = self._existing(payment_id)
            if stored.status is not CreditStatus.MATCHED:
                raise PaymentNotAllocated(payment_id, stored.status.value)
            cleared = {"account_id": None, "allocations": [], "credited": 0, "settled": [], "matched_by": None}
            writes = [
                self._status_update(stored, CreditStatus.UNMATCHED, cleared),
                *self.ledger.take_back(stored.account_id, payment_id, stored.allocations, stored.credited),
            ]
            refused = cancellation_reasons(self.client, writes)
            if refused is None:
                return StoredCredit(stored.credit, CreditStatus.UNMATCHED, stored.file)
            if refused[0] == "ConditionalCheckFailed" or "TransactionConflict" in refused:
                continue  # the payment moved meanwhile: read it again
            if stored.credited and refused[-1] == "ConditionalCheckFailed":
                raise CreditAlreadyUsed(payment_id, stored.account_id)
            raise AllocationMoved(payment_id)  # a document it paid was corrected or returned against since
        raise LedgerBusy(f"payment {payment_id}: taking it back kept being refused")

    def _existing(self, payment_id: str) -> StoredCredit:
        stored = self.get(payment_id)
        if stored is None:
            raise NotFound(f"no payment {payment_id!r}")
        return stored

    def _status_update(self, stored: StoredCredit, status: CreditStatus, fields: dict) -> dict:
        """The write that moves a payment from the state it was read in (its status and account) to ``status``."""
        values = {":status": status.value, ":was": stored.status.value}
        sets, removes, names = ["#status = :status"], [], {"#status": "status"}
        for number, (name, value) in enumerate(fields.items()):
            names[f"#f{number}"] = name
            if value is None:
                removes.append(f"#f{number}")
            else:
                sets.append(f"#f{number} = :f{number}")
                values[f":f{number}"] = value
        condition = "#status = :was"
        if stored.account_id is not None:
            condition += " AND account_id = :account"
            values[":account"] = stored.account_id
        return {
            "Update": {
                "TableName": self.table,
                "Key": credit_key(stored.payment_id),
                "UpdateExpression": "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(values),
            }
        }

    # ------------------------------------------------------------ the review queue
    def listed(
        self, status: str, received_from: date, received_to: date, after: str | None = None
    ) -> Iterator[StoredCredit]:
        """The payments booked in the range, oldest first (by day, then id), ``status`` only unless ``all``;
        after the position ``after`` (``<day>#<payment id>``) when given."""
        day = received_from
        after_day, after_id = after.split("#", 1) if after else ("", "")
        while day <= received_to:
            if day.isoformat() >= after_day:
                yield from self._day(day, status, after_id if day.isoformat() == after_day else None)
            day += timedelta(days=1)

    def _day(self, day: date, status: str, after_id: str | None) -> Iterator[StoredCredit]:
        start = None
        if after_id:
            start = keys.key(keys.credits_pk(day.isoformat()), after_id)
        extra = {}
        if status != "all":
            extra = {
                "FilterExpression": "#status = :status",
                "ExpressionAttributeNames": {"#status": "status"},
            }
        values = {":pk": keys.credits_pk(day.isoformat())} | ({":status": status} if status != "all" else {})
        while True:
            page = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=to_item(values),
                **extra,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            yield from (_stored_of(from_item(item)) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return


def position(stored: StoredCredit) -> str:
    return f"{stored.credit.booked_on.isoformat()}#{stored.payment_id}"


def _check_unmatched(stored: StoredCredit) -> None:
    if stored.status is CreditStatus.CANCELLED:
        raise PaymentCancelled(stored.payment_id)
    if stored.status is CreditStatus.MATCHED:
        raise PaymentAlreadyAllocated(stored.payment_id, stored.account_id)


def _allocation_of(stored: StoredCredit) -> dict:
    return {
        "account_id": stored.account_id,
        "allocations": [{"number": a.number, "amount": a.amount} for a in stored.allocations],
        "credited": stored.credited,
        "settled": list(stored.settled),
        "matched_by": stored.matched_by.value if stored.matched_by else None,
    }


def _item_of(stored: StoredCredit) -> dict:
    item = {
        "payment_id": stored.payment_id,
        "credit": credit_json(stored.credit),
        "status": stored.status.value,
        "file": stored.file,
    }
    if stored.account_id is not None:
        item |= _allocation_of(stored)
    return item


def _stored_of(item: dict) -> StoredCredit:
    return StoredCredit(
        credit=credit_from_json(item["credit"]),
        status=CreditStatus(item["status"]),
        file=item["file"],
        account_id=item.get("account_id"),
        allocations=tuple(Allocation(a["number"], a["amount"]) for a in item.get("allocations", ())),
        credited=item.get("credited", 0),
        matched_by=MatchedBy(item["matched_by"]) if item.get("matched_by") else None,
        settled=tuple(item.get("settled", ())),
        cancelled_by=item.get("cancelled_by"),
        cancelled_in=item.get("cancelled_in"),
    )


def _file_of(sha256: str, item: dict) -> BankFile:
    return BankFile(
        sha256=sha256,
        records=item["records"],
        pages=item["pages"],
        pages_done=frozenset(int(p) for p in item.get("pages_done", ())),
        summary=ImportSummary(**{name: item.get(name, 0) for name in SUMMARY_FIELDS}),
    )


def _refusal(client, writes: list[dict]) -> StoredCredit | None:
    """None when the transaction went through; the payment as stored when its record was there already."""
    try:
        client.transact_write_items(TransactItems=writes)
    except ClientError as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        first = (error.response.get("CancellationReasons") or [{}])[0]
        if first.get("Code") != "ConditionalCheckFailed" or "Item" not in first:
            raise
        return _stored_of(from_item(first["Item"]))
    return None
