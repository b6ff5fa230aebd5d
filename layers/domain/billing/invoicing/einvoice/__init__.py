"""JP PINT e-invoices: every invoice, correction and return invoice also as UBL 2.1 XML.

``render_einvoice(document)`` gives the XML of an invoice, a correction or a
return invoice, from the same ``Invoice`` the PDF is drawn from (a return
invoice comes from ``billing.invoicing.returns.return_invoice``). Whether the XML
is valid JP PINT is decided by OpenPeppol's official rules, which the tests run
(``tests/pint_jp.py``); the tests check what they cannot, that the XML says what
the invoice says, by hand (``tests/einvoice_checks.py``). Standard library only.
"""

from billing.invoicing.einvoice.document import EDocument, document_of_invoice, return_against
from billing.invoicing.einvoice.ubl import CUSTOMIZATION_ID, PROFILE_ID, render_ubl
from billing.invoicing.invoice import Invoice

CONTENT_TYPE = "application/xml"


def render_einvoice(invoice: Invoice) -> bytes:
    """Any document as JP PINT XML: same document, same bytes."""
    return render_ubl(document_of_invoice(invoice))


def einvoice_key(month: str, account_id: str, number: str) -> str:
    """Where the XML is archived: beside the PDF, ``invoices/<YYYY-MM>/<account>/<number>.xml``."""
    return f"invoices/{month}/{account_id}/{number}.xml"


__all__ = [
    "CONTENT_TYPE",
    "CUSTOMIZATION_ID",
    "PROFILE_ID",
    "EDocument",
    "document_of_invoice",
    "einvoice_key",
    "render_einvoice",
    "render_ubl",
    "return_against",
]
