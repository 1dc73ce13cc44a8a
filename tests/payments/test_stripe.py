"""Stripe end to end: the official library against the fake Stripe server, saved cards,
off-session PaymentIntents, fees from balance transactions, declines and lost answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.money import commodity
from potluck.pledges.payments import methods, service, stripe_amounts
from potluck.pledges.payments.base import (
    ChargeOutcome,
    ChargeRequest,
    PaymentProvider,
    PaymentState,
    ProviderUnavailable,
)
from potluck.pledges.payments.models import Payment
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.pledges.payments.settings import PaymentSettings
from tests.payments.factories import (
    Giving,
    funds,
    make_giving,
    reload,
    save_stripe_card,
    start,
    transfer_count,
)
from tests.support import fake_stripe
from tests.support.books import assert_books_verify
from tests.support.fake_stripe import FakeStripe


@dataclass(frozen=True)
class Setup:
    giving: Giving
    payment_id: int


def stripe_payment(
    database: Database,
    providers: ProviderRegistry,
    fake: FakeStripe,
    *,
    card: str = "4242424242424242",
    amounts: tuple[int, ...] = (2000,),
    giving: Giving | None = None,
    currency: str = "EUR",
) -> Setup:
    with database.transaction() as session:
        if giving is None:
            giving = make_giving(session, projects=len(amounts))
            save_stripe_card(session, providers, fake, giving.donor, card)
        payment = start(session, giving, provider="stripe", amounts=amounts, currency=currency)
        return Setup(giving, payment.id)


@pytest.fixture
def verified(database: Database) -> Iterator[None]:
    yield
    assert_books_verify(database)


def execute(
    database: Database, payment_id: int, providers: ProviderRegistry, clock: FrozenClock
) -> Payment:
    return service.execute_payment(database, payment_id, providers=providers, clock=clock)


class CrashAfterCharging:
    """A provider that sends the charge and then dies before anyone hears the answer."""

    def __init__(self, inner: PaymentProvider) -> None:
        self.inner = inner
        self.name = inner.name
        self.custodian_name = inner.custodian_name
        self.custodian_kind = inner.custodian_kind
        self.needs_saved_method = inner.needs_saved_method

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        self.inner.charge(request)
        raise KeyboardInterrupt


@pytest.mark.usefixtures("verified")
class TestStripeCharge:
    def test_success_posts_the_money_and_the_fee_from_the_balance_transaction(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        made = stripe_payment(database, providers, fake)
        payment = execute(database, made.payment_id, providers, clock)
        assert payment.payment_state is PaymentState.SUCCEEDED
        [intent] = fake.payment_intents()
        assert payment.provider_ref == intent["id"]
        balance = fake.objects[fake.objects[intent["latest_charge"]]["balance_transaction"]]
        assert payment.fee == balance["fee"] == 2000 * 29 // 1000 + 30
        assert funds(database, made.giving.projects[0], "stripe") == 2000 - payment.fee

    def test_the_intent_is_off_session_with_the_payment_in_its_metadata(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        made = stripe_payment(database, providers, fake)
        execute(database, made.payment_id, providers, clock)
        [(_, _, params)] = [seen for seen in fake.requests_seen if seen[1] == "/v1/payment_intents"]
        assert params["confirm"] == "true"
        assert params["off_session"] == "true"
        assert params["amount"] == "2000"
        assert params["currency"] == "eur"
        assert params["metadata"]["potluck_payment"] == str(made.payment_id)

    def test_executing_twice_charges_once(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        made = stripe_payment(database, providers, fake)
        execute(database, made.payment_id, providers, clock)
        posted = transfer_count(database)
        execute(database, made.payment_id, providers, clock)
        assert len(fake.payment_intents()) == 1
        assert fake.creates("payment_intents") == 1
        assert transfer_count(database) == posted

    def test_an_answer_lost_in_a_crash_is_recovered_without_a_second_charge(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        made = stripe_payment(database, providers, fake)
        stripe = providers.stripe
        assert stripe is not None
        crashing = ProviderRegistry([CrashAfterCharging(stripe)])
        with pytest.raises(KeyboardInterrupt):
            execute(database, made.payment_id, crashing, clock)
        assert reload(database, made.payment_id).payment_state is PaymentState.PROCESSING
        assert transfer_count(database) == 0
        payment = execute(database, made.payment_id, providers, clock)
        assert payment.payment_state is PaymentState.SUCCEEDED
        assert payment.attempts == 2
        assert len(fake.payment_intents()) == 1
        assert funds(database, made.giving.projects[0], "stripe") == 2000 - (payment.fee or 0)

    def test_a_declined_card_fails_with_the_decline_reason(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        made = stripe_payment(database, providers, fake, card="4000000000000002")
        payment = execute(database, made.payment_id, providers, clock)
        assert payment.payment_state is PaymentState.FAILED
        assert payment.failure_code == "generic_decline"
        assert payment.failure_message == "Your card was declined."
        [intent] = fake.payment_intents()
        assert payment.provider_ref == intent["id"]
        assert transfer_count(database) == 0
        with database.transaction(write=False) as session:
            [notice] = methods.notices_of(session, made.giving.donor.id)
        assert notice.kind == "declined"
        assert "Your card was declined." in notice.message

    def test_a_card_needing_authentication_is_a_decline_off_session(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        made = stripe_payment(database, providers, fake, card="4000002760003184")
        payment = execute(database, made.payment_id, providers, clock)
        assert payment.payment_state is PaymentState.FAILED
        assert payment.failure_code == "authentication_required"

    def test_three_declines_make_three_consecutive_failures(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        first = stripe_payment(database, providers, fake, card="4000000000009995")
        for _ in range(2):
            execute(database, first.payment_id, providers, clock)
            later = stripe_payment(database, providers, fake, giving=first.giving)
            execute(database, later.payment_id, providers, clock)
        with database.transaction(write=False) as session:
            assert service.consecutive_failures(session, first.giving.donor.id) == 3
        assert len(fake.payment_intents()) == 3

    def test_a_fee_settled_in_another_currency_is_converted(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        fake.settlement_currency = "USD"
        fake.settlement_rate = (11, 10)
        made = stripe_payment(database, providers, fake)
        payment = execute(database, made.payment_id, providers, clock)
        settled_fee = 2200 * 29 // 1000 + 30
        assert settled_fee == 93
        # 93 of 2,200 USD is 84.5 of 2,000 EUR, rounded half up.
        assert payment.fee == 85

    def test_stripe_out_of_reach_leaves_the_payment_processing_to_send_again(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        made = stripe_payment(database, providers, fake)
        unreachable = ProviderRegistry.from_settings(
            PaymentSettings(
                stripe_secret_key=fake_stripe.SECRET_KEY,
                stripe_webhook_secret=fake_stripe.WEBHOOK_SECRET,
                stripe_api_base="http://127.0.0.1:9",
                stripe_max_network_retries=0,
            )
        )
        with pytest.raises(ProviderUnavailable) as raised:
            execute(database, made.payment_id, unreachable, clock)
        assert "sending the payment again is safe" in raised.value.detail
        assert reload(database, made.payment_id).payment_state is PaymentState.PROCESSING
        payment = execute(database, made.payment_id, providers, clock)
        assert payment.payment_state is PaymentState.SUCCEEDED
        assert len(fake.payment_intents()) == 1

    def test_a_held_intent_stays_processing(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        fake.hold_intents = True
        made = stripe_payment(database, providers, fake)
        payment = execute(database, made.payment_id, providers, clock)
        assert payment.payment_state is PaymentState.PROCESSING
        assert payment.provider_ref == fake.payment_intents()[0]["id"]
        assert transfer_count(database) == 0

    def test_sending_a_processing_payment_again_asks_stripe_how_it_went(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe, clock: FrozenClock
    ) -> None:
        fake.hold_intents = True
        made = stripe_payment(database, providers, fake)
        execute(database, made.payment_id, providers, clock)
        fake.finish_intent(fake.payment_intents()[0]["id"])
        payment = execute(database, made.payment_id, providers, clock)
        assert payment.payment_state is PaymentState.SUCCEEDED
        assert fake.creates("payment_intents") == 1
        assert funds(database, made.giving.projects[0], "stripe") == 2000 - (payment.fee or 0)


class TestStripeUnits:
    """Stripe counts a few currencies in other units than ISO 4217 (stripe_amounts)."""

    def sent(self, fake: FakeStripe) -> list[str]:
        return [p["amount"] for _, path, p in fake.requests_seen if path == "/v1/payment_intents"]

    @pytest.mark.parametrize(
        ("currency", "amount", "sent"),
        [("ISK", 500, "50000"), ("MGA", 20000, "200"), ("KWD", 5120, "5120"), ("JPY", 500, "500")],
    )
    def test_each_currency_is_sent_in_stripes_units_and_booked_in_ours(
        self,
        *,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
        currency: str,
        amount: int,
        sent: str,
    ) -> None:
        made = stripe_payment(database, providers, fake, amounts=(amount,), currency=currency)
        payment = execute(database, made.payment_id, providers, clock)
        assert payment.payment_state is PaymentState.SUCCEEDED
        assert self.sent(fake) == [sent]
        [intent] = fake.payment_intents()
        stripe_fee = fake.objects[fake.objects[intent["latest_charge"]]["balance_transaction"]]
        ours = stripe_amounts.from_stripe(stripe_fee["fee"], currency, commodity(currency).exponent)
        assert payment.fee == ours
        assert 0 < ours < amount
        assert funds(database, made.giving.projects[0], "stripe", currency) == amount - ours

    @pytest.mark.parametrize(("currency", "amount"), [("MGA", 20050), ("KWD", 5124)])
    def test_an_amount_stripe_cannot_take_fails_before_anything_is_sent(
        self,
        *,
        database: Database,
        providers: ProviderRegistry,
        fake: FakeStripe,
        clock: FrozenClock,
        currency: str,
        amount: int,
    ) -> None:
        made = stripe_payment(database, providers, fake, amounts=(amount,), currency=currency)
        payment = execute(database, made.payment_id, providers, clock)
        assert payment.payment_state is PaymentState.FAILED
        assert payment.failure_code == "amount_not_chargeable"
        assert "steps of" in (payment.failure_message or "")
        assert self.sent(fake) == []
        assert transfer_count(database) == 0


class TestSaveStripeCard:
    def test_a_finished_setup_saves_the_card_on_the_peers_customer(
        self, database: Database, providers: ProviderRegistry, fake: FakeStripe
    ) -> None:
        with database.transaction() as session:
            giving = make_giving(session)
            method = save_stripe_card(session, providers, fake, giving.donor)
            assert method.label == "Visa ending 4242"
            assert method.customer_ref is not None
            assert method.customer_ref.startswith("cus_")
            assert method.method_ref.startswith("pm_")
            again = save_stripe_card(session, providers, fake, giving.donor, "5555555555554444")
            assert again.customer_ref == method.customer_ref
            assert [m.label for m in methods.methods_of(session, giving.donor.id)] == [
                "Mastercard ending 4444"
            ]
        assert len(fake.of_kind("customer")) == 1
