"""Stripe's webhook: signed events from the fake Stripe server, each applied once, bad
signatures refused before anything is read or written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import accounts, posting
from potluck.pledges.payments import rules, sending, service, takeback
from potluck.pledges.payments.base import PaymentState
from potluck.pledges.payments.books import custodian_for
from potluck.pledges.payments.registry import ProviderRegistry
from tests.payments.factories import (
    Giving,
    event_count,
    funds,
    make_giving,
    reload,
    save_stripe_card,
    start,
    transfer_count,
)
from tests.support.books import assert_books_verify
from tests.support.fake_stripe import WEBHOOK_SECRET, Deliver, FakeStripe, sign

URL = "/api/v1/payments/stripe/webhook"


@dataclass(frozen=True)
class Paid:
    giving: Giving
    payment_id: int
    intent_id: str


@pytest.fixture
def verified(database: Database) -> Iterator[None]:
    yield
    assert_books_verify(database)


def post(client: TestClient) -> Deliver:
    def deliver(payload: bytes, headers: dict[str, str]) -> int:
        status: int = client.post(URL, content=payload, headers=headers).status_code
        return status

    return deliver


def paid(
    database: Database,
    providers: ProviderRegistry,
    fake: FakeStripe,
    clock: FrozenClock,
    *,
    card: str = "4242424242424242",
    amounts: tuple[int, ...] = (1500, 500),
) -> Paid:
    with database.transaction() as session:
        giving = make_giving(session, projects=len(amounts))
        save_stripe_card(session, providers, fake, giving.donor, card)
        payment_id = start(session, giving, provider="stripe", amounts=amounts).id
    service.execute_payment(database, payment_id, providers=providers, clock=clock)
    return Paid(giving, payment_id, fake.payment_intents()[-1]["id"])


def last_event(fake: FakeStripe, event_type: str) -> dict[str, Any]:
    return [event for event in fake.events if event["type"] == event_type][-1]


@pytest.mark.usefixtures("verified")
class TestStripeWebhook:
    def test_a_bad_signature_is_400_naming_it_and_nothing_is_written(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        fake.hold_intents = True
        made = paid(database, providers, fake, clock)
        fake.finish_intent(made.intent_id)
        payload, headers = fake.signed(
            last_event(fake, "payment_intent.succeeded"), secret="whsec_someone_else"
        )
        answer = client.post(URL, content=payload, headers=headers)
        assert answer.status_code == 400
        body = answer.json()
        assert body["error"] == "BadRequest"
        assert "Stripe-Signature" in body["detail"]
        assert event_count(database) == 0
        assert reload(database, made.payment_id).payment_state is PaymentState.PROCESSING
        assert transfer_count(database) == 0

    def test_a_missing_signature_is_400(self, client: TestClient, fake: FakeStripe) -> None:
        answer = client.post(URL, content=b'{"id": "evt_1", "object": "event"}')
        assert answer.status_code == 400
        assert "Stripe-Signature" in answer.json()["detail"]

    def test_a_tampered_body_is_400(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        fake.hold_intents = True
        made = paid(database, providers, fake, clock)
        fake.finish_intent(made.intent_id)
        payload, headers = fake.signed(last_event(fake, "payment_intent.succeeded"))
        answer = client.post(URL, content=payload.replace(b"2000", b"9999"), headers=headers)
        assert answer.status_code == 400
        assert event_count(database) == 0

    def test_a_held_payment_succeeds_by_webhook_and_is_posted(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        fake.hold_intents = True
        made = paid(database, providers, fake, clock)
        fake.finish_intent(made.intent_id)
        assert set(fake.deliver(post(client))) == {200}
        payment = reload(database, made.payment_id)
        assert payment.payment_state is PaymentState.SUCCEEDED
        assert payment.fee == 2000 * 29 // 1000 + 30
        total = funds(database, made.giving.projects[0], "stripe") + funds(
            database, made.giving.projects[1], "stripe"
        )
        assert total == 2000 - payment.fee

    def test_the_same_event_delivered_twice_applies_once(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        fake.hold_intents = True
        made = paid(database, providers, fake, clock)
        fake.finish_intent(made.intent_id)
        payload, headers = fake.signed(last_event(fake, "payment_intent.succeeded"))
        first = client.post(URL, content=payload, headers=headers)
        posted = transfer_count(database)
        second = client.post(URL, content=payload, headers=headers)
        assert first.status_code == second.status_code == 200
        assert first.json()["applied"] is True
        assert second.json() == {
            "received": True,
            "applied": False,
            "detail": f"Event {json.loads(payload)['id']} was already applied.",
        }
        assert transfer_count(database) == posted
        assert event_count(database) == 1

    def test_a_success_already_recorded_by_the_sender_changes_nothing(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        made = paid(database, providers, fake, clock)
        posted = transfer_count(database)
        statuses = fake.deliver(post(client))
        assert set(statuses) == {200}
        assert transfer_count(database) == posted
        assert reload(database, made.payment_id).payment_state is PaymentState.SUCCEEDED

    def test_a_dispute_takes_the_money_back_and_the_processor_keeps_its_fee(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        made = paid(database, providers, fake, clock)
        fake.deliver(post(client))
        fee = reload(database, made.payment_id).fee or 0
        fake.dispute(made.intent_id)
        assert fake.deliver(post(client)) == [200]
        payment = reload(database, made.payment_id)
        assert payment.payment_state is PaymentState.DISPUTED
        shares = rules.split_fee(fee, [1500, 500])
        for project, share in zip(made.giving.projects, shares, strict=True):
            assert funds(database, project, "stripe") == 0
            # The fee is gone with the processor: the project owes its share of it.
            assert funds(database, project, "stripe", purpose="owed") == -share

    def test_a_card_that_gets_disputed_ends_disputed(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        made = paid(database, providers, fake, clock, card="4000000000000259")
        assert reload(database, made.payment_id).payment_state is PaymentState.SUCCEEDED
        fake.deliver(post(client))
        assert reload(database, made.payment_id).payment_state is PaymentState.DISPUTED

    def test_each_partial_refund_is_booked_once_and_the_last_completes_it(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        made = paid(database, providers, fake, clock)
        fake.deliver(post(client))
        fee = reload(database, made.payment_id).fee or 0
        held = [funds(database, project, "stripe") for project in made.giving.projects]
        fake.refund(made.intent_id, amount=500)
        details: list[str] = []

        def deliver(payload: bytes, headers: dict[str, str]) -> int:
            answer = client.post(URL, content=payload, headers=headers)
            details.append(answer.json()["detail"])
            status: int = answer.status_code
            return status

        fake.deliver(deliver)
        assert "refunded in part (5.00 EUR in all)" in details[-1]
        payment = reload(database, made.payment_id)
        assert payment.payment_state is PaymentState.SUCCEEDED
        assert payment.refunded == 500
        first = rules.taken_back_parts(500, [1500, 500])
        assert sum(first) == 500
        for project, before, part in zip(made.giving.projects, held, first, strict=True):
            assert funds(database, project, "stripe") == before - part
        # The same event again changes nothing.
        posted = transfer_count(database)
        payload, headers = fake.signed(last_event(fake, "charge.refunded"))
        assert client.post(URL, content=payload, headers=headers).status_code == 200
        assert transfer_count(database) == posted

        fake.refund(made.intent_id, amount=1500)
        fake.deliver(post(client))
        payment = reload(database, made.payment_id)
        assert payment.payment_state is PaymentState.REFUNDED
        assert payment.refunded == 2000
        shares = rules.split_fee(fee, [1500, 500])
        for project, share in zip(made.giving.projects, shares, strict=True):
            assert funds(database, project, "stripe") == 0
            assert funds(database, project, "stripe", purpose="owed") == -share

    def test_an_older_refund_total_arriving_late_changes_nothing(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        made = paid(database, providers, fake, clock)
        fake.deliver(post(client))
        fake.refund(made.intent_id, amount=300)
        older = last_event(fake, "charge.refunded")
        fake.refund(made.intent_id, amount=400)
        newer = last_event(fake, "charge.refunded")
        fake.events.clear()
        for event in (newer, older):
            payload, headers = fake.signed(event)
            assert client.post(URL, content=payload, headers=headers).status_code == 200
        assert reload(database, made.payment_id).refunded == 700

    def test_money_the_funds_no_longer_hold_goes_on_what_the_project_owes(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        made = paid(database, providers, fake, clock, amounts=(2000,))
        fake.deliver(post(client))
        project = made.giving.projects[0]
        held = funds(database, project, "stripe")
        with database.transaction() as session:
            account = accounts.open_account(
                session,
                owner="project",
                purpose="funds",
                project_id=project.id,
                custodian_id=custodian_for(session, "stripe", now=clock.now()).id,
                commodity="EUR",
                now=clock.now(),
            )
            world = accounts.world_account(session, "EUR", now=clock.now())
            posting.post_transfer(
                session,
                TransferRequest(
                    "hosting-bill-1", "transfer", account.id, world.id, held, memo="VPS"
                ),
                now=clock.now(),
            )
        fake.dispute(made.intent_id)
        payload, headers = fake.signed(last_event(fake, "charge.dispute.created"))
        answer = client.post(URL, content=payload, headers=headers)
        assert answer.status_code == 200
        assert reload(database, made.payment_id).payment_state is PaymentState.DISPUTED
        assert event_count(database) == 2
        assert funds(database, project, "stripe") == 0
        assert funds(database, project, "stripe", purpose="owed") == -2000

        # Money arriving later pays the debt back first (housekeeping).
        with database.transaction() as session:
            posting.post_transfer(
                session,
                TransferRequest("gift-1", "transfer", world.id, account.id, 2500, memo="gift"),
                now=clock.now(),
            )
        with database.transaction() as session:
            assert takeback.repay_owed(session, now=clock.now()) == 1
        assert funds(database, project, "stripe", purpose="owed") == 0
        assert funds(database, project, "stripe") == 500
        with database.transaction() as session:
            assert takeback.repay_owed(session, now=clock.now()) == 0

    def test_a_won_dispute_brings_back_exactly_what_it_took(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        made = paid(database, providers, fake, clock)
        fake.deliver(post(client))
        before = [funds(database, project, "stripe") for project in made.giving.projects]
        fake.dispute(made.intent_id)
        fake.deliver(post(client))
        assert reload(database, made.payment_id).payment_state is PaymentState.DISPUTED
        fake.close_dispute(made.intent_id, won=True)
        assert fake.deliver(post(client)) == [200]
        assert reload(database, made.payment_id).payment_state is PaymentState.SUCCEEDED
        for project, held in zip(made.giving.projects, before, strict=True):
            assert funds(database, project, "stripe") == held
            assert funds(database, project, "stripe", purpose="owed") == 0
        # Delivered again, nothing moves.
        posted = transfer_count(database)
        payload, headers = fake.signed(last_event(fake, "charge.dispute.closed"))
        assert client.post(URL, content=payload, headers=headers).status_code == 200
        assert transfer_count(database) == posted

    def test_a_lost_dispute_changes_nothing_more(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        made = paid(database, providers, fake, clock)
        fake.deliver(post(client))
        fake.dispute(made.intent_id)
        fake.deliver(post(client))
        posted = transfer_count(database)
        fake.close_dispute(made.intent_id, won=False)
        assert fake.deliver(post(client)) == [200]
        assert reload(database, made.payment_id).payment_state is PaymentState.DISPUTED
        assert transfer_count(database) == posted

    def test_an_event_about_an_unknown_payment_is_recorded_and_ignored(
        self, client: TestClient, database: Database, fake: FakeStripe
    ) -> None:
        event = {
            "id": "evt_from_elsewhere",
            "object": "event",
            "type": "payment_intent.payment_failed",
            "livemode": False,
            "created": 1,
            "data": {"object": {"id": "pi_elsewhere", "object": "payment_intent", "metadata": {}}},
        }
        payload = json.dumps(event).encode()
        answer = client.post(
            URL, content=payload, headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)}
        )
        assert answer.status_code == 200
        assert answer.json()["applied"] is False
        assert "no stripe payment matches pi_elsewhere" in answer.json()["detail"]
        assert event_count(database) == 1

    def test_events_potluck_does_not_use_are_acknowledged(
        self, client: TestClient, database: Database, fake: FakeStripe
    ) -> None:
        event = {"id": "evt_customer", "object": "event", "type": "customer.created",
                 "data": {"object": {"id": "cus_1", "object": "customer"}}}  # fmt: skip
        payload = json.dumps(event).encode()
        answer = client.post(
            URL, content=payload, headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)}
        )
        assert answer.status_code == 200
        assert answer.json()["detail"] == "Potluck does not use 'customer.created' events."
        assert event_count(database) == 0

    def test_a_lost_answer_is_recovered_by_the_webhook(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        with database.transaction() as session:
            giving = make_giving(session)
            save_stripe_card(session, providers, fake, giving.donor)
            payment_id = start(session, giving, provider="stripe").id
        with database.transaction() as session:
            prepared = sending.prepare_many(
                session, [payment_id], providers=providers, now=clock.now()
            )
        (request,) = prepared.requests["stripe"]
        stripe = providers.stripe
        assert stripe is not None
        stripe.charge(request)  # the answer is lost
        fake.deliver(post(client))
        payment = reload(database, payment_id)
        assert payment.payment_state is PaymentState.SUCCEEDED
        assert payment.provider_ref == fake.payment_intents()[0]["id"]
        service.execute_payment(database, payment_id, providers=providers, clock=clock)
        assert len(fake.payment_intents()) == 1


class TestStripeWebhookMismatch:
    def test_a_second_intent_for_a_payment_is_reported_not_posted(
        self,
        client: TestClient,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
    ) -> None:
        made = paid(database, providers, fake, clock)
        posted = transfer_count(database)
        assert reload(database, made.payment_id).provider_ref != "pi_another"
        event = json.loads(json.dumps(last_event(fake, "payment_intent.succeeded")))
        event["id"] = "evt_second_intent"
        event["data"]["object"]["id"] = "pi_another"
        payload = json.dumps(event).encode()
        answer = client.post(
            URL, content=payload, headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)}
        )
        assert answer.status_code == 200
        assert answer.json()["applied"] is False
        assert "charged twice: refund pi_another" in answer.json()["detail"]
        assert transfer_count(database) == posted
        assert_books_verify(database)
