"""Record counts kept as DynamoDB conditional maxima: no read-then-write.

The rules are the domain's (``billing.usage``); this module keeps them in
DynamoDB. A report costs exactly two conditional UpdateItem requests and no
read:

1. **the gate** (``billing.usage.gate``) on the account's profile item, whose
   condition is the gate's rule; it keeps the month's last count as
   ``last#<month>``.
2. **the day high** on the month's usage item (``day#<date>``), on condition
   it beats the day's high (``Reading.beats_as_high``). The month's peak is
   computed from the day highs and the opening count (``MonthUsage.peak``), so
   it needs no write of its own.

Each condition only lets a write through when it improves its maximum, so
concurrent, repeated and out-of-order reports converge on the same state. A
failed condition returns the item as it stands
(``ReturnValuesOnConditionCheckFailure``), from which ``Gate.refusal`` tells
apart "nothing to improve" from "unknown account", "cancelled" and "closed"
without a read. A late report (``billing.usage.late``) is kept on its month's
usage item as ``late#<observed at>``.
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
from billing.errors import AccountNotFound, BillingError, MonthClosed
from billing.usage import late
from billing.usage.counts import CountReport, MonthUsage, Reading, known_opening, opening_after
from billing.usage.gate import Account, Gate

if TYPE_CHECKING:
    from billing.tariff import Tariff

# Gate.refusal's rules, and Reading.beats_as_last, as one condition.
_GATE_CONDITION = (
    "attribute_exists(pk)"
    " AND (attribute_not_exists(closed_through) OR closed_through < :month)"
    " AND (attribute_not_exists(contract_end) OR contract_end >= :day)"
    " AND contract_start < :month_after"
    " AND (attribute_not_exists(#last) OR #last.#at < :at OR (#last.#at = :at AND #last.#count < :count))"
)
# Reading.beats_as_high, on a month not frozen by its close.
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
        refusal = self._pass_gate(report)
        if refusal is not None:
            if late.refused_late(refusal):
                self._keep_late(report)
            raise refusal
        stored, item = self._raise_day_high(report)
        usage = usage_from_items(report.account_id, report.month, item)
        if late.closed_meanwhile(usage):
            self._keep_late(report)
            raise MonthClosed(report.month)
        return usage.report_result(report, stored)

    def _pass_gate(self, report: CountReport) -> BillingError | None:
        """The gate's write; what refused the report, or None (passed, or nothing to keep)."""
        gate = Gate.of(report)
        stored, old = self._update(
            keys.key(keys.account_pk(report.account_id), keys.PROFILE),
            "SET #last = :reading",
            _GATE_CONDITION,
            {"#last": keys.last_attr(gate.month), **_READING_NAMES},
            {
                ":reading": _reading(report),
                ":month": gate.month,
                ":day": gate.day,
                ":month_after": gate.month_after,
                ":count": report.count,
                ":at": report.at,
            },
            returns="NONE",
        )
        if stored:
            return None
        return gate.refusal(_gate_account(old) if old else None)

    def _keep_late(self, report: CountReport) -> None:
        """Keep a late report on its month's usage; flag the invoice if it would change the bracket.

        When the invoice is named but may not be stored yet, the usage's flag stops the close's transaction,
        which then stores the invoice flagged (``late_flag``).
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
        if not late.may_flag(item.get("invoice_number"), bool(item.get("correction_suggested"))):
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
        first_close = shut.shut_now and "closed_through" not in shut.profile
        opening = known_opening(month, _open_lasts(shut.profile), first_close)
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
            opening = self.derived_opening(keys.account_pk(account_id), month, shut.profile)
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
        profile, item = self.month_items(account_id, month)
        return usage_from_items(account_id, month, item, profile)

    def month_items(self, account_id: str, month: str) -> tuple[dict, dict]:
        """The account's profile and its month's usage item, with the opening count the month would close with:
        two reads, and a Query only when the opening was never recorded and the profile cannot tell it."""
        pk = keys.account_pk(account_id)
        profile = self._get(pk, keys.PROFILE)
        if profile is None:
            raise AccountNotFound(account_id)
        item = self._get(pk, keys.usage_sk(month)) or {}
        if "opening_count" not in item:
            item["opening_count"] = self.derived_opening(pk, month, profile)
        return profile, item

    def derived_opening(self, pk: str, month: str, profile: dict) -> int:
        """The last count standing before the month, until a close records it: told by the open months, or 0 for
        an account never closed with none before (every month it reported in is still open, so it reported
        nothing before); a Query of the months before only when an earlier close carried the count over."""
        opening = known_opening(month, _open_lasts(profile), first_close="closed_through" not in profile)
        if opening is not None:
            return opening
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
            return opening_after(None)
        return opening_after(usage_from_items(account_id="", month=earlier[0]["sk"][len("USAGE#") :], item=earlier[0]))

    def _get(self, pk: str, sk: str) -> dict | None:
        response = self.client.get_item(TableName=self.table, Key=keys.key(pk, sk), ConsistentRead=True)
        return from_item(response["Item"]) if "Item" in response else None


def _open_lasts(profile: dict) -> dict[str, int]:
    """The open months' last counts the gate keeps on the profile (``last#<month>``), by month."""
    return {name[len("last#") :]: value["count"] for name, value in profile.items() if name.startswith("last#")}


def _gate_account(profile: dict) -> Account:
    """What the gate reads of the profile item."""
    return Account(profile["contract_start"], profile.get("contract_end"), profile.get("closed_through"))


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
