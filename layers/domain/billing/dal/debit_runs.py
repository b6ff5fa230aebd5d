"""Debit runs in the BillingTable: the run, each account's part, and the documents a run holds.

The run is ``DEBITRUN#<date>``/``RUN``; each account's part ``DEBITRUN#<date>``/``ACCOUNT#<id>``. A part is
written in one transaction with its documents' hold (``collection``), each on condition its payment state is
still what the plan read, so a document is never in two runs and a page delivered twice holds nothing twice.
The documents of a date are read from ``DocumentsByPayBy``, one shard's page at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from botocore.exceptions import ClientError

from billing.contracts.payment_details import MandateStatus
from billing.dal import keys
from billing.dal.accounts import contract_of
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.ledger import profile_update
from billing.payments.debit_run import AccountDebit, Debtor
from billing.payments.debit_runs import DebitRun, DueDocument, Part, ResultSummary, RunPage, RunStatus
from billing.payments.ledger import Collection, Payment, Receivable, receivable_of
from billing.vocabulary import InvoiceStatus

PAGE_SIZE = 100  # documents per page: a page's accounts fit one BatchGetItem


class DebitRunStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    # ------------------------------------------------------------ the run
    def start(self, debit_date: date) -> tuple[DebitRun, bool]:
        item = {
            **_run_key(debit_date),
            **to_item({"status": RunStatus.PLANNING.value, "debit_date": debit_date.isoformat()}),
        }
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return self.get(debit_date), False
        return DebitRun(debit_date, RunStatus.PLANNING), True

    def get(self, debit_date: date) -> DebitRun | None:
        item = from_item(
            self.client.get_item(TableName=self.table, Key=_run_key(debit_date), ConsistentRead=True).get("Item")
        )
        if not item:
            return None
        results = item.get("results")
        return DebitRun(
            debit_date=debit_date,
            status=RunStatus(item["status"]),
            shards_done=len(item.get("shards_done", ())),
            records=item.get("records", 0),
            total=item.get("total", 0),
            file_key=item.get("file_key"),
            sha256=item.get("sha256"),
            results=ResultSummary(**results) if results else None,
            skipped=tuple(sorted(tuple(entry.split(" ", 1)) for entry in item.get("skipped", ()))),
        )

    def shard_done(self, debit_date: date, shard: str) -> int:
        answer = self.client.update_item(
            TableName=self.table,
            Key=_run_key(debit_date),
            UpdateExpression="ADD shards_done :shard",
            ExpressionAttributeValues={":shard": {"SS": [shard]}},
            ReturnValues="UPDATED_NEW",
        )
        return len(answer["Attributes"]["shards_done"]["SS"])

    def requested(self, debit_date: date, file_key: str, sha256: str, records: int, total: int) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_run_key(debit_date),
                UpdateExpression=(
                    "SET #status = :requested, file_key = :key, sha256 = :sha, records = :n, #total = :total"
                ),
                ConditionExpression="#status = :planning",
                ExpressionAttributeNames={"#status": "status", "#total": "total"},
                ExpressionAttributeValues=to_item(
                    {
                        ":requested": RunStatus.REQUESTED.value,
                        ":planning": RunStatus.PLANNING.value,
                        ":key": file_key,
                        ":sha": sha256,
                        ":n": records,
                        ":total": total,
                    }
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # otherwise another delivery of the last page marked it first: the same file

    def settle(self, debit_date: date, summary: ResultSummary) -> ResultSummary:
        """Record the results once; the summary stored (this one, or the one recorded first)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_run_key(debit_date),
                UpdateExpression="SET #status = :settled, results = :results",
                ConditionExpression="#status = :requested AND attribute_not_exists(results)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":settled": RunStatus.SETTLED.value,
                        ":requested": RunStatus.REQUESTED.value,
                        ":results": {**summary.as_json(), "sha256": summary.sha256},
                    }
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return self.get(debit_date).results
        return summary

    # ------------------------------------------------------------ planning
    def due_page(self, page: RunPage) -> tuple[list[DueDocument], dict | None]:
        answer = self.client.query(
            TableName=self.table,
            IndexName=keys.DOCUMENTS_BY_PAY_BY,
            KeyConditionExpression="due_shard = :partition",
            ExpressionAttributeValues={":partition": {"S": f"{page.debit_date.isoformat()}#{page.shard}"}},
            Limit=PAGE_SIZE,
            **({"ExclusiveStartKey": page.cursor} if page.cursor else {}),
        )
        documents = [_due(from_item(item)) for item in answer.get("Items", [])]
        return documents, answer.get("LastEvaluatedKey")

    def debtors(self, account_ids: Sequence[str], debit_date: date) -> dict[str, Debtor]:
        """Each account's debit details as they stand in the debit date's month."""
        wanted = [keys.key(keys.account_pk(a), keys.PROFILE) for a in account_ids]
        items = []
        while wanted:
            answer = self.client.batch_get_item(RequestItems={self.table: {"Keys": wanted, "ConsistentRead": True}})
            items += [from_item(item) for item in answer.get("Responses", {}).get(self.table, [])]
            wanted = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return {item["account_id"]: _debtor(item, debit_date) for item in items}

    def hold(
        self, debit_date: date, part: Part, planned: AccountDebit, due: Sequence[Receivable], pay_by: date
    ) -> bool:
        """Write the account's part and hold its documents, in one transaction; False when the part was there."""
        credit = {a.number: a.amount for a in planned.credit_applied}
        item = {**_part_key(debit_date, part.account_id), **to_item(part.as_json())}
        writes = [{"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}]
        for document in due:
            if document.number in part.documents or document.number in credit:
                writes.append(self._hold_update(part, document, credit.get(document.number, 0), debit_date, pay_by))
        if part.skipped is not None:  # the run lists the few accounts it skips, so reading it reads no part
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _run_key(debit_date),
                        "UpdateExpression": "ADD skipped :entry",
                        "ExpressionAttributeValues": {":entry": {"SS": [f"{part.account_id} {part.skipped.value}"]}},
                    }
                }
            )
        if credit:
            taken = sum(credit.values())
            writes.append(profile_update(self.table, part.account_id, -taken, must_hold=taken))
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            if error.response["CancellationReasons"][0].get("Code") == "ConditionalCheckFailed":
                return False  # the part is there: this page was planned before
            raise  # a document moved since the page was read: the page is planned again
        return True

    def _hold_update(self, part: Part, document: Receivable, credit: int, debit_date: date, pay_by: date) -> dict:
        sets, values = [], {":due": document.amount_due, ":seen": document.paid_amount}
        names = {"#collection": "collection"}
        if credit:
            share = Payment(f"credit-{debit_date.isoformat()}-{part.account_id}", debit_date, credit, "credit_balance")
            sets += ["paid_amount = :paid", "payments.#share = :share"]
            values |= {":paid": document.paid_amount + credit, ":share": share.as_json()}
            names["#share"] = share.payment_id
        if document.number in part.documents:
            if part.record is not None:
                sets.append("#collection = :collection")
                values[":collection"] = Collection.COLLECTING.value
            else:  # skipped: asked for by transfer, by a new deadline
                sets += ["#collection = :collection", "pay_by = :pay_by", "due_shard = :due_shard"]
                moved = keys.due_keys(part.account_id, document.number, pay_by.isoformat())
                values |= {
                    ":collection": Collection.DEBIT_FAILED.value,
                    ":pay_by": pay_by.isoformat(),
                    ":due_shard": moved["due_shard"],
                }
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.key(keys.account_pk(part.account_id), keys.document_sk(document.number)),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ConditionExpression": (
                    "amount_due = :due AND paid_amount = :seen AND attribute_not_exists(#collection)"
                ),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def parts(self, debit_date: date) -> list[Part]:
        parts, start = [], None
        while True:
            answer = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :parts)",
                ExpressionAttributeValues=to_item(
                    {":pk": keys.debit_run_pk(debit_date.isoformat()), ":parts": keys.DEBIT_PART}
                ),
                ConsistentRead=True,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            parts += [Part.from_json(from_item(item)) for item in answer.get("Items", [])]
            start = answer.get("LastEvaluatedKey")
            if not start:
                return parts

    # ------------------------------------------------------------ results
    def release(self, account_id: str, documents: Sequence[str]) -> None:
        """委託者都合: the documents leave the run and are unpaid again (a document already released stays so)."""
        for number in documents:
            self._update_if(
                account_id,
                number,
                "REMOVE #collection",
                "#collection = :collecting",
                {":collecting": Collection.COLLECTING.value},
            )

    def fail(self, account_id: str, documents: Sequence[str], pay_by: date, mandate_rejected: bool) -> list[str]:
        """The documents' debit failed: asked for by transfer by ``pay_by``, in one transaction (with the mandate
        rejected, when it is). The numbers now in that state; again on a repeat, so its notice is sent again
        rather than lost. A document no longer held (paid by transfer meanwhile) is left as it is."""
        pending = list(documents)
        while pending:
            writes = [self._fail_update(account_id, number, pay_by) for number in pending]
            if mandate_rejected:
                writes.append(self._mandate_update(account_id, MandateStatus.REJECTED))
            try:
                self.client.transact_write_items(TransactItems=writes)
                return pending
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = error.response["CancellationReasons"]
                refused = {
                    n for n, r in zip(pending, reasons, strict=False) if r.get("Code") == "ConditionalCheckFailed"
                }
                if not refused:
                    raise  # a conflict with another writer: the message is retried
                pending = [n for n in pending if n not in refused]
        if mandate_rejected:  # no document left to fail, but the bank said the account cannot be debited
            self.client.update_item(**self._mandate_update(account_id, MandateStatus.REJECTED)["Update"])
        return []

    def _fail_update(self, account_id: str, number: str, pay_by: date) -> dict:
        moved = keys.due_keys(account_id, number, pay_by.isoformat())
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.key(keys.account_pk(account_id), keys.document_sk(number)),
                "UpdateExpression": "SET #collection = :failed, pay_by = :pay_by, due_shard = :due_shard",
                "ConditionExpression": "#collection = :collecting OR (#collection = :failed AND pay_by = :pay_by)",
                "ExpressionAttributeNames": {"#collection": "collection"},
                "ExpressionAttributeValues": to_item(
                    {
                        ":collecting": Collection.COLLECTING.value,
                        ":failed": Collection.DEBIT_FAILED.value,
                        ":pay_by": pay_by.isoformat(),
                        ":due_shard": moved["due_shard"],
                    }
                ),
            }
        }

    def _mandate_update(self, account_id: str, status: MandateStatus) -> dict:
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.key(keys.account_pk(account_id), keys.PROFILE),
                "UpdateExpression": "SET mandate_status = :status",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": to_item({":status": status.value}),
            }
        }

    def _update_if(self, account_id: str, number: str, update: str, condition: str, values: dict) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=keys.key(keys.account_pk(account_id), keys.document_sk(number)),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#collection": "collection"},
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True


def _run_key(debit_date: date) -> dict:
    return keys.key(keys.debit_run_pk(debit_date.isoformat()), keys.DEBIT_RUN)


def _part_key(debit_date: date, account_id: str) -> dict:
    return keys.key(keys.debit_run_pk(debit_date.isoformat()), f"{keys.DEBIT_PART}{account_id}")


def _due(item: dict) -> DueDocument:
    return DueDocument(
        account_id=item["account_id"],
        month=item["month"],
        payment_method=item.get("payment_method", ""),
        counts=InvoiceStatus(item["status"]).counts_as_issued if item.get("status") else False,
        receivable=receivable_of(item),
    )


def _debtor(item: dict, debit_date: date) -> Debtor:
    contract = contract_of(item)
    terms = contract.terms_for(debit_date.strftime("%Y-%m"))
    return Debtor(
        account_id=contract.account_id,
        customer_number=contract.customer_number or "",
        debit_account=terms.debit_account,
        mandate=contract.mandate_status or MandateStatus.PENDING,
        credit_balance=contract.credit_balance,
        delivery_method=str(terms.delivery_method),
        contact=terms.billing_contact,
    )
