"""The payments API: a donor's payments and cards, and confirming bank transfers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.pledges.payments import service
from potluck.pledges.payments.registry import ProviderRegistry
from tests.payments.factories import Giving, funds, make_giving, save_test_card, start
from tests.people.factories import make_peer
from tests.projects.factories import api_token
from tests.support.books import assert_books_verify


@dataclass(frozen=True)
class Setup:
    giving: Giving
    payment_id: int
    donor: dict[str, str]
    steward: dict[str, str]
    stranger: dict[str, str]


@pytest.fixture
def setup(database: Database, client: TestClient) -> Iterator[Setup]:
    with database.transaction() as session:
        giving = make_giving(session)
        payment = start(session, giving, provider="manual", amounts=(2500,))
        made = Setup(
            giving,
            payment.id,
            api_token(session, giving.donor),
            api_token(session, giving.stewards[0]),
            api_token(session, make_peer(session)),
        )
    yield made
    assert_books_verify(database)


class TestConfirmPaymentApi:
    def test_a_steward_confirms_and_the_money_is_in_the_books(
        self, client: TestClient, database: Database, setup: Setup
    ) -> None:
        answer = client.post(
            f"/api/v1/payments/{setup.payment_id}/confirm",
            json={"received_amount": 2500},
            headers=setup.steward,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["state"] == "succeeded"
        assert body["amount_text"] == "25.00 EUR"
        assert body["fee"] == 0
        assert funds(database, setup.giving.projects[0], "manual") == 2500

    def test_a_stranger_gets_403_and_nothing_is_written(
        self, client: TestClient, database: Database, setup: Setup
    ) -> None:
        answer = client.post(
            f"/api/v1/payments/{setup.payment_id}/confirm",
            json={"received_amount": 2500},
            headers=setup.stranger,
        )
        assert answer.status_code == 403
        assert answer.json()["error"] == "Forbidden"
        assert funds(database, setup.giving.projects[0], "manual") == 0

    def test_a_negative_amount_is_422(self, client: TestClient, setup: Setup) -> None:
        answer = client.post(
            f"/api/v1/payments/{setup.payment_id}/confirm",
            json={"received_amount": -1},
            headers=setup.steward,
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "received_amount"

    def test_a_retry_with_the_same_idempotency_key_replays_the_answer(
        self, client: TestClient, setup: Setup
    ) -> None:
        headers = {**setup.steward, "Idempotency-Key": "confirm-1"}
        first = client.post(
            f"/api/v1/payments/{setup.payment_id}/confirm",
            json={"received_amount": 2500},
            headers=headers,
        )
        again = client.post(
            f"/api/v1/payments/{setup.payment_id}/confirm",
            json={"received_amount": 2500},
            headers=headers,
        )
        assert again.status_code == first.status_code == 200
        assert again.json() == first.json()


class TestReadPaymentsApi:
    def test_the_donor_sees_the_bank_code(self, client: TestClient, setup: Setup) -> None:
        answer = client.get(f"/api/v1/payments/{setup.payment_id}", headers=setup.donor)
        assert answer.status_code == 200
        assert answer.json()["bank_code"].startswith("PL-")
        assert answer.json()["lines"][0]["project"] == setup.giving.projects[0].slug

    def test_a_stranger_is_told_it_does_not_exist(self, client: TestClient, setup: Setup) -> None:
        answer = client.get(f"/api/v1/payments/{setup.payment_id}", headers=setup.stranger)
        assert answer.status_code == 404

    def test_a_steward_lists_the_transfers_awaited(self, client: TestClient, setup: Setup) -> None:
        mine = client.get("/api/v1/payments/awaiting", headers=setup.steward)
        theirs = client.get("/api/v1/payments/awaiting", headers=setup.stranger)
        assert [p["id"] for p in mine.json()] == [setup.payment_id]
        assert theirs.json() == []

    def test_the_overview_counts_failures_and_carries_notices(
        self,
        client: TestClient,
        database: Database,
        setup: Setup,
        providers: ProviderRegistry,
        clock: FrozenClock,
    ) -> None:
        with database.transaction() as session:
            save_test_card(session, setup.giving.donor, "4000000000000002")
            failing = start(session, setup.giving, provider="simulated").id
        service.execute_payment(database, failing, providers=providers, clock=clock)
        body = client.get("/api/v1/payments", headers=setup.donor).json()
        assert [p["state"] for p in body["payments"]] == ["failed", "awaiting"]
        assert body["consecutive_failures"] == 1
        assert [n["kind"] for n in body["notices"]] == ["declined"]

    def test_signing_in_is_needed(self, client: TestClient, setup: Setup) -> None:
        assert client.get("/api/v1/payments").status_code == 401


class TestSavedCardsApi:
    def test_save_list_and_remove_a_test_card(self, client: TestClient, setup: Setup) -> None:
        saved = client.post(
            "/api/v1/payments/methods/simulated",
            json={"card_number": "4242 4242 4242 4242"},
            headers=setup.donor,
        )
        assert saved.status_code == 201, saved.text
        assert saved.json()["label"] == "Visa ending 4242 (test card)"
        listed = client.get("/api/v1/payments/methods", headers=setup.donor).json()
        assert [m["id"] for m in listed] == [saved.json()["id"]]
        removed = client.delete(
            f"/api/v1/payments/methods/{saved.json()['id']}", headers=setup.donor
        )
        assert removed.status_code == 200
        assert client.get("/api/v1/payments/methods", headers=setup.donor).json() == []

    def test_a_real_card_number_is_refused(self, client: TestClient, setup: Setup) -> None:
        answer = client.post(
            "/api/v1/payments/methods/simulated",
            json={"card_number": "4111111111111111"},
            headers=setup.donor,
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "card_number"

    def test_someone_elses_card_cannot_be_removed(
        self, client: TestClient, database: Database, setup: Setup
    ) -> None:
        with database.transaction() as session:
            method = save_test_card(session, setup.giving.donor)
        answer = client.delete(f"/api/v1/payments/methods/{method.id}", headers=setup.stranger)
        assert answer.status_code == 404


class TestNoticesApi:
    def test_notices_are_marked_read(
        self,
        client: TestClient,
        database: Database,
        setup: Setup,
        providers: ProviderRegistry,
        clock: FrozenClock,
    ) -> None:
        with database.transaction() as session:
            save_test_card(session, setup.giving.donor, "4000000000000002")
            failing = start(session, setup.giving, provider="simulated").id
        service.execute_payment(database, failing, providers=providers, clock=clock)
        first = client.post("/api/v1/payments/notices/read", headers=setup.donor)
        again = client.post("/api/v1/payments/notices/read", headers=setup.donor)
        assert (first.json(), again.json()) == ({"marked": 1}, {"marked": 0})
        body = client.get("/api/v1/payments", headers=setup.donor).json()
        assert [n["read"] for n in body["notices"]] == [True]
