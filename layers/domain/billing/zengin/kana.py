"""Names in the Zengin form: what a bank file may carry, and how a payer's name is compared.

A bank file holds half-width (JIS X 0201) katakana, ASCII digits, upper-case Latin letters, the space and
``( ) . - /``. ``jaconv`` turns full-width into half-width; the rules it does not cover are the banks' own
and are written here:

- small kana are written large (ｯ → ﾂ, ｬ → ﾔ, ｧ → ｱ): account holders' names are registered that way;
- the prolonged sound mark (ー, ｰ) and the full-width hyphen-minus become ``-``;
- lower-case Latin letters are refused rather than upper-cased: a holder's name is copied from the
  direct-debit form, and guessing its case would hide a typing mistake.
"""

from __future__ import annotations

import re

SMALL_TO_LARGE = str.maketrans("ｧｨｩｪｫｯｬｭｮ", "ｱｲｳｴｵﾂﾔﾕﾖ")
PROLONGED = str.maketrans({"ｰ": "-", "‐": "-", "−": "-"})
ZENGIN_CHARACTERS = re.compile(r"[0-9A-Z\uFF66-\uFF9F ().\-/]*")
# A legal form in brackets before or after a payer's name: ｶ) (ｶ ﾕ) (ﾕ ｼﾔ) (ｼﾔ ｲ) (ｲ ﾄﾞ) (ﾄﾞ and the like.
LEGAL_FORM = re.compile(r"^[\uFF66-\uFF9F]{1,3}\)|\([\uFF66-\uFF9F]{1,3}$|\([\uFF66-\uFF9F]{1,3}\)")


class NotZenginText(ValueError):
    """A name that a bank file cannot carry."""


def half_width(text: str) -> str:
    """Full-width katakana, letters and digits as their half-width forms (jaconv), small kana written large."""
    import jaconv  # lazily: the profile module imports this one, and the count path must not load it

    return jaconv.z2h(text, kana=True, ascii=True, digit=True).translate(SMALL_TO_LARGE).translate(PROLONGED)


def to_zengin(text: str, max_length: int) -> str:
    """``text`` as a bank file writes it, or ``NotZenginText`` saying why not."""
    zengin = re.sub(" +", " ", half_width(text.strip()))
    if not zengin:
        raise NotZenginText("must not be empty")
    if not ZENGIN_CHARACTERS.fullmatch(zengin):
        wrong = sorted({c for c in zengin if not ZENGIN_CHARACTERS.fullmatch(c)})
        raise NotZenginText(
            "may hold only katakana, digits, upper-case letters, space and ( ) . - /; not " + " ".join(wrong)
        )
    if len(zengin) > max_length:
        raise NotZenginText(f"is {len(zengin)} characters in the bank's form; at most {max_length}")
    return zengin


def payer_key(name: str) -> str:
    """A payer's name as it is compared: the Zengin form, spaces removed, a bracketed legal form dropped.

    ``ｶ)ｻﾝﾌﾟﾙ ｼｮｳｼﾞ``, ``ｻﾝﾌﾟﾙｼｮｳｼﾞ(ｶ`` and ``サンプルショウジ`` all have the key ``ｻﾝﾌﾟﾙｼﾖｳｼﾞ``.
    """
    return LEGAL_FORM.sub("", half_width(name).replace(" ", ""))
