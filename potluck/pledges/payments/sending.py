"""Sending many payments at once, as a payday does: a few statements per thousands of payments.

Three steps, the provider's answer never awaited inside a transaction:

1. :func:`prepare_many` (a transaction) marks the payments as sent and builds each provider's
   requests; a card payment without a saved card fails here, with a notice to the donor.
2. :func:`charge` asks each provider for its batch (``base.charge_many``), outside any
   transaction.
3. :func:`record_many` (a transaction) writes the answers: the payments that succeeded are
   posted to the books together as one settlement (``books.post_settlements``), the declined
   ones failed with a notice; a provider that could not be reached leaves its payments
   processing, to be sent again with the same idempotency key.

The rules are those of sending one payment (``service.execute_payment``, which prepares with
:func:`prepare_many` too): the state moves of ``rules.next_state``, the same requests
(``rules.charge_request``) and the same notices (``states.failure_notice``). On PostgreSQL the
payments' rows are locked in id order, so a webhook about one of them waits for the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from potluck.db import one_of
from potluck.pledges import bulk
from potluck.pledges.payments import books, rules, states
from potluck.pledges.payments.base import (
    ChargeRequest,
    ChargeResult,
    PaymentState,
    ProviderEvent,
    ProviderName,
    ProviderUnavailable,
    SavedMethod,
    charge_many,
)
from potluck.pledges.payments.models import (
    Payment,
    PaymentLineRow,
    PaymentMethod,
    PaymentNotice,
)
from potluck.pledges.payments.registry import ProviderRegistry

PAYMENTS: Table = Payment.__table__  # type: ignore[assignment]
NOTICES: Table = PaymentNotice.__table__  # type: ignore[assignment]
_CHUNK = 20_000
_COLUMNS = (
    PAYMENTS.c.id,
    PAYMENTS.c.reference,
    PAYMENTS.c.donor_id,
    PAYMENTS.c.currency,
    PAYMENTS.c.amount,
    PAYMENTS.c.provider,
    PAYMENTS.c.state,
    PAYMENTS.c.method_id,
    PAYMENTS.c.provider_ref,
)


def _locked(session: Session, payment_ids: Sequence[int]) -> list[Any]:
    """The payments' rows, locked on PostgreSQL (in id order, as every writer takes them)."""
    rows: list[Any] = []
    for part in bulk.chunks(sorted(set(payment_ids)), _CHUNK):
        query = (
            select(*_COLUMNS).where(one_of(session, "payments.id", part)).order_by(PAYMENTS.c.id)
        )
        if bulk.is_postgresql(session):
            query = query.with_for_update()
        rows.extend(session.execute(query).all())
    return rows


@dataclass
class Prepared:
    """Payments marked as sent, and what to ask each provider."""

    requests: dict[str, list[ChargeRequest]] = field(default_factory=dict)
    """Provider name → its requests."""
    states: dict[int, str] = field(default_factory=dict)
    """Every payment's state once prepared: processing when sent; otherwise as it was
    (settled, failed, a bank transfer awaited) or failed for want of a card."""


def _methods(
    session: Session, rows: Sequence[Any], providers: ProviderRegistry
) -> tuple[dict[int, SavedMethod], dict[tuple[int, str], SavedMethod]]:
    """The cards payments were sent with before, and the donors' active cards."""
    chosen = sorted({row.method_id for row in rows if row.method_id is not None})
    by_id: dict[int, SavedMethod] = {}
    for part in bulk.chunks(chosen, _CHUNK):
        for method_id, customer_ref, method_ref in session.execute(
            select(PaymentMethod.id, PaymentMethod.customer_ref, PaymentMethod.method_ref).where(
                one_of(session, "payment_methods.id", part)
            )
        ):
            by_id[method_id] = SavedMethod(method_id, customer_ref, method_ref)
    donors = sorted(
        {
            row.donor_id
            for row in rows
            if row.method_id is None
            and row.provider in providers
            and providers.get(row.provider).needs_saved_method
        }
    )
    active: dict[tuple[int, str], SavedMethod] = {}
    for part in bulk.chunks(donors, _CHUNK):
        for method_id, peer_id, provider, customer_ref, method_ref in session.execute(
            select(
                PaymentMethod.id,
                PaymentMethod.peer_id,
                PaymentMethod.provider,
                PaymentMethod.customer_ref,
                PaymentMethod.method_ref,
            ).where(
                one_of(session, "payment_methods.peer_id", part),
                PaymentMethod.removed_at.is_(None),
            )
        ):
            active[peer_id, provider] = SavedMethod(method_id, customer_ref, method_ref)
    return by_id, active


