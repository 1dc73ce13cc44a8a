"""Stripe, through the official library: saved cards (a Customer and a PaymentMethod set up with
a SetupIntent), off-session PaymentIntents sent with an idempotency key derived from the
payment, fees read from the charge's balance transaction, and signed webhooks.

Only reads and the one idempotent create go to Stripe; nothing here touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import stripe

from potluck.errors import BadRequest, Conflict, NotFound
from potluck.money import MoneyError, commodity
from potluck.pledges.payments import rules, stripe_amounts
from potluck.pledges.payments.base import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    EventKind,
    PaymentState,
    ProviderEvent,
    ProviderName,
    ProviderUnavailable,
    charge_each,
)
from potluck.pledges.payments.books import CUSTODIANS

# Stripe's metadata key that carries Potluck's payment id on every PaymentIntent.
PAYMENT_KEY = "potluck_payment"
REFERENCE_KEY = "potluck_reference"
PEER_KEY = "potluck_peer"

# What a PaymentIntent's status means here. ``requires_action`` off-session is a decline in
# effect: the donor is not there to authenticate.
_INTENT_STATES = {
    "succeeded": PaymentState.SUCCEEDED,
    "processing": PaymentState.PROCESSING,
    "requires_capture": PaymentState.PROCESSING,
    "requires_action": PaymentState.FAILED,
    "requires_payment_method": PaymentState.FAILED,
    "requires_confirmation": PaymentState.FAILED,
    "canceled": PaymentState.FAILED,
}
_EVENT_KINDS = {
    "payment_intent.succeeded": EventKind.SUCCEEDED,
    "payment_intent.payment_failed": EventKind.FAILED,
    "charge.dispute.created": EventKind.DISPUTED,
    "charge.refunded": EventKind.REFUNDED,
    # Only a dispute closed as won brings the money back; one lost changes nothing more.
    "charge.dispute.closed": EventKind.REINSTATED,
}
HANDLED_EVENT_TYPES = frozenset(_EVENT_KINDS)


@dataclass(frozen=True)
class SetupStarted:
    customer_ref: str
    setup_intent_id: str
    client_secret: str


@dataclass(frozen=True)
class SetupFinished:
    customer_ref: str
    method_ref: str
    label: str


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ref(value: Any) -> str | None:
    """An expandable field: an id, or the expanded object's id."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _unavailable(error: stripe.StripeError) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"Stripe could not be reached or failed ({type(error).__name__}: "
        f"{error.user_message or error}); nothing is known to have been charged, and sending "
        "the payment again is safe."
    )


