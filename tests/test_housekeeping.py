"""Housekeeping: holds end at their timeout without anyone posting, and dead sessions and old
failed sign-ins are forgotten; on both databases, by a function, a thread and a command."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from potluck import housekeeping
from potluck.cli import cli
from potluck.clock import FrozenClock
from potluck.config import Settings
from potluck.db import Database
from potluck.ledger.models import Account, OpenHold, Transfer
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import accounts, posting
from potluck.people import service as people
from potluck.people.models import SignInFailure, WebSession
from tests.ledger.factories import Books, make_books
from tests.people.factories import make_peer

WINDOW = timedelta(minutes=15)


@pytest.fixture
def books(database: Database, clock: FrozenClock) -> Books:
    """Funds of 1,000 with two holds on them: one of an hour, one of a day."""
    with database.transaction() as session:
        made = make_books(session, now=clock.now())
        posting.post_batch(
            session,
            [
                TransferRequest("gift", "transfer", made.given.id, made.funds.id, 1000),
                TransferRequest(
                    "hour", "hold", made.funds.id, made.world.id, 300, timeout_seconds=3600
                ),
                TransferRequest(
                    "day", "hold", made.funds.id, made.world.id, 200, timeout_seconds=86400
                ),
            ],
            now=clock.now(),
        )
    return made


def _open_holds(database: Database) -> set[str]:
    with database.transaction(write=False) as session:
        return set(session.scalars(select(OpenHold.transfer_id)))


def _balance(database: Database, account_id: int) -> int:
    with database.transaction(write=False) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account.credits_posted - account.debits_posted


def _reserved(database: Database, account_id: int) -> int:
    with database.transaction(write=False) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account.debits_pending


class TestHolds:
    def test_only_holds_past_their_timeout_end(
        self, database: Database, clock: FrozenClock, books: Books
    ) -> None:
        assert housekeeping.expire_due_holds(database, now=clock.now()) == 0
        assert _open_holds(database) == {"hour", "day"}

        clock.advance(timedelta(hours=1))
        assert housekeeping.expire_due_holds(database, now=clock.now()) == 1
        assert _open_holds(database) == {"day"}
        assert _reserved(database, books.funds.id) == 200
        with database.transaction(write=False) as session:
            expiry = session.scalars(select(Transfer).where(Transfer.pending_id == "hour")).one()
        assert expiry.kind == "expire"

        clock.advance(timedelta(days=1))
        assert housekeeping.expire_due_holds(database, now=clock.now()) == 1
        assert _open_holds(database) == set()
        assert _reserved(database, books.funds.id) == 0
        # Running again finds nothing more to do and writes nothing.
        assert housekeeping.expire_due_holds(database, now=clock.now()) == 0

    def test_many_holds_end_over_several_transactions(
        self, database: Database, clock: FrozenClock, books: Books, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(housekeeping, "EXPIRE_PER_TRANSACTION", 2)
        with database.transaction() as session:
            posting.post_batch(
                session,
                [
                    TransferRequest(
                        f"small-{n}", "hold", books.funds.id, books.world.id, 10,
                        timeout_seconds=60,
                    )
                    for n in range(5)
                ],
                now=clock.now(),
            )  # fmt: skip
        clock.advance(timedelta(days=2))
        assert housekeeping.expire_due_holds(database, now=clock.now()) == 7
        assert _open_holds(database) == set()


class TestForgetting:
    def test_dead_sessions_and_old_failures_go_live_ones_stay(
        self, database: Database, clock: FrozenClock
    ) -> None:
        start = clock.now()
        with database.transaction() as session:
            peer = make_peer(session)
            live = people.start_session(session, peer, now=start, lifetime=timedelta(days=30))
            people.start_session(session, peer, now=start, lifetime=timedelta(hours=1))
            ended = people.start_session(session, peer, now=start, lifetime=timedelta(days=30))
            people.end_session(session, ended, now=start)
            session.add(SignInFailure(email="old@example.org", address="10.0.0.1", at=start))
            session.add(
                SignInFailure(
                    email="new@example.org", address="10.0.0.2", at=start + timedelta(hours=2)
                )
            )
        clock.advance(timedelta(hours=2, minutes=5))

        tidied = housekeeping.tidy(database, now=clock.now(), sign_in_window=WINDOW)

        assert (tidied.sessions_forgotten, tidied.failures_forgotten) == (2, 1)
        with database.transaction(write=False) as session:
            assert session.scalar(select(func.count()).select_from(WebSession)) == 1
            assert people.peer_for_session(session, live, now=clock.now()) is not None
            kept = session.scalars(select(SignInFailure.email)).all()
        assert kept == ["new@example.org"]


class TestDebts:
    def test_what_a_project_owes_is_paid_back_from_its_funds_as_far_as_they_hold(
        self, database: Database, clock: FrozenClock, books: Books
    ) -> None:
        # Money went back to a donor after the funds had been spent: 1,500 is owed.
        with database.transaction() as session:
            owed = accounts.open_account(
                session,
                owner="project",
                purpose="owed",
                project_id=books.project.id,
                custodian_id=books.custodian.id,
                commodity="EUR",
                now=clock.now(),
            )
            posting.post_transfer(
                session,
                TransferRequest("back", "transfer", owed.id, books.world.id, 1500),
                now=clock.now(),
            )
        # The funds hold 1,000 of which 500 are held for later: 500 can go to the debt.
        tidied = housekeeping.tidy(database, now=clock.now(), sign_in_window=WINDOW)
        assert tidied.debts_repaid == 1
        assert _balance(database, owed.id) == -1000
        assert _balance(database, books.funds.id) == 500
        assert _reserved(database, books.funds.id) == 500
        # Nothing more to give until money comes in; then the rest is paid.
        assert housekeeping.tidy(database, now=clock.now(), sign_in_window=WINDOW).debts_repaid == 0
        with database.transaction() as session:
            posting.post_transfer(
                session,
                TransferRequest("gift-2", "transfer", books.given.id, books.funds.id, 2000),
                now=clock.now(),
            )
        housekeeping.tidy(database, now=clock.now(), sign_in_window=WINDOW)
        assert _balance(database, owed.id) == 0
        assert _balance(database, books.funds.id) == 1500


class TestHousekeeper:
    def test_the_thread_tidies_until_stopped(
        self, database: Database, clock: FrozenClock, books: Books
    ) -> None:
        clock.advance(timedelta(hours=2))
        keeper = housekeeping.Housekeeper(
            database, clock=clock, interval=timedelta(seconds=60), sign_in_window=WINDOW
        )
        keeper.start()
        try:
            deadline = time.monotonic() + 30
            while _open_holds(database) != {"day"} and time.monotonic() < deadline:
                time.sleep(0.05)
            assert keeper.running
        finally:
            keeper.stop()
        assert not keeper.running
        assert _open_holds(database) == {"day"}


class TestCommand:
    def test_housekeeping_runs_once_and_says_what_it_did(
        self, database: Database, books: Books, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("POTLUCK_DATABASE_URL", database.url)
        # The command reads the real clock; the books' holds were made in the past.
        result = CliRunner().invoke(cli, ["housekeeping"])
        assert result.exit_code == 0, result.output
        assert "Expired 2 hold(s)" in result.output
        assert _open_holds(database) == set()


def test_a_zero_interval_turns_housekeeping_off() -> None:
    assert housekeeping.start_housekeeping(Settings(housekeeping_seconds=0)) is None
