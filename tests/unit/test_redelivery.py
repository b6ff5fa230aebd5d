"""Delivery heals itself (billing.delivery.redelivery), with its stores faked: what counts as delivered, what a
dead letter carries, and that a dead letter leaves the queue only once its document is delivered or announced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from billing.delivery.redelivery import GRACE, Redelivery, dead_lettered_detail, delivered

EVENT = {
    "version": "0",
    "id": "e1",
    "detail-type": "InvoiceIssued",
    "source": "invoicing",
    "detail": {"account_id": "acme", "invoice_number": "INV-202610-0000001", "month": "2026-10"},
}


def test_a_document_is_delivered_once_its_notice_is_sent_or_its_letter_queued():
    assert delivered({"delivery_method": "web", "notified_at": "2026-11-01T00:31:00+00:00"})
    assert not delivered({"delivery_method": "web", "delivery_status": "published"})  # plan recorded, no email yet
    assert delivered({"delivery_method": "postal", "delivery_status": "batched"})
    assert delivered({"delivery_method": "postal", "delivery_status": "posted"})
    assert not delivered({"delivery_method": "postal"})


def test_a_dead_letter_carries_the_event_itself_or_lambdas_record_of_it():
    assert dead_lettered_detail(EVENT) == EVENT["detail"]  # the rule's DLQ
    record = {"requestContext": {"condition": "RetriesExhausted"}, "requestPayload": EVENT}
    assert dead_lettered_detail(record) == EVENT["detail"]  # the function's OnFailure destination
    assert dead_lettered_detail(None) is None
    assert dead_lettered_detail({**EVENT, "detail-type": "ChurnSuspected"}) is None
    assert dead_lettered_detail({**EVENT, "detail": {"account_id": "acme"}}) is None


@dataclass(frozen=True)
class Letter:
    message_id: str
    body: dict | None


class Queue:
    def __init__(self, bodies):
        self.letters = [Letter(str(i), body) for i, body in enumerate(bodies)]
        self.deleted, self.released = [], []

    def look(self):
        return list(self.letters)

    def delete(self, letters):
        self.deleted += [letter.message_id for letter in letters]

    def release(self, letters):
        self.released += [letter.message_id for letter in letters]


def record(number: str, month: str = "2026-10", **extra) -> dict:
    return {"account_id": "acme", "invoice_number": number, "month": month, "status": "issued", **extra}


def dead(number: str, month: str = "2026-10") -> dict:
    return {**EVENT, "detail": {"account_id": "acme", "invoice_number": number, "month": month}}


class Documents:
    def __init__(self, *records):
        self.records = {r["invoice_number"]: r for r in records}

    def get(self, _account, number):
        return self.records.get(number)

    def get_many(self, wanted):
        return [self.records[number] for _, number in wanted]


def redelivery(documents, queue, refused=(), rows=()):
    published = []

    def announce_all(detail_type, details):
        assert detail_type == "InvoiceIssued"
        published.extend(d["invoice_number"] for d in details)
        return [i for i, d in enumerate(details) if d["invoice_number"] in refused]

    class Index:
        def older_than(self, cutoff, limit):
            self.cutoff = cutoff
            return list(rows)

    index = Index()
    return Redelivery(documents, index, queue, announce_all), published, index


def announce_from(record: dict):
    """Announcements are built from the stored record; here the builder is replaced by the number alone."""
    return {"invoice_number": record["invoice_number"]}


def test_a_redrive_clears_the_delivered_announces_the_rest_and_keeps_what_it_could_not_announce(monkeypatch):
    import billing.delivery.redelivery as module

    monkeypatch.setattr(module, "issued_event", lambda invoice, rec, correlation_id: announce_from(rec))
    monkeypatch.setattr(module.Invoice, "from_record", staticmethod(lambda rec: rec))
    documents = Documents(
        record("INV-202610-0000001", delivery_method="web", notified_at="x"),  # delivered since
        record("INV-202610-0000002", delivery_method="web"),  # still waiting
        record("INV-202610-0000003", delivery_method="postal"),  # waiting, and the bus refuses it now
    )
    queue = Queue(
        [
            dead("INV-202610-0000001"),
            dead("INV-202610-0000002"),
            dead("INV-202610-0000002"),  # the same document dead-lettered twice: announced once
            dead("INV-202610-0000003"),
            dead("INV-202609-0000001", month="2026-09"),  # another month: not this retry's
            {"not": "an event"},
        ]
    )
    redrive, published, _ = redelivery(documents, queue, refused={"INV-202610-0000003"})
    outcome = redrive.redrive("2026-10", "retry-1")
    assert published == ["INV-202610-0000002", "INV-202610-0000003"]
    assert (outcome.announced, outcome.cleared, outcome.left) == (["INV-202610-0000002"], ["INV-202610-0000001"], 2)
    assert sorted(queue.deleted) == ["0", "1", "2"]
    assert sorted(queue.released) == ["3", "4", "5"]  # the refused one stays for the next look


def test_the_sweep_announces_only_issued_undelivered_documents_older_than_the_grace(monkeypatch):
    import billing.delivery.redelivery as module

    monkeypatch.setattr(module, "issued_event", lambda invoice, rec, correlation_id: announce_from(rec))
    monkeypatch.setattr(module.Invoice, "from_record", staticmethod(lambda rec: rec))
    documents = Documents(
        record("INV-202610-0000001", delivery_method="web"),
        record("INV-202610-0000002", delivery_method="postal", delivery_status="batched"),  # index lagging
        record("INV-202610-0000003", status="numbered", kind="invoice"),  # the close's to finish, not the sweep's
    )
    rows = [
        {"account_id": "acme", "invoice_number": "INV-202610-0000001", "status": "issued"},
        {"account_id": "acme", "invoice_number": "INV-202610-0000002", "status": "issued"},
        {"account_id": "acme", "invoice_number": "INV-202610-0000003", "status": "numbered"},
    ]
    queue = Queue([dead("INV-202610-0000001")])
    sweep, published, index = redelivery(documents, queue, rows=rows)
    now = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    swept = sweep.sweep(now, correlation_id="sweep/1")
    assert index.cutoff == now - GRACE == now - timedelta(minutes=15)
    assert published == ["INV-202610-0000001"]  # once, though its dead letter names it too
    assert (swept["announced"], swept["dead_letters_redriven"]) == (["INV-202610-0000001"], ["INV-202610-0000001"])
    assert (swept["finished"], swept["not_finished"]) == ([], [])
    assert queue.deleted == ["0"]


def test_a_replaced_original_is_not_announced_again_its_correction_is_delivered_instead(monkeypatch):
    import billing.delivery.redelivery as module

    monkeypatch.setattr(module, "issued_event", lambda invoice, rec, correlation_id: announce_from(rec))
    monkeypatch.setattr(module.Invoice, "from_record", staticmethod(lambda rec: rec))
    documents = Documents(record("INV-202610-0000001", delivery_method="web", status="replaced"))
    rows = [{"account_id": "acme", "invoice_number": "INV-202610-0000001", "status": "replaced"}]
    queue = Queue([dead("INV-202610-0000001")])
    sweep, published, _ = redelivery(documents, queue, rows=rows)
    swept = sweep.sweep(datetime(2026, 11, 1, 1, 0, tzinfo=UTC))
    assert published == [] and swept["dead_letters_cleared"] == ["INV-202610-0000001"]
    assert queue.deleted == ["0"]


def test_the_sweep_finishes_a_correction_or_return_its_request_left_numbered_and_does_not_announce_it_twice(
    monkeypatch,
):
    import billing.delivery.redelivery as module

    monkeypatch.setattr(module, "issued_event", lambda invoice, rec, correlation_id: announce_from(rec))
    monkeypatch.setattr(module.Invoice, "from_record", staticmethod(lambda rec: rec))
    documents = Documents(
        record("INV-202610-0000002", status="numbered", kind="correction"),
        record("CN-202610-0000001", status="numbered", kind="credit_note"),  # its finish fails this time
        record("INV-202610-0000001", status="numbered", kind="invoice"),  # a month close's: its retry's to finish
    )
    rows = [{"account_id": "acme", "invoice_number": n, "status": "numbered"} for n in documents.records]
    queue = Queue([dead("INV-202610-0000002")])  # an announcement of the correction that was dead-lettered
    sweep, published, _ = redelivery(documents, queue, rows=rows)
    finished = []

    def finish(rec, correlation_id):
        if rec["kind"] == "credit_note":
            raise RuntimeError("S3 unavailable")
        finished.append((rec["invoice_number"], correlation_id))
        documents.records[rec["invoice_number"]] = {**rec, "status": "issued", "announced": True}
        return documents.records[rec["invoice_number"]]

    sweep.finish = finish
    swept = sweep.sweep(datetime(2026, 11, 1, 1, 0, tzinfo=UTC), correlation_id="sweep/1")
    assert finished == [("INV-202610-0000002", "sweep/1")]  # finish announces it: the sweep does not again
    assert (swept["finished"], swept["not_finished"]) == (["INV-202610-0000002"], ["CN-202610-0000001"])
    assert published == [] and swept["announced"] == []
    assert swept["dead_letters_redriven"] == ["INV-202610-0000002"] and queue.deleted == ["0"]


def test_without_a_finisher_nothing_numbered_is_finished_and_it_says_so(monkeypatch):
    documents = Documents(record("INV-202610-0000002", status="numbered", kind="correction"))
    rows = [{"account_id": "acme", "invoice_number": "INV-202610-0000002", "status": "numbered"}]
    sweep, published, _ = redelivery(documents, Queue([]), rows=rows)
    swept = sweep.sweep(datetime(2026, 11, 1, 1, 0, tzinfo=UTC))
    assert (swept["finished"], swept["not_finished"], published) == ([], ["INV-202610-0000002"], [])
