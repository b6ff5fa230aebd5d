"""The month close's fan-out (``MonthFanOut``): what it queues for a start and for each page, without AWS."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from billing.errors import CloseOutOfOrder
from billing.invoicing.close_run import AccountPage, IssueOrder, MonthFanOut

MONTH = "2026-10"
RUN = "close/2026-10/req-1"


@dataclass
class Page:
    account_ids: list[str]
    first_sequence: int
    next_cursor: dict | None

    def numbered(self) -> list[tuple[str, int]]:
        return [(account, self.first_sequence + i) for i, account in enumerate(self.account_ids)]


class Runs:
    """The run's records as the close-run store keeps them: each page once, its numbers after the last page's."""

    def __init__(self, refuse: CloseOutOfOrder | None = None):
        self.refuse, self.pages, self.last = refuse, {}, 0

    def start(self, month: str) -> bool:
        if self.refuse:
            raise self.refuse
        return True

    def page(self, month: str, page_id: str) -> Page | None:
        return self.pages.get((month, page_id))

    def record_page(self, month: str, page_id: str, account_ids: list[str], next_cursor: dict | None) -> Page:
        page = self.pages.setdefault((month, page_id), Page(account_ids, self.last + 1, next_cursor))
        self.last = max(self.last, page.first_sequence + len(account_ids) - 1)
        return page


class Accounts:
    """Two pages of shard A (the second holds an account whose contract ended before October), one of B."""

    def __init__(self):
        self.reads = []

    def page(self, shard: str, cursor: dict | None, limit: int) -> tuple[list[dict], dict | None]:
        self.reads.append((shard, cursor, limit))
        if shard == "A" and cursor is None:
            return [account("a1"), account("a2")], {"pk": "a2"}
        if shard == "A":
            return [account("a3", contract_end="2026-09-30"), account("a4")], None
        return [account("b1", contract_start="2026-11-01")], None


def account(account_id: str, contract_start: str = "2026-01-01", contract_end: str | None = None) -> dict:
    return {"account_id": account_id, "contract_start": contract_start, "contract_end": contract_end}


@pytest.fixture
def queued() -> dict:
    return {"pages": [], "issues": []}


def fan_out(queued: dict, runs: Runs | None = None, accounts: Accounts | None = None) -> MonthFanOut:
    return MonthFanOut(
        accounts=accounts or Accounts(),
        runs=runs or Runs(),
        shards=["A", "B"],
        queue_pages=queued["pages"].extend,
        queue_issues=queued["issues"].extend,
        page_size=2,
    )


def test_a_start_queues_the_first_page_of_every_shard_under_the_runs_id(queued):
    started = fan_out(queued).start(MONTH, correlation_id=RUN)
    assert started == {"month": MONTH, "shards": 2, "started": True, "correlation_id": RUN}
    assert queued["pages"] == [AccountPage(MONTH, "A", None, RUN), AccountPage(MONTH, "B", None, RUN)]


def test_a_month_refused_out_of_order_queues_nothing(queued):
    refused = CloseOutOfOrder(MONTH, "2026-09", "2026-09 is still open")
    with pytest.raises(CloseOutOfOrder):
        fan_out(queued, Runs(refuse=refused)).start(MONTH, correlation_id=RUN)
    assert queued == {"pages": [], "issues": []}


def test_each_page_queues_its_billable_accounts_with_their_numbers_then_the_shards_next_page(queued):
    months = fan_out(queued)
    first = months.fan_out(AccountPage(MONTH, "A", correlation_id=RUN))
    following = first.next_page
    assert following == AccountPage(MONTH, "A", {"pk": "a2"}, RUN)
    assert months.fan_out(following).next_page is None  # the shard's last page
    assert months.fan_out(AccountPage(MONTH, "B", correlation_id=RUN)).next_page is None
    assert first.issues == queued["issues"][:2]
    # a3's contract ended before October and b1's starts after it: neither is billed, nor given a number
    assert queued["issues"] == [
        IssueOrder(MONTH, "a1", 1, RUN),
        IssueOrder(MONTH, "a2", 2, RUN),
        IssueOrder(MONTH, "a4", 3, RUN),
    ]
    assert queued["pages"] == [following]
    assert months.accounts.reads == [("A", None, 2), ("A", {"pk": "a2"}, 2), ("B", None, 2)]


def test_a_page_delivered_twice_sends_what_it_recorded_the_first_time(queued):
    months = fan_out(queued)
    page = AccountPage(MONTH, "A", correlation_id=RUN)
    months.fan_out(page)
    first = list(queued["issues"]), list(queued["pages"])
    queued["issues"].clear(), queued["pages"].clear()
    months.fan_out(page)
    assert (queued["issues"], queued["pages"]) == first  # the same accounts under the same numbers
    assert len(months.accounts.reads) == 1  # the accounts are not listed again


def test_a_page_is_named_by_its_shard_and_cursor_whatever_the_order_of_the_cursors_keys():
    page = AccountPage(MONTH, "A", {"pk": "x", "sk": "y"})
    assert page.page_id == AccountPage(MONTH, "A", {"sk": "y", "pk": "x"}, "another run").page_id
    assert page.page_id.startswith("A:")
    assert page.page_id != AccountPage(MONTH, "A", {"pk": "z", "sk": "y"}).page_id
    assert page.page_id != AccountPage(MONTH, "B", {"pk": "x", "sk": "y"}).page_id
