"""The fake Stripe server itself speaks Stripe's wire format, so that passing tests against it
mean something: bracket-encoded forms, Bearer keys, idempotency keys, error bodies, signatures."""

from __future__ import annotations

import pytest
import requests
import stripe
from hypothesis import given
from hypothesis import strategies as st

from tests.support.fake_stripe import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    nested_form,
    sign,
)


def client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": fake.base_url}, max_network_retries=0
    )


class TestFakeStripeWire:
    def test_bracket_notation_is_read_as_stripe_writes_it(self) -> None:
        assert nested_form(
            [
                ("metadata[potluck_payment]", "12"),
                ("expand[0]", "latest_charge.balance_transaction"),
                ("automatic_payment_methods[enabled]", "true"),
                ("amount", "2000"),
            ]
        ) == {
            "metadata": {"potluck_payment": "12"},
            "expand": ["latest_charge.balance_transaction"],
            "automatic_payment_methods": {"enabled": "true"},
            "amount": "2000",
        }

    def test_a_wrong_secret_key_is_401_as_stripe_answers(self, fake: FakeStripe) -> None:
        answer = requests.post(
            f"{fake.base_url}/v1/customers",
            headers={"Authorization": "Bearer sk_test_wrong"},
            timeout=5,
        )
        assert answer.status_code == 401
        assert answer.json()["error"]["type"] == "invalid_request_error"

    def test_an_idempotency_key_replays_the_first_answer(self, fake: FakeStripe) -> None:
        headers = {"Authorization": f"Bearer {SECRET_KEY}", "Idempotency-Key": "k-1"}
        first = requests.post(
            f"{fake.base_url}/v1/customers", data={"email": "a@example.org"}, headers=headers,
            timeout=5,
        )  # fmt: skip
        again = requests.post(
            f"{fake.base_url}/v1/customers", data={"email": "a@example.org"}, headers=headers,
            timeout=5,
        )  # fmt: skip
        other = requests.post(
            f"{fake.base_url}/v1/customers", data={"email": "b@example.org"}, headers=headers,
            timeout=5,
        )  # fmt: skip
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert other.status_code == 400
        assert other.json()["error"]["type"] == "idempotency_error"
        assert len(fake.of_kind("customer")) == 1

    def test_a_decline_is_a_402_card_error_the_library_understands(self, fake: FakeStripe) -> None:
        stripe_client = client(fake)
        customer = stripe_client.v1.customers.create({"email": "a@example.org"})
        method = fake.card_method("4000000000000002", customer.id)
        with pytest.raises(stripe.CardError) as raised:
            stripe_client.v1.payment_intents.create(
                {
                    "amount": 1000,
                    "currency": "eur",
                    "customer": customer.id,
                    "payment_method": method,
                    "confirm": True,
                    "off_session": True,
                }
            )
        assert raised.value.http_status == 402
        assert raised.value.code == "card_declined"
        body = raised.value.json_body
        assert isinstance(body, dict)
        assert body["error"]["decline_code"] == "generic_decline"
        [intent] = fake.payment_intents()
        assert intent["status"] == "requires_payment_method"

    def test_objects_carry_id_object_and_livemode(self, fake: FakeStripe) -> None:
        customer = client(fake).v1.customers.create({"email": "a@example.org"}).to_dict()
        assert customer["id"].startswith("cus_")
        assert customer["object"] == "customer"
        assert customer["livemode"] is False


class TestFakeStripeSignatures:
    @given(st.binary(max_size=200), st.integers(min_value=1, max_value=2**31))
    def test_signatures_verify_with_stripes_own_code(self, payload: bytes, moment: int) -> None:
        text = payload.decode("latin-1").encode()
        header = sign(text, WEBHOOK_SECRET, moment)
        assert stripe.WebhookSignature.verify_header(
            text.decode(), header, WEBHOOK_SECRET, tolerance=None
        )
