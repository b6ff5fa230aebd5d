"""Print batches: how a day's letters are cut into batches, and what a planner call sends."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from billing.delivery.print_run import (
    BatchToPrint,
    LetterRef,
    Lookahead,
    PrintPlanner,
    PrintRun,
    batch_id,
    batch_prefix,
    next_batch,
)


def letters_of(counts: list[int]) -> list[LetterRef]:
    return [
        LetterRef("2026-11-02", f"acct-{a:03d}", f"INV-202610-{a * 10 + i:07d}")
        for a, count in enumerate(counts)
        for i in range(count)
    ]


def cut(letters: list[LetterRef], size: int) -> list[list[LetterRef]]:
    waiting, batches = Lookahead(iter(letters)), []
    while waiting.peek() is not None:
        batches.append(next_batch(waiting, size))
    return batches


@given(st.lists(st.integers(min_value=1, max_value=7), max_size=60), st.integers(min_value=1, max_value=12))
def test_batches_take_every_letter_once_in_order_and_never_split_an_account(counts, size):
    letters = letters_of(counts)
    batches = cut(letters, size)
    assert [letter for batch in batches for letter in batch] == letters
    owners = [{letter.account_id for letter in batch} for batch in batches]
    assert sum(len(accounts) for accounts in owners) == len(counts)  # each account in one batch only
    assert all(len(batch) >= size for batch in batches[:-1])  # only the last may be short
    assert all(len(batch) < size + 7 for batch in batches)  # at most one account beyond the size


def test_batch_ids_and_keys_sort_in_batch_order():
    day = date(2026, 11, 2)
    assert batch_id(day, 7) == "2026-11-02-0007"
    assert batch_prefix(day, 12) == "print-batches/2026-11-02/0012/"
    assert sorted(batch_prefix(day, n) for n in (2, 10, 1)) == [batch_prefix(day, n) for n in (1, 2, 10)]


class NoRunsStore:
    """A planner's store that must never be touched."""

    def __getattr__(self, name):
        raise AssertionError(f"{name} called on a bank holiday")


def test_no_print_run_on_a_bank_holiday():
    step = PrintPlanner(NoRunsStore()).plan(date(2026, 11, 3))  # 文化の日
    assert (step.to_print, step.more, step.run.batches) == ([], False, 0)


class OneDayStore:
    """Just enough of a store: a recorded day with batches 1-3 sent, batch 2 written, and nothing waiting."""

    def __init__(self, run: PrintRun, earlier: list[PrintRun]):
        self._run, self._earlier = run, earlier

    def start(self, day):
        return self._run

    def runs(self, days):
        return self._earlier

    def waiting_letters(self, postings, after_account, page_size):
        return iter(())

    def record_batch(self, run, letters, planned):
        assert not letters
        self._run = PrintRun(**{**vars(run), "planned": True})
        return self._run


def test_a_re_run_re_sends_every_recorded_batch_not_yet_written_and_records_nothing_new():
    day, yesterday = date(2026, 11, 5), date(2026, 11, 4)
    today = PrintRun(day, batches=3, letters=1500, planned=True, sent=3, written=frozenset({2}))
    stuck = PrintRun(yesterday, batches=1, letters=2, planned=True, sent=1)
    step = PrintPlanner(OneDayStore(today, [stuck])).plan(day)
    assert step.to_print == [BatchToPrint(yesterday, 1, day), BatchToPrint(day, 1, day), BatchToPrint(day, 3, day)]
    assert step.run == today and not step.more
