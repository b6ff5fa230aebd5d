"""The official PINT JP 1.1.3 rules (OpenPeppol's compiled Schematron, under Saxon) over every kind of document.

Validity is theirs to decide: no failed assert is allowed, except ibr-080 (no buyer electronic address) for a
buyer that gave no 法人番号. ``tests/pint_jp.py`` runs them; where the rule files come from:
``tests/data/pint-jp/SOURCE.md``.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date

import pytest

from billing.invoicing.einvoice import render_einvoice
from billing.invoicing.invoice import Invoice, InvoiceLine, build_invoice, summarise_tax
from billing.invoicing.issuer import load_issuer
from billing.invoicing.numbers import invoice_number
from billing.invoicing.returns import return_invoice
from billing.schema.values import MAX_COUNT
from billing.tariff import load_tariff
from tests.einvoice_checks import check_against_invoice
from tests.pint_jp import BUNDLE, EXAMPLES, NO_BUYER_ENDPOINT, RULE_FILES, PintJp, failed_asserts, main
from tests.unit.test_invoice import invoice as invoice_at_peak
from tests.unit.test_invoice import profile, usage
from tests.unit.test_invoice_pdf import make_invoice

ROOT = BUNDLE.parents[4]  # the repository
CORPORATE_NUMBER = "7000012050002"  # 国税庁's own 法人番号 (a real one: its check digit 7 is right)
MARKUP = "A&B <株式会社> \"'"  # everything XML must escape


def documents() -> dict[str, Invoice]:
    """One of every kind of document the service issues, as issued (no 法人番号 on the recipient)."""
    transfer = make_invoice("bank_transfer", "web")
    debit = make_invoice("direct_debit", "postal", person=None)
    correction = build_invoice(
        invoice_number("2026-10", 2),
        profile(),
        usage(25_000),
        load_tariff(),
        load_issuer(),
        replaces=transfer,
        issued_on=date(2026, 11, 20),
        reason="ピーク件数の訂正（報告漏れ）",
    )
    free = (InvoiceLine("plan:standard", "スタンダードプラン 利用料", "1ヶ月", 0, 10),)
    escaped_contact = replace(
        transfer.recipient, company_name=MARKUP, department="経理部 & <総務>", person_name='O\'Brien "Bob"'
    )
    return {
        "invoice (bank transfer)": transfer,
        "debit invoice": debit,
        "final invoice": replace(debit, final=True),
        "correction": correction,
        "correction of a final invoice": replace(correction, final=True),
        "return invoice": return_invoice(transfer, "CN-202610-0000001", date(2026, 11, 20), 5_500, "料金区分の誤り"),
        "return of the whole invoice": return_invoice(
            transfer, "CN-202610-0000002", date(2026, 11, 20), transfer.total, "契約の取消"
        ),
        "return with a zero tax": return_invoice(transfer, "CN-202610-0000003", date(2026, 11, 20), 5, "端数"),
        "return against a correction": return_invoice(
            correction, "CN-202610-0000004", date(2026, 11, 25), 1_000, "訂正後の一部返金"
        ),
        "quiet month (no counts)": invoice_at_peak(0, options=()),
        "zero-yen document": replace(transfer, lines=free, tax_summary=summarise_tax(free, "down")),
        "largest bracket": invoice_at_peak(MAX_COUNT, plan="premium", options=("bridge", "dedicated_ip")),
        "escaped characters": replace(transfer, recipient=escaped_contact),
        "escaped reason": return_invoice(transfer, "CN-202610-0000005", date(2026, 11, 20), 100, f"{MARKUP} の返金"),
    }


DOCUMENTS = documents()


def with_corporate_number(invoice: Invoice) -> Invoice:
    return replace(invoice, recipient=replace(invoice.recipient, corporate_number=CORPORATE_NUMBER))


def ids(xml: bytes) -> list[str]:
    return [failed.id for failed in failed_asserts(xml)]


# -- the validator itself ------------------------------------------------------------------------


def test_the_rule_files_are_the_ones_source_md_names():
    # Given the sha256 table of SOURCE.md
    table = dict(
        re.findall(r"^\| `([^`]+)`[^|]*\| `([0-9a-f]{64})` \|$", (BUNDLE.parents[1] / "SOURCE.md").read_text(), re.M)
    )
    # Then both compiled rule files (and their sources) are byte for byte the ones it names
    for path in (*RULE_FILES, *(path.with_suffix(".sch") for path in RULE_FILES)):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == table[path.name], path.name


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.xml")), ids=lambda path: path.stem)
def test_the_official_examples_pass(example):
    assert ids(example.read_bytes()) == []


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("<cbc:IssueDate>2026-11-01</cbc:IssueDate>", "<cbc:IssueDate>2026-11-1</cbc:IssueDate>", "ibr-073"),
        (
            "<cbc:CompanyID>T5999901234567</cbc:CompanyID>",
            "<cbc:CompanyID>5999901234567</cbc:CompanyID>",
            "aligned-ibr-jp-01",
        ),
        (
            '<cbc:PayableAmount currencyID="JPY">11000</cbc:PayableAmount>',
            '<cbc:PayableAmount currencyID="JPY">10000</cbc:PayableAmount>',
            "ibr-co-16",
        ),
        (
            '<cbc:TaxInclusiveAmount currencyID="JPY">11000</cbc:TaxInclusiveAmount>',
            '<cbc:TaxInclusiveAmount currencyID="JPY">11001</cbc:TaxInclusiveAmount>',
            "ibr-co-15",
        ),
        (
            '<cbc:PriceAmount currencyID="JPY">7000</cbc:PriceAmount>',
            '<cbc:PriceAmount currencyID="JPY">-7000</cbc:PriceAmount>',
            "ibr-027",
        ),
        (
            '<cbc:TaxableAmount currencyID="JPY">10000</cbc:TaxableAmount>',
            '<cbc:TaxableAmount currencyID="JPY">12000</cbc:TaxableAmount>',
            "aligned-ibrp-051-jp",
        ),
        ("<cbc:EndDate>2026-10-31</cbc:EndDate>", "<cbc:EndDate>2026-09-30</cbc:EndDate>", "ibr-029"),
        (
            "<cbc:CustomizationID>urn:peppol:pint:billing-1@jp-1</cbc:CustomizationID>",
            "<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>",
            "aligned-ibrp-001-jp",
        ),
        (f'<cbc:EndpointID schemeID="0188">{CORPORATE_NUMBER}</cbc:EndpointID>', "", NO_BUYER_ENDPOINT),
    ],
)
def test_the_validator_fails_a_broken_document(old, new, rule):
    # Given a document that passes every rule
    xml = render_einvoice(with_corporate_number(DOCUMENTS["invoice (bank transfer)"])).decode("utf-8")
    assert ids(xml.encode()) == []
    # When one thing in it is broken
    assert old in xml, old
    # Then the official rule that names the mistake fails, as a fatal assert with its message
    failed = failed_asserts(xml.replace(old, new, 1).encode())
    assert rule in [f.id for f in failed]
    found = next(f for f in failed if f.id == rule)
    assert found.flag == "fatal" and f"[{rule}]" in found.text


def test_a_document_that_is_not_an_invoice_is_refused_not_passed():
    rules = PintJp()
    with pytest.raises(ValueError, match="not well-formed"):
        rules.failed_asserts(b"<Invoice")
    with pytest.raises(RuntimeError, match="fired on nothing"):
        rules.failed_asserts(b'<?xml version="1.0"?><CreditNote xmlns="urn:example"/>')


# -- every kind of document -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", DOCUMENTS)
def test_every_kind_of_document_passes_the_official_rules_when_the_buyer_has_a_corporate_number(kind):
    invoice = with_corporate_number(DOCUMENTS[kind])
    xml = render_einvoice(invoice)
    assert failed_asserts(xml) == []
    assert check_against_invoice(xml, invoice) == []  # and says what the invoice says


@pytest.mark.parametrize("kind", DOCUMENTS)
def test_without_a_corporate_number_the_only_failure_is_the_missing_buyer_address(kind):
    invoice = DOCUMENTS[kind]
    xml = render_einvoice(invoice)
    assert ids(xml) == [NO_BUYER_ENDPOINT]
    assert check_against_invoice(xml, invoice) == []


# -- alone, from the command line -----------------------------------------------------------------


def test_the_command_line_passes_a_good_document_and_fails_a_broken_one(tmp_path, capsys):
    good = tmp_path / "good.xml"
    good.write_bytes(render_einvoice(with_corporate_number(DOCUMENTS["correction"])))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(render_einvoice(DOCUMENTS["correction"]))
    not_xml = tmp_path / "not.xml"
    not_xml.write_text("hello")

    assert main([str(good)]) == 0
    assert "good.xml: ok (0 failed asserts)" in capsys.readouterr().out
    assert main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "bad.xml: FAIL (1 failed assert)" in out and "[fatal] ibr-080" in out
    assert main([str(not_xml)]) == 2
    assert main([]) == 2


def test_python_dash_m_tests_pint_jp_runs_from_the_repository(tmp_path):
    # The command docs/einvoice.md gives, in a fresh interpreter: the exit status says whether the file passes
    path = tmp_path / "invoice.xml"
    path.write_bytes(render_einvoice(DOCUMENTS["debit invoice"]))
    run = subprocess.run(
        [sys.executable, "-m", "tests.pint_jp", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1, run.stderr
    assert "ibr-080" in run.stdout
    path.write_bytes(render_einvoice(with_corporate_number(DOCUMENTS["debit invoice"])))
    run = subprocess.run(
        [sys.executable, "-m", "tests.pint_jp", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert (run.returncode, run.stdout.strip()) == (0, f"{path}: ok (0 failed asserts)"), run.stderr
