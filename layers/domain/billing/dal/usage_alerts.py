"""Usage alerts kept on the month's usage item (``ACCOUNT#<id> / USAGE#<month>``), and read from its stream.

The usage item's day highs are the month's peak (``billing.dal.usage``), so its changes in the table's stream are
every rise of the peak, whatever order the reports came in: ``peak_rise`` reads one from a stream record, with
no read of the table.

Each alert is an attribute of the same item, ``alert#<kind>#<bracket>`` = ``{peak, at, claimed_at, sent_at}``,
claimed with one conditional write: refused when the alert was claimed already, or when the month has crossed
into that bracket or a higher one (``crossed_bracket``), so a stream replayed or handled out of order sends
nothing twice and never warns of a bracket already entered. The usage API lists the alerts from the item it
reads anyway: no extra call.
"""

from __future__ import annotations

from billing import months
from billing.dal import keys
from billing.dal.accounts import contract_of
from billing.dal.clients import dynamodb, from_item
from billing.dal.conditional import update_if
from billing.dal.usage import UsageStore, usage_from_items
from billing.delivery.usage_alerts import AlertedAccount
from billing.invoicing.estimate import MonthReport
from billing.usage.alerts import Alert, AlertKind, PeakRise
from billing.usage.counts import Reading

ALERT_PREFIX = "alert#"
_NOT_CROSSED_INTO = "(attribute_not_exists(crossed_bracket) OR crossed_bracket < :bracket)"
CLAIMS = {
    AlertKind.CROSSED: ("SET #alert = :alert, crossed_bracket = :bracket", _NOT_CROSSED_INTO),
    AlertKind.APPROACHING: ("SET #alert = :alert", f"attribute_not_exists(#alert) AND {_NOT_CROSSED_INTO}"),
}


class UsageAlertStore:
    def __init__(self, table: str, client=None, usage: UsageStore | None = None):
        self.table = table
        self.client = client or dynamodb()
        self.usage = usage or UsageStore(table, self.client)

    def account(self, rise: PeakRise) -> AlertedAccount | None:
        """The account's terms for the month and its opening count: one read (the profile), and a Query only
        when neither the usage item nor the open months tell the opening (``UsageStore.derived_opening``)."""
        pk = keys.account_pk(rise.account_id)
        response = self.client.get_item(TableName=self.table, Key=keys.key(pk, keys.PROFILE), ConsistentRead=True)
        if "Item" not in response:
            return None
        profile = from_item(response["Item"])
        opening = rise.opening if rise.opening is not None else self.usage.derived_opening(pk, rise.month, profile)
        return AlertedAccount(contract_of(profile).terms_for(rise.month), opening)

    def claim(self, rise: PeakRise, alert: Alert) -> bool:
        """True when this caller is to send the alert: claimed now, or claimed before and never sent."""
        update, condition = CLAIMS[alert.kind]
        claimed, standing = update_if(
            self.client,
            self.table,
            self._key(rise),
            update,
            condition,
            {
                ":alert": {"peak": rise.after.count, "at": rise.after.at, "claimed_at": months.iso_now()},
                ":bracket": alert.bracket,
            },
            {"#alert": alert.key},
        )
        return claimed or _claimed_and_unsent(alert, standing)

    def mark_sent(self, rise: PeakRise, alert: Alert) -> None:
        update_if(
            self.client,
            self.table,
            self._key(rise),
            "SET #alert.sent_at = :now",
            "attribute_exists(#alert) AND attribute_not_exists(#alert.sent_at)",
            {":now": months.iso_now()},
            {"#alert": alert.key},
        )

    def month_report(self, account_id: str, month: str) -> MonthReport:
        """The month with its terms and the alerts sent: the usage's own reads, nothing more (raises
        AccountNotFound)."""
        profile, item = self.usage.month_items(account_id, month)
        terms = contract_of(profile).terms_for(month)
        return MonthReport(usage_from_items(account_id, month, item, profile), terms, tuple(sent_alerts(item)))

    def _key(self, rise: PeakRise) -> dict:
        return keys.key(keys.account_pk(rise.account_id), keys.usage_sk(rise.month))


def _claimed_and_unsent(alert: Alert, standing: dict) -> bool:
    """A claim of an earlier attempt that was never marked sent, and is still due: not for a bracket the month
    has since crossed past (a warning of a bracket entered meanwhile, or a crossing into a lower one, is moot)."""
    if alert.key not in standing or "sent_at" in standing[alert.key]:
        return False
    crossed = standing.get("crossed_bracket", 0)
    return crossed == alert.bracket if alert.kind is AlertKind.CROSSED else crossed < alert.bracket


def sent_alerts(item: dict) -> list[dict]:
    """The alerts sent for a month, as the usage API lists them: by when they were sent."""
    sent = []
    for name, value in item.items():
        if name.startswith(ALERT_PREFIX) and value.get("sent_at"):
            _, kind, bracket = name.split("#")
            sent.append({"kind": kind, "bracket": int(bracket), "sent_at": value["sent_at"]})
    return sorted(sent, key=lambda alert: (alert["sent_at"], alert["bracket"]))


def peak_rise(record: dict) -> PeakRise | None:
    """How a month's peak rose in one stream record of the BillingTable, if the record is a usage item's change.

    The day highs only ever rise (``billing.dal.usage``), so the highest of the new image against the highest of
    the old is the rise. Anything else (a profile, a late report, an alert's own write, the close's freeze) has no
    new day high, and gives None.
    """
    change = record.get("dynamodb") or {}
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    new = from_item(change.get("NewImage"))
    sk = new.get("sk", "")
    if not sk.startswith(keys.usage_sk("")):
        return None
    before = _highest(from_item(change.get("OldImage")))
    after = _highest(new)
    if after is None or (before is not None and not after.count > before.count):
        return None
    return PeakRise(
        new["pk"].removeprefix(keys.account_pk("")),
        sk.removeprefix(keys.usage_sk("")),
        before.count if before else 0,
        after,
        new.get("opening_count"),
    )


def _highest(item: dict) -> Reading | None:
    highest = None
    for name, value in item.items():
        if name.startswith(keys.day_attr("")):
            reading = Reading(value["count"], value["at"])
            if reading.beats_as_high(highest):
                highest = reading
    return highest
