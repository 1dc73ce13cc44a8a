"""A card processor that moves no money, for the demo instance and tests.

It goes through the same states as a real card, chosen by the saved test card's number
(Stripe's published test numbers): 4242… succeeds, 4000 0000 0000 0002 is declined, 4000 0000
0000 0259 succeeds and is then disputed. No randomness and no memory: the same request always
gets the same answer, so sending a payment twice is as harmless as with a real processor.
Nothing goes over a network, so a payday's batch is answered in-process, in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor

from potluck.money import CURRENCIES
from potluck.pledges.payments import rules
from potluck.pledges.payments.base import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    EventKind,
    PaymentState,
    ProviderEvent,
    ProviderName,
)
from potluck.pledges.payments.books import CUSTODIANS


class SimulatedProvider:
    name = ProviderName.SIMULATED.value
    custodian_name, custodian_kind = CUSTODIANS["simulated"]
    needs_saved_method = True

    def charge_many(
        self, requests: Sequence[ChargeRequest], *, senders: Executor
    ) -> list[ChargeResult]:
        del senders
        return [self.charge(request) for request in requests]

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        if request.method is None:
            return ChargeOutcome(
                state=PaymentState.FAILED,
                failure_code="no_payment_method",
                failure_message="No test card is saved for the simulated processor.",
            )
        card = rules.simulated_card(request.method.method_ref)
        reference = f"sim_{request.idempotency_key}"
        if card.behaviour is rules.SimulatedBehaviour.DECLINE:
            return ChargeOutcome(
                state=PaymentState.FAILED,
                provider_ref=reference,
                failure_code=card.decline_code,
                failure_message=card.message,
            )
        currency = CURRENCIES.get(request.currency)
        fee = rules.simulated_fee(request.amount, currency.exponent if currency else 2)
        later: tuple[ProviderEvent, ...] = ()
        if card.behaviour is rules.SimulatedBehaviour.DISPUTE:
            later = (
                ProviderEvent(
                    provider=self.name,
                    event_id=f"{reference}:dispute",
                    kind=EventKind.DISPUTED,
                    event_type="charge.dispute.created",
                    payment_id=request.payment_id,
                    provider_ref=reference,
                    details={"reason": "fraudulent"},
                ),
            )
        return ChargeOutcome(
            state=PaymentState.SUCCEEDED, provider_ref=reference, fee=fee, later=later
        )
