"""What the books record when a payment's money goes back to the donor (a refund, whole or in
part, or a dispute), and when a won dispute brings it back.

The books follow what the processor really does with the custodian's money:

- **The fee stays with the processor.** Card processors keep their fee on a refunded or
  disputed payment (Stripe: "Stripe's processing fees from the original transaction won't be
  returned"), so the whole amount that goes back leaves the projects' funds, not only what
  they kept of it.
- **Each line gives back its part** of what has been taken back in all, by
  ``rules.taken_back_parts``: a payment refunded in several parts books, for each line, its
  part of the new total less its part of the old one, never negative.
- **What the funds no longer hold is owed.** A project may have spent the money already; the
  processor takes it from the custodian's balance all the same, that is from other projects'
  money there. The funds give what they hold, and the rest goes out of the project's ``owed``
  account at that custodian, which may go below zero and shows the debt in the project's
  public books. ``repay_owed`` pays it back from the project's funds there as money comes in.
- **A won dispute** reverses exactly the transfers the dispute wrote, so the funds and the
  owed account are back where they were.

Ids derive from the payment, the line and what was taken back in all
(``payment:<payment>:refund-<total>:<position>``, ``...:dispute:<position>``, each with
``:owed`` for the owed part), so one event's booking can never be written twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from potluck.db import one_of
from potluck.errors import PotluckError
from potluck.ledger import rules as ledger_rules
from potluck.ledger.models import Account
from potluck.ledger.service import accounts, posting
from potluck.pledges.payments import rules
from potluck.pledges.payments.models import Payment, PaymentLineRow

ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
DISPUTE = "dispute"


def refund_tag(total: int) -> str:
    return f"refund-{total}"


def _lines(payment: Payment) -> Sequence[PaymentLineRow]:
    return sorted(payment.lines, key=lambda line: line.position)


def _memo(text: str) -> str:
    return text[: ledger_rules.MAX_MEMO_LENGTH]


def take_back(
    session: Session,
    payment: Payment,
    *,
    before: int,
    after: int,
    tag: str,
    why: str,
    now: datetime,
) -> None:
    """Book ``after - before`` going back out of ``payment``'s lines, where ``before`` and
    ``after`` are what has been taken back in all before and after this (see the module)."""
    lines = _lines(payment)
    amounts = [line.amount for line in lines]
    old = rules.taken_back_parts(before, amounts)
    new = rules.taken_back_parts(after, amounts)
    parts = [(line, n - o) for line, n, o in zip(lines, new, old, strict=True) if n > o]
    if not parts:
        return
    ids = [f"payment:{payment.id}:{tag}:{line.position}" for line, _ in parts]
    if posting.transfers_by_id(session, [*ids, *(f"{i}:owed" for i in ids)]):
        # Booked already: what the funds held then decided the split, not what they hold now.
        return
    receipt_ids = {line.position: rules.receipt_transfer_id(payment.id, line.position)
                   for line, _ in parts}  # fmt: skip
    receipts = posting.transfers_by_id(session, receipt_ids.values())
    missing = sorted(set(receipt_ids.values()) - receipts.keys())
    if missing:
        msg = f"Payment {payment.id} has no receipt in the books for {', '.join(missing)}."
        raise RuntimeError(msg)
    # What each funds account holds, read under the same locks the posting takes (in id
    # order), so nobody spends it in between.
    held = _available(
        session,
        sorted({receipt.credit_account_id for receipt in receipts.values()}),
        worlds={receipt.debit_account_id for receipt in receipts.values()},
    )
    requests: list[ledger_rules.TransferRequest] = []
    owed_of: dict[int, int] = {}
    for (line, part), transfer_id in zip(parts, ids, strict=True):
        receipt = receipts[receipt_ids[line.position]]
        funds, world = receipt.credit_account_id, receipt.debit_account_id
        take = min(part, held[funds])
        held[funds] -= take
        memo = _memo(f"Payment {payment.id} {why}: {line.memo}")
        if take:
            requests.append(
                ledger_rules.TransferRequest(transfer_id, "transfer", funds, world, take, memo=memo)
            )
        if part > take:
            owed = owed_of.get(funds)
            if owed is None:
                owed = owed_of[funds] = _owed_account(session, funds, now=now)
            requests.append(
                ledger_rules.TransferRequest(
                    f"{transfer_id}:owed",
                    "transfer",
                    owed,
                    world,
                    part - take,
                    memo=_memo(
                        f"Payment {payment.id} {why}, more than the funds held: {line.memo}"
                    ),
                )
            )
    posting.post_batch(session, requests, now=now, batch_id=f"payment:{payment.id}:{tag}")


def undo_dispute(session: Session, payment: Payment, *, why: str, now: datetime) -> None:
    """A dispute was decided for the project: reverse what the dispute took, exactly."""
    ids = []
    for line in _lines(payment):
        taken = f"payment:{payment.id}:{DISPUTE}:{line.position}"
        ids += [taken, f"{taken}:owed"]
    found = posting.transfers_by_id(session, ids)
    requests = [
        ledger_rules.TransferRequest(
            rules.reversal_transfer_id(transfer_id),
            "transfer",
            reverses_id=transfer_id,
            memo=_memo(f"Payment {payment.id} {why}"),
        )
        for transfer_id in ids
        if transfer_id in found
    ]
    if requests:
        posting.post_batch(
            session, requests, now=now, batch_id=f"payment:{payment.id}:{DISPUTE}:back"
        )


def _available(session: Session, funds: list[int], *, worlds: set[int]) -> dict[int, int]:
    """What each funds account may still give, with the accounts locked (PostgreSQL) in id
    order together with the world accounts the posting will touch."""
    query = (
        select(
            ACCOUNTS.c.id,
            ACCOUNTS.c.credits_posted,
            ACCOUNTS.c.debits_posted,
            ACCOUNTS.c.debits_pending,
        )
        .where(one_of(session, "ledger_accounts.id", sorted({*funds, *worlds})))
        .order_by(ACCOUNTS.c.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    rows = {row.id: row for row in session.execute(query)}
    return {
        account_id: max(
            0, rows[account_id].credits_posted - rows[account_id].debits_posted
            - rows[account_id].debits_pending
        )
        for account_id in funds
    }  # fmt: skip


def _owed_account(session: Session, funds_id: int, *, now: datetime) -> int:
    funds = session.get(Account, funds_id)
    if funds is None or funds.project_id is None:
        msg = f"Account {funds_id} is not a project's funds."
        raise RuntimeError(msg)
    return accounts.open_account(
        session,
        owner="project",
        purpose="owed",
        project_id=funds.project_id,
        custodian_id=funds.custodian_id,
        commodity=funds.commodity,
        now=now,
    ).id


def repay_owed(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """Pay back what projects owe at their custodians from their funds there, as far as the
    funds hold; returns how many owed accounts were paid something. Safe to run any time and
    on several servers: a repayment's id names the owed account's total credits after it,
    which only ever grows, and the books lock both accounts while posting it."""
    owed_rows = session.execute(
        select(
            ACCOUNTS.c.id,
            ACCOUNTS.c.project_id,
            ACCOUNTS.c.custodian_id,
            ACCOUNTS.c.commodity,
            ACCOUNTS.c.credits_posted,
            ACCOUNTS.c.debits_posted,
        )
        .where(
            ACCOUNTS.c.owner == "project",
            ACCOUNTS.c.purpose == "owed",
            ACCOUNTS.c.credits_posted < ACCOUNTS.c.debits_posted,
        )
        .order_by(ACCOUNTS.c.id)
        .limit(limit)
    ).all()
    if not owed_rows:
        return 0
    keys = {
        f"project:{row.project_id}:funds:{row.custodian_id}:{row.commodity}": row
        for row in owed_rows
    }
    funds_rows = session.execute(
        select(
            ACCOUNTS.c.key,
            ACCOUNTS.c.id,
            ACCOUNTS.c.credits_posted,
            ACCOUNTS.c.debits_posted,
            ACCOUNTS.c.debits_pending,
        ).where(ACCOUNTS.c.key.in_(sorted(keys)))
    ).all()
    repaid = 0
    for funds in funds_rows:
        owed = keys[funds.key]
        debt = owed.debits_posted - owed.credits_posted
        amount = min(debt, funds.credits_posted - funds.debits_posted - funds.debits_pending)
        if amount <= 0:
            continue
        try:
            with session.begin_nested():
                posting.post_transfer(
                    session,
                    ledger_rules.TransferRequest(
                        f"owed:{owed.id}:repaid-to:{owed.credits_posted + amount}",
                        "transfer",
                        funds.id,
                        owed.id,
                        amount,
                        memo="Paid back from the funds: money that went back to a donor after "
                        "the funds had been spent",
                    ),
                    now=now,
                )
        except PotluckError:
            # The funds changed since they were read (spent, or repaid by another server);
            # the next round looks again.
            continue
        repaid += 1
    return repaid
