"""HTML pages of payments: a donor's payments and saved cards (with Stripe's card setup), and
the stewards' list of bank transfers to confirm."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from potluck import deps
from potluck.errors import Conflict, InvalidInput, NotFound
from potluck.money import MoneyError, amount_from_decimal
from potluck.people.models import Peer
from potluck.pledges.payments import methods, service
from potluck.pledges.payments.base import ProviderName
from potluck.pledges.payments.deps import ProvidersDep
from potluck.pledges.payments.schemas import money_text
from potluck.web.pages import redirect, render

router = APIRouter(include_in_schema=False)

FLASHES = {
    "card-saved": "Your card is saved. The next payday will charge it.",
    "card-removed": "The card is removed. Payments will come to you as bank transfers.",
    "confirmed": "Confirmed: the payment is now in the projects' books.",
}
TextField = Annotated[str, Form()]


def _viewer(session: deps.SessionDep, peer: deps.OptionalPeer) -> Peer | None:
    # Detached, so that the signed-in peer stays readable on an error page after rollback.
    if peer is not None and peer in session:
        session.expunge(peer)
    return peer


Viewer = Annotated[Peer | None, Depends(_viewer)]


def _sign_in_first(path: str) -> RedirectResponse:
    return redirect(f"/sign-in?next={quote(path, safe='/')}")


def _flash(request: Request) -> str | None:
    return FLASHES.get(request.query_params.get("done", ""))


# --- a donor's payments --------------------------------------------------------------------


@router.get("/payments", response_class=HTMLResponse)
def my_payments(
    request: Request,
    session: deps.SessionDep,
    peer: Viewer,
    providers: ProvidersDep,
) -> Response:
    if peer is None:
        return _sign_in_first("/payments")
    payments = service.payments_of(session, peer.id)
    return render(
        request,
        "payments/mine.html",
        {
            "payments": payments,
            "slugs": service.project_slugs(session, payments),
            "money": money_text,
            "failures": service.consecutive_failures(session, peer.id),
            "failures_before_pause": service.FAILURES_BEFORE_PAUSE,
            "notices": methods.notices_of(session, peer.id),
            "bank_instructions": providers.bank_instructions,
            "flash": _flash(request),
        },
    )


@router.post("/payments/notices/read", response_class=HTMLResponse, dependencies=[deps.CsrfChecked])
def read_notices(*, session: deps.SessionDep, clock: deps.ClockDep, peer: Viewer) -> Response:
    if peer is None:
        return _sign_in_first("/payments")
    methods.mark_notices_read(session, peer.id, now=clock.now())
    return redirect("/payments")


# --- saved cards ---------------------------------------------------------------------------


def _methods_page(
    request: Request,
    session: Session,
    peer: Peer,
    providers: service.ProviderRegistry,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "payments/methods.html",
        {
            "methods": methods.methods_of(session, peer.id),
            "simulated": ProviderName.SIMULATED.value in providers,
            "stripe": providers.stripe is not None,
            "errors": errors or {},
            "flash": _flash(request),
        },
        status_code=status_code,
    )


@router.get("/payments/methods", response_class=HTMLResponse)
def payment_methods(
    request: Request, session: deps.SessionDep, peer: Viewer, providers: ProvidersDep
) -> Response:
    if peer is None:
        return _sign_in_first("/payments/methods")
    return _methods_page(request, session, peer, providers)


@router.post(
    "/payments/methods/simulated", response_class=HTMLResponse, dependencies=[deps.CsrfChecked]
)
def save_simulated_card(
    request: Request,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
    providers: ProvidersDep,
    card_number: TextField = "",
) -> Response:
    if peer is None:
        return _sign_in_first("/payments/methods")
    try:
        providers.get(ProviderName.SIMULATED.value)
        methods.save_simulated_card(session, peer, card_number=card_number, now=clock.now())
    except InvalidInput as error:
        session.rollback()
        return _methods_page(
            request,
            session,
            peer,
            providers,
            errors={error.field or "_form": error.detail},
            status_code=422,
        )
    return redirect("/payments/methods?done=card-saved")


@router.post(
    "/payments/methods/stripe", response_class=HTMLResponse, dependencies=[deps.CsrfChecked]
)
def start_stripe_setup(
    request: Request,
    *,
    session: deps.SessionDep,
    peer: Viewer,
    providers: ProvidersDep,
    settings: deps.SettingsDep,
) -> Response:
    """Start saving a card with Stripe: the page that follows collects it with Stripe.js, so
    the card number goes to Stripe and never through Potluck."""
    if peer is None:
        return _sign_in_first("/payments/methods")
    stripe = providers.stripe
    if stripe is None:
        raise NotFound("Stripe is not turned on for this instance.")
    started = stripe.start_setup(
        customer_ref=methods.stripe_customer_of(session, peer.id),
        peer_id=peer.id,
        email=peer.email,
        name=peer.display_name,
    )
    return render(
        request,
        "payments/stripe_setup.html",
        {
            "publishable_key": stripe.publishable_key,
            "client_secret": started.client_secret,
            "return_url": f"{settings.base_url.rstrip('/')}/payments/methods/stripe/return",
        },
    )


@router.get("/payments/methods/stripe/return", response_class=HTMLResponse)
def finish_stripe_setup(
    request: Request,
    *,
    database: deps.DatabaseDep,
    clock: deps.ClockDep,
    peer: Viewer,
    providers: ProvidersDep,
    setup_intent: str = "",
) -> Response:
    """Where Stripe sends the browser back once the card is set up."""
    if peer is None:
        return _sign_in_first("/payments/methods")
    stripe = providers.stripe
    if stripe is None:
        raise NotFound("Stripe is not turned on for this instance.")
    if not setup_intent.startswith("seti_"):
        raise InvalidInput("Stripe's answer names no card setup.", field="setup_intent")
    finished = stripe.finish_setup(setup_intent, peer_id=peer.id)
    # A GET that writes: Stripe redirects here, so the write gets its own transaction.
    with database.transaction() as session:
        owner = session.get(Peer, peer.id)
        if owner is None:
            raise NotFound(f"Peer {peer.id} does not exist.")
        methods.save_stripe_method(
            session,
            owner,
            customer_ref=finished.customer_ref,
            method_ref=finished.method_ref,
            label=finished.label,
            now=clock.now(),
        )
    del request
    return redirect("/payments/methods?done=card-saved")


@router.post(
    "/payments/methods/{method_id}/remove",
    response_class=HTMLResponse,
    dependencies=[deps.CsrfChecked],
)
def remove_method(
    method_id: int, *, session: deps.SessionDep, clock: deps.ClockDep, peer: Viewer
) -> Response:
    if peer is None:
        return _sign_in_first("/payments/methods")
    methods.remove_method(session, peer, method_id, now=clock.now())
    return redirect("/payments/methods?done=card-removed")


# --- confirming bank transfers -------------------------------------------------------------


def _awaiting_page(
    request: Request,
    session: Session,
    peer: Peer,
    *,
    errors: dict[int, str] | None = None,
    values: dict[int, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    payments = service.awaiting_manual_payments(session, peer)
    return render(
        request,
        "payments/awaiting.html",
        {
            "payments": payments,
            "slugs": service.project_slugs(session, payments),
            "money": money_text,
            "errors": errors or {},
            "values": values or {},
            "flash": _flash(request),
        },
        status_code=status_code,
    )


@router.get("/payments/awaiting", response_class=HTMLResponse)
def awaiting_payments(request: Request, session: deps.SessionDep, peer: Viewer) -> Response:
    if peer is None:
        return _sign_in_first("/payments/awaiting")
    return _awaiting_page(request, session, peer)


@router.post(
    "/payments/{payment_id}/confirm", response_class=HTMLResponse, dependencies=[deps.CsrfChecked]
)
def confirm_payment(
    request: Request,
    payment_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
    received: TextField = "",
) -> Response:
    if peer is None:
        return _sign_in_first("/payments/awaiting")
    payment = service.get_payment(session, payment_id)
    try:
        try:
            amount = amount_from_decimal(received, service.commodity_of(payment))
        except MoneyError as error:
            raise InvalidInput(str(error), field="received_amount") from error
        service.confirm_manual_payment(
            session, payment_id, confirmer=peer, received_amount=amount.units, now=clock.now()
        )
    except (InvalidInput, Conflict) as error:
        session.rollback()
        return _awaiting_page(
            request,
            session,
            peer,
            errors={payment_id: error.detail},
            values={payment_id: received},
            status_code=error.status,
        )
    return redirect("/payments/awaiting?done=confirmed")
