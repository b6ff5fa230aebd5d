"""洗い替え detection's own items: each account's detection state and the episodes found.

Nothing here is on the count path: a report never writes these items. The
stream consumer (``functions/usage_watch``) reads the count gate's changes
from the BillingTable's stream and keeps:

* ``ACCOUNT#<id> / CHURN_STATE``: the latest reading folded in, the running
  high and the pending drop. It is replaced only if it still holds what was
  read (optimistic), so a redelivered stream record, or two consumers racing,
  never fold a reading twice;
* ``CHURN#<YYYY-MM> / <account_id>#<drop micros>``: one episode, put only if
  absent, in the month of its drop: one Query lists a month (every account)
  or one account's month (``begins_with``). ``announced_at`` is set once its
  ChurnSuspected event has been published.
"""

from __future__ import annotations

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import put_if_absent, update_if
from billing.usage.churn import ChurnEpisode, ChurnState
from billing.usage.counts import Reading


class ChurnStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    # ------------------------------------------------------------ state
    def state(self, account_id: str) -> ChurnState:
        response = self.client.get_item(
            TableName=self.table, Key=keys.key(keys.account_pk(account_id), keys.CHURN_STATE), ConsistentRead=True
        )
        item = from_item(response.get("Item"))
        return ChurnState(
            account_id,
            last=_reading(item.get("last")),
            high=_reading(item.get("high")),
            drop=_reading(item.get("drop")),
        )

    def save_state(self, before: ChurnState, after: ChurnState) -> bool:
        """Replace ``before`` by ``after``; False when the item no longer holds ``before``."""
        item = {
            "pk": keys.account_pk(after.account_id),
            "sk": keys.CHURN_STATE,
            **{name: _map(value) for name, value in (("last", after.last), ("high", after.high), ("drop", after.drop))},
        }
        item = {name: value for name, value in item.items() if value is not None}
        condition, values = "attribute_not_exists(pk)", {}
        if before.last is not None:
            condition = "#last.#count = :count AND #last.#at = :at"
            values = {":count": before.last.count, ":at": before.last.at}
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression=condition,
                **({"ExpressionAttributeNames": {"#last": "last", "#count": "count", "#at": "at"}} if values else {}),
                **({"ExpressionAttributeValues": to_item(values)} if values else {}),
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ------------------------------------------------------------ episodes
    def keep(self, episode: ChurnEpisode) -> bool:
        """Store the episode once; True when its ChurnSuspected event was already published."""
        _, standing = put_if_absent(self.client, self.table, _episode_item(episode))
        return "announced_at" in standing

    def mark_announced(self, episode: ChurnEpisode) -> None:
        update_if(
            self.client,
            self.table,
            keys.key(keys.churn_pk(episode.month), keys.churn_sk(episode.account_id, episode.drop.at)),
            "SET announced_at = :now",
            "attribute_exists(pk) AND attribute_not_exists(announced_at)",
            {":now": months.iso_now()},
        )

    def of_account(self, account_id: str, month: str) -> list[ChurnEpisode]:
        """One account's episodes of a month, oldest drop first: one Query."""
        return self._query(
            "pk = :pk AND begins_with(sk, :account)",
            {":pk": keys.churn_pk(month), ":account": keys.churn_sk_prefix(account_id)},
        )

    def of_month(self, month: str) -> list[ChurnEpisode]:
        """Every account's episodes of a month, by account then drop."""
        return self._query("pk = :pk", {":pk": keys.churn_pk(month)})

    def _query(self, condition: str, values: dict) -> list[ChurnEpisode]:
        found, start = [], {}
        while True:
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=to_item(values),
                ConsistentRead=True,
                **start,
            )
            found += [_episode(from_item(item)) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return found
            start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}


def readings_changed(record: dict) -> tuple[str, list[Reading]] | None:
    """The account and the new count readings in one stream record of the BillingTable, if it holds any.

    The count gate (``billing.dal.usage``) sets the profile's ``last#<month>``
    only to a reading later than the month's last one, so its changes, in
    stream order, are the account's readings in ``observed_at`` order (a
    report that arrives after a later one never changes it, and is never seen
    here). Anything else (a new profile, a closed month, a contract change)
    holds no reading.
    """
    change = record.get("dynamodb") or {}
    if record.get("eventName") != "MODIFY" or _plain(change.get("Keys", {}).get("sk")) != keys.PROFILE:
        return None
    old, new = change.get("OldImage") or {}, change.get("NewImage") or {}
    readings = sorted(
        (
            Reading(int(value["count"]), int(value["at"]))
            for name, image in new.items()
            if name.startswith("last#") and image != old.get(name)
            for value in [_plain(image)]
        ),
        key=lambda reading: (reading.at, reading.count),
    )
    if not readings:
        return None
    return _plain(change["Keys"]["pk"]).removeprefix("ACCOUNT#"), readings


def _plain(image: dict | None):
    return from_item({"value": image})["value"] if image else None


def _reading(value: dict | None) -> Reading | None:
    return Reading(value["count"], value["at"]) if value else None


def _map(reading: Reading | None) -> dict | None:
    return {"count": reading.count, "at": reading.at} if reading else None


def _episode_item(episode: ChurnEpisode) -> dict:
    return {
        "pk": keys.churn_pk(episode.month),
        "sk": keys.churn_sk(episode.account_id, episode.drop.at),
        "account_id": episode.account_id,
        "high": _map(episode.high),
        "drop": _map(episode.drop),
        "recovery": _map(episode.recovery),
    }


def _episode(item: dict) -> ChurnEpisode:
    return ChurnEpisode(item["account_id"], _reading(item["high"]), _reading(item["drop"]), _reading(item["recovery"]))
