"""Starting a payment: idempotent on its reference, refusing bad input without writing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from potluck.db import Database
from potluck.errors import Conflict, InvalidInput, NotFound
from potluck.pledges.payments import rules, service
from potluck.pledges.payments.base import PaymentLine, PaymentState
from potluck.pledges.payments.models import Payment
from tests.payments.factories import Giving, lines, make_giving, start
from tests.people.factories import DEFAULT_NOW
from tests.support.books import assert_books_verify


@pytest.fixture
def giving(database: Database) -> Iterator[Giving]:
    with database.transaction() as session:
        made = make_giving(session, projects=2)
    yield made
    assert_books_verify(database)


def payment_count(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Payment)) or 0)


class TestStartPayment:
    def test_a_new_payment_awaits_with_its_lines(self, database: Database, giving: Giving) -> None:
        with database.transaction() as session:
            payment = start(session, giving, provider="simulated", amounts=(1500, 500))
            assert payment.payment_state is PaymentState.AWAITING
            assert payment.amount == 2000
            assert [(line.position, line.amount) for line in payment.lines] == [(0, 1500), (1, 500)]
            assert payment.bank_code is None

    def test_the_same_reference_and_content_gives_the_first_payment(
        self, database: Database, giving: Giving
    ) -> None:
        with database.transaction() as session:
            first = start(session, giving, provider="stripe", reference="payday-3/donor-1/EUR")
        with database.transaction() as session:
            again = start(session, giving, provider="stripe", reference="payday-3/donor-1/EUR")
        assert again.id == first.id
        assert payment_count(database) == 1

    def test_the_same_reference_with_another_amount_is_a_conflict_naming_it(
        self, database: Database, giving: Giving
    ) -> None:
        with database.transaction() as session:
            start(session, giving, provider="stripe", reference="r-1", amounts=(1000,))
        with pytest.raises(Conflict) as raised, database.transaction() as session:
            start(session, giving, provider="stripe", reference="r-1", amounts=(1001,))
        assert raised.value.field == "lines.0.amount"
        assert "r-1" in raised.value.detail
        assert payment_count(database) == 1

    def test_the_same_reference_with_another_provider_is_a_conflict(
        self, database: Database, giving: Giving
    ) -> None:
        with database.transaction() as session:
            start(session, giving, provider="stripe", reference="r-2")
        with pytest.raises(Conflict) as raised, database.transaction() as session:
            start(session, giving, provider="manual", reference="r-2")
        assert raised.value.field == "provider"

    def test_a_bank_transfer_gets_a_reference_code(
        self, database: Database, giving: Giving
    ) -> None:
        with database.transaction() as session:
            payment = start(session, giving, provider="manual")
            assert payment.bank_code == rules.reference_code(payment.id)

    @pytest.mark.parametrize(
        ("change", "field", "error"),
        [
            ({"lines": []}, "lines", InvalidInput),
            ({"lines": [PaymentLine(0, 0, "zero")]}, "lines.0.amount", InvalidInput),
            ({"lines": [PaymentLine(0, -5, "negative")]}, "lines.0.amount", InvalidInput),
            ({"lines": [PaymentLine(10**9, 100, "nowhere")]}, "lines.0.project_id", NotFound),
            ({"currency": "cpu-hour"}, "currency", InvalidInput),
            ({"currency": "XXX"}, "currency", InvalidInput),
            ({"provider": "paypal"}, "provider", InvalidInput),
            ({"reference": "two words"}, "reference", InvalidInput),
            ({"donor_id": 10**9}, "donor_id", NotFound),
        ],
    )
    def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
        self,
        database: Database,
        giving: Giving,
        change: dict[str, object],
        field: str,
        error: type[Exception],
    ) -> None:
        arguments: dict[str, object] = {
            "reference": "payday-9/donor-1/EUR",
            "donor_id": giving.donor.id,
            "currency": "EUR",
            "lines": lines(giving, (100,)),
            "provider": "simulated",
            "now": DEFAULT_NOW,
        }
        arguments.update(change)
        if change.get("lines"):
            arguments["lines"] = [
                PaymentLine(line.project_id or giving.projects[0].id, line.amount, line.memo)
                for line in change["lines"]  # type: ignore[attr-defined]
            ]
        with pytest.raises(error) as raised, database.transaction() as session:
            service.start_payment(session, **arguments)  # type: ignore[arg-type]
        assert getattr(raised.value, "field", None) == field
        assert payment_count(database) == 0


class TestStartPaymentRace:
    def test_two_starts_of_one_reference_at_once_make_one_payment(
        self, database: Database, giving: Giving, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Both look for the reference before either writes it (PostgreSQL lets them; SQLite
        # queues writers from the start), so the loser meets the unique index and answers
        # with the winner's payment.
        racing = database.dialect == "postgresql"
        barrier = threading.Barrier(2, timeout=10)
        real_existing = service._existing

        def existing_then_wait(*args: Any, **kwargs: Any) -> Payment | None:
            found = real_existing(*args, **kwargs)
            if racing and found is None and not getattr(local, "waited", False):
                local.waited = True
                barrier.wait()
            return found

        local = threading.local()
        monkeypatch.setattr(service, "_existing", existing_then_wait)
        results: list[int] = []
        failures: list[BaseException] = []

        def run() -> None:
            try:
                with database.transaction() as session:
                    results.append(
                        start(session, giving, provider="simulated", reference="race-1").id
                    )
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                failures.append(error)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert failures == []
        assert len(results) == 2
        assert results[0] == results[1]
        assert payment_count(database) == 1
