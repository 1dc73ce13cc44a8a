"""The payday on SQLite and PostgreSQL: charges as the clearing says, one payment per donor,
small totals carried, failures retried and paused, all-or-nothing holds, the self-check, and
the lease that lets one runner work at a time."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.ledger.models import Account
from potluck.pledges.models import PaydayCharge, PaydayPayment, Pledge, PledgeHold
from potluck.pledges.payday import run
from potluck.pledges.payday.lease import TTL, Lease, LeaseLost, PaydayBusy
from potluck.pledges.payments.base import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    charge_each,
)
from potluck.pledges.payments.models import Payment, PaymentNotice
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.pledges.payments.service import confirm_manual_payment
from potluck.pledges.payments.simulated import SimulatedProvider
from potluck.pledges.service import paydays
from tests.people.factories import DEFAULT_NOW, make_peer
from tests.pledges.conftest import Census, Commons
from tests.pledges.paydays import (
    FEBRUARY,
    JANUARY,
    expected_clearing,
    paid_by_donor,
    pairs,
    pay,
    payday_stages,
    payments_by_reference,
    registry,
    settings,
    stored_charges,
    transfer_count,
)
from tests.pledges.stored import DECLINED, save_card, stored_goal, stored_need, stored_pledge
from tests.projects.factories import make_project
from tests.support.books import assert_books_verify

MARCH_1 = datetime(2026, 3, 1, 0, 5, tzinfo=UTC)


@pytest.fixture
def cards(database: Database, commons: Commons) -> None:
    with database.transaction() as session:
        save_card(session, commons.ana)
        save_card(session, commons.ben)


def pledged_balance(database: Database, owner_id: int, *, project: bool) -> tuple[int, int]:
    """(posted balance, pending credits and debits) of a pledged account."""
    column = Account.project_id if project else Account.peer_id
    with database.transaction(write=False) as session:
        account = session.scalars(
            select(Account).where(column == owner_id, Account.purpose == "pledged")
        ).one()
        return (
            account.credits_posted - account.debits_posted,
            account.credits_pending + account.debits_pending,
        )


@pytest.mark.usefixtures("cards")
class TestClearing:
    def test_charges_are_what_the_pure_clearing_says(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            hosting = stored_need(session, commons.project)
            rent = stored_need(
                session, commons.project, title="Rent", amount=3000, funding="shared"
            )
            stored_pledge(session, hosting, donor=commons.ana, amount=500)
            stored_pledge(session, hosting, donor=commons.ben, kind="crowdmatch", rate=100, cap=900)
            stored_pledge(session, rent, donor=commons.ana, kind="share", cap=3000)
            stored_pledge(session, rent, donor=commons.ben, kind="share", cap=2000)
            stored_pledge(
                session, hosting, donor=make_peer(session), kind="gift", amount=250, per="week"
            )
        expected = expected_clearing(database, JANUARY)
        (outcome,) = pay(database, clock)
        assert outcome.check_ok
        assert outcome.period == JANUARY
        assert stored_charges(database, outcome.payday_id) == {
            c.pledge_id: c.amount for c in expected.charges
        }
        assert_books_verify(database)

    def test_a_rerun_changes_nothing(
        self, database: Database, clock: FrozenClock, commons: Commons, census: Census
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            stored_pledge(session, need, donor=commons.ana, amount=500)
        pay(database, clock)
        before = census()
        assert pay(database, clock) == []
        assert census() == before

    def test_pledges_made_after_the_period_wait(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            stored_pledge(session, need, donor=commons.ana, amount=500)
            stored_pledge(
                session,
                need,
                donor=commons.ben,
                amount=700,
                now=datetime(2026, 2, 1, 0, 1, tzinfo=UTC),
            )
        (outcome,) = pay(database, clock)
        assert sorted(stored_charges(database, outcome.payday_id).values()) == [500]

    def test_missed_paydays_run_in_order(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            stored_pledge(session, need, donor=commons.ana, amount=500)
        pay(database, clock)
        outcomes = pay(database, clock, at=datetime(2026, 4, 2, tzinfo=UTC))
        assert [o.period for o in outcomes] == [FEBRUARY, FEBRUARY.following()]
        assert paid_by_donor(database) == {(commons.ana.id, "EUR"): 1500}

    def test_the_dry_run_writes_nothing(
        self, database: Database, clock: FrozenClock, commons: Commons, census: Census
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            stored_pledge(session, need, donor=commons.ana, amount=500)
        before = census()
        clock.set(datetime(2026, 2, 1, 0, 5, tzinfo=UTC))
        with database.transaction(write=False) as session:
            preview = paydays.preview_payday(session, now=clock.now(), settings=settings())
        assert preview.due
        assert preview.period == JANUARY
        assert preview.plan.summary["currencies"]["EUR"]["charged"] == 500
        assert census() == before


@pytest.mark.usefixtures("cards")
class TestPayments:
    def test_one_payment_per_donor_across_projects(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            first = stored_need(session, commons.project)
            second = stored_need(session, make_project(session), title="Domain", amount=1500)
            stored_pledge(session, first, donor=commons.ana, amount=500)
            stored_pledge(session, second, donor=commons.ana, amount=300)
        (outcome,) = pay(database, clock)
        reference = f"payday-{outcome.payday_id}/donor-{commons.ana.id}/EUR"
        assert payments_by_reference(database) == {reference: 800}
        with database.transaction(write=False) as session:
            payment = session.scalars(select(Payment)).one()
            assert sorted(line.amount for line in payment.lines) == [300, 500]
            assert payment.state == "succeeded"
        assert outcome.check_ok
        assert_books_verify(database)

    def test_a_total_below_the_minimum_is_carried_then_paid_once(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            stored_pledge(session, need, donor=commons.ana, amount=150)
        (january,) = pay(database, clock)
        assert payments_by_reference(database) == {}
        assert january.summary["currencies"]["EUR"]["carried"] == 150
        (february,) = pay(database, clock, at=MARCH_1)
        assert payments_by_reference(database) == {
            f"payday-{february.payday_id}/donor-{commons.ana.id}/EUR": 300
        }
        with database.transaction(write=False) as session:
            references = set(session.scalars(select(PaydayCharge.payment_reference)))
        assert references == {f"payday-{february.payday_id}/donor-{commons.ana.id}/EUR"}
        assert february.check_ok
        assert [e["paid"] for e in february.check_report] == [300]
        assert_books_verify(database)

    def test_a_failed_payment_is_asked_again_and_three_pause_the_pledges(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            stored_pledge(session, need, donor=commons.ana, amount=500)
            save_card(session, commons.ana, DECLINED)
        pay(database, clock)
        pay(database, clock, at=MARCH_1)
        with database.transaction(write=False) as session:
            amounts = session.scalars(select(Payment.amount).order_by(Payment.id)).all()
            assert amounts == [500, 1000]
            assert session.scalars(select(Pledge.state)).one() == "active"
        (third,) = pay(database, clock, at=datetime(2026, 4, 1, 0, 5, tzinfo=UTC))
        assert third.check_ok
        with database.transaction(write=False) as session:
            assert session.scalars(select(Payment.amount).order_by(Payment.id)).all() == [
                500,
                1000,
                1500,
            ]
            pledge = session.scalars(select(Pledge)).one()
            assert pledge.state == "paused"
            assert "3 failed payments" in pledge.state_reason
            kinds = set(session.scalars(select(PaymentNotice.kind)))
            assert "paused" in kinds
            # Still owed: all three months wait for a working card.
            outstanding = session.scalars(
                select(PaydayCharge.amount).where(PaydayCharge.payment_reference.is_(None))
            ).all()
            assert sorted(outstanding) == [500, 500, 500]
        assert_books_verify(database)

    def test_a_bank_transfer_waits_until_a_steward_confirms_it(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            donor = make_peer(session)
            stored_pledge(session, need, donor=donor, amount=500)
        (january,) = pay(database, clock)
        assert january.check_ok
        assert [e["received"] for e in january.check_report] == [0]
        with database.transaction() as session:
            payment = session.scalars(select(Payment)).one()
            assert (payment.provider, payment.state) == ("manual", "awaiting")
            confirm_manual_payment(
                session, payment.id, confirmer=commons.steward, received_amount=500, now=clock.now()
            )
        pay(database, clock, at=MARCH_1)
        with database.transaction(write=False) as session:
            states = pairs(session.execute(select(PaydayPayment.payday_id, PaydayPayment.state)))
        assert states[january.payday_id] == "succeeded"
        assert_books_verify(database)


class SlowProcessor(SimulatedProvider):
    """The simulated card processor with a network's delay, counting calls in flight: like a
    real processor, it takes a call per charge, so a batch is sent a charge at a time."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.lock = threading.Lock()

    def charge_many(
        self, requests: Sequence[ChargeRequest], *, senders: Executor
    ) -> list[ChargeResult]:
        return charge_each(self, requests, senders=senders)

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.2)
        with self.lock:
            self.in_flight -= 1
        return super().charge(request)


