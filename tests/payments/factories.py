"""Donors, projects, saved cards and payments for tests of payments, and looks into the books."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from potluck.db import Database
from potluck.ledger.models import Account, Custodian, Transfer
from potluck.people.models import Peer
from potluck.pledges.payments import methods, service
from potluck.pledges.payments.base import PaymentLine
from potluck.pledges.payments.books import CUSTODIANS
from potluck.pledges.payments.models import Payment, PaymentEvent, PaymentMethod
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.projects.models import Project
from tests.people.factories import DEFAULT_NOW, make_peer
from tests.projects.factories import make_project
from tests.support.fake_stripe import FakeStripe

_references = itertools.count(1)


@dataclass(frozen=True)
class Giving:
    """A donor and the projects they give to, each with its own steward."""

    donor: Peer
    projects: list[Project]
    stewards: list[Peer]


def make_giving(session: Session, *, projects: int = 1) -> Giving:
    donor = make_peer(session)
    stewards = [make_peer(session) for _ in range(projects)]
    made = [make_project(session, creator=steward) for steward in stewards]
    return Giving(donor, made, stewards)


def lines(giving: Giving, amounts: Sequence[int]) -> list[PaymentLine]:
    """One line per amount, for the giving's projects in turn."""
    return [
        PaymentLine(giving.projects[index % len(giving.projects)].id, amount, f"pledge {index + 1}")
        for index, amount in enumerate(amounts)
    ]


def start(
    session: Session,
    giving: Giving,
    *,
    provider: str,
    amounts: Sequence[int] = (2000,),
    currency: str = "EUR",
    reference: str | None = None,
    now: datetime = DEFAULT_NOW,
) -> Payment:
    return service.start_payment(
        session,
        reference=reference or f"payday-1/donor-{giving.donor.id}/{next(_references)}",
        donor_id=giving.donor.id,
        currency=currency,
        lines=lines(giving, amounts),
        provider=provider,
        now=now,
    )


def save_test_card(session: Session, peer: Peer, number: str = "4242424242424242") -> PaymentMethod:
    return methods.save_simulated_card(session, peer, card_number=number, now=DEFAULT_NOW)


def save_stripe_card(
    session: Session,
    providers: ProviderRegistry,
    fake: FakeStripe,
    peer: Peer,
    number: str = "4242424242424242",
) -> PaymentMethod:
    """Save a card the way a donor does: a SetupIntent, confirmed by Stripe.js (the fake)."""
    stripe = providers.stripe
    assert stripe is not None
    started = stripe.start_setup(
        customer_ref=methods.stripe_customer_of(session, peer.id),
        peer_id=peer.id,
        email=peer.email,
        name=peer.display_name,
    )
    fake.confirm_setup_intent(started.setup_intent_id, number)
    finished = stripe.finish_setup(started.setup_intent_id, peer_id=peer.id)
    return methods.save_stripe_method(
        session,
        peer,
        customer_ref=finished.customer_ref,
        method_ref=finished.method_ref,
        label=finished.label,
        now=DEFAULT_NOW,
    )


def funds(
    database: Database,
    project: Project,
    provider: str,
    currency: str = "EUR",
    *,
    purpose: str = "funds",
) -> int:
    """The balance of a project's funds held at ``provider``'s custodian (0 if never opened);
    with ``purpose="owed"``, what it owes there (negative)."""
    name, _ = CUSTODIANS[provider]
    with database.transaction(write=False) as session:
        account = session.scalar(
            select(Account)
            .join(Custodian, Custodian.id == Account.custodian_id)
            .where(
                Account.project_id == project.id,
                Account.purpose == purpose,
                Account.commodity == currency,
                Custodian.name == name,
            )
        )
        return 0 if account is None else account.credits_posted - account.debits_posted


def transfer_count(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Transfer)) or 0)


def event_count(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(PaymentEvent)) or 0)


def reload(database: Database, payment_id: int) -> Payment:
    with database.transaction(write=False) as session:
        return service.get_payment(session, payment_id)
