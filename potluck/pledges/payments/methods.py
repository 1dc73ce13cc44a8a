"""Saved payment methods, notices to donors, and who may confirm what arrives at a custodian."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from potluck.errors import Forbidden, InvalidInput, NotFound
from potluck.ledger.models import Custodian
from potluck.ledger.service import accounts
from potluck.people.models import Peer
from potluck.pledges.payments import rules
from potluck.pledges.payments.base import ProviderName, SavedMethod
from potluck.pledges.payments.books import CUSTODIANS, custodian_for
from potluck.pledges.payments.models import (
    NOTICE_KINDS,
    CustodianAdmin,
    PaymentMethod,
    PaymentNotice,
)

CARD_PROVIDERS = (ProviderName.SIMULATED.value, ProviderName.STRIPE.value)


# --- saved methods -------------------------------------------------------------------------


def active_method(session: Session, peer_id: int, provider: str) -> PaymentMethod | None:
    """The card a peer has saved with ``provider`` now, if any."""
    return session.scalar(
        select(PaymentMethod).where(
            PaymentMethod.peer_id == peer_id,
            PaymentMethod.provider == provider,
            PaymentMethod.removed_at.is_(None),
        )
    )


def methods_of(session: Session, peer_id: int) -> list[PaymentMethod]:
    """A peer's saved methods that are still in use, newest first."""
    return list(
        session.scalars(
            select(PaymentMethod)
            .where(PaymentMethod.peer_id == peer_id, PaymentMethod.removed_at.is_(None))
            .order_by(PaymentMethod.created_at.desc(), PaymentMethod.id.desc())
        )
    )


def saved(method: PaymentMethod) -> SavedMethod:
    return SavedMethod(method.id, method.customer_ref, method.method_ref)


def preferred_provider(session: Session, peer_id: int, available: tuple[str, ...]) -> str:
    """How a donor pays when nothing else is said: the provider of their newest saved card
    among ``available``, or a bank transfer."""
    for method in methods_of(session, peer_id):
        if method.provider in available:
            return method.provider
    return ProviderName.MANUAL.value


def _replace(
    session: Session,
    peer: Peer,
    *,
    provider: str,
    customer_ref: str | None,
    method_ref: str,
    label: str,
    now: datetime,
) -> PaymentMethod:
    existing = active_method(session, peer.id, provider)
    if existing is not None:
        if existing.method_ref == method_ref and existing.customer_ref == customer_ref:
            return existing
        existing.removed_at = now
        session.flush()
    method = PaymentMethod(
        peer_id=peer.id,
        provider=provider,
        customer_ref=customer_ref,
        method_ref=method_ref,
        label=label[:120],
        created_at=now,
    )
    session.add(method)
    session.flush()
    return method


def save_simulated_card(
    session: Session, peer: Peer, *, card_number: str, now: datetime
) -> PaymentMethod:
    """Save a test card for the simulated processor; it replaces the one saved before."""
    card = rules.simulated_card(card_number)
    return _replace(
        session,
        peer,
        provider=ProviderName.SIMULATED.value,
        customer_ref=None,
        method_ref=card.number,
        label=card.label,
        now=now,
    )


def save_stripe_method(
    session: Session,
    peer: Peer,
    *,
    customer_ref: str,
    method_ref: str,
    label: str,
    now: datetime,
) -> PaymentMethod:
    """Save the card a finished Stripe SetupIntent attached to the peer's customer."""
    if not customer_ref.startswith("cus_") or not method_ref.startswith(("pm_", "card_")):
        raise InvalidInput(
            f"'{customer_ref}' and '{method_ref}' are not a Stripe customer and payment method.",
            field="method_ref",
        )
    return _replace(
        session,
        peer,
        provider=ProviderName.STRIPE.value,
        customer_ref=customer_ref,
        method_ref=method_ref,
        label=label,
        now=now,
    )


def stripe_customer_of(session: Session, peer_id: int) -> str | None:
    """The Stripe customer made for a peer before, kept even after their card was removed."""
    return session.scalar(
        select(PaymentMethod.customer_ref)
        .where(
            PaymentMethod.peer_id == peer_id,
            PaymentMethod.provider == ProviderName.STRIPE.value,
            PaymentMethod.customer_ref.is_not(None),
        )
        .order_by(PaymentMethod.id.desc())
        .limit(1)
    )


