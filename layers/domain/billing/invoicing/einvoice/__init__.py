"""JP PINT e-invoices: every invoice, correction and return invoice also as UBL 2.1 XML.

``render_einvoice(invoice)`` gives the XML of an invoice or a correction, from
the same ``Invoice`` the PDF is drawn from. A return invoice is made with
``return_against(original, number, issued_on, amount, reason)`` and rendered
with ``render_ubl``. ``check_einvoice(xml)`` lists the JP PINT rules a
document breaks (empty when it passes). Standard library only.
"""

from billing.invoicing.einvoice.document import EDocument, document_of_invoice, return_against, split_tax_included
from billing.invoicing.einvoice.rules import Violation, check_einvoice
from billing.invoicing.einvoice.ubl import CUSTOMIZATION_ID, PROFILE_ID, render_ubl
from billing.invoicing.invoice import Invoice

CONTENT_TYPE = "application/xml"


def render_einvoice(invoice: Invoice) -> bytes:
    """An invoice or a correction as JP PINT XML: same invoice, same bytes."""
    return render_ubl(document_of_invoice(invoice))


def einvoice_key(month: str, account_id: str, number: str) -> str:
    """Where the XML is archived: beside the PDF, ``invoices/<YYYY-MM>/<account>/<number>.xml``."""
    return f"invoices/{month}/{account_id}/{number}.xml"


__all__ = [
    "CONTENT_TYPE",
    "CUSTOMIZATION_ID",
    "PROFILE_ID",
    "EDocument",
    "Violation",
    "check_einvoice",
    "document_of_invoice",
    "einvoice_key",
    "render_einvoice",
    "render_ubl",
    "return_against",
    "split_tax_included",
]
