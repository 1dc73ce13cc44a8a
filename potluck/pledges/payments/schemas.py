"""Request and response shapes of the payments API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from potluck.money import BUILTIN_COMMODITIES, decimal_text
from potluck.pledges.payments import rules
from potluck.pledges.payments.models import Payment, PaymentMethod, PaymentNotice


def money_text(units: int, currency: str) -> str:
    commodity = BUILTIN_COMMODITIES.get(currency)
    exponent = commodity.exponent if commodity else 0
    return f"{decimal_text(units, exponent, grouping=True)} {currency}"


class PaymentLineOut(BaseModel):
    project_id: int
    project: str | None = Field(description="The project's slug.")
    amount: int = Field(description="In the currency's smallest unit.")
    amount_text: str
    memo: str


class PaymentOut(BaseModel):
    id: int
    reference: str
    donor_id: int
    currency: str
    amount: int = Field(description="In the currency's smallest unit.")
    amount_text: str = Field(description="For people: '12.34 EUR'.")
    provider: str
    state: str
    fee: int | None = Field(description="What the processor kept, once the money arrived.")
    fee_text: str | None
    received: int | None = Field(description="For a bank transfer: what was confirmed.")
    bank_code: str | None = Field(description="For a bank transfer: write it on the transfer.")
    failure_code: str | None
    failure_message: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    succeeded_at: datetime | None
    failed_at: datetime | None
    reversed_at: datetime | None
    lines: list[PaymentLineOut]

    @classmethod
    def of(cls, payment: Payment, slugs: Mapping[int, str]) -> PaymentOut:
        return cls(
            id=payment.id,
            reference=payment.reference,
            donor_id=payment.donor_id,
            currency=payment.currency,
            amount=payment.amount,
            amount_text=money_text(payment.amount, payment.currency),
            provider=payment.provider,
            state=payment.state,
            fee=payment.fee,
            fee_text=money_text(payment.fee, payment.currency) if payment.fee is not None else None,
            received=payment.received,
            bank_code=payment.bank_code,
            failure_code=payment.failure_code,
            failure_message=payment.failure_message,
            attempts=payment.attempts,
            created_at=payment.created_at,
            sent_at=payment.sent_at,
            succeeded_at=payment.succeeded_at,
            failed_at=payment.failed_at,
            reversed_at=payment.reversed_at,
            lines=[
                PaymentLineOut(
                    project_id=line.project_id,
                    project=slugs.get(line.project_id),
                    amount=line.amount,
                    amount_text=money_text(line.amount, payment.currency),
                    memo=line.memo,
                )
                for line in payment.lines
            ],
        )


class ConfirmIn(BaseModel):
    """What arrived on the bank account, in the currency's smallest unit. Less than asked is
    recorded as the banks' charges; more is refused."""

    model_config = ConfigDict(extra="forbid")

    received_amount: int = Field(gt=0, le=2**63 - 1)


class SimulatedCardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card_number: str = Field(
        min_length=12, max_length=30, description="A test card number such as 4242424242424242."
    )


class MethodOut(BaseModel):
    id: int
    provider: str
    label: str
    created_at: datetime

    @classmethod
    def of(cls, method: PaymentMethod) -> MethodOut:
        return cls(
            id=method.id, provider=method.provider, label=method.label, created_at=method.created_at
        )


class NoticeOut(BaseModel):
    id: int
    payment_id: int
    kind: str
    message: str
    created_at: datetime
    read: bool

    @classmethod
    def of(cls, notice: PaymentNotice) -> NoticeOut:
        return cls(
            id=notice.id,
            payment_id=notice.payment_id,
            kind=notice.kind,
            message=notice.message,
            created_at=notice.created_at,
            read=notice.read_at is not None,
        )


class PaymentsOverviewOut(BaseModel):
    payments: list[PaymentOut]
    consecutive_failures: int = Field(
        description="Payments failed in a row; pledges pause after "
        f"{rules.FAILURES_BEFORE_PAUSE} of them."
    )
    notices: list[NoticeOut]


class NoticesReadOut(BaseModel):
    marked: int = Field(description="How many notices were unread.")


class WebhookOut(BaseModel):
    received: bool = True
    applied: bool = Field(description="False for an event seen before or that changes nothing.")
    detail: str
