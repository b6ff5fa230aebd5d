"""The BillingTable's single-table layout, in one place.

=====================  =======================  ==========================================
pk                     sk                       what
=====================  =======================  ==========================================
ACCOUNT#<id>           PROFILE                  billing profile; ``closed_through`` (last
                                                closed month); ``last#<YYYY-MM>`` the open
                                                month's last count (the write gate)
ACCOUNT#<id>           USAGE#<YYYY-MM>          ``day#<YYYY-MM-DD>`` day highs, opening
                                                count, and once closed the frozen last count
=====================  =======================  ==========================================
"""

PROFILE = "PROFILE"


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def usage_sk(month: str) -> str:
    return f"USAGE#{month}"


def last_attr(month: str) -> str:
    return f"last#{month}"


def day_attr(day: str) -> str:
    return f"day#{day}"


def key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}
