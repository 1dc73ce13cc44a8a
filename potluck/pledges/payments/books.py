"""What a payment writes to the books: its money arriving in each project's funds at the
provider's custodian, and the processor's fee going out.

Receipts: one transfer per line, from the outside world into the project's funds at the
provider's custodian, with the id ``payment:<payment>:<position>:in`` however the payment
settled. That is what the payday's self-check reads back.

Fees are booked in one of two ways, both exact to the minor unit per project:

- A payment settled on its own (a webhook, a confirmed bank transfer, ``execute_payment``)
  pays each line's share of its fee (``rules.split_fee``) in a transfer of its own,
  ``payment:<payment>:<position>:fee``.
- Payments settled together by a payday (:func:`post_settlements`) form a *settlement*, named
  by the smallest of their ids (``settlement:<payment>``, the batch id of every transfer it
  writes). Each funds account pays the sum of its lines' shares of those payments' fees in one
  transfer, ``settlement:<payment>:fee:<account>``. A payday of a million lines over ten
  thousand projects thus books tens of thousands of fee transfers instead of a million, which
  is most of what posting a payday would cost. Every share is still traceable: a payment's
  receipts carry the settlement as their batch id, and the share of each line is
  ``split_fee`` of the payment's recorded fee.

Money going back to the donor (a refund, whole or in part, or a dispute) is booked by
``takeback``: the processor keeps its fee, so each line gives back its part of the whole amount,
and what its funds no longer hold goes on what the project owes at that custodian.

Every id is derived from the payment, line, settlement or account, so writing the same outcome
twice posts nothing new, and a payment enters SUCCEEDED once, so no settlement is posted twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from potluck.db import one_of
from potluck.ledger import rules as ledger_rules
from potluck.ledger.models import Account, Chain, Custodian
from potluck.ledger.service import accounts, posting
from potluck.pledges import bulk
from potluck.pledges.payments import rules
from potluck.pledges.payments.models import Payment, PaymentLineRow

ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CHAINS: Table = Chain.__table__  # type: ignore[assignment]
_CHUNK = 20_000

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


# --- payments settled together -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettledLine:
    position: int
    project_id: int
    amount: int
    memo: str


@dataclass(frozen=True, slots=True)
class Settled:
    """A payment that entered SUCCEEDED with others, with what the processor kept of it."""

    payment_id: int
    provider: str
    currency: str
    fee: int
    lines: Sequence[SettledLine]
    """In position order."""


def funds_key(project_id: int, custodian_id: int, currency: str) -> str:
    """The key ``accounts.open_account`` gives a project's funds at a custodian."""
    return f"project:{project_id}:funds:{custodian_id}:{currency}"


def _insert_ignoring_conflicts(
    session: Session, table: Table, rows: list[dict[str, object]]
) -> None:
    insert = pg_insert if bulk.is_postgresql(session) else sqlite_insert
    for part in bulk.chunks(rows, _CHUNK):
        session.execute(insert(table).on_conflict_do_nothing(), list(part))


