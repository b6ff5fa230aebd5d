"""The domain's closed vocabularies: each value the API and the records may hold."""

from __future__ import annotations

from enum import StrEnum


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"  # 振込
    DIRECT_DEBIT = "direct_debit"  # 口座振替


class DeliveryMethod(StrEnum):
    WEB = "web"  # WEB明細
    POSTAL = "postal"  # 郵送


class InvoiceStatus(StrEnum):
    NUMBERED = "numbered"  # its number is reserved and its record written; the PDF is not archived yet
    ISSUED = "issued"
    REPLACED = "replaced"  # issued, then replaced by a correction: still a document its customer was given

    @staticmethod
    def counts_as_issued(status: str | None) -> bool:
        """Whether a document with this ``status`` was issued: issued, or issued and since replaced by a
        correction. Such a document is kept, shown and delivered; a ``numbered`` one (or none) is not yet."""
        return status in AS_ISSUED


# The statuses ``InvoiceStatus.counts_as_issued`` accepts, in this order (conditions on the stored status use it).
AS_ISSUED = (InvoiceStatus.ISSUED, InvoiceStatus.REPLACED)


# How the documents and pages name them, in Japanese.
PAYMENT_LABELS = {PaymentMethod.BANK_TRANSFER: "銀行振込", PaymentMethod.DIRECT_DEBIT: "口座振替"}
DELIVERY_LABELS = {DeliveryMethod.WEB: "WEB明細", DeliveryMethod.POSTAL: "郵送"}


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # the delivery step has not run yet
    PUBLISHED = "published"  # a web statement, viewable
    BATCHED = "batched"  # a letter waiting for its print run
    POSTED = "posted"  # in a print batch handed to the mail house


class DocumentKind(StrEnum):
    INVOICE = "invoice"  # 適格請求書
    CORRECTION = "correction"  # 修正した適格請求書
    CREDIT_NOTE = "credit_note"  # 適格返還請求書


class ChangeRequestStatus(StrEnum):
    PENDING_CONFIRMATION = "pending_confirmation"
    PENDING_APPROVAL = "pending_approval"
    APPLIED = "applied"
