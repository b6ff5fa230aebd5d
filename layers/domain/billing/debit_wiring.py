"""The debit runs' fan-out wired to the stack: its stores, queues, bus and mail (for the three functions of a run).

Each queue's body and each event's detail is built with its one declaration (``billing.schema.messages``).
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from datetime import date, datetime

from billing import months
from billing.dal import keys, stores
from billing.dal.messaging import publish, publish_all, send_messages
from billing.dal.transfer_requests import TransferRequests
from billing.invoicing.issuer import load_collector, load_issuer
from billing.payments.debit_runs import DebitRunFanOut, Part, ResultOrder, RunPage
from billing.schema.messages import (
    DebitResultMessage,
    DebitRunPageMessage,
    InvoicePaidDetail,
    PaymentFailedDetail,
)
from billing.settings import settings


def tokyo_today() -> date:
    return months.day_of(datetime.now(months.TOKYO))


@functools.cache
def debit_runs() -> DebitRunFanOut:
    return DebitRunFanOut(
        runs=stores.debit_runs(),
        ledger=stores.ledger(),
        archive=stores.archive(),
        collector=load_collector,
        shards=keys.all_shards(),
        queue_pages=queue_pages,
        queue_results=queue_results,
        ask_transfer=transfer_requests().send,
        announce_paid=announce_paid,
        announce_failed=announce_failed,
        today=tokyo_today,
    )


@functools.cache
def transfer_requests() -> TransferRequests:
    return TransferRequests(load_issuer(), settings().notification_sender, stores.notices(), tokyo_today)


def queue_pages(pages: list[RunPage]) -> None:
    send_messages(settings().debit_run_pages_queue_url, [DebitRunPageMessage(**asdict(p)).body() for p in pages])


def queue_results(orders: list[ResultOrder]) -> None:
    bodies = [
        DebitResultMessage(
            debit_date=o.debit_date, code=o.code, imported_on=o.imported_on, part=o.part.as_json()
        ).body()
        for o in orders
    ]
    send_messages(settings().debit_results_queue_url, bodies)


def result_order(message: DebitResultMessage) -> ResultOrder:
    return ResultOrder(message.debit_date, message.code, message.imported_on, Part.from_json(message.part))


def announce_paid(account_id: str, numbers: list[str], received_on: date, method: str = "direct_debit") -> None:
    details = [
        InvoicePaidDetail(account_id=account_id, invoice_number=n, received_on=received_on, method=method)
        for n in numbers
    ]
    if publish_all(settings().event_bus_name, "InvoicePaid", [d.body() for d in details]):
        raise RuntimeError(f"{account_id}: InvoicePaid not published; the result is applied again")


def announce_failed(order: ResultOrder, part: Part) -> None:
    detail = PaymentFailedDetail(
        account_id=order.account_id,
        debit_date=order.debit_date,
        result_code=order.code,
        invoice_numbers=list(part.documents),
        amount=part.record.amount if part.record else 0,
        pay_by=order.pay_by,
    )
    publish(settings().event_bus_name, "PaymentFailed", detail.body())
