"""Cells a spreadsheet will not run: every CSV the project writes goes through ``csv_cell``.

OWASP's rule for CSV injection: a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is read as a formula by Excel and its kin, so
it is prefixed with a single quote. The customer's text is otherwise kept as
they wrote it.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text; integers we wrote ourselves stay numbers."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
