"""Cells a spreadsheet will not run: every CSV the project writes goes through ``csv_cell``.

OWASP's rule for CSV injection: a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is read as a formula by Excel and its kin, so
it is prefixed with a single quote. Spreadsheets skip what they show as
nothing before the formula, and Japanese Excel reads the full-width forms
(``＝ ＋ － ＠``) as their ASCII selves, so the rule looks at the first
character after any leading white space or invisible character (U+3000, a
no-break space, a zero-width space, a BOM, a word joiner...), in any width.
The customer's text is otherwise kept as they wrote it.
"""

from __future__ import annotations

import unicodedata

FORMULA_STARTS = frozenset("=+-@")
# Tab and CR start a formula (or a new cell) even among other leading white space.
CONTROL_STARTS = frozenset("\t\r")
# What a spreadsheet shows as nothing: separators and white space (Z*, and \t \n \v \f \r \x1c-\x1f \x85),
# controls (Cc) and format characters (Cf: U+200B-U+200F, U+2060-U+2064, U+FEFF, U+180E, bidi controls...).
_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def _is_blank(character: str) -> bool:
    return character.isspace() or unicodedata.category(character) in _BLANK_CATEGORIES


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula: see the module's docstring."""
    for character in text:
        if character in CONTROL_STARTS:
            return True
        if not _is_blank(character):
            # NFKC folds the full-width (＝ ＋ － ＠) and small (﹦ ﹢ ﹣ ﹫) forms into = + - @.
            return unicodedata.normalize("NFKC", character) in FORMULA_STARTS
    return False


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text; integers we wrote ourselves stay numbers."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if runs_as_formula(text) else text