def _keyed(session: Session, table: Table, keys: Collection[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in bulk.chunks(sorted(keys), _CHUNK):
        found.update(
            session.execute(
                select(table.c.key, table.c.id).where(one_of(session, f"{table.name}.key", part))
            ).all()
        )
    return found


def project_chains(session: Session, project_ids: Collection[int]) -> dict[int, int]:
    """The chain of each project's books, ``project id → chain id``, created where missing, as
    ``accounts.ensure_chain`` does one at a time."""
    keys = {ledger_rules.project_chain_key(pid): pid for pid in project_ids}
    found = _keyed(session, CHAINS, keys)
    missing = [
        {"key": key, "project_id": pid, "head_seq": 0, "head_hash": "0" * 64}
        for key, pid in sorted(keys.items())
        if key not in found
    ]
    if missing:
        _insert_ignoring_conflicts(session, CHAINS, missing)
        found.update(_keyed(session, CHAINS, [row["key"] for row in missing]))  # type: ignore[misc]
    return {pid: found[key] for key, pid in keys.items()}


def open_funds(
    session: Session, wanted: Collection[tuple[int, int, str]], *, now: datetime
) -> dict[tuple[int, int, str], int]:
    """The funds account of each ``(project id, custodian id, currency)``, opened where missing
    as ``accounts.open_account`` opens one (never below zero, in the project's chain), in a
    few queries for all of them: ``→ account id``."""
    keys = {funds_key(*item): item for item in wanted}
    found = _keyed(session, ACCOUNTS, keys)
    missing = [item for key, item in keys.items() if key not in found]
    if missing:
        for currency in sorted({item[2] for item in missing}):
            accounts.get_commodity(session, currency)
        chains = project_chains(session, {item[0] for item in missing})
        _insert_ignoring_conflicts(
            session,
            ACCOUNTS,
            [
                {
                    "key": funds_key(*item), "owner": "project", "purpose": "funds",
                    "project_id": item[0], "peer_id": None, "custodian_id": item[1],
                    "commodity": item[2], "chain_id": chains[item[0]], "no_negative": True,
                    "debits_pending": 0, "debits_posted": 0, "credits_pending": 0,
                    "credits_posted": 0, "created_at": now,
                }
                for item in sorted(missing)
            ],
        )  # fmt: skip
        found.update(_keyed(session, ACCOUNTS, [funds_key(*item) for item in missing]))
    return {item: found[key] for key, item in keys.items()}


def post_settlements(session: Session, settled: Sequence[Settled], *, now: datetime) -> None:
    """Money in for payments that entered SUCCEEDED together: every line's receipt, then each
    funds account's share of the fees in one transfer (see the module's docstring), posted in
    batches of the books' largest size, all in the caller's transaction."""
    if not settled:
        return
    settlement = rules.settlement_id(payment.payment_id for payment in settled)
    # Each provider's custodian as (id, name): plain values, read per line.
    custodians = {
        provider: (custodian.id, custodian.name)
        for provider in sorted({payment.provider for payment in settled})
        for custodian in (custodian_for(session, provider, now=now),)
    }
    worlds = {
        currency: accounts.world_account(session, currency, now=now).id
        for currency in sorted({payment.currency for payment in settled})
    }
    funds = open_funds(
        session,
        {
            (line.project_id, custodians[payment.provider][0], payment.currency)
            for payment in settled
            for line in payment.lines
        },
        now=now,
    )
    receipts: dict[int, list[ledger_rules.TransferRequest]] = defaultdict(list)
    # Each funds account's world account (where its fees go) and its custodian's name.
    paying: dict[int, tuple[int, str]] = {}
    fee_lines: list[tuple[int, list[tuple[int, int]]]] = []
    for payment in settled:
        custodian_id, custodian_name = custodians[payment.provider]
        currency = payment.currency
        world = worlds[currency]
        head = f"Payment {payment.payment_id} via {custodian_name}"
        accounts_of_lines = []
        for line in payment.lines:
            account = funds[line.project_id, custodian_id, currency]
            paying[account] = (world, custodian_name)
            accounts_of_lines.append((account, line.amount))
            receipts[line.project_id].append(
                ledger_rules.TransferRequest(
                    id=rules.receipt_transfer_id(payment.payment_id, line.position),
                    debit_account_id=world,
                    credit_account_id=account,
                    amount=line.amount,
                    memo=_memo(head, line.memo),
                )
            )
        fee_lines.append((payment.fee, accounts_of_lines))
    shares = Counter(account for fee, lines in fee_lines if fee for account, _ in lines)
    fees = [
        ledger_rules.TransferRequest(
            id=rules.settlement_fee_transfer_id(settlement, account),
            debit_account_id=account,
            credit_account_id=paying[account][0],
            amount=amount,
            memo=_memo(
                f"Fees kept by {paying[account][1]} on {settlement}",
                f"the shares of {shares[account]} payment line(s), each split by amount from "
                "its payment's fee",
            ),
        )
        for account, amount in sorted(rules.settlement_fees(fee_lines).items())
    ]
    # Receipts first, so that every fee is paid out of money already in the funds. Each
    # receipt joins its project's chain, so receipts grouped by project (in payment order
    # within each) chain exactly as in payment order, while each batch of the books' largest
    # size touches a few thousand projects' accounts and chains instead of nearly all of them.
    ordered = [receipt for project_id in sorted(receipts) for receipt in receipts[project_id]]
    for part in bulk.chunks([*ordered, *fees], ledger_rules.MAX_BATCH):
        posting.post_batch(session, part, now=now, batch_id=settlement)


def _memo(head: str, tail: str) -> str:
    text = f"{head}: {tail}" if tail else head
    return text[: ledger_rules.MAX_MEMO_LENGTH]
