"""JSON routes of payments: a donor's payments and saved cards, confirming a bank transfer, and
Stripe's webhook."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from potluck import idempotency
from potluck.clock import Clock
from potluck.db import Database
from potluck.deps import ApiWriter, ClockDep, CurrentPeer, DatabaseDep, SessionDep
from potluck.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    NotSignedIn,
    responses,
)
from potluck.pledges.payments import methods, service
from potluck.pledges.payments.base import ProviderName, ProviderUnavailable
from potluck.pledges.payments.deps import ProvidersDep
from potluck.pledges.payments.schemas import (
    ConfirmIn,
    MethodOut,
    NoticeOut,
    NoticesReadOut,
    PaymentOut,
    PaymentsOverviewOut,
    SimulatedCardIn,
    WebhookOut,
)
from potluck.pledges.payments.stripe_provider import StripeProvider

router = APIRouter(tags=["payments"])

_READ_ERRORS = responses(NotSignedIn, NotFound)
_WRITE_ERRORS = responses(NotSignedIn, Forbidden, NotFound, Conflict, InvalidInput)
WEBHOOK_PATH = "/payments/stripe/webhook"


@router.get("/payments", response_model=PaymentsOverviewOut, responses=_READ_ERRORS)
def my_payments(session: SessionDep, peer: CurrentPeer) -> PaymentsOverviewOut:
    """Your payments, newest first, how many failed in a row, and what you should know."""
    payments = service.payments_of(session, peer.id)
    slugs = service.project_slugs(session, payments)
    return PaymentsOverviewOut(
        payments=[PaymentOut.of(payment, slugs) for payment in payments],
        consecutive_failures=service.consecutive_failures(session, peer.id),
        notices=[NoticeOut.of(notice) for notice in methods.notices_of(session, peer.id)],
    )


@router.get("/payments/awaiting", response_model=list[PaymentOut], responses=_READ_ERRORS)
def awaiting_payments(session: SessionDep, peer: CurrentPeer) -> list[PaymentOut]:
    """Bank transfers still awaited that you may confirm: for projects you steward, or all of
    them if you are an admin of the bank account's custodian."""
    payments = service.awaiting_manual_payments(session, peer)
    slugs = service.project_slugs(session, payments)
    return [PaymentOut.of(payment, slugs) for payment in payments]


@router.post("/payments/notices/read", response_model=NoticesReadOut, responses=_WRITE_ERRORS)
def read_notices(session: SessionDep, writer: ApiWriter, clock: ClockDep) -> Response:
    """Mark your payment notices as read."""
    marked = methods.mark_notices_read(session, writer.id, now=clock.now())
    return idempotency.respond(session, NoticesReadOut(marked=marked))


@router.get("/payments/methods", response_model=list[MethodOut], responses=_READ_ERRORS)
def my_methods(session: SessionDep, peer: CurrentPeer) -> list[MethodOut]:
    return [MethodOut.of(method) for method in methods.methods_of(session, peer.id)]


@router.post(
    "/payments/methods/simulated",
    status_code=201,
    response_model=MethodOut,
    responses=_WRITE_ERRORS,
)
def save_simulated_card(
    body: SimulatedCardIn,
    session: SessionDep,
    writer: ApiWriter,
    clock: ClockDep,
    providers: ProvidersDep,
) -> Response:
    """Save a test card for the simulated processor (demo instances and tests only)."""
    providers.get(ProviderName.SIMULATED.value)
    method = methods.save_simulated_card(
        session, writer, card_number=body.card_number, now=clock.now()
    )
    return idempotency.respond(session, MethodOut.of(method), status_code=201)


@router.delete("/payments/methods/{method_id}", response_model=MethodOut, responses=_WRITE_ERRORS)
def remove_method(
    method_id: int, session: SessionDep, writer: ApiWriter, clock: ClockDep
) -> Response:
    method = methods.remove_method(session, writer, method_id, now=clock.now())
    return idempotency.respond(session, MethodOut.of(method))


@router.get("/payments/{payment_id}", response_model=PaymentOut, responses=_READ_ERRORS)
def get_payment(payment_id: int, session: SessionDep, peer: CurrentPeer) -> PaymentOut:
    """A payment, to its donor, the stewards of the projects it pays, and its custodian's
    admins."""
    payment = service.visible_payment(session, payment_id, peer)
    return PaymentOut.of(payment, service.project_slugs(session, [payment]))


@router.post("/payments/{payment_id}/confirm", response_model=PaymentOut, responses=_WRITE_ERRORS)
def confirm_payment(
    payment_id: int, body: ConfirmIn, session: SessionDep, writer: ApiWriter, clock: ClockDep
) -> Response:
    """Confirm that a bank transfer arrived: it is then posted to the projects' books."""
    payment = service.confirm_manual_payment(
        session,
        payment_id,
        confirmer=writer,
        received_amount=body.received_amount,
        now=clock.now(),
    )
    return idempotency.respond(
        session, PaymentOut.of(payment, service.project_slugs(session, [payment]))
    )


@router.post(
    WEBHOOK_PATH,
    response_model=WebhookOut,
    responses=responses(BadRequest, NotFound, Conflict, ProviderUnavailable),
)
async def stripe_webhook(
    request: Request, database: DatabaseDep, clock: ClockDep, providers: ProvidersDep
) -> WebhookOut:
    """Stripe's events, verified by their Stripe-Signature before anything is read or written;
    each applied once. Answers 400 for a bad signature, 409 when the books cannot take a
    reversal yet (Stripe will retry), 503 when Stripe could not be asked for a fee."""
    provider = providers.stripe
    if provider is None:
        raise NotFound("Stripe is not turned on for this instance.")
    payload = await request.body()
    signature = request.headers.get("stripe-signature")
    return await run_in_threadpool(_apply_stripe_event, provider, payload, signature, database,
                                   clock)  # fmt: skip


def _apply_stripe_event(
    provider: StripeProvider,
    payload: bytes,
    signature: str | None,
    database: Database,
    clock: Clock,
) -> WebhookOut:
    data: dict[str, Any] = provider.verified_event(payload, signature)
    event_id = str(data.get("id", ""))
    with database.transaction(write=False) as session:
        if service.event_seen(session, provider.name, event_id):
            return WebhookOut(applied=False, detail=f"Event {event_id} was already applied.")
    event = provider.provider_event(data)
    if event is None:
        return WebhookOut(
            applied=False, detail=f"Potluck does not use '{data.get('type')}' events."
        )
    with database.transaction() as session:
        result = service.apply_event(session, event, now=clock.now())
    return WebhookOut(applied=result.applied, detail=result.outcome)
