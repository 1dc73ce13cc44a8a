"""Bank transfers: nothing is in the books until a steward (or the bank account's admin)
confirms what arrived."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from potluck.db import Database
from potluck.errors import Conflict, Forbidden, InvalidInput
from potluck.people.models import Peer
from potluck.pledges.payments import methods, service
from potluck.pledges.payments.base import PaymentState
from tests.payments.factories import Giving, funds, make_giving, reload, start, transfer_count
from tests.people.factories import DEFAULT_NOW, make_peer
from tests.support.books import assert_books_verify


@pytest.fixture
def giving(database: Database) -> Iterator[Giving]:
    with database.transaction() as session:
        made = make_giving(session, projects=2)
    yield made
    assert_books_verify(database)


def awaiting(database: Database, giving: Giving, amounts: tuple[int, ...] = (1200, 800)) -> int:
    with database.transaction() as session:
        return start(session, giving, provider="manual", amounts=amounts).id


def confirm(database: Database, payment_id: int, confirmer: Peer, received: int) -> None:
    with database.transaction() as session:
        service.confirm_manual_payment(
            session, payment_id, confirmer=confirmer, received_amount=received, now=DEFAULT_NOW
        )


class TestConfirmManualPayment:
    def test_nothing_is_in_the_books_before_confirmation(
        self, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        assert transfer_count(database) == 0
        assert funds(database, giving.projects[0], "manual") == 0
        confirm(database, payment_id, giving.stewards[0], 2000)
        payment = reload(database, payment_id)
        assert payment.payment_state is PaymentState.SUCCEEDED
        assert payment.fee == 0
        assert payment.confirmed_by_id == giving.stewards[0].id
        assert funds(database, giving.projects[0], "manual") == 1200
        assert funds(database, giving.projects[1], "manual") == 800

    def test_a_steward_of_one_project_confirms_the_whole_transfer(
        self, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        confirm(database, payment_id, giving.stewards[1], 2000)
        assert funds(database, giving.projects[0], "manual") == 1200

    def test_what_arrived_short_is_recorded_as_the_banks_fee(
        self, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        confirm(database, payment_id, giving.stewards[0], 1950)
        payment = reload(database, payment_id)
        assert (payment.received, payment.fee) == (1950, 50)
        assert (
            funds(database, giving.projects[0], "manual")
            + funds(database, giving.projects[1], "manual")
            == 1950
        )

    def test_someone_who_is_not_a_steward_is_refused_and_nothing_is_written(
        self, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        with database.transaction() as session:
            stranger = make_peer(session)
        with pytest.raises(Forbidden) as raised:
            confirm(database, payment_id, stranger, 2000)
        assert "steward" in raised.value.detail
        assert reload(database, payment_id).payment_state is PaymentState.AWAITING
        assert transfer_count(database) == 0

    def test_the_donor_cannot_confirm_their_own_transfer(
        self, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        with pytest.raises(Forbidden):
            confirm(database, payment_id, giving.donor, 2000)

    def test_an_admin_of_the_bank_account_may_confirm(
        self, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        with database.transaction() as session:
            admin = make_peer(session)
            methods.appoint_custodian_admin(
                session, provider="manual", peer_id=admin.id, appointed_by=None, now=DEFAULT_NOW
            )
        confirm(database, payment_id, admin, 2000)
        assert reload(database, payment_id).payment_state is PaymentState.SUCCEEDED

    def test_only_an_admin_appoints_another(self, database: Database, giving: Giving) -> None:
        with pytest.raises(Forbidden), database.transaction() as session:
            methods.appoint_custodian_admin(
                session,
                provider="manual",
                peer_id=giving.donor.id,
                appointed_by=giving.donor,
                now=DEFAULT_NOW,
            )

    def test_confirming_twice_is_a_conflict(self, database: Database, giving: Giving) -> None:
        payment_id = awaiting(database, giving)
        confirm(database, payment_id, giving.stewards[0], 2000)
        posted = transfer_count(database)
        with pytest.raises(Conflict) as raised:
            confirm(database, payment_id, giving.stewards[1], 2000)
        assert "already succeeded" in raised.value.detail
        assert transfer_count(database) == posted

    @pytest.mark.parametrize("received", [0, -1, 2001])
    def test_an_amount_outside_what_was_asked_is_refused(
        self, database: Database, giving: Giving, received: int
    ) -> None:
        payment_id = awaiting(database, giving)
        with pytest.raises(InvalidInput) as raised:
            confirm(database, payment_id, giving.stewards[0], received)
        assert raised.value.field == "received_amount"
        assert "20.00 EUR" in raised.value.detail
        assert transfer_count(database) == 0

    def test_a_card_payment_is_not_confirmed_by_hand(
        self, database: Database, giving: Giving
    ) -> None:
        with database.transaction() as session:
            payment_id = start(session, giving, provider="simulated").id
        with pytest.raises(InvalidInput) as raised:
            confirm(database, payment_id, giving.stewards[0], 2000)
        assert "only bank transfers" in raised.value.detail


class TestAwaitingManualPayments:
    def test_stewards_see_the_transfers_for_their_projects(
        self, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving, amounts=(500,))
        with database.transaction() as session:
            other = make_giving(session)
            awaiting_elsewhere = start(session, other, provider="manual").id
        with database.transaction(write=False) as session:
            assert [
                p.id for p in service.awaiting_manual_payments(session, giving.stewards[0])
            ] == [payment_id]
            assert [p.id for p in service.awaiting_manual_payments(session, giving.donor)] == []
            assert [p.id for p in service.awaiting_manual_payments(session, other.stewards[0])] == [
                awaiting_elsewhere
            ]