_SENT = (
    "UPDATE payments SET state = ?, attempts = attempts + 1, sent_at = COALESCE(sent_at, ?), "
    "updated_at = ?, method_id = ? WHERE id = ?"
)
_SETTLED = (
    "UPDATE payments SET state = ?, fee = ?, provider_ref = ?, succeeded_at = ?, updated_at = ? "
    "WHERE id = ?"
)


def prepare_many(
    session: Session, payment_ids: Sequence[int], *, providers: ProviderRegistry, now: datetime
) -> Prepared:
    """Mark ``payment_ids`` as sent and build what each provider is asked. A payment already
    settled or failed, or a bank transfer (the donor sends it), is not sent; a card payment
    whose donor has no saved card fails. Raises InvalidInput for a provider not offered."""
    rows = _locked(session, payment_ids)
    by_id, active = _methods(session, rows, providers)
    prepared = Prepared()
    sent: list[tuple[Any, ...]] = []
    no_card: list[Failure] = []
    for row in rows:
        state = PaymentState(row.state)
        if state in rules.FINAL_STATES or row.provider == ProviderName.MANUAL.value:
            prepared.states[row.id] = row.state
            continue
        provider = providers.get(row.provider)
        method: SavedMethod | None = None
        if row.method_id is not None:
            method = by_id.get(row.method_id)
        elif provider.needs_saved_method:
            method = active.get((row.donor_id, row.provider))
            if method is None:
                no_card.append(
                    Failure(
                        row,
                        "no_payment_method",
                        f"No card is saved for {row.provider} payments.",
                    )
                )
                continue
        new = rules.next_state(state, rules.Change.SEND)
        new_state = new.value if new is not None else row.state
        method_id = method.id if method is not None else row.method_id
        sent.append((new_state, now, now, method_id, row.id))
        prepared.states[row.id] = new_state
        prepared.requests.setdefault(row.provider, []).append(
            rules.charge_request(
                payment_id=row.id,
                reference=row.reference,
                donor_id=row.donor_id,
                currency=row.currency,
                amount=row.amount,
                method=method,
                provider_ref=row.provider_ref,
            )
        )
    bulk.execute_many(session, _SENT, sent)
    prepared.states.update(fail_many(session, no_card, now=now))
    return prepared


def charge(
    prepared: Prepared, *, providers: ProviderRegistry, senders: Executor
) -> dict[int, ChargeResult]:
    """Ask each provider for its batch; call it outside any transaction. ``payment id →``
    the outcome, or ProviderUnavailable."""
    results: dict[int, ChargeResult] = {}
    for name, requests in prepared.requests.items():
        answers = charge_many(providers.get(name), requests, senders=senders)
        results.update(
            (request.payment_id, answer) for request, answer in zip(requests, answers, strict=True)
        )
    return results


@dataclass(frozen=True)
class Failure:
    row: Any
    """The payment's row (id, donor_id, currency, amount, state)."""
    code: str
    message: str


def fail_many(session: Session, failures: Sequence[Failure], *, now: datetime) -> dict[int, str]:
    """Nothing arrived for these payments: keep each reason and tell each donor, as
    ``states.fail`` does for one. Returns the new state of those it failed."""
    failed: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    for failure in failures:
        row = failure.row
        new = rules.next_state(PaymentState(row.state), rules.Change.FAIL)
        if new is None:
            continue
        failed.append(
            {
                "pid": row.id,
                "new_state": new.value,
                "code": failure.code[:80],
                "message": failure.message[:500],
                "now": now,
            }
        )
        kind, text = states.failure_notice(
            row.currency, row.amount, code=failure.code, message=failure.message
        )
        notices.append(
            {
                "peer_id": row.donor_id,
                "payment_id": row.id,
                "kind": kind,
                "message": text[:1000],
                "created_at": now,
            }
        )
    if not failed:
        return {}
    session.execute(
        update(PAYMENTS)
        .where(PAYMENTS.c.id == bindparam("pid"))
        .values(
            state=bindparam("new_state"),
            failure_code=bindparam("code"),
            failure_message=bindparam("message"),
            failed_at=bindparam("now"),
            updated_at=bindparam("now"),
        ),
        failed,
        execution_options={"synchronize_session": False},
    )
    insert = pg_insert if bulk.is_postgresql(session) else sqlite_insert
    # Once per payment and kind, as ``methods.add_notice`` keeps them.
    session.execute(insert(NOTICES).on_conflict_do_nothing(), notices)
    return {entry["pid"]: entry["new_state"] for entry in failed}


