"""The billing profile an account is created with, built in one place: as the API body and as the domain's profile.

``profile_body`` is the JSON of ``PUT /v1/accounts/{account_id}`` (its default is the body of
``events/put_account.json``, which tests/unit/test_accounts.py holds to it); ``account_profile`` is the
``AccountProfile`` the edge makes of that body (``AccountIn.as_profile``). A new profile field is added here,
once, and every test, the black-box tests and the benchmarks send it.

The domain layer (``billing``) is imported only by ``account_profile``, so the body needs no ``sys.path`` set up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing.contracts.accounts import AccountProfile
    from billing.tariff import Tariff

PERSON = "山田 太郎"
# In the order the sample event sends them; person_name is set by ``person_name``.
CONTACT = {
    "company_name": "株式会社サンプル商事",
    "department": "経理部",
    "person_name": PERSON,
    "postal_code": "100-0005",
    "address": "東京都千代田区丸の内1-1-1",
    "email": "billing@example.co.jp",
    "phone": "03-1234-5678",
}


# The account a direct-debit profile draws on unless a test gives another (from a signed 口座振替依頼書).
DEBIT_ACCOUNT = {
    "bank_code": "0005",
    "branch_code": "123",
    "account_type": "ordinary",
    "account_number": "1234567",
    "holder_kana": "ｶ)ｻﾝﾌﾟﾙｼﾖｳｼﾞ",
}


def profile_body(
    payment_method: str = "bank_transfer",
    delivery_method: str = "postal",
    *,
    person_name: str | None = PERSON,
    plan: str = "standard",
    options: Iterable[str] | object = ("bridge",),
    contact: Mapping[str, object] | None = None,
    **overrides: object,
) -> dict:
    """A new account's body, as the contract (docs/openapi.json) shows it: a fresh dict each call.

    ``person_name=None`` leaves the contact person out (the recipient line ends in 御中, not 様); ``contact`` is
    merged into ``billing_contact`` as given (a ``None`` is sent as JSON null); ``overrides`` replace or add
    top-level fields (``contract_start``, a whole ``billing_contact``, a field the API must refuse...).
    """
    billing_contact = {**CONTACT, "person_name": person_name}
    if person_name is None:
        del billing_contact["person_name"]
    billing_contact.update(contact or {})
    body = {
        "plan": plan,
        "options": list(options) if isinstance(options, tuple | list) else options,  # a wrong type as given
        "payment_method": payment_method,
        "delivery_method": delivery_method,
        "contract_start": "2026-04-01",
        "billing_contact": billing_contact,
    }
    if payment_method == "direct_debit":
        body["debit_account"] = dict(DEBIT_ACCOUNT)
    return body | overrides


def account_profile(
    payment_method: str = "bank_transfer",
    delivery_method: str = "postal",
    *,
    account_id: str = "acme",
    person_name: str | None = PERSON,
    plan: str = "standard",
    options: Iterable[str] = ("bridge",),
    contact: Mapping[str, object] | None = None,
    tariff: Tariff | None = None,
    **overrides: object,
) -> AccountProfile:
    """The domain profile of ``profile_body(...)`` with the same arguments, made as the edge makes it.

    The body is typed by ``AccountIn`` and converted by ``AccountIn.as_profile``, so it is checked against
    ``tariff`` (the tariff in force, by default) as a real PUT is.
    """
    from billing.schema.platform import AccountIn
    from billing.tariff import load_tariff

    body = profile_body(
        payment_method,
        delivery_method,
        person_name=person_name,
        plan=plan,
        options=options,
        contact=contact,
        **overrides,
    )
    return AccountIn.model_validate(body).as_profile(account_id, tariff or load_tariff())


def issued_document(account_id: str, number: str, payment_method: str, amount_due: int, pay_by: date) -> dict:
    """A stored document as the close leaves it, for worlds that seed the table directly: issued, owing
    ``amount_due`` by ``pay_by``, in the due-date index."""
    from billing.dal import keys
    from billing.dal.ledger import ledger_fields
    from billing.invoicing.numbers import document_month

    return {
        "pk": keys.account_pk(account_id),
        "sk": keys.document_sk(number),
        "invoice_number": number,
        "account_id": account_id,
        "month": document_month(number),
        "payment_method": payment_method,
        "status": "issued",
        **ledger_fields(account_id, number, amount_due, pay_by),
    }