class TestSending:
    def test_several_payments_are_in_flight_at_once(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            for _ in range(6):
                donor = make_peer(session)
                save_card(session, donor)
                stored_pledge(session, need, donor=donor, amount=500)
        processor = SlowProcessor()
        clock.set(datetime(2026, 2, 1, 0, 5, tzinfo=UTC))
        (outcome,) = run.run_due_paydays(
            database,
            clock=clock,
            settings=settings(payday_senders=3),
            registry=ProviderRegistry([processor]),
        )
        assert outcome.check_ok
        assert processor.most == 3
        assert len(paid_by_donor(database)) == 6
        assert_books_verify(database)


@pytest.mark.usefixtures("cards")
class TestHolds:
    def test_a_reached_goal_is_captured_then_settled(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            goal = stored_goal(
                session, commons.project, amount=1000, deadline=datetime(2026, 1, 20, tzinfo=UTC)
            )
            stored_pledge(session, goal, donor=commons.ana, kind="all-or-nothing", amount=600)
            stored_pledge(session, goal, donor=commons.ben, kind="all-or-nothing", amount=600)
        assert pledged_balance(database, commons.project.id, project=True) == (0, 1200)
        (outcome,) = pay(database, clock)
        assert outcome.check_ok
        assert [e["captured_in_books"] for e in outcome.check_report] == [1200]
        with database.transaction(write=False) as session:
            assert set(session.scalars(select(PledgeHold.state))) == {"settled"}
        # Captured, then paid: both sides of the promise are back to zero.
        assert pledged_balance(database, commons.project.id, project=True) == (0, 0)
        assert pledged_balance(database, commons.ana.id, project=False) == (0, 0)
        assert paid_by_donor(database) == {
            (commons.ana.id, "EUR"): 600,
            (commons.ben.id, "EUR"): 600,
        }
        assert_books_verify(database)

    def test_a_missed_goal_is_voided_and_nobody_pays(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            goal = stored_goal(
                session, commons.project, amount=5000, deadline=datetime(2026, 1, 20, tzinfo=UTC)
            )
            stored_pledge(session, goal, donor=commons.ana, kind="all-or-nothing", amount=600)
        (outcome,) = pay(database, clock)
        assert outcome.summary["voided"] == 1
        assert paid_by_donor(database) == {}
        with database.transaction(write=False) as session:
            assert session.scalars(select(PledgeHold.state)).one() == "voided"
        assert pledged_balance(database, commons.project.id, project=True) == (0, 0)
        assert_books_verify(database)

    def test_a_later_goal_stays_held(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            goal = stored_goal(
                session, commons.project, amount=500, deadline=datetime(2026, 2, 20, tzinfo=UTC)
            )
            stored_pledge(session, goal, donor=commons.ana, kind="all-or-nothing", amount=600)
        (january,) = pay(database, clock)
        assert january.summary["held"] == 1
        with database.transaction(write=False) as session:
            assert session.scalars(select(PledgeHold.state)).one() == "open"
        (february,) = pay(database, clock, at=MARCH_1)
        assert february.summary["captured"] == 1
        assert_books_verify(database)

    def test_a_failed_payment_leaves_the_promise_owed(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            save_card(session, commons.ana, DECLINED)
            goal = stored_goal(
                session, commons.project, amount=500, deadline=datetime(2026, 1, 20, tzinfo=UTC)
            )
            stored_pledge(session, goal, donor=commons.ana, kind="all-or-nothing", amount=600)
        (outcome,) = pay(database, clock)
        assert outcome.check_ok
        with database.transaction(write=False) as session:
            assert session.scalars(select(PledgeHold.state)).one() == "captured"
        assert pledged_balance(database, commons.ana.id, project=False) == (-600, 0)
        with database.transaction() as session:
            save_card(session, commons.ana)
        pay(database, clock, at=MARCH_1)
        assert pledged_balance(database, commons.ana.id, project=False) == (0, 0)
        assert_books_verify(database)


@pytest.mark.usefixtures("cards")
class TestSelfCheck:
    def test_catches_a_charge_the_books_did_not_receive(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            stored_pledge(session, need, donor=commons.ana, amount=500)
        (outcome,) = pay(database, clock)
        with database.transaction() as session:
            session.execute(update(PaydayCharge).values(amount=PaydayCharge.amount + 1))
        with database.transaction(write=False) as session:
            (entry,) = run.self_check(session, outcome.payday_id)
        assert entry["ok"] is False
        assert (entry["paid"], entry["received"]) == (501, 500)
        assert entry["project_id"] == commons.project.id


@pytest.mark.usefixtures("cards")
class TestRestart:
    def test_each_stage_resumes_where_it_stopped(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            for _ in range(5):
                stored_pledge(session, need, donor=make_peer(session, now=DEFAULT_NOW))
            stored_pledge(session, need, donor=commons.ana, amount=700)
        clock.set(datetime(2026, 2, 1, 0, 5, tzinfo=UTC))
        lease = Lease(database, clock)
        assert lease.acquire()
        runner = run.Runner(database, clock, settings(), registry(), lease, run.Quiet())
        payday_id = run._clear_due(runner)
        assert payday_id is not None
        charges = stored_charges(database, payday_id)
        run._start_payments(runner, payday_id)
        lease.release()
        # A new runner finds the payday half done and finishes it.
        (outcome,) = pay(database, clock)
        assert outcome.payday_id == payday_id
        assert stored_charges(database, payday_id) == charges
        assert outcome.check_ok
        assert payday_stages(database) == [("2026-01-01", "done", True)]
        before = transfer_count(database)
        assert pay(database, clock) == []
        assert transfer_count(database) == before
        assert_books_verify(database)


class TestLease:
    def test_one_runner_at_a_time(self, database: Database, clock: FrozenClock) -> None:
        first, second = Lease(database, clock), Lease(database, clock)
        assert first.acquire()
        assert not second.acquire()
        with pytest.raises(PaydayBusy, match="already running"):
            run.run_due_paydays(database, clock=clock, settings=settings(), registry=registry())
        first.release()
        assert second.acquire()

    def test_an_expired_lease_is_taken_over_and_the_old_runner_stops(
        self, database: Database, clock: FrozenClock
    ) -> None:
        first, second = Lease(database, clock), Lease(database, clock)
        first.holder = "elsewhere:1:a"
        assert first.acquire()
        assert not second.acquire()
        clock.advance(TTL + timedelta(seconds=1))
        assert second.acquire()
        with pytest.raises(LeaseLost), database.transaction() as session:
            first.renew(session)

    def test_a_dead_local_runner_is_taken_over_at_once(
        self, database: Database, clock: FrozenClock
    ) -> None:
        finished = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        dead = Lease(database, clock)
        dead.holder = f"{socket.gethostname()}:{finished.stdout.strip()}:gone"
        assert dead.acquire()
        assert Lease(database, clock).acquire()
