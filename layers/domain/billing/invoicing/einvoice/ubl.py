"""An ``EDocument`` as JP PINT XML: a UBL 2.1 ``Invoice``.

Deterministic by construction: the XML is written element by element in the
order the UBL 2.1 Invoice schema's sequences require, with fixed namespace
prefixes (the Invoice namespace as default, ``cac``, ``cbc``), attributes in
a fixed order, two-space indentation and no timestamp, so the same document
always gives the same bytes. Only the standard library is used, so the
domain layer gains no dependency.

Where the Peppol bindings differ from a literal reading of UBL, PINT wins:
the payment due date (ibt-009) is the document's ``cbc:DueDate``, not
``cac:PaymentMeans/cbc:PaymentDueDate`` (UBL-CR-412 warns against that), and
a returned line is a negative quantity at a positive price (ibr-027), and the
document's notes (最終請求, the reason of a correction or a return) share the
one ``cbc:Note`` PINT allows (ibr-sr-51), a line each.
"""

from __future__ import annotations

from datetime import date

from billing.invoicing.einvoice.document import EDocument, Party, PaymentMeans

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION_ID = "urn:peppol:pint:billing-1@jp-1"
PROFILE_ID = "urn:peppol:bis:billing"
INVOICE_TYPE_CODE = "380"  # UNCL 1001 commercial invoice; a return is a negative 380 naming the original
TAX_CATEGORY_STANDARD = "S"
TAX_SCHEME = "VAT"  # Peppol's scheme id for consumption tax too

# XML 1.0 forbids most C0 controls even escaped; refusing them keeps a bad contact field out of an archived document.
_FORBIDDEN = {chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)} | {"\ufffe", "\uffff"}
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"})


def render_ubl(document: EDocument) -> bytes:
    """The document as UTF-8 UBL 2.1 Invoice XML."""
    out = _Writer()
    out.open(
        "Invoice",
        xmlns=INVOICE_NS,
        **{"xmlns:cac": CAC_NS, "xmlns:cbc": CBC_NS},
    )
    out.leaf("cbc:CustomizationID", CUSTOMIZATION_ID)
    out.leaf("cbc:ProfileID", PROFILE_ID)
    out.leaf("cbc:ID", document.number)
    out.leaf("cbc:IssueDate", _date(document.issued_on))
    if document.payment is not None:
        out.leaf("cbc:DueDate", _date(document.payment.due_on))  # ibt-009: 振込期限 or 口座振替日
    out.leaf("cbc:InvoiceTypeCode", INVOICE_TYPE_CODE)
    if document.notes:
        out.leaf("cbc:Note", "\n".join(document.notes))  # ibt-022 occurs at most once (ibr-sr-51): one line each
    out.leaf("cbc:DocumentCurrencyCode", document.currency)
    out.leaf("cbc:BuyerReference", document.buyer_reference)
    with out.group("cac:InvoicePeriod"):
        out.leaf("cbc:StartDate", _date(document.period_start))
        out.leaf("cbc:EndDate", _date(document.period_end))
    for reference in document.references:
        with out.group("cac:BillingReference"), out.group("cac:InvoiceDocumentReference"):
            out.leaf("cbc:ID", reference.number)
            if reference.issued_on is not None:
                out.leaf("cbc:IssueDate", _date(reference.issued_on))
    with out.group("cac:AccountingSupplierParty"):
        _party(out, document.supplier)
    with out.group("cac:AccountingCustomerParty"):
        _party(out, document.customer)
    if document.payment is not None:
        payment = document.payment
        with out.group("cac:PaymentMeans"):
            out.leaf("cbc:PaymentMeansCode", payment.means.value, name=payment.label)
            if payment.means is PaymentMeans.CREDIT_TRANSFER and payment.bank is not None:
                bank = payment.bank
                with out.group("cac:PayeeFinancialAccount"):
                    out.leaf("cbc:ID", bank.account_number)  # ibt-084
                    out.leaf("cbc:Name", bank.account_holder)  # ibt-085 口座名義
                    with out.group("cac:FinancialInstitutionBranch"):
                        out.leaf("cbc:Name", f"{bank.bank_name} {bank.branch_name} {bank.account_type}")
            if payment.mandate is not None:  # aligned-ibrp-019: a direct debit names its mandate
                with out.group("cac:PaymentMandate"):
                    out.leaf("cbc:ID", payment.mandate)  # ibt-089
                    if payment.debited_account is not None:
                        with out.group("cac:PayerFinancialAccount"):
                            out.leaf("cbc:ID", payment.debited_account)  # ibt-091, masked
    money = {"currencyID": document.currency}
    with out.group("cac:TaxTotal"):
        out.leaf("cbc:TaxAmount", str(document.tax_total), **money)
        for rate in document.rates:
            with out.group("cac:TaxSubtotal"):
                out.leaf("cbc:TaxableAmount", str(rate.taxable), **money)
                out.leaf("cbc:TaxAmount", str(rate.tax), **money)
                _tax_category(out, "cac:TaxCategory", rate.rate_percent)
    with out.group("cac:LegalMonetaryTotal"):
        out.leaf("cbc:LineExtensionAmount", str(document.line_total), **money)
        out.leaf("cbc:TaxExclusiveAmount", str(document.line_total), **money)
        out.leaf("cbc:TaxInclusiveAmount", str(document.tax_inclusive), **money)
        out.leaf("cbc:PayableAmount", str(document.tax_inclusive), **money)
    for line in document.lines:
        with out.group("cac:InvoiceLine"):
            out.leaf("cbc:ID", line.line_id)
            out.leaf("cbc:InvoicedQuantity", str(line.quantity), unitCode=line.unit_code)
            out.leaf("cbc:LineExtensionAmount", str(line.amount), **money)
            with out.group("cac:Item"):
                out.leaf("cbc:Description", line.description)
                out.leaf("cbc:Name", line.name)
                with out.group("cac:SellersItemIdentification"):
                    out.leaf("cbc:ID", line.item_code)
                _tax_category(out, "cac:ClassifiedTaxCategory", line.tax_rate_percent)
            with out.group("cac:Price"):
                out.leaf("cbc:PriceAmount", str(line.unit_price), **money)
                out.leaf("cbc:BaseQuantity", "1", unitCode=line.unit_code)
    out.close("Invoice")
    return out.getvalue()


