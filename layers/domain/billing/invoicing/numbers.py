"""Document numbers: two gapless series per billing month.

``INV-YYYYMM-NNNNNNN`` numbers the month's invoices and their corrections
(修正した適格請求書 take the next number of the same series), and
``CN-YYYYMM-NNNNNNN`` its return invoices (適格返還請求書). The month is the
billing month the document belongs to; seven digits leave room for more than a
million accounts, and the fixed width keeps numbers sorting in issue order.
"""

from __future__ import annotations

import re

from billing import months

INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"
_NUMBER = re.compile(r"^(INV|CN)-([0-9]{4})(0[1-9]|1[0-2])-([0-9]{7})\Z")
MAX_SEQUENCE = 9_999_999


def document_number(series: str, month: str, sequence: int) -> str:
    """The ``sequence``-th number (1-based) of ``series`` in billing month ``month``."""
    if series not in (INVOICE_SERIES, CREDIT_NOTE_SERIES):
        raise ValueError(f"unknown number series {series!r}")
    if not months.is_month(month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence must be an integer from 1 to {MAX_SEQUENCE:,}, got {sequence!r}")
    return f"{series}-{month.replace('-', '')}-{sequence:07d}"


def invoice_number(month: str, sequence: int) -> str:
    """The number of the ``sequence``-th invoice (1-based) of billing month ``month``.

    >>> invoice_number("2026-10", 1)
    'INV-202610-0000001'
    """
    return document_number(INVOICE_SERIES, month, sequence)


def credit_note_number(month: str, sequence: int) -> str:
    """>>> credit_note_number("2026-10", 1)
    'CN-202610-0000001'
    """
    return document_number(CREDIT_NOTE_SERIES, month, sequence)


def parse_document_number(number: str) -> tuple[str, str, int]:
    """(series, month, sequence) of a document number; ValueError for anything else."""
    match = _NUMBER.match(number) if isinstance(number, str) else None
    if match is None or int(match.group(4)) == 0:
        raise ValueError(f"a document number looks like INV-202610-0000001 or CN-202610-0000001, got {number!r}")
    return match.group(1), f"{match.group(2)}-{match.group(3)}", int(match.group(4))


def parse_invoice_number(number: str) -> tuple[str, int]:
    """The (month, sequence) an invoice number was made from."""
    try:
        series, month, sequence = parse_document_number(number)
    except ValueError:
        series = None
    if series != INVOICE_SERIES:
        raise ValueError(f"invoice number must look like INV-202610-0000001, got {number!r}")
    return month, sequence


def document_month(number: str) -> str:
    """The billing month a document of either series belongs to."""
    return parse_document_number(number)[1]
