"""The count stream's watchers wired to the stack: their stores, the bus, the mail, the tariff and the settings."""

from __future__ import annotations

import functools

from billing.dal import stores
from billing.dal.mail import send_email
from billing.dal.messaging import publish
from billing.delivery.usage_alerts import AlertedAccount, UsageAlertWatch
from billing.delivery.usage_notices import UsageAlertNotice
from billing.invoicing.estimate import estimate
from billing.invoicing.issuer import load_issuer
from billing.settings import settings
from billing.tariff import load_tariff
from billing.usage.alerts import Alert, AlertKind, PeakRise, load_approach_ratio
from billing.usage.churn import ChurnWatch, load_thresholds


@functools.cache
def churn_watch() -> ChurnWatch:
    return ChurnWatch(stores.churn(), announce=_publish, thresholds=load_thresholds())


@functools.cache
def usage_alert_watch() -> UsageAlertWatch:
    return UsageAlertWatch(stores.usage_alerts(), load_tariff(), send_usage_alert, load_approach_ratio())


def usage_alert_notice(rise: PeakRise, account: AlertedAccount, alert: Alert) -> UsageAlertNotice:
    """The alert as the customer reads it: the bracket concerned, and the month's bill with the peak in it."""
    tariff, terms = load_tariff(), account.terms
    low, high = tariff.bracket_range(alert.bracket)
    peak = rise.after.count if alert.kind is AlertKind.CROSSED else low  # approaching: the next bracket's first
    return UsageAlertNotice(
        alert=alert,
        account_id=rise.account_id,
        month=rise.month,
        recipient_line=terms.billing_contact.recipient,
        email=terms.billing_contact.email,
        issuer_name=load_issuer().name,
        peak=rise.after,
        bracket_from=low,
        bracket_to=high,
        fee=estimate(terms, rise.month, max(peak, account.opening), tariff),
        approach_ratio=load_approach_ratio(),
    )


def send_usage_alert(rise: PeakRise, account: AlertedAccount, alert: Alert) -> None:
    """The event for the platform's screens, then the email to the billing contact."""
    notice = usage_alert_notice(rise, account, alert)
    _publish(alert.kind.detail_type, notice.detail())
    send_email(settings().notification_sender, notice.as_email(), notice_id=notice.notice_id)


def _publish(detail_type: str, detail: dict) -> None:
    publish(settings().event_bus_name, detail_type, detail)
