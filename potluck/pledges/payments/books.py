"""What a payment writes to the books: its money arriving in each project's funds at the
provider's custodian, the processor's fee going out, and reversals after a dispute or refund.

Every transfer id is derived from the payment id and the line's position, so writing the same
outcome twice posts nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from potluck.ledger import rules as ledger_rules
from potluck.ledger.models import Custodian
from potluck.ledger.service import accounts, posting
from potluck.pledges.payments import rules
from potluck.pledges.payments.models import Payment, PaymentLineRow

CUSTODIANS: dict[str, tuple[str, str]] = {
    "manual": ("Manual bank transfer", "bank-account"),
    "simulated": ("Simulated processor", "payment-provider"),
    "stripe": ("Stripe balance", "payment-provider"),
}
"""Who holds the money each provider brings in: ``provider -> (custodian name, kind)``."""


def custodian_for(session: Session, provider: str, *, now: datetime) -> Custodian:
    """The custodian holding what ``provider`` brings in; created the first time it is needed."""
    name, kind = CUSTODIANS[provider]
    found = session.scalar(select(Custodian).where(Custodian.name == name))
    if found is not None:
        return found
    accounts.insert_ignoring_conflict(
        session,
        Custodian.__table__,  # type: ignore[arg-type]
        {"name": name, "kind": kind, "created_at": now},
    )
    return session.scalars(select(Custodian).where(Custodian.name == name)).one()


def _lines(payment: Payment) -> Sequence[PaymentLineRow]:
    return sorted(payment.lines, key=lambda line: line.position)


def post_receipt(session: Session, payment: Payment, *, fee: int, now: datetime) -> None:
    """Money in: the outside world pays each line into its project's funds held at the
    provider's custodian; then each project pays its share of ``fee`` to the outside world."""
    lines = _lines(payment)
    custodian = custodian_for(session, payment.provider, now=now)
    world = accounts.world_account(session, payment.currency, now=now)
    parts = rules.split_fee(fee, [line.amount for line in lines])
    receipts: list[ledger_rules.TransferRequest] = []
    fees: list[ledger_rules.TransferRequest] = []
    for line, part in zip(lines, parts, strict=True):
        funds = accounts.open_account(
            session,
            owner="project",
            purpose="funds",
            project_id=line.project_id,
            custodian_id=custodian.id,
            commodity=payment.currency,
            now=now,
        )
        receipts.append(
            ledger_rules.TransferRequest(
                id=rules.receipt_transfer_id(payment.id, line.position),
                debit_account_id=world.id,
                credit_account_id=funds.id,
                amount=line.amount,
                memo=_memo(f"Payment {payment.id} via {custodian.name}", line.memo),
            )
        )
        if part:
            fees.append(
                ledger_rules.TransferRequest(
                    id=rules.fee_transfer_id(payment.id, line.position),
                    debit_account_id=funds.id,
                    credit_account_id=world.id,
                    amount=part,
                    memo=_memo(f"Fee on payment {payment.id} kept by {custodian.name}", ""),
                )
            )
    # Receipts first, so that every fee is paid out of money already in the funds.
    posting.post_batch(session, [*receipts, *fees], now=now, batch_id=f"payment:{payment.id}:in")


def post_reversal(session: Session, payment: Payment, *, why: str, now: datetime) -> None:
    """Money back out after a dispute or refund: each line's receipt and fee are reversed, so
    each project gives back exactly what it kept of the payment.

    Refused by the books (InsufficientFunds) when a project has already spent that money at
    this custodian; then nothing is written and the caller's transaction rolls back.
    """
    lines = _lines(payment)
    parts = rules.split_fee(payment.fee or 0, [line.amount for line in lines])
    fee_backs = [
        ledger_rules.TransferRequest(
            id=rules.reversal_transfer_id(rules.fee_transfer_id(payment.id, line.position)),
            reverses_id=rules.fee_transfer_id(payment.id, line.position),
            memo=_memo(f"Fee on payment {payment.id} undone: {why}", ""),
        )
        for line, part in zip(lines, parts, strict=True)
        if part
    ]
    receipt_backs = [
        ledger_rules.TransferRequest(
            id=rules.reversal_transfer_id(rules.receipt_transfer_id(payment.id, line.position)),
            reverses_id=rules.receipt_transfer_id(payment.id, line.position),
            memo=_memo(f"Payment {payment.id} {why}", line.memo),
        )
        for line in lines
    ]
    # Fees come back first, so the funds hold the whole receipt when it is taken back.
    posting.post_batch(
        session, [*fee_backs, *receipt_backs], now=now, batch_id=f"payment:{payment.id}:back"
    )


def _memo(head: str, tail: str) -> str:
    text = f"{head}: {tail}" if tail else head
    return text[: ledger_rules.MAX_MEMO_LENGTH]
