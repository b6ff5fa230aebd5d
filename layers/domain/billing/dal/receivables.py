"""What every account owes, for the receivables ageing (売掛金年齢表): each account's profile (its name and
credit balance) and its open documents.

It reads every account: the shards of ``AccountsByShard``, their profiles 100 at a time, and each account's
open documents (one query each), eight accounts at a time. Its cost grows with the number of accounts, which
is what an ageing of the whole book is.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from billing.dal import keys
from billing.dal.accounts import AccountStore, contract_of
from billing.dal.clients import dynamodb, from_item
from billing.dal.ledger import LedgerStore
from billing.payments.receivables import AccountOwing

READERS = 8


class ReceivablesReader:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()
        self.accounts = AccountStore(table, self.client)
        self.ledger = LedgerStore(table, self.client)

    def owing(self, as_of: date) -> Iterator[AccountOwing]:
        """Every account as it stands now, named as its terms for ``as_of``'s month name it."""
        with ThreadPoolExecutor(READERS) as pool:
            for profiles in self._profiles():
                yield from pool.map(lambda profile: self._owing(profile, f"{as_of:%Y-%m}"), profiles)

    def _owing(self, profile: dict, month: str) -> AccountOwing:
        contract = contract_of(profile)
        name = contract.terms_for(month).billing_contact.company_name
        documents = tuple(self.ledger.open_documents(profile["account_id"]))
        return AccountOwing(profile["account_id"], name, profile.get("credit_balance", 0), documents)

    def _profiles(self) -> Iterator[list[dict]]:
        for shard in keys.all_shards():
            cursor = None
            while True:
                accounts, cursor = self.accounts.page(shard, cursor, limit=100)
                wanted = [keys.key(keys.account_pk(a["account_id"]), keys.PROFILE) for a in accounts]
                profiles = []
                while wanted:
                    answer = self.client.batch_get_item(RequestItems={self.table: {"Keys": wanted}})
                    profiles += [from_item(i) for i in answer.get("Responses", {}).get(self.table, [])]
                    wanted = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                yield profiles
                if not cursor:
                    break