@dataclass
class Recorded:
    states: dict[int, str] = field(default_factory=dict)
    """Each payment's state once its answer is written."""
    later: list[ProviderEvent] = field(default_factory=list)
    """Events the providers said will follow, to apply each in a transaction of its own."""


def _lines(session: Session, payment_ids: Sequence[int]) -> dict[int, list[books.SettledLine]]:
    lines: dict[int, list[books.SettledLine]] = defaultdict(list)
    for part in bulk.chunks(sorted(payment_ids), _CHUNK):
        statement = (
            select(
                PaymentLineRow.payment_id,
                PaymentLineRow.position,
                PaymentLineRow.project_id,
                PaymentLineRow.amount,
                PaymentLineRow.memo,
            )
            .where(one_of(session, "payment_lines.payment_id", part))
            .order_by(PaymentLineRow.payment_id, PaymentLineRow.position)
        )
        for payment_id, position, project_id, amount, memo in bulk.raw_rows(session, statement):
            lines[payment_id].append(books.SettledLine(position, project_id, amount, memo))
    return lines


def record_many(
    session: Session, results: Mapping[int, ChargeResult], *, now: datetime
) -> Recorded:
    """Write what the providers answered, as ``service.record_outcome`` does for one: the
    money of every payment that succeeded posted to the books as one settlement, the reason
    and a notice for every decline, and nothing yet for a payment still processing (or whose
    provider could not be reached, or did not say its fee yet)."""
    recorded = Recorded()
    refs: list[dict[str, Any]] = []
    settled: list[tuple[Any, ...]] = []
    fees: dict[int, int] = {}
    declined: list[Failure] = []
    providers: dict[int, tuple[str, str]] = {}
    for row in _locked(session, list(results)):
        result = results[row.id]
        recorded.states[row.id] = row.state
        if isinstance(result, ProviderUnavailable):
            continue
        recorded.later.extend(result.later)
        ref = row.provider_ref or result.provider_ref
        state = PaymentState(row.state)
        new = None
        if result.state is PaymentState.SUCCEEDED and result.fee is not None:
            new = rules.next_state(state, rules.Change.SUCCEED)
        if new is not None:
            fee = max(0, min(result.fee or 0, row.amount))
            fees[row.id] = fee
            providers[row.id] = (row.provider, row.currency)
            settled.append((new.value, fee, ref, now, now, row.id))
            recorded.states[row.id] = new.value
            continue
        if ref != row.provider_ref:
            refs.append({"pid": row.id, "ref": ref, "now": now})
        if result.state is PaymentState.FAILED:
            declined.append(
                Failure(
                    row,
                    result.failure_code or "failed",
                    result.failure_message or "The payment was declined.",
                )
            )
    options = {"synchronize_session": False}
    if refs:
        session.execute(
            update(PAYMENTS)
            .where(PAYMENTS.c.id == bindparam("pid"), PAYMENTS.c.provider_ref.is_(None))
            .values(provider_ref=bindparam("ref"), updated_at=bindparam("now")),
            refs,
            execution_options=options,
        )
    if settled:
        bulk.execute_many(session, _SETTLED, settled)
        lines = _lines(session, list(fees))
        books.post_settlements(
            session,
            [
                books.Settled(payment_id, *providers[payment_id], fee, lines[payment_id])
                for payment_id, fee in sorted(fees.items())
            ],
            now=now,
        )
    recorded.states.update(fail_many(session, declined, now=now))
    return recorded