class StripeProvider:
    name = ProviderName.STRIPE.value
    custodian_name, custodian_kind = CUSTODIANS["stripe"]
    needs_saved_method = True

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        publishable_key: str = "",
        api_base: str = "",
        max_network_retries: int = 2,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.publishable_key = publishable_key
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
        )

    # --- charging ------------------------------------------------------------------------

    def charge_many(
        self, requests: Sequence[ChargeRequest], *, senders: Executor
    ) -> list[ChargeResult]:
        """Stripe takes one PaymentIntent per call: a payday's batch is sent a call per
        payment, several at once on the payday's senders so that the round trips overlap."""
        return charge_each(self, requests, senders=senders)

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        if request.provider_ref is not None:
            # Sent before and its PaymentIntent is known: ask how it went rather than rely on
            # the idempotency key, which Stripe forgets after a day.
            return self.outcome_of_intent_id(request.provider_ref, currency=request.currency)
        method = request.method
        if method is None or method.customer_ref is None:
            return ChargeOutcome(
                state=PaymentState.FAILED,
                failure_code="no_payment_method",
                failure_message="No card is saved with Stripe for this donor.",
            )
        try:
            amount = stripe_amounts.to_stripe(
                request.amount, request.currency, _exponent(request.currency)
            )
        except stripe_amounts.NotChargeable as refusal:
            return ChargeOutcome(
                state=PaymentState.FAILED,
                failure_code="amount_not_chargeable",
                failure_message=refusal.detail,
            )
        try:
            intent = self.client.v1.payment_intents.create(
                {
                    "amount": amount,
                    "currency": request.currency.lower(),
                    "customer": method.customer_ref,
                    "payment_method": method.method_ref,
                    "confirm": True,
                    "off_session": True,
                    # Nobody is there to follow a redirect: a card that needs one is declined.
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                    "description": request.description,
                    "metadata": {
                        PAYMENT_KEY: str(request.payment_id),
                        REFERENCE_KEY: request.reference,
                        PEER_KEY: str(request.donor_id),
                    },
                    "expand": ["latest_charge.balance_transaction"],
                },
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as error:
            body = _dict(error.json_body)
            details = _dict(body.get("error"))
            return ChargeOutcome(
                state=PaymentState.FAILED,
                provider_ref=_ref(details.get("payment_intent")),
                failure_code=details.get("decline_code") or error.code or "card_error",
                failure_message=error.user_message or "The card was declined.",
            )
        except stripe.IdempotencyError as error:
            raise Conflict(
                f"Stripe refused payment {request.payment_id}: its idempotency key "
                f"{request.idempotency_key} was used for a different request "
                f"({error.user_message})."
            ) from error
        except stripe.InvalidRequestError as error:
            # The saved card is gone or unusable (detached, wrong customer): a decline for
            # the donor's purposes, and sending it again would fail again.
            return ChargeOutcome(
                state=PaymentState.FAILED,
                failure_code=error.code or "invalid_request",
                failure_message=error.user_message or str(error),
            )
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        return self.outcome_of_intent(intent.to_dict(), currency=request.currency)

    def outcome_of_intent_id(self, intent_id: str, *, currency: str) -> ChargeOutcome:
        try:
            intent = self.client.v1.payment_intents.retrieve(
                intent_id, {"expand": ["latest_charge.balance_transaction"]}
            )
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        return self.outcome_of_intent(intent.to_dict(), currency=currency)

    def outcome_of_intent(self, intent: Mapping[str, Any], *, currency: str) -> ChargeOutcome:
        status = str(intent.get("status"))
        state = _INTENT_STATES.get(status, PaymentState.PROCESSING)
        reference = _ref(intent.get("id"))
        if state is PaymentState.SUCCEEDED:
            charge = intent.get("latest_charge")
            amount = _ours(int(intent["amount"]), currency)
            fee = (
                self._fee_of_charge(charge, amount, currency)
                if isinstance(charge, dict)
                else self.fee_of_charge_id(_ref(charge), amount, currency)
            )
            return ChargeOutcome(state=state, provider_ref=reference, fee=fee)
        if state is PaymentState.FAILED:
            failure = _dict(intent.get("last_payment_error"))
            return ChargeOutcome(
                state=state,
                provider_ref=reference,
                failure_code=failure.get("decline_code") or failure.get("code") or status,
                failure_message=failure.get("message")
                or f"Stripe left the payment in state {status}.",
            )
        return ChargeOutcome(state=state, provider_ref=reference)

    def fee_of_charge_id(self, charge_id: str | None, amount: int, currency: str) -> int:
        """The fee of a charge of ``amount`` (Potluck's units), read from its balance
        transaction, in Potluck's units of the charge's currency."""
        if charge_id is None:
            raise ProviderUnavailable("Stripe reported a success without a charge to read.")
        try:
            charge = self.client.v1.charges.retrieve(charge_id, {"expand": ["balance_transaction"]})
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        return self._fee_of_charge(charge.to_dict(), amount, currency)

    def _fee_of_charge(self, charge: Mapping[str, Any], amount: int, currency: str) -> int:
        balance = charge.get("balance_transaction")
        if not isinstance(balance, dict):
            if isinstance(balance, str):
                try:
                    balance = self.client.v1.balance_transactions.retrieve(balance).to_dict()
                except stripe.StripeError as error:
                    raise _unavailable(error) from error
            else:
                # Not settled yet: the fee is unknown, and guessing would misstate the books.
                raise ProviderUnavailable(
                    f"Stripe has no balance transaction for charge {charge.get('id')} yet; "
                    "its fee is not known."
                )
        fee = int(balance.get("fee", 0))
        if str(balance.get("currency", "")).upper() == currency.upper():
            return min(_ours(fee, currency), amount)
        # Fee and settled amount are in the same (settlement) currency: their ratio holds
        # whatever unit Stripe counts that currency in.
        return rules.fee_in_charge_currency(
            fee, settled_amount=int(balance["amount"]), charge_amount=amount
        )

    # --- saving a card -------------------------------------------------------------------

    def start_setup(
        self, *, customer_ref: str | None, peer_id: int, email: str, name: str
    ) -> SetupStarted:
        """A SetupIntent for saving a card for later, off-session payments; the page hands
        its client secret to Stripe.js, which collects the card without it touching us."""
        try:
            if customer_ref is None:
                customer = self.client.v1.customers.create(
                    {"email": email, "name": name, "metadata": {PEER_KEY: str(peer_id)}},
                    {"idempotency_key": f"potluck-customer-{peer_id}"},
                )
                customer_ref = customer.id
            params: stripe.params.SetupIntentCreateParams = {
                "customer": customer_ref,
                "usage": "off_session",
                "allowed_payment_method_types": ["card"],
                "metadata": {PEER_KEY: str(peer_id)},
            }
            intent = self.client.v1.setup_intents.create(params)
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        if intent.client_secret is None:
            raise ProviderUnavailable("Stripe answered a SetupIntent without a client secret.")
        return SetupStarted(customer_ref, intent.id, intent.client_secret)

    def finish_setup(self, setup_intent_id: str, *, peer_id: int) -> SetupFinished:
        """The card a finished SetupIntent saved, after checking it was this peer's."""
        try:
            intent = self.client.v1.setup_intents.retrieve(
                setup_intent_id, {"expand": ["payment_method"]}
            ).to_dict()
        except stripe.InvalidRequestError as error:
            raise NotFound(
                f"Stripe knows no card setup {setup_intent_id}.", field="setup_intent"
            ) from error
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        if _dict(intent.get("metadata")).get(PEER_KEY) != str(peer_id):
            raise NotFound(
                f"Card setup {setup_intent_id} was not started by you.", field="setup_intent"
            )
        if intent.get("status") != "succeeded":
            raise BadRequest(
                f"Card setup {setup_intent_id} is '{intent.get('status')}', not finished: "
                "the card was not saved. Try again.",
                field="setup_intent",
            )
        method = intent.get("payment_method")
        method_ref = _ref(method)
        customer_ref = _ref(intent.get("customer"))
        if method_ref is None or customer_ref is None:
            raise BadRequest(f"Card setup {setup_intent_id} saved no card.", field="setup_intent")
        card = _dict(_dict(method).get("card"))
        brand = str(card.get("brand") or "card").capitalize()
        last4 = card.get("last4")
        label = f"{brand} ending {last4}" if last4 else brand
        return SetupFinished(customer_ref, method_ref, label)

    # --- webhooks ------------------------------------------------------------------------

    def verified_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event ``payload`` carries, once its Stripe-Signature proves Stripe sent it."""
        try:
            event = self.client.construct_event(payload, signature, self.webhook_secret)
        except stripe.SignatureVerificationError as error:
            raise BadRequest(
                f"The Stripe-Signature header does not prove this came from Stripe: "
                f"{error.user_message or error}",
                field="Stripe-Signature",
            ) from error
        except ValueError as error:
            raise BadRequest(f"The webhook body is not a Stripe event: {error}") from error
        data: dict[str, Any] = json.loads(payload)
        del event
        return data

    def provider_event(  # noqa: PLR0911 - one answer per kind of event
        self, event: Mapping[str, Any]
    ) -> ProviderEvent | None:
        """What a Stripe event means for a payment, or None for events Potluck does not use.
        A success's fee is read from Stripe here, before anything is written."""
        event_type = str(event.get("type"))
        kind = _EVENT_KINDS.get(event_type)
        if kind is None:
            return None
        event_id = event.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise BadRequest(f"The '{event_type}' event carries no id.", field="id")
        obj = _dict(_dict(event.get("data")).get("object"))
        metadata = _dict(obj.get("metadata"))
        payment_text = str(metadata.get(PAYMENT_KEY, ""))
        payment_id = int(payment_text) if payment_text.isdigit() else None
        if kind in (EventKind.SUCCEEDED, EventKind.FAILED):
            intent_ref = _ref(obj.get("id"))
        else:
            intent_ref = _ref(obj.get("payment_intent"))
        common: dict[str, Any] = {
            "provider": self.name,
            "event_id": event_id,
            "kind": kind,
            "event_type": event_type,
            "payment_id": payment_id,
            "provider_ref": intent_ref,
        }
        currency = str(obj.get("currency", "")).upper()
        if kind is EventKind.SUCCEEDED:
            outcome = self.outcome_of_intent(obj, currency=currency)
            return ProviderEvent(**common, fee=outcome.fee)
        if kind is EventKind.FAILED:
            failure = _dict(obj.get("last_payment_error"))
            return ProviderEvent(
                **common,
                failure_code=failure.get("decline_code") or failure.get("code") or "failed",
                failure_message=failure.get("message") or "Stripe reported the payment failed.",
            )
        if kind is EventKind.REINSTATED:
            if obj.get("status") != "won":
                return None
            return ProviderEvent(**common, details={"dispute": str(obj.get("id"))})
        if kind is EventKind.DISPUTED:
            return ProviderEvent(
                **common,
                amount=_ours(int(obj.get("amount", 0)), currency),
                details={"reason": str(obj.get("reason", "")), "dispute": str(obj.get("id"))},
            )
        refunded_in_full = bool(obj.get("refunded"))
        return ProviderEvent(
            **common,
            amount=_ours(int(obj.get("amount_refunded", 0)), currency),
            details={"refunded_in_full": "yes" if refunded_in_full else "no"},
        )


def _exponent(currency: str) -> int:
    try:
        return commodity(currency.upper()).exponent
    except MoneyError as error:
        raise BadRequest(f"Stripe named a currency Potluck does not know: {error}") from error


def _ours(stripe_amount: int, currency: str) -> int:
    """An amount Stripe reports, in Potluck's (ISO 4217) units of ``currency``."""
    return stripe_amounts.from_stripe(stripe_amount, currency, _exponent(currency))
