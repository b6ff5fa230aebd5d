"""JP PINT business rules that can be decided from one UBL Invoice alone.

This is not the Peppol validator (a Schematron run by an access point); it
is the subset of its rules that our documents can break, checked with the
standard library so a test, or the issuing code before it archives, can run
it. Each check carries the rule id of the published Schematron:

* ``jp-br-*`` and ``jp-s-*`` from the PINT JP rules (Japan's own);
* ``ibr-*`` from the shared PINT rules every jurisdiction inherits;
* ``PEPPOL-EN16931-F001`` (dates), reused by PINT JP.

Checks the project adds on top carry a ``project-`` id and never borrow a
Peppol id. Rule wording and ids change between PINT releases; the ids here
are those of the PINT JP Schematron the wording below is quoted from.

Where a published assertion is evaluated over whole sequences (jp-br-co-01
compares every TaxSubtotal at once in XPath), it is checked here per
element, which is what its wording says. jp-br-02's published test
(``^-?[1-9][0-9]*$``) rejects a literal ``0``; its wording ("Amount shall be
integer") does not, and a zero tax is an integer, so ``0`` passes here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

from billing.invoicing.issuer import is_registration_number

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
JP_CUSTOMIZATION_ID = "urn:peppol:pint:billing-1@jp-1"
JP_PROFILE_ID = "urn:peppol:bis:billing"

RULES: dict[str, str] = {
    "jp-br-01": "For the Japanese Suppliers, the Tax identifier must start with 'T' and must be 13 digits.",
    "jp-br-02": "Amount shall be integer.",
    "jp-br-05": "An Invoice shall have Invoice period (ibg-14) or Invoice line period (ibg-26).",
    "jp-br-co-01": "Consumption Tax category tax amount = taxable amount x (rate / 100), rounded to integer; "
    "the rounded result amount SHALL be between the floor and the ceiling.",
    "jp-br-co-02": "An Invoice line whose Consumption Tax category is Standard rated has a tax rate greater than zero.",
    "jp-br-co-03": "If Invoicing period (ibg-14) is used, both its start date and its end date shall be filled.",
    "jp-s-01": "An Invoice with a Standard rated line shall have a Standard rated Consumption Tax breakdown.",
    "ibr-01": "An Invoice shall have a Specification identifier (ibt-24).",
    "ibr-02": "An Invoice shall have an Invoice number (ibt-1).",
    "ibr-03": "An Invoice shall have an Invoice issue date (ibt-2).",
    "ibr-04": "An Invoice shall have an Invoice type code (ibt-3).",
    "ibr-05": "An Invoice shall have an Invoice currency code (ibt-5).",
    "ibr-06": "An Invoice shall contain the Seller name (ibt-27).",
    "ibr-07": "An Invoice shall contain the Buyer name (ibt-44).",
    "ibr-08": "An Invoice shall contain the Seller postal address.",
    "ibr-10": "An Invoice shall contain the Buyer postal address (ibg-8).",
    "ibr-12": "An Invoice shall have the Sum of Invoice line net amount (ibt-106).",
    "ibr-13": "An Invoice shall have the Invoice total amount without Tax (ibt-109).",
    "ibr-14": "An Invoice shall have the Invoice total amount with Tax (ibt-112).",
    "ibr-15": "An Invoice shall have the Amount due for payment (ibt-115).",
    "ibr-16": "An Invoice shall have at least one Invoice line (ibg-25).",
    "ibr-21": "Each Invoice line (ibg-25) shall have an Invoice line identifier (ibt-126).",
    "ibr-22": "Each Invoice line (ibg-25) shall have an Invoiced quantity (ibt-129).",
    "ibr-23": "An Invoice line (ibg-25) shall have an Invoiced quantity unit of measure code (ibt-130).",
    "ibr-24": "Each Invoice line (ibg-25) shall have an Invoice line net amount (ibt-131).",
    "ibr-25": "Each Invoice line (ibg-25) shall contain the Item name (ibt-153).",
    "ibr-26": "Each Invoice line (ibg-25) shall contain the Item net price (ibt-146).",
    "ibr-27": "The Item net price (ibt-146) shall NOT be negative.",
    "ibr-29": "The Invoicing period end date (ibt-74) shall be later or equal to its start date (ibt-73).",
    "ibr-49": "A Payment instruction (ibg-16) shall specify the Payment means type code (ibt-81).",
    "ibr-55": "Each Preceding Invoice reference (ibg-3) shall contain a Preceding Invoice reference (ibt-25).",
    "ibr-co-10": "Sum of Invoice line net amount (ibt-106) = Σ Invoice line net amount (ibt-131).",
    "ibr-co-13": "Invoice total amount without Tax (ibt-109) = Σ Invoice line net amount (ibt-131) "
    "- Sum of allowances on document level (ibt-107) + Sum of charges on document level (ibt-108).",
    "ibr-co-14": "Invoice total Tax amount (ibt-110) = Σ Tax category tax amount (ibt-117).",
    "ibr-co-15": "Invoice total amount with Tax (ibt-112) = Invoice total amount without Tax (ibt-109) "
    "+ Invoice total Tax amount (ibt-110).",
    "ibr-co-16": "Amount due for payment (ibt-115) = Invoice total amount with Tax (ibt-112) "
    "- Paid amount (ibt-113) + Rounding amount (ibt-114).",
    "PEPPOL-EN16931-F001": "A date MUST be formatted YYYY-MM-DD.",
    "project-profile": f"CustomizationID is {JP_CUSTOMIZATION_ID} and ProfileID is {JP_PROFILE_ID}.",
    "project-jpy": "The document currency and every amount's currencyID are JPY.",
    "project-t-number-check-digit": "The registration number's first digit checks the other 12 (NTA formula).",
    "project-rate-taxable": "Each rate's taxable amount is the sum of the line net amounts at that rate.",
}

_INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)\Z")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DATE_TAGS = ("IssueDate", "DueDate", "TaxPointDate", "StartDate", "EndDate", "ActualDeliveryDate")


@dataclass(frozen=True)
class Violation:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule}] {RULES[self.rule]} ({self.detail})"


def check_einvoice(xml: bytes) -> list[Violation]:
    """Every rule above that ``xml`` breaks; an empty list when it passes them all."""
    root = ET.fromstring(xml)
    if root.tag != f"{{{NS['inv']}}}Invoice":
        return [Violation("ibr-01", f"root element is {root.tag}, not a UBL Invoice")]
    found: list[Violation] = []

    def fail(rule: str, detail: str) -> None:
        found.append(Violation(rule, detail))

    def text(node: ET.Element | None, path: str) -> str:
        element = None if node is None else node.find(path, NS)
        return "" if element is None or element.text is None else element.text.strip()

    # -- document level -------------------------------------------------------------------------
    for rule, path in (
        ("ibr-01", "cbc:CustomizationID"),
        ("ibr-02", "cbc:ID"),
        ("ibr-03", "cbc:IssueDate"),
        ("ibr-04", "cbc:InvoiceTypeCode"),
        ("ibr-05", "cbc:DocumentCurrencyCode"),
        ("ibr-06", "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"),
        ("ibr-07", "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"),
    ):
        if not text(root, path):
            fail(rule, f"{path} is missing or empty")
    if root.find("cac:AccountingSupplierParty/cac:Party/cac:PostalAddress", NS) is None:
        fail("ibr-08", "no seller PostalAddress")
    if root.find("cac:AccountingCustomerParty/cac:Party/cac:PostalAddress", NS) is None:
        fail("ibr-10", "no buyer PostalAddress")
    if (text(root, "cbc:CustomizationID"), text(root, "cbc:ProfileID")) != (JP_CUSTOMIZATION_ID, JP_PROFILE_ID):
        fail("project-profile", f"{text(root, 'cbc:CustomizationID')!r} / {text(root, 'cbc:ProfileID')!r}")

    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        if local in _DATE_TAGS and not _is_date(element.text or ""):
            fail("PEPPOL-EN16931-F001", f"{local} is {element.text!r}")
        currency = element.get("currencyID")
        if currency is not None:
            if currency != "JPY":
                fail("project-jpy", f"{local} has currencyID {currency!r}")
            if not _INTEGER.match((element.text or "").strip()):
                fail("jp-br-02", f"{local} is {element.text!r}")
    if text(root, "cbc:DocumentCurrencyCode") != "JPY":
        fail("project-jpy", f"DocumentCurrencyCode is {text(root, 'cbc:DocumentCurrencyCode')!r}")

    # -- supplier's registration number -----------------------------------------------------------
    for scheme in root.findall("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme", NS):
        if text(scheme, "cac:TaxScheme/cbc:ID").upper() != "VAT":
            continue
        company = text(scheme, "cbc:CompanyID")
        if not re.fullmatch(r"T[0-9]{13}", company):
            fail("jp-br-01", f"CompanyID is {company!r}")
        elif not is_registration_number(company):
            fail("project-t-number-check-digit", f"{company} has a wrong check digit")

    # -- period ------------------------------------------------------------------------------------
    periods = root.findall("cac:InvoicePeriod", NS)
    if not periods and root.find("cac:InvoiceLine/cac:InvoicePeriod", NS) is None:
        fail("jp-br-05", "no InvoicePeriod")
    for period in periods:
        start, end = text(period, "cbc:StartDate"), text(period, "cbc:EndDate")
        if not (start and end):
            fail("jp-br-co-03", f"StartDate {start!r}, EndDate {end!r}")
        elif _is_date(start) and _is_date(end) and end < start:
            fail("ibr-29", f"{end} is before {start}")

    # -- lines -------------------------------------------------------------------------------------
    lines = root.findall("cac:InvoiceLine", NS)
    if not lines:
        fail("ibr-16", "no InvoiceLine")
    line_sum, line_rates = 0, {}
    for n, line in enumerate(lines, start=1):
        where = f"line {text(line, 'cbc:ID') or n}"
        if not text(line, "cbc:ID"):
            fail("ibr-21", where)
        quantity = line.find("cbc:InvoicedQuantity", NS)
        if quantity is None:
            fail("ibr-22", where)
        elif not quantity.get("unitCode"):
            fail("ibr-23", where)
        amount = _amount(text(line, "cbc:LineExtensionAmount"))
        if amount is None:
            fail("ibr-24", where)
        if not text(line, "cac:Item/cbc:Name"):
            fail("ibr-25", where)
        price = _amount(text(line, "cac:Price/cbc:PriceAmount"))
        if price is None:
            fail("ibr-26", where)
        elif price < 0:
            fail("ibr-27", f"{where}: PriceAmount {price}")
        category = line.find("cac:Item/cac:ClassifiedTaxCategory", NS)
        percent = _amount(text(category, "cbc:Percent"))
        if text(category, "cbc:ID") == "S" and (percent is None or percent <= 0):
            fail("jp-br-co-02", f"{where}: Percent {text(category, 'cbc:Percent')!r}")
        if amount is not None:
            line_sum += amount
            key = (text(category, "cbc:ID"), percent)
            line_rates[key] = line_rates.get(key, 0) + amount

    # -- tax breakdown -----------------------------------------------------------------------------
    tax_totals = root.findall("cac:TaxTotal", NS)
    subtotal_sum, breakdown = 0, {}
    for total in tax_totals:
        for sub in total.findall("cac:TaxSubtotal", NS):
            taxable, tax = _amount(text(sub, "cbc:TaxableAmount")), _amount(text(sub, "cbc:TaxAmount"))
            percent = _amount(text(sub, "cac:TaxCategory/cbc:Percent"))
            key = (text(sub, "cac:TaxCategory/cbc:ID"), percent)
            if taxable is None or tax is None or percent is None:
                continue  # jp-br-02 or the schema has already said why
            subtotal_sum += tax
            breakdown[key] = breakdown.get(key, 0) + taxable
            scaled = taxable * percent  # x 100; floor and ceiling in integers, never floats
            if not scaled // 100 <= tax <= -(-scaled // 100):
                fail("jp-br-co-01", f"{percent}% of {taxable} is {scaled / 100}, tax is {tax}")
    for key, amount in line_rates.items():
        if key[0] == "S" and not any(k[0] == "S" for k in breakdown):
            fail("jp-s-01", "no S breakdown")
        if breakdown.get(key) != amount:
            fail("project-rate-taxable", f"lines at {key[1]}% add up to {amount}, breakdown says {breakdown.get(key)}")
    for key in breakdown.keys() - line_rates.keys():
        fail("project-rate-taxable", f"a breakdown at {key[1]}% has no line")
    tax_total = _amount(text(root, "cac:TaxTotal/cbc:TaxAmount"))
    if tax_total is None or tax_total != subtotal_sum:
        fail("ibr-co-14", f"TaxTotal {tax_total}, subtotals add up to {subtotal_sum}")

    # -- totals ------------------------------------------------------------------------------------
    totals = root.find("cac:LegalMonetaryTotal", NS)
    figures = {}
    for rule, name in (
        ("ibr-12", "LineExtensionAmount"),
        ("ibr-13", "TaxExclusiveAmount"),
        ("ibr-14", "TaxInclusiveAmount"),
        ("ibr-15", "PayableAmount"),
    ):
        figures[name] = _amount(text(totals, f"cbc:{name}"))
        if figures[name] is None:
            fail(rule, f"LegalMonetaryTotal/{name}")
    allowances = _amount(text(totals, "cbc:AllowanceTotalAmount")) or 0
    charges = _amount(text(totals, "cbc:ChargeTotalAmount")) or 0
    prepaid = _amount(text(totals, "cbc:PrepaidAmount")) or 0
    rounding = _amount(text(totals, "cbc:PayableRoundingAmount")) or 0
    lines_total, exclusive = figures["LineExtensionAmount"], figures["TaxExclusiveAmount"]
    inclusive, payable = figures["TaxInclusiveAmount"], figures["PayableAmount"]
    if lines_total is not None and lines_total != line_sum:
        fail("ibr-co-10", f"LineExtensionAmount {lines_total}, lines add up to {line_sum}")
    if exclusive is not None and lines_total is not None and exclusive != lines_total - allowances + charges:
        fail("ibr-co-13", f"TaxExclusiveAmount {exclusive}, lines {lines_total}")
    if None not in (inclusive, exclusive, tax_total) and inclusive != exclusive + tax_total:
        fail("ibr-co-15", f"{inclusive} != {exclusive} + {tax_total}")
    if None not in (payable, inclusive) and payable != inclusive - prepaid + rounding:
        fail("ibr-co-16", f"PayableAmount {payable}, TaxInclusiveAmount {inclusive}")

    # -- payment and references ------------------------------------------------------------------
    for means in root.findall("cac:PaymentMeans", NS):
        if not text(means, "cbc:PaymentMeansCode"):
            fail("ibr-49", "PaymentMeans without a code")
    for reference in root.findall("cac:BillingReference", NS):
        if not text(reference, "cac:InvoiceDocumentReference/cbc:ID"):
            fail("ibr-55", "BillingReference without InvoiceDocumentReference/ID")
    return found


def _amount(raw: str) -> int | None:
    return int(raw) if _INTEGER.match(raw) else None


def _is_date(raw: str) -> bool:
    if not _DATE.match(raw):
        return False
    try:
        date.fromisoformat(raw)
    except ValueError:
        return False
    return True