def _party(out: _Writer, party: Party) -> None:
    with out.group("cac:Party"):
        if party.corporate_number is not None:
            out.leaf("cbc:EndpointID", party.corporate_number, schemeID="0188")  # ibt-034
        with out.group("cac:PartyName"):
            out.leaf("cbc:Name", party.name)
        with out.group("cac:PostalAddress"):
            out.leaf("cbc:StreetName", party.address)
            out.leaf("cbc:PostalZone", party.postal_code)
            with out.group("cac:Country"):
                out.leaf("cbc:IdentificationCode", party.country)
        if party.tax_id is not None:
            with out.group("cac:PartyTaxScheme"):
                out.leaf("cbc:CompanyID", party.tax_id)  # ibt-031: 登録番号
                with out.group("cac:TaxScheme"):
                    out.leaf("cbc:ID", TAX_SCHEME)
        with out.group("cac:PartyLegalEntity"):
            out.leaf("cbc:RegistrationName", party.name)
            if party.corporate_number is not None:
                out.leaf("cbc:CompanyID", party.corporate_number, schemeID="0188")  # ibt-030: 法人番号
        if party.contact_name or party.phone or party.email:
            with out.group("cac:Contact"):
                if party.contact_name:
                    out.leaf("cbc:Name", party.contact_name)
                if party.phone:
                    out.leaf("cbc:Telephone", party.phone)
                if party.email:
                    out.leaf("cbc:ElectronicMail", party.email)


def _tax_category(out: _Writer, tag: str, rate_percent: int) -> None:
    with out.group(tag):
        out.leaf("cbc:ID", TAX_CATEGORY_STANDARD)
        out.leaf("cbc:Percent", str(rate_percent))
        with out.group("cac:TaxScheme"):
            out.leaf("cbc:ID", TAX_SCHEME)


def _date(d: date) -> str:
    return d.isoformat()


class _Writer:
    """Indented XML, one element a line; text and attribute values escaped."""

    def __init__(self) -> None:
        self._parts = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        self._depth = 0

    def open(self, tag: str, **attrs: str) -> None:
        self._parts.append(f"{'  ' * self._depth}<{tag}{_attrs(attrs)}>\n")
        self._depth += 1

    def close(self, tag: str) -> None:
        self._depth -= 1
        self._parts.append(f"{'  ' * self._depth}</{tag}>\n")

    def leaf(self, tag: str, text: str, **attrs: str) -> None:
        self._parts.append(f"{'  ' * self._depth}<{tag}{_attrs(attrs)}>{_text(text)}</{tag}>\n")

    def group(self, tag: str) -> _Group:
        return _Group(self, tag)

    def getvalue(self) -> bytes:
        return "".join(self._parts).encode("utf-8")


class _Group:
    __slots__ = ("_tag", "_writer")

    def __init__(self, writer: _Writer, tag: str):
        self._writer, self._tag = writer, tag

    def __enter__(self) -> None:
        self._writer.open(self._tag)

    def __exit__(self, *exc: object) -> None:
        self._writer.close(self._tag)


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f' {name}="{_text(value)}"' for name, value in attrs.items())


def _text(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"XML text must be str, got {type(value).__name__}")
    if _FORBIDDEN.intersection(value):
        raise ValueError(f"XML 1.0 cannot carry the control characters in {value!r}")
    return value.translate(_ESCAPES)
