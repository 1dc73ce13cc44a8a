"""Paying by bank transfer: the donor gets a reference code and the instance's bank details,
and the payment waits until a steward (or the custodian's admin) confirms that it arrived."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor

from potluck.pledges.payments.base import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    PaymentState,
    ProviderName,
)
from potluck.pledges.payments.books import CUSTODIANS


class ManualProvider:
    name = ProviderName.MANUAL.value
    custodian_name, custodian_kind = CUSTODIANS["manual"]
    needs_saved_method = False

    def __init__(self, instructions: str) -> None:
        self.instructions = instructions

    def charge_many(
        self, requests: Sequence[ChargeRequest], *, senders: Executor
    ) -> list[ChargeResult]:
        del senders
        return [self.charge(request) for request in requests]

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        # Nothing to send: the donor moves the money, a person confirms it.
        del request
        return ChargeOutcome(state=PaymentState.AWAITING)
