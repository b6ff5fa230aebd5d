"""``python -m tools.migrate_payments --table NAME``: convert each document's ``payments`` from a list (as the first
payment ledger stored them) to a map by payment id, which every payment, take-back and cancellation now writes
one key of. Run it once before a release that takes money for such documents, with the deploy role's
credentials; run it again and it finds nothing to do.

Each document is rewritten on condition that its payment state is still what was read (``paid_amount`` and the
list's length), so a payment applied meanwhile is never lost: that document is read and converted again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "domain"))

from botocore.exceptions import ClientError

from billing.dal.clients import dynamodb, from_item, to_item
from billing.payments.ledger import payments_of

MAX_ATTEMPTS = 5


def migrate(table: str, client=None, progress=print) -> int:
    """Convert every list of payments in ``table``; how many documents were converted."""
    client = client or dynamodb()
    converted, start = 0, None
    while True:
        page = client.scan(
            TableName=table,
            FilterExpression="begins_with(sk, :document) AND attribute_type(payments, :list)",
            ExpressionAttributeValues={":document": {"S": "INVOICE#"}, ":list": {"S": "L"}},
            **({"ExclusiveStartKey": start} if start else {}),
        )
        for item in page.get("Items", []):
            converted += convert(client, table, {"pk": item["pk"], "sk": item["sk"]})
        start = page.get("LastEvaluatedKey")
        if not start:
            progress(f"converted {converted} documents' payments to maps")
            return converted


def convert(client, table: str, key: dict) -> int:
    """One document's list made a map, on condition it is still the list that was read; 1 if converted."""
    for _ in range(MAX_ATTEMPTS):
        item = from_item(client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item"))
        if not isinstance(item.get("payments"), list):
            return 0
        by_id = {p.payment_id: p.as_json() for p in payments_of(item["payments"])}
        try:
            client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET payments = :map",
                ConditionExpression="paid_amount = :paid AND size(payments) = :count"
                " AND attribute_type(payments, :list)",
                ExpressionAttributeValues=to_item(
                    {":map": by_id, ":paid": item.get("paid_amount", 0), ":count": len(item["payments"]), ":list": "L"}
                ),
            )
            return 1
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    raise RuntimeError(f"{key}: its payments kept changing while it was converted; run again")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.migrate_payments", description=__doc__.split("\n")[0])
    parser.add_argument("--table", required=True, help="the BillingTable's name")
    migrate(parser.parse_args(argv).table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
