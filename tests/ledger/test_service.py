"""The books' operations on SQLite and PostgreSQL: accounts, transfers, holds, batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound
from potluck.ledger import rules
from potluck.ledger.models import Account, OpenHold, Transfer
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import accounts, books, posting
from tests.ledger.factories import Books, make_books, make_custodian, make_project
from tests.support.books import assert_books_verify


@pytest.fixture
def ledger(database: Database) -> Iterator[Books]:
    with database.transaction() as session:
        made = make_books(session)
    yield made
    assert_books_verify(database)


def post(
    database: Database, clock: FrozenClock, *requests: TransferRequest, batch_id: str | None = None
) -> list[rules.TransferRow]:
    with database.transaction() as session:
        return posting.post_batch(session, list(requests), now=clock.now(), batch_id=batch_id)


def totals(database: Database, account_id: int) -> tuple[int, int, int, int]:
    with database.transaction(write=False) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return (
            account.debits_pending,
            account.debits_posted,
            account.credits_pending,
            account.credits_posted,
        )


def count_transfers(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Transfer)) or 0)


def give(ledger: Books, tid: str, amount: int) -> TransferRequest:
    return TransferRequest(tid, "transfer", ledger.given.id, ledger.funds.id, amount)


class TestOpenAccount:
    def test_opening_twice_returns_the_same_account(self, database: Database) -> None:
        with database.transaction() as session:
            made = make_books(session)
            again = accounts.open_account(
                session,
                owner="project",
                purpose="funds",
                project_id=made.project.id,
                custodian_id=made.custodian.id,
                commodity="EUR",
                now=made.project.created_at,
            )
            assert again.id == made.funds.id

    def test_funds_forbid_a_negative_balance_by_default(self, database: Database) -> None:
        with database.transaction() as session:
            made = make_books(session)
            assert made.funds.no_negative
            assert not made.given.no_negative
            assert not made.world.no_negative

    def test_project_funds_need_a_custodian(self, database: Database) -> None:
        with database.transaction() as session:
            project = make_project(session)
            with pytest.raises(InvalidInput, match="name the custodian") as refused:
                accounts.open_account(
                    session,
                    owner="project",
                    purpose="funds",
                    project_id=project.id,
                    commodity="EUR",
                    now=project.created_at,
                )
            assert refused.value.field == "custodian_id"

    def test_what_a_project_owes_is_at_one_custodian_and_may_go_below_zero(
        self, database: Database
    ) -> None:
        with database.transaction() as session:
            made = make_books(session)
            with pytest.raises(InvalidInput, match="owes at one custodian") as refused:
                accounts.open_account(
                    session,
                    owner="project",
                    purpose="owed",
                    project_id=made.project.id,
                    commodity="EUR",
                    now=made.project.created_at,
                )
            assert refused.value.field == "custodian_id"
            owed = accounts.open_account(
                session,
                owner="project",
                purpose="owed",
                project_id=made.project.id,
                custodian_id=made.custodian.id,
                commodity="EUR",
                now=made.project.created_at,
            )
            assert not owed.no_negative
            assert owed.id != made.funds.id

    def test_unknown_commodity_is_named(self, database: Database) -> None:
        with database.transaction() as session:
            project = make_project(session)
            with pytest.raises(NotFound, match="'XYZ' is not a known commodity"):
                accounts.open_account(
                    session,
                    owner="project",
                    purpose="in-kind",
                    project_id=project.id,
                    commodity="XYZ",
                    now=project.created_at,
                )

    def test_instance_defined_unit_can_be_used(self, database: Database) -> None:
        with database.transaction() as session:
            project = make_project(session)
            accounts.define_resource_unit(session, code="gpu-hour", exponent=4, name="GPU hour")
            account = accounts.open_account(
                session,
                owner="project",
                purpose="in-kind",
                project_id=project.id,
                commodity="gpu-hour",
                now=project.created_at,
            )
            assert account.commodity == "gpu-hour"
            assert accounts.known_commodities(session)["gpu-hour"].exponent == 4

    def test_a_unit_keeps_its_precision(self, database: Database) -> None:
        with database.transaction() as session:
            accounts.define_resource_unit(session, code="gpu-hour", exponent=4, name="GPU hour")
            with pytest.raises(Conflict, match="precision never changes"):
                accounts.define_resource_unit(session, code="gpu-hour", exponent=2, name="GPU hour")


class TestCustodians:
    def test_names_are_unique(self, database: Database) -> None:
        with database.transaction() as session:
            make_custodian(session, name="Example Host")
            with pytest.raises(Conflict, match="already exists"):
                make_custodian(session, name="Example  Host")

    def test_kind_must_be_known(self, database: Database) -> None:
        with database.transaction() as session, pytest.raises(InvalidInput, match="kind"):
            make_custodian(session, kind="piggy-bank")


class TestPostTransfer:
    def test_moves_value_and_keeps_balances(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        (row,) = post(database, clock, give(ledger, "t1", 2500))
        assert (row.kind, row.amount, row.commodity, row.seq) == ("transfer", 2500, "EUR", 1)
        assert totals(database, ledger.funds.id) == (0, 0, 0, 2500)
        assert totals(database, ledger.given.id) == (0, 2500, 0, 0)

    def test_repeating_an_id_with_the_same_content_is_harmless(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        first = post(database, clock, give(ledger, "t1", 2500))
        clock.advance(timedelta(minutes=5))
        again = post(database, clock, give(ledger, "t1", 2500))
        assert again == first
        assert count_transfers(database) == 1
        assert totals(database, ledger.funds.id) == (0, 0, 0, 2500)

    def test_repeating_an_id_with_other_content_is_refused(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        post(database, clock, give(ledger, "t1", 2500))
        with pytest.raises(rules.TransferIdReused, match="different amount"):
            post(database, clock, give(ledger, "t1", 2600))
        assert count_transfers(database) == 1

    def test_refuses_going_below_zero_and_writes_nothing(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        post(database, clock, give(ledger, "t1", 1000))
        spend = TransferRequest("t2", "transfer", ledger.funds.id, ledger.world.id, 1001)
        with pytest.raises(rules.InsufficientFunds, match=r"10\.00 EUR available"):
            post(database, clock, spend)
        assert count_transfers(database) == 1
        assert totals(database, ledger.funds.id) == (0, 0, 0, 1000)

    def test_steward_may_only_post_into_their_books(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            other = make_project(session)
            other_chain = accounts.ensure_chain(session, other.id)
            with pytest.raises(Forbidden, match="only a steward"):
                posting.post_transfer(
                    session, give(ledger, "t1", 5), now=clock.now(), allowed_chain_ids={other_chain}
                )

    def test_chains_each_project_separately(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            second = make_books(session)
        post(database, clock, give(ledger, "a1", 1), give(second, "b1", 1), give(ledger, "a2", 1))
        with database.transaction(write=False) as session:
            rows = posting.transfers_by_id(session, ["a1", "a2", "b1"])
        assert (rows["a1"].seq, rows["a2"].seq, rows["b1"].seq) == (1, 2, 1)
        assert rows["a1"].chain_id != rows["b1"].chain_id
        assert rows["a2"].prev_hash == rows["a1"].hash


class TestHolds:
    def test_hold_reserves_then_partial_post_releases_the_rest(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        post(database, clock, give(ledger, "t1", 1000))
        hold = TransferRequest(
            "h1", "hold", ledger.funds.id, ledger.world.id, 600, timeout_seconds=60
        )
        post(database, clock, hold)
        assert totals(database, ledger.funds.id) == (600, 0, 0, 1000)
        post(database, clock, TransferRequest("p1", "post", pending_id="h1", amount=250))
        assert totals(database, ledger.funds.id) == (0, 250, 0, 1000)
        assert totals(database, ledger.world.id) == (0, 0, 0, 250)

    def test_a_hold_counts_against_the_no_negative_rule(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        post(database, clock, give(ledger, "t1", 1000))
        post(database, clock, TransferRequest("h1", "hold", ledger.funds.id, ledger.world.id, 600))
        spend = TransferRequest("t2", "transfer", ledger.funds.id, ledger.world.id, 401)
        with pytest.raises(rules.InsufficientFunds, match=r"4\.00 EUR available"):
            post(database, clock, spend)

    def test_void_releases_everything(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        post(database, clock, give(ledger, "t1", 1000))
        post(database, clock, TransferRequest("h1", "hold", ledger.funds.id, ledger.world.id, 600))
        post(database, clock, TransferRequest("v1", "void", pending_id="h1"))
        assert totals(database, ledger.funds.id) == (0, 0, 0, 1000)

    def test_ends_exactly_once(self, database: Database, ledger: Books, clock: FrozenClock) -> None:
        post(database, clock, give(ledger, "t1", 1000))
        post(database, clock, TransferRequest("h1", "hold", ledger.funds.id, ledger.world.id, 600))
        post(database, clock, TransferRequest("v1", "void", pending_id="h1"))
        with pytest.raises(rules.HoldAlreadyEnded, match="already ended with transfer v1"):
            post(database, clock, TransferRequest("p1", "post", pending_id="h1"))

    def test_unknown_hold_is_named(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        with pytest.raises(NotFound, match="hold nope does not exist"):
            post(database, clock, TransferRequest("p1", "post", pending_id="nope"))


class TestExpireHolds:
    def test_expires_holds_past_their_timeout(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        post(database, clock, give(ledger, "t1", 1000))
        post(
            database,
            clock,
            TransferRequest(
                "h1", "hold", ledger.funds.id, ledger.world.id, 600, timeout_seconds=60
            ),
            TransferRequest(
                "h2", "hold", ledger.funds.id, ledger.world.id, 100, timeout_seconds=600
            ),
        )
        clock.advance(timedelta(seconds=61))
        with database.transaction() as session:
            ended = posting.expire_holds(session, now=clock.now())
        assert [(r.id, r.kind, r.pending_id) for r in ended] == [("expire:h1", "expire", "h1")]
        assert totals(database, ledger.funds.id) == (100, 0, 0, 1000)
        with database.transaction() as session:
            assert posting.expire_holds(session, now=clock.now()) == []

    def test_a_late_post_is_refused_and_the_hold_expires(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        post(database, clock, give(ledger, "t1", 1000))
        hold = TransferRequest(
            "h1", "hold", ledger.funds.id, ledger.world.id, 600, timeout_seconds=60
        )
        post(database, clock, hold)
        clock.advance(timedelta(minutes=2))
        with pytest.raises(rules.HoldAlreadyEnded, match="expire:h1"):
            post(database, clock, TransferRequest("p1", "post", pending_id="h1"))

    def test_funds_held_by_an_expired_hold_are_available_again(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        post(database, clock, give(ledger, "t1", 1000))
        hold = TransferRequest(
            "h1", "hold", ledger.funds.id, ledger.world.id, 900, timeout_seconds=60
        )
        post(database, clock, hold)
        clock.advance(timedelta(minutes=2))
        spend = TransferRequest("t2", "transfer", ledger.funds.id, ledger.world.id, 1000)
        (row,) = post(database, clock, spend)
        assert row.id == "t2"
        with database.transaction(write=False) as session:
            assert session.scalar(select(func.count()).select_from(OpenHold)) == 0


class TestBatch:
    def test_all_or_nothing(self, database: Database, ledger: Books, clock: FrozenClock) -> None:
        with pytest.raises(rules.InsufficientFunds, match="Transfer b3") as refused:
            post(
                database,
                clock,
                give(ledger, "b1", 100),
                give(ledger, "b2", 100),
                TransferRequest("b3", "transfer", ledger.funds.id, ledger.world.id, 201),
                batch_id="batch-1",
            )
        assert refused.value.field == "transfers[2].amount"
        assert count_transfers(database) == 0

    def test_records_the_batch_on_every_transfer(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        rows = post(
            database, clock, give(ledger, "b1", 100), give(ledger, "b2", 100), batch_id="batch-1"
        )
        assert {r.batch_id for r in rows} == {"batch-1"}

    def test_empty_batch_is_refused(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        with pytest.raises(InvalidInput, match="at least one"):
            post(database, clock)


class TestReversal:
    def test_a_mistake_is_undone_by_a_new_transfer(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        post(database, clock, give(ledger, "t1", 1000))
        (row,) = post(database, clock, TransferRequest("r1", reverses_id="t1"))
        assert (row.debit_account_id, row.credit_account_id) == (ledger.funds.id, ledger.given.id)
        assert totals(database, ledger.funds.id) == (0, 1000, 0, 1000)
        assert count_transfers(database) == 2


class TestPublicBooks:
    def test_pages_transfers_newest_first_filtered(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        for number in range(5):
            post(database, clock, give(ledger, f"t{number}", 100 + number))
            clock.advance(timedelta(days=1))
        with database.transaction(write=False) as session:
            chain = books.project_chain(session, ledger.project.id)
            assert chain is not None
            first = books.transfers_page(session, chain.id, per_page=2)
            assert [t.id for t in first.transfers] == ["t4", "t3"]
            assert first.has_more
            third = books.transfers_page(session, chain.id, per_page=2, page=3)
            assert [t.id for t in third.transfers] == ["t0"]
            assert not third.has_more
            start = ledger.project.created_at + timedelta(days=1)
            period = books.transfers_page(
                session, chain.id, since=start, until=start + timedelta(days=2)
            )
            assert [t.id for t in period.transfers] == ["t2", "t1"]
            assert books.transfers_page(session, chain.id, commodity="USD").transfers == []
