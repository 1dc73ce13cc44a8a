"""Executing payments through the simulated processor: the same states as a real card, and what
each writes to the books."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.errors import InvalidInput
from potluck.ledger.models import Transfer
from potluck.pledges.payments import methods, rules, service
from potluck.pledges.payments.base import PaymentState
from potluck.pledges.payments.models import Payment
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.pledges.payments.settings import PaymentSettings
from tests.payments.factories import (
    Giving,
    funds,
    make_giving,
    reload,
    save_test_card,
    start,
    transfer_count,
)
from tests.support.books import assert_books_verify

SIMULATED_ONLY = ProviderRegistry.from_settings(PaymentSettings())


@pytest.fixture
def giving(database: Database) -> Iterator[Giving]:
    with database.transaction() as session:
        made = make_giving(session, projects=2)
    yield made
    assert_books_verify(database)


def started(
    database: Database,
    giving: Giving,
    *,
    card: str | None = "4242424242424242",
    amounts: tuple[int, ...] = (2000,),
    provider: str = "simulated",
) -> int:
    with database.transaction() as session:
        if card is not None:
            save_test_card(session, giving.donor, card)
        return start(session, giving, provider=provider, amounts=amounts).id


def execute(database: Database, payment_id: int, clock: FrozenClock) -> Payment:
    return service.execute_payment(database, payment_id, providers=SIMULATED_ONLY, clock=clock)


class TestExecutePayment:
    def test_a_good_card_succeeds_and_the_money_is_in_the_books(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        payment_id = started(database, giving)
        payment = execute(database, payment_id, clock)
        assert payment.payment_state is PaymentState.SUCCEEDED
        assert payment.fee == rules.simulated_fee(2000, 2) == 55
        assert payment.succeeded_at == clock.now()
        assert funds(database, giving.projects[0], "simulated") == 2000 - 55

    def test_the_fee_is_split_across_lines_by_the_largest_remainder(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        payment_id = started(database, giving, amounts=(1000, 3000))
        payment = execute(database, payment_id, clock)
        fee = rules.simulated_fee(4000, 2)
        assert payment.fee == fee == 85
        parts = rules.split_fee(fee, [1000, 3000])
        assert parts == [21, 64]
        assert funds(database, giving.projects[0], "simulated") == 1000 - 21
        assert funds(database, giving.projects[1], "simulated") == 3000 - 64
        with database.transaction(write=False) as session:
            fees = dict(
                session.execute(
                    select(Transfer.id, Transfer.amount).where(Transfer.id.like("%:fee"))
                ).all()
            )
        assert fees == {
            rules.fee_transfer_id(payment_id, 0): 21,
            rules.fee_transfer_id(payment_id, 1): 64,
        }

    def test_executing_twice_posts_once(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        payment_id = started(database, giving)
        execute(database, payment_id, clock)
        posted = transfer_count(database)
        again = execute(database, payment_id, clock)
        assert again.payment_state is PaymentState.SUCCEEDED
        assert again.attempts == 1
        assert transfer_count(database) == posted

    def test_a_declined_card_fails_with_the_reason_and_a_notice(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        payment_id = started(database, giving, card="4000000000009995")
        payment = execute(database, payment_id, clock)
        assert payment.payment_state is PaymentState.FAILED
        assert payment.failure_code == "insufficient_funds"
        assert payment.failure_message == "Your card has insufficient funds."
        assert transfer_count(database) == 0
        with database.transaction(write=False) as session:
            notices = methods.notices_of(session, giving.donor.id)
        assert [notice.kind for notice in notices] == ["declined"]
        assert "tried again at the next payday" in notices[0].message

    def test_a_failed_payment_is_not_sent_again(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        payment_id = started(database, giving, card="4000000000000002")
        execute(database, payment_id, clock)
        with database.transaction() as session:
            save_test_card(session, giving.donor, "4242424242424242")
        again = execute(database, payment_id, clock)
        assert again.payment_state is PaymentState.FAILED
        assert again.attempts == 1

    def test_a_disputed_card_ends_disputed_with_the_money_reversed(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        payment_id = started(database, giving, card="4000000000000259", amounts=(1200, 800))
        payment = execute(database, payment_id, clock)
        assert payment.payment_state is PaymentState.DISPUTED
        assert payment.reversed_at == clock.now()
        assert funds(database, giving.projects[0], "simulated") == 0
        assert funds(database, giving.projects[1], "simulated") == 0
        # The processor keeps its fee: each line gives back its whole amount, what its funds
        # no longer hold (its share of the fee) going out of what the project owes.
        fee = payment.fee or 0
        assert fee > 0
        shares = rules.split_fee(fee, [1200, 800])
        for project, share in zip(giving.projects, shares, strict=True):
            assert funds(database, project, "simulated", purpose="owed") == -share
        with database.transaction(write=False) as session:
            taken = dict(
                session.execute(
                    select(Transfer.id, Transfer.amount).where(
                        Transfer.batch_id == f"payment:{payment_id}:dispute"
                    )
                ).all()
            )
        assert taken == {
            f"payment:{payment_id}:dispute:0": 1200 - shares[0],
            f"payment:{payment_id}:dispute:0:owed": shares[0],
            f"payment:{payment_id}:dispute:1": 800 - shares[1],
            f"payment:{payment_id}:dispute:1:owed": shares[1],
        }
        with database.transaction(write=False) as session:
            kinds = {n.kind for n in methods.notices_of(session, giving.donor.id)}
        assert kinds == {"disputed"}

    def test_without_a_saved_card_the_payment_fails_and_asks_for_one(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        payment_id = started(database, giving, card=None)
        payment = execute(database, payment_id, clock)
        assert payment.payment_state is PaymentState.FAILED
        assert payment.failure_code == "no_payment_method"
        with database.transaction(write=False) as session:
            notices = methods.notices_of(session, giving.donor.id)
        assert [notice.kind for notice in notices] == ["no-method"]

    def test_a_bank_transfer_stays_awaiting(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        payment_id = started(database, giving, card=None, provider="manual")
        payment = execute(database, payment_id, clock)
        assert payment.payment_state is PaymentState.AWAITING
        assert payment.attempts == 0
        assert transfer_count(database) == 0

    def test_a_provider_not_offered_is_refused_and_the_payment_waits(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        payment_id = started(database, giving, provider="stripe")
        with pytest.raises(InvalidInput) as raised:
            execute(database, payment_id, clock)
        assert "stripe" in raised.value.detail
        assert reload(database, payment_id).payment_state is PaymentState.AWAITING


class TestConsecutiveFailures:
    def test_counts_failures_since_the_last_success(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        good = started(database, giving)
        execute(database, good, clock)
        for _ in range(3):
            with database.transaction() as session:
                save_test_card(session, giving.donor, "4000000000000002")
                failing = start(session, giving, provider="simulated").id
            execute(database, failing, clock)
        with database.transaction(write=False) as session:
            assert service.consecutive_failures(session, giving.donor.id) == 3
            assert service.consecutive_failures(session, giving.donor.id, currency="USD") == 0

    def test_a_success_ends_the_run(
        self, database: Database, giving: Giving, clock: FrozenClock
    ) -> None:
        failing = started(database, giving, card="4000000000000002")
        execute(database, failing, clock)
        with database.transaction() as session:
            save_test_card(session, giving.donor, "4242424242424242")
            good = start(session, giving, provider="simulated").id
        execute(database, good, clock)
        with database.transaction(write=False) as session:
            assert service.consecutive_failures(session, giving.donor.id) == 0
