"""The payment pages, driven like a browser without JavaScript."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from potluck.db import Database
from potluck.people.models import Peer
from potluck.pledges.payments import methods
from potluck.pledges.payments.rules import reference_code
from tests.payments.factories import Giving, funds, make_giving, start
from tests.people.factories import make_peer
from tests.projects.factories import browser_session, form_token
from tests.support.books import assert_books_verify
from tests.support.fake_stripe import FakeStripe

HTML = {"accept": "text/html"}


@pytest.fixture
def giving(database: Database) -> Iterator[Giving]:
    with database.transaction() as session:
        made = make_giving(session)
    yield made
    assert_books_verify(database)


def sign_in(database: Database, client: TestClient, peer: Peer) -> None:
    with database.transaction() as session:
        browser_session(session, client, peer)


def submit(
    client: TestClient, path: str, data: dict[str, Any], *, form_page: str
) -> httpx.Response:
    token = form_token(client, form_page)
    answer: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, headers=HTML, follow_redirects=False
    )
    return answer


def awaiting(database: Database, giving: Giving) -> int:
    with database.transaction() as session:
        return start(session, giving, provider="manual", amounts=(1234,)).id


class TestAwaitingPage:
    def test_a_steward_confirms_a_transfer_with_the_form(
        self, client: TestClient, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        sign_in(database, client, giving.stewards[0])
        page = client.get("/payments/awaiting", headers=HTML)
        assert page.status_code == 200
        assert "12.34 EUR" in page.text
        answer = submit(
            client,
            f"/payments/{payment_id}/confirm",
            {"received": "12.34"},
            form_page="/payments/awaiting",
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/payments/awaiting?done=confirmed"
        assert funds(database, giving.projects[0], "manual") == 1234
        after = client.get("/payments/awaiting?done=confirmed", headers=HTML)
        assert "the payment is now in the projects" in after.text
        assert "12.34 EUR" not in after.text

    def test_a_bad_amount_is_shown_next_to_the_field(
        self, client: TestClient, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        sign_in(database, client, giving.stewards[0])
        answer = submit(
            client,
            f"/payments/{payment_id}/confirm",
            {"received": "12.345"},
            form_page="/payments/awaiting",
        )
        assert answer.status_code == 422
        assert "more decimal places than EUR allows" in answer.text
        assert 'aria-invalid="true"' in answer.text
        assert funds(database, giving.projects[0], "manual") == 0

    def test_someone_who_is_not_a_steward_gets_403(
        self, client: TestClient, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        with database.transaction() as session:
            stranger = make_peer(session)
        sign_in(database, client, stranger)
        page = client.get("/payments/awaiting", headers=HTML)
        assert "No bank transfer is awaited" in page.text
        answer = submit(
            client,
            f"/payments/{payment_id}/confirm",
            {"received": "12.34"},
            form_page="/payments/awaiting",
        )
        assert answer.status_code == 403
        assert "steward" in answer.text
        assert funds(database, giving.projects[0], "manual") == 0

    def test_a_form_without_its_csrf_token_is_refused(
        self, client: TestClient, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        sign_in(database, client, giving.stewards[0])
        answer = client.post(
            f"/payments/{payment_id}/confirm", data={"received": "12.34"}, headers=HTML
        )
        assert answer.status_code == 403
        assert funds(database, giving.projects[0], "manual") == 0

    def test_signing_in_comes_first(self, client: TestClient, giving: Giving) -> None:
        answer = client.get("/payments/awaiting", headers=HTML, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/sign-in?next=/payments/awaiting"


class TestMyPaymentsPage:
    def test_a_bank_transfer_shows_its_code_and_the_instructions(
        self, client: TestClient, database: Database, giving: Giving
    ) -> None:
        payment_id = awaiting(database, giving)
        sign_in(database, client, giving.donor)
        page = client.get("/payments", headers=HTML)
        assert page.status_code == 200
        assert reference_code(payment_id) in page.text
        assert "IBAN DE02" in page.text


class TestSavedCardsPages:
    def test_save_and_remove_a_test_card(
        self, client: TestClient, database: Database, giving: Giving
    ) -> None:
        sign_in(database, client, giving.donor)
        saved = submit(
            client,
            "/payments/methods/simulated",
            {"card_number": "4242 4242 4242 4242"},
            form_page="/payments/methods",
        )
        assert saved.status_code == 303
        page = client.get("/payments/methods?done=card-saved", headers=HTML)
        assert "Visa ending 4242 (test card)" in page.text
        with database.transaction(write=False) as session:
            [method] = methods.methods_of(session, giving.donor.id)
        removed = submit(
            client, f"/payments/methods/{method.id}/remove", {}, form_page="/payments/methods"
        )
        assert removed.status_code == 303
        assert "No card is saved" in client.get("/payments/methods", headers=HTML).text

    def test_a_number_that_is_not_a_test_card_is_shown_as_a_field_error(
        self, client: TestClient, database: Database, giving: Giving
    ) -> None:
        sign_in(database, client, giving.donor)
        answer = submit(
            client,
            "/payments/methods/simulated",
            {"card_number": "4111 1111 1111 1111"},
            form_page="/payments/methods",
        )
        assert answer.status_code == 422
        assert "only test card numbers" in answer.text
        assert 'id="e-card_number"' in answer.text

    def test_a_stripe_card_is_saved_through_a_setup_intent(
        self, client: TestClient, database: Database, giving: Giving, fake: FakeStripe
    ) -> None:
        sign_in(database, client, giving.donor)
        page = submit(client, "/payments/methods/stripe", {}, form_page="/payments/methods")
        assert page.status_code == 200
        [intent] = fake.of_kind("setup_intent")
        assert intent["client_secret"] in page.text
        assert "pk_test_potluck_fake" in page.text
        assert "https://js.stripe.com/v3/" in page.text
        fake.confirm_setup_intent(intent["id"], "5555555555554444")
        back = client.get(
            f"/payments/methods/stripe/return?setup_intent={intent['id']}",
            headers=HTML,
            follow_redirects=False,
        )
        assert back.status_code == 303
        assert "Mastercard ending 4444" in client.get("/payments/methods", headers=HTML).text

    def test_someone_elses_card_setup_is_not_found(
        self, client: TestClient, database: Database, giving: Giving, fake: FakeStripe
    ) -> None:
        sign_in(database, client, giving.donor)
        submit(client, "/payments/methods/stripe", {}, form_page="/payments/methods")
        [intent] = fake.of_kind("setup_intent")
        fake.confirm_setup_intent(intent["id"], "4242424242424242")
        with database.transaction() as session:
            other = make_peer(session)
        sign_in(database, client, other)
        back = client.get(
            f"/payments/methods/stripe/return?setup_intent={intent['id']}", headers=HTML
        )
        assert back.status_code == 404
        with database.transaction(write=False) as session:
            assert methods.methods_of(session, other.id) == []
