"""Fixtures for payments: a fake Stripe server, providers pointed at it, an app using them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from potluck.app import create_app
from potluck.clock import FrozenClock
from potluck.config import Settings
from potluck.db import Database
from potluck.pledges.payments.deps import STATE_KEY
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.pledges.payments.settings import PaymentSettings
from tests.support import fake_stripe
from tests.support.fake_stripe import FakeStripe

BANK_INSTRUCTIONS = "Pay to Potluck Commons, IBAN DE02 1203 0000 0000 2020 51."


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripe]:
    with fake_stripe.serve() as server:
        yield server


@pytest.fixture
def fake(stripe_server: FakeStripe) -> FakeStripe:
    """The fake Stripe, emptied for each test."""
    stripe_server.reset()
    return stripe_server


@pytest.fixture
def providers(fake: FakeStripe) -> ProviderRegistry:
    """Every provider, with Stripe's official library pointed at the fake server."""
    return ProviderRegistry.from_settings(
        PaymentSettings(
            stripe_secret_key=fake_stripe.SECRET_KEY,
            stripe_publishable_key="pk_test_potluck_fake",
            stripe_webhook_secret=fake_stripe.WEBHOOK_SECRET,
            stripe_api_base=fake.base_url,
            stripe_max_network_retries=0,
            manual_bank_instructions=BANK_INSTRUCTIONS,
        )
    )


@pytest.fixture
def app(
    app_settings: Settings, clock: FrozenClock, database: Database, providers: ProviderRegistry
) -> FastAPI:
    made = create_app(app_settings, clock=clock, database=database)
    setattr(made.state, STATE_KEY, providers)
    return made
