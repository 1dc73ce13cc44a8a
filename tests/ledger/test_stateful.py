"""Random sequences of transfers, holds, posts, voids, expiries, batches, retries and
reversals against a real database, checked against a model and ``verify`` after every step."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.errors import PotluckError
from potluck.ledger.models import Account
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import posting
from potluck.ledger.service.verify import verify_books
from tests.ledger.factories import Books, make_books

amounts = st.integers(min_value=1, max_value=10_000)
_machines = itertools.count()


@dataclass
class Hold:
    amount: int
    timeout_at: datetime | None
    ended: bool = False


@dataclass
class Model:
    """The project's funds as they should be: (debits held, debits posted, credits posted)."""

    held: int = 0
    debited: int = 0
    credited: int = 0
    holds: dict[str, Hold] = field(default_factory=dict)
    moved: dict[str, tuple[int, bool]] = field(default_factory=dict)
    """Reversible transfers: amount, and whether the funds were debited."""
    reversed: set[str] = field(default_factory=set)

    @property
    def available(self) -> int:
        return self.credited - self.debited - self.held

    def expire_due(self, now: datetime) -> None:
        for hold in self.holds.values():
            if not hold.ended and hold.timeout_at is not None and hold.timeout_at <= now:
                hold.ended = True
                self.held -= hold.amount


class BooksMachine(RuleBasedStateMachine):
    holds = Bundle("holds")
    moved = Bundle("moved")

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database
        self.clock = FrozenClock()
        self.model = Model()
        self.prefix = f"m{next(_machines)}"
        self.ids = itertools.count()
        self.books: Books

    def new_id(self) -> str:
        return f"{self.prefix}-{next(self.ids)}"

    def post(self, *requests: TransferRequest) -> bool:
        """Post; True if posted, False if refused with a PotluckError (nothing written)."""
        try:
            with self.database.transaction() as session:
                posting.post_batch(session, list(requests), now=self.clock.now())
        except PotluckError:
            return False
        return True

    @initialize()
    def open_books(self) -> None:
        with self.database.transaction() as session:
            self.books = make_books(session)

    def give_request(self, tid: str, amount: int) -> TransferRequest:
        return TransferRequest(tid, "transfer", self.books.given.id, self.books.funds.id, amount)

    def spend_request(self, tid: str, amount: int) -> TransferRequest:
        return TransferRequest(tid, "transfer", self.books.funds.id, self.books.world.id, amount)

    @rule(target=moved, amount=amounts)
    def give(self, amount: int) -> str:
        tid = self.new_id()
        self.model.expire_due(self.clock.now())
        assert self.post(self.give_request(tid, amount))
        self.model.credited += amount
        self.model.moved[tid] = (amount, False)
        return tid

    @rule(target=moved, amount=amounts)
    def spend(self, amount: int) -> object:
        tid = self.new_id()
        self.model.expire_due(self.clock.now())
        expected = amount <= self.model.available
        assert self.post(self.spend_request(tid, amount)) is expected
        if not expected:
            return multiple()
        self.model.debited += amount
        self.model.moved[tid] = (amount, True)
        return tid

    @rule(target=holds, amount=amounts, timeout=st.sampled_from([None, 60, 3600]))
    def hold(self, amount: int, timeout: int | None) -> object:
        tid = self.new_id()
        now = self.clock.now()
        self.model.expire_due(now)
        request = TransferRequest(
            tid, "hold", self.books.funds.id, self.books.world.id, amount, timeout_seconds=timeout
        )
        expected = amount <= self.model.available
        assert self.post(request) is expected
        if not expected:
            return multiple()
        self.model.held += amount
        self.model.holds[tid] = Hold(amount, now + timedelta(seconds=timeout) if timeout else None)
        return tid

    @rule(target=moved, hold_id=consumes(holds), share=st.integers(min_value=1, max_value=100))
    def post_hold(self, hold_id: str, share: int) -> object:
        self.model.expire_due(self.clock.now())
        hold = self.model.holds[hold_id]
        amount = max(1, hold.amount * share // 100)
        tid = self.new_id()
        posted = self.post(TransferRequest(tid, "post", pending_id=hold_id, amount=amount))
        assert posted is not hold.ended
        if not posted:
            return multiple()
        hold.ended = True
        self.model.held -= hold.amount
        self.model.debited += amount
        self.model.moved[tid] = (amount, True)
        return tid

    @rule(hold_id=consumes(holds))
    def void_hold(self, hold_id: str) -> None:
        self.model.expire_due(self.clock.now())
        hold = self.model.holds[hold_id]
        voided = self.post(TransferRequest(self.new_id(), "void", pending_id=hold_id))
        assert voided is not hold.ended
        if voided:
            hold.ended = True
            self.model.held -= hold.amount

    @rule(seconds=st.sampled_from([30, 61, 3601]))
    def time_passes_and_holds_expire(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        with self.database.transaction() as session:
            posting.expire_holds(session, now=self.clock.now())
        self.model.expire_due(self.clock.now())

    @rule(gifts=st.lists(amounts, min_size=1, max_size=4), spent=amounts)
    def batch(self, gifts: list[int], spent: int) -> None:
        self.model.expire_due(self.clock.now())
        requests = [self.give_request(self.new_id(), amount) for amount in gifts]
        requests.append(self.spend_request(self.new_id(), spent))
        expected = spent <= self.model.available + sum(gifts)
        assert self.post(*requests) is expected
        if expected:
            self.model.credited += sum(gifts)
            self.model.debited += spent

    @rule(tid=moved, change=st.booleans())
    def retry(self, tid: str, change: bool) -> None:
        amount, debits_funds = self.model.moved[tid]
        with self.database.transaction(write=False) as session:
            stored = posting.transfers_by_id(session, [tid])[tid]
        request = TransferRequest(
            tid,
            stored.kind,
            stored.debit_account_id if stored.kind == "transfer" else None,
            stored.credit_account_id if stored.kind == "transfer" else None,
            stored.amount + (1 if change else 0),
            pending_id=stored.pending_id,
            reverses_id=stored.reverses_id,
        )
        self.model.expire_due(self.clock.now())
        # Same content: answered like the first time. Changed: refused. Nothing moves.
        assert self.post(request) is not change
        del amount, debits_funds

    @rule(tid=moved)
    def reverse(self, tid: str) -> None:
        amount, debits_funds = self.model.moved[tid]
        self.model.expire_due(self.clock.now())
        expected = tid not in self.model.reversed and (
            debits_funds or amount <= self.model.available
        )
        reversed_ = self.post(TransferRequest(self.new_id(), "transfer", reverses_id=tid))
        assert reversed_ is expected
        if reversed_:
            self.model.reversed.add(tid)
            if debits_funds:
                self.model.credited += amount
            else:
                self.model.debited += amount

    @invariant()
    def funds_match_the_model_and_the_books_verify(self) -> None:
        if not hasattr(self, "books"):
            return
        with self.database.transaction(write=False) as session:
            funds = session.scalars(select(Account).where(Account.id == self.books.funds.id)).one()
            actual = (funds.debits_pending, funds.debits_posted, funds.credits_posted)
        assert actual == (self.model.held, self.model.debited, self.model.credited)
        assert self.model.available >= 0
        report = verify_books(self.database)
        assert report.ok, report.problems


class TestRandomSequences:
    def test_every_invariant_holds_after_every_step(self, database: Database) -> None:
        run_state_machine_as_test(
            lambda: BooksMachine(database),  # type: ignore[arg-type]
            settings=settings(max_examples=8, stateful_step_count=12, deadline=None),
        )
