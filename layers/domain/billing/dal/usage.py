"""Record counts kept as DynamoDB conditional maxima: no read-then-write.

A report costs exactly two conditional UpdateItem requests and no read:

1. **the gate** on the account's profile item. Its condition admits the
   report only if the account exists, its contract has started by the
   report's month and not ended, and the month is not closed, and it keeps the month's last count
   (``last#<month>``): the reading with the latest ``observed_at``.
2. **the day high** on the month's usage item (``day#<date>``): the largest
   count of that Tokyo day, earliest first on ties. The month's peak is the
   largest day high (or the opening count), so it needs no write of its own.

Each condition only lets a write through when it improves its maximum, so
concurrent, repeated and out-of-order reports converge on the same state. A
failed condition returns the item as it stands
(``ReturnValuesOnConditionCheckFailure``), which tells apart "nothing to
improve" from "unknown account", "cancelled" and "closed" without a read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from billing import months
from billing.contracts.terms import Contract
from billing.dal import keys
from billing.dal.accounts import contract_of
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import update_if
from billing.errors import AccountCancelled, AccountNotFound, ContractNotStarted, MonthClosed
from billing.usage.counts import CountReport, MonthUsage, Reading

if TYPE_CHECKING:
    from billing.tariff import Tariff

_GATE_CONDITION = (
    "attribute_exists(pk)"
    " AND (attribute_not_exists(closed_through) OR closed_through < :month)"
    " AND (attribute_not_exists(contract_end) OR contract_end >= :day)"
    " AND contract_start < :month_after"
    " AND (attribute_not_exists(#last) OR #last.#at < :at OR (#last.#at = :at AND #last.#count < :count))"
)
_DAY_HIGH_CONDITION = (
    "attribute_not_exists(closed_at)"
    " AND (attribute_not_exists(#day) OR #day.#count < :count OR (#day.#count = :count AND #day.#at > :at))"
)
_READING_NAMES = {"#count": "count", "#at": "at"}


@dataclass(frozen=True)
class ShutMonth:
    """An account whose month is shut for counts and changes: its contract, and its profile item as read."""

    contract: Contract
    profile: dict  # before the gate shut (or, on a re-run, as it stands)
    shut_now: bool  # False: an earlier run had shut it


class UsageStore:
    def __init__(self, table: str, client=None, tariff: Tariff | None = None):
        self.table = table
        self.client = client or dynamodb()
        if tariff is not None:
            self.tariff = tariff

    @functools.cached_property
    def tariff(self) -> Tariff:
        """Brackets decide whether a late report suggests a correction: read when one first arrives, not at start."""
        from billing.tariff import load_tariff

        return load_tariff()

    # ------------------------------------------------------------ writes
    def record(self, report: CountReport) -> dict:
        """Fold one report into its month; the contract's response body.

        A report for a closed month is refused (409) but kept as a late report of that month, with one more
        write (and a second, to flag the invoice, only when it would have changed the bracket). A report that
        is accepted costs its two writes, as ever.
        """
        try:
            self._pass_gate(report)
        except MonthClosed:
            self._keep_late(report)
            raise
        stored, item = self._raise_day_high(report)
        usage = usage_from_items(report.account_id, report.month, item)
        if usage.closed:  # the month closed between the two writes: the report is late all the same
            self._keep_late(report)
            raise MonthClosed(report.month)
        return usage.report_result(report, stored)

    def _pass_gate(self, report: CountReport) -> None:
        month, day = report.month, report.day.isoformat()
        stored, old = self._update(
            keys.key(keys.account_pk(report.account_id), keys.PROFILE),
            "SET #last = :reading",
            _GATE_CONDITION,
            {"#last": keys.last_attr(month), **_READING_NAMES},
            {
                ":reading": _reading(report),
                ":month": month,
                ":day": day,
                ":month_after": months.first_day(months.next_month(month)).isoformat(),
                ":count": report.count,
                ":at": report.at,
            },
            returns="NONE",
        )
        if stored:
            return
        if not old:
            raise AccountNotFound(report.account_id)
        # Outside the contract first: such a report changes nothing, while one for a closed month is kept late.
        if old["contract_start"][:7] > month:
            raise ContractNotStarted(report.account_id, old["contract_start"])
        if old.get("contract_end", "9999-12-31") < day:
            raise AccountCancelled(report.account_id, old["contract_end"])
        if old.get("closed_through", "") >= month:
            raise MonthClosed(month)
        # Otherwise a later reading is already the month's last count: nothing to do.

    def _keep_late(self, report: CountReport) -> None:
        """Keep a report for a closed month on its usage; flag the invoice if it would change the bracket.

        Months close in order, so a month the gate calls closed is shut: kept even before the close has frozen
        its usage (between the gate's shutting and the freeze), and never mixed into its day highs. Before the
        freeze names the invoice there is nothing to flag: the freeze reads this report, and the close stores
        the invoice flagged by it. After, the invoice may not be stored yet: the usage's flag then stops the
        close's transaction, which stores the invoice flagged (``late_flag``).
        """
        response = self.client.update_item(  # a report again (a retry) writes the same attribute again
            TableName=self.table,
            Key=keys.key(keys.account_pk(report.account_id), keys.usage_sk(report.month)),
            UpdateExpression="SET #late = :count",
            ExpressionAttributeNames={"#late": keys.late_attr(report.at)},
            ExpressionAttributeValues=to_item({":count": report.count}),
            ReturnValues="ALL_NEW",
        )
        item = from_item(response["Attributes"])
        if not item.get("invoice_number") or item.get("correction_suggested"):
            return
        usage = usage_from_items(report.account_id, report.month, item)
        if usage.correction_suggested(self.tariff):
            self.client.update_item(
                TableName=self.table,
                Key=keys.key(keys.account_pk(report.account_id), keys.usage_sk(report.month)),
                UpdateExpression="SET correction_suggested = :yes",
                ExpressionAttributeValues=to_item({":yes": True}),
            )
            update_if(
                self.client,
                self.table,
                keys.key(keys.account_pk(report.account_id), keys.document_sk(item["invoice_number"])),
                "SET correction_suggested = :yes",
                "attribute_exists(pk) AND #status = :issued",
                {":yes": True, ":issued": "issued"},
                {"#status": "status"},
            )

    def _raise_day_high(self, report: CountReport) -> tuple[bool, dict]:
        return self._update(
            keys.key(keys.account_pk(report.account_id), keys.usage_sk(report.month)),
            "SET #day = :reading",
            _DAY_HIGH_CONDITION,
            {"#day": keys.day_attr(report.day.isoformat()), **_READING_NAMES},
            {":reading": _reading(report), ":count": report.count, ":at": report.at},
            returns="ALL_NEW",
        )

    def _update(self, key, expression, condition, names, values, returns) -> tuple[bool, dict]:
        """One conditional update: (applied, the item after it or as it stood)."""
        return update_if(self.client, self.table, key, expression, condition, values, names, returns)

    # ------------------------------------------------------------ month close
    def shut(self, account_id: str, month: str) -> ShutMonth:
        """Shut the account's gate for ``month`` (later counts get 409; its terms can no longer change).

        One update that also reads the profile: as it stood before (``ALL_OLD``), or, when an earlier run had
        shut it already, as it stands. Raises AccountNotFound.
        """
        shut_now, profile = update_if(
            self.client,
            self.table,
            keys.key(keys.account_pk(account_id), keys.PROFILE),
            "SET closed_through = :month",
            "attribute_exists(pk) AND (attribute_not_exists(closed_through) OR closed_through < :month)",
            {":month": month},
            returns="ALL_OLD",
        )
        if not profile:
            raise AccountNotFound(account_id)
        return ShutMonth(
            contract_of({**profile, "closed_through": month}) if shut_now else contract_of(profile), profile, shut_now
        )

    def freeze(self, account_id: str, month: str, invoice_number: str, shut: ShutMonth) -> MonthUsage:
        """Freeze the shut month's usage item and return it: the month as the invoice bills it.

        Keeps the first frozen values (a re-run changes nothing): closed (later day highs are refused), the
        opening count, the last count (from the gate's copy on the profile) and the month's invoice number
        (so a late report can flag it for correction). One update; a second one and a Query only when the
        opening count was never recorded and the profile cannot tell it (see ``_known_opening``).
        """
        key = keys.key(keys.account_pk(account_id), keys.usage_sk(month))
        last = shut.profile.get(keys.last_attr(month))
        frozen = {":now": months.iso_now(), ":last": last, ":number": invoice_number}
        opening = _known_opening(shut, month)
        update = (
            "SET closed_at = if_not_exists(closed_at, :now), #last = if_not_exists(#last, :last),"
            " invoice_number = if_not_exists(invoice_number, :number)"
        )
        if opening is None:  # stored already (seeded by the close of the month before), or found the long way
            done, item = update_if(
                self.client,
                self.table,
                key,
                update,
                "attribute_exists(opening_count)",
                frozen,
                {"#last": "last"},
                returns="ALL_NEW",
            )
            if done:
                return usage_from_items(account_id, month, item)
            opening = self._derived_opening(keys.account_pk(account_id), month, shut.profile)
        response = self.client.update_item(
            TableName=self.table,
            Key=key,
            UpdateExpression=update + ", opening_count = if_not_exists(opening_count, :opening)",
            ExpressionAttributeNames={"#last": "last"},
            ExpressionAttributeValues=to_item({**frozen, ":opening": opening}),
            ReturnValues="ALL_NEW",
        )
        return usage_from_items(account_id, month, from_item(response["Attributes"]))

    def late_flag(self, account_id: str, month: str, suggested: bool) -> dict:
        """For the transaction that stores the month's invoice: the usage's ``correction_suggested`` as the
        invoice is stored with it. ``suggested`` (by the late reports the freeze read): set it. Not: on condition
        no late report flagged it since the freeze, as one kept then could not flag an invoice not yet stored."""
        key = keys.key(keys.account_pk(account_id), keys.usage_sk(month))
        if suggested:
            update = {
                "UpdateExpression": "SET correction_suggested = :yes",
                "ExpressionAttributeValues": to_item({":yes": True}),
            }
            return {"Update": {"TableName": self.table, "Key": key, **update}}
        condition = "attribute_not_exists(correction_suggested)"
        return {"ConditionCheck": {"TableName": self.table, "Key": key, "ConditionExpression": condition}}

    def carry_over(self, account_id: str, month: str, usage: MonthUsage) -> list[dict]:
        """The writes that finish a close (for the transaction that stores the invoice): seed the next month's
        opening count with the frozen last count, and drop the gate's copy of it from the profile.

        Until they land, the next month derives the same opening from that copy, so they can wait for the
        invoice; both are idempotent.
        """
        pk = keys.account_pk(account_id)
        return [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": keys.key(pk, keys.usage_sk(months.next_month(month))),
                    "UpdateExpression": "SET opening_count = :opening",
                    "ExpressionAttributeValues": to_item({":opening": usage.last_count}),
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": keys.key(pk, keys.PROFILE),
                    "UpdateExpression": "REMOVE #last",
                    "ExpressionAttributeNames": {"#last": keys.last_attr(month)},
                }
            },
        ]

    def carry_over_now(self, account_id: str, month: str, usage: MonthUsage) -> None:
        """``carry_over`` on its own, for a month closed without an invoice."""
        for write in self.carry_over(account_id, month, usage):
            self.client.update_item(**write["Update"])

    # ------------------------------------------------------------ reads
    def month_usage(self, account_id: str, month: str) -> MonthUsage:
        """The month as it stands, for the usage API and the month close."""
        pk = keys.account_pk(account_id)
        profile = self._get(pk, keys.PROFILE)
        if profile is None:
            raise AccountNotFound(account_id)
        item = self._get(pk, keys.usage_sk(month)) or {}
        if "opening_count" not in item:
            item["opening_count"] = self._derived_opening(pk, month, profile)
        return usage_from_items(account_id, month, item, profile)

    def _derived_opening(self, pk: str, month: str, profile: dict) -> int:
        """The last count standing before the month, until a close records it."""
        open_lasts = [name for name in profile if name.startswith("last#") and name < keys.last_attr(month)]
        if open_lasts:
            return profile[max(open_lasts)]["count"]
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :before",
            ExpressionAttributeValues=to_item(
                {":pk": pk, ":first": keys.usage_sk("0000-00"), ":before": keys.usage_sk(months.previous_month(month))}
            ),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        earlier = [from_item(item) for item in response.get("Items", [])]
        if not earlier:
            return 0
        return usage_from_items(account_id="", month=earlier[0]["sk"][len("USAGE#") :], item=earlier[0]).last_count

    def _get(self, pk: str, sk: str) -> dict | None:
        response = self.client.get_item(TableName=self.table, Key=keys.key(pk, sk), ConsistentRead=True)
        return from_item(response["Item"]) if "Item" in response else None


def _known_opening(shut: ShutMonth, month: str) -> int | None:
    """The opening count when the profile alone tells it, else None (it is on the usage item, or needs a Query).

    An open month's last count stays on the profile until its close; so an earlier open month's copy is the
    opening, and a profile that no close ever shut has no earlier usage but those copies: the opening is 0.
    """
    open_lasts = [name for name in shut.profile if name.startswith("last#") and name < keys.last_attr(month)]
    if open_lasts:
        return shut.profile[max(open_lasts)]["count"]
    if shut.shut_now and "closed_through" not in shut.profile:
        return 0
    return None


def usage_from_items(account_id: str, month: str, item: dict, profile: dict | None = None) -> MonthUsage:
    """The domain's view of a usage item (and, for an open month, the profile's last count)."""
    days = {
        months.date_of(name[len("day#") :]): Reading(value["count"], value["at"])
        for name, value in item.items()
        if name.startswith("day#")
    }
    late = tuple(
        sorted(Reading(count, int(name[len("late#") :])) for name, count in item.items() if name.startswith("late#"))
    )
    last = item.get("last") or (profile or {}).get(keys.last_attr(month))
    return MonthUsage(
        account_id=account_id,
        month=month,
        opening_count=item.get("opening_count", 0),
        days=days,
        last=Reading(last["count"], last["at"]) if last else None,
        closed="closed_at" in item,
        late=late,
        invoiced_peak=item.get("invoiced_peak"),
    )


def _reading(report: CountReport) -> dict:
    return {"count": report.count, "at": report.at}
