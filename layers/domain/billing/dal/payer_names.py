"""Who pays under which name: ``PAYER#<normalised payer name>`` / ``PAYER`` holds the accounts (``accounts``)
whose transfers arrive under it.

An account's ``payer_name_kana`` is added when the account is created or the name is changed, and an operator's
allocation of an unmatched payment adds the payer's name to that account (a learned name). Names are only ever
added: an old name stays known for its account, as a payer may still pay under it. Matching reads these items by
key (``billing.dal.bank_credits``); two accounts under one name make a transfer under it ambiguous.
"""

from __future__ import annotations

from billing.dal import keys
from billing.zengin.kana import payer_key


def payer_name_key(name: str) -> dict:
    return keys.key(keys.payer_pk(payer_key(name)), "PAYER")


def learn_payer_name(table: str, name: str, account_id: str) -> dict:
    """The write (for a transaction) that adds ``account_id`` to the accounts paying under ``name``."""
    return {
        "Update": {
            "TableName": table,
            "Key": payer_name_key(name),
            "UpdateExpression": "ADD accounts :account",
            "ExpressionAttributeValues": {":account": {"SS": [account_id]}},
        }
    }