def remove_method(session: Session, peer: Peer, method_id: int, *, now: datetime) -> PaymentMethod:
    method = session.get(PaymentMethod, method_id)
    if method is None or method.peer_id != peer.id:
        raise NotFound(f"You have no saved payment method {method_id}.", field="method_id")
    if method.removed_at is None:
        method.removed_at = now
        session.flush()
    return method


# --- notices -------------------------------------------------------------------------------


def add_notice(
    session: Session, *, peer_id: int, payment_id: int, kind: str, message: str, now: datetime
) -> PaymentNotice:
    """Tell a donor something about one of their payments; once per payment and kind.

    Kinds: ``declined``, ``disputed``, ``refunded``, ``no-method`` and ``paused`` (the pledges
    a run of failed payments paused)."""
    if kind not in NOTICE_KINDS:
        raise InvalidInput(
            f"Notice kind '{kind}' is not one of {', '.join(NOTICE_KINDS)}.", field="kind"
        )
    existing = session.scalar(
        select(PaymentNotice).where(
            PaymentNotice.payment_id == payment_id, PaymentNotice.kind == kind
        )
    )
    if existing is not None:
        return existing
    notice = PaymentNotice(
        peer_id=peer_id,
        payment_id=payment_id,
        kind=kind,
        message=message[:1000],
        created_at=now,
    )
    session.add(notice)
    session.flush()
    return notice


def notices_of(session: Session, peer_id: int, *, unread_only: bool = False) -> list[PaymentNotice]:
    query = select(PaymentNotice).where(PaymentNotice.peer_id == peer_id)
    if unread_only:
        query = query.where(PaymentNotice.read_at.is_(None))
    return list(session.scalars(query.order_by(PaymentNotice.id.desc())))


def mark_notices_read(session: Session, peer_id: int, *, now: datetime) -> int:
    """Mark every unread notice of a peer as read; returns how many there were."""
    result = session.execute(
        update(PaymentNotice)
        .where(PaymentNotice.peer_id == peer_id, PaymentNotice.read_at.is_(None))
        .values(read_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- custodian admins ----------------------------------------------------------------------


def appoint_custodian_admin(
    session: Session, *, provider: str, peer_id: int, appointed_by: Peer | None, now: datetime
) -> CustodianAdmin:
    """Let ``peer_id`` confirm what arrives at ``provider``'s custodian for every project.

    ``appointed_by`` is an existing admin of that custodian, or None for the instance itself
    (the command line, the first admin)."""
    if provider not in CUSTODIANS:
        raise InvalidInput(f"There is no payment provider '{provider}'.", field="provider")
    if session.get(Peer, peer_id) is None:
        raise NotFound(f"Peer {peer_id} does not exist.", field="peer_id")
    custodian = custodian_for(session, provider, now=now)
    if appointed_by is not None and not is_custodian_admin(session, provider, appointed_by.id):
        raise Forbidden(f"Only an admin of '{custodian.name}' may appoint another.")
    accounts.insert_ignoring_conflict(
        session,
        CustodianAdmin.__table__,  # type: ignore[arg-type]
        {"custodian_id": custodian.id, "peer_id": peer_id, "appointed_at": now},
    )
    return session.scalars(
        select(CustodianAdmin).where(
            CustodianAdmin.custodian_id == custodian.id, CustodianAdmin.peer_id == peer_id
        )
    ).one()


def is_custodian_admin(session: Session, provider: str, peer_id: int) -> bool:
    name, _ = CUSTODIANS[provider]
    return (
        session.scalar(
            select(CustodianAdmin.id)
            .join(Custodian, Custodian.id == CustodianAdmin.custodian_id)
            .where(Custodian.name == name, CustodianAdmin.peer_id == peer_id)
        )
        is not None
    )


__all__ = [
    "CARD_PROVIDERS",
    "active_method",
    "add_notice",
    "appoint_custodian_admin",
    "is_custodian_admin",
    "mark_notices_read",
    "methods_of",
    "notices_of",
    "preferred_provider",
    "remove_method",
    "save_simulated_card",
    "save_stripe_method",
    "saved",
    "stripe_customer_of",
]
