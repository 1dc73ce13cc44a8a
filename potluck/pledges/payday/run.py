"""The payday, in five restartable stages.

1. **clear** — the pure clearing of the period; charges, coverage and each donor's payment plan
   stored in one transaction (``clearing``).
2. **stage** — the planned payments started with the payments, thousands per transaction
   and by the rules of starting one, idempotent on their references.
3. **execute** — the payments sent to their providers, which never charge twice, thousands at
   a time: marked as sent in one transaction, sent outside any, their answers recorded in
   another, where the money of those that succeeded is posted to the books as one
   settlement (``payments.books``). A failure puts the donor's charges back to be asked again
   at the next payday, and the third failure in a row pauses the donor's pledges.
4. **holds** — all-or-nothing holds of goals whose deadline fell in the period captured (goal
   reached) or voided (goal missed); captured promises whose payment arrived settled.
5. **check** — the sum of charges settled by this payday's payments equals, per project and
   currency, what the books received for them; the holds captured equal the all-or-nothing
   charges.

Each stage records its completion on the payday row, and every step of a stage is idempotent,
so a payday killed at any point and run again finishes with the same charges and writes no
transfer twice. One runner at a time holds the payday lease (``lease``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from potluck.clock import Clock
from potluck.db import Database
from potluck.pledges import bulk
from potluck.pledges.models import (
    Need,
    Payday,
    PaydayCharge,
    PaydayPayment,
    Pledge,
    PledgeHold,
)
from potluck.pledges.payday import clearing, collector, gateway
from potluck.pledges.payday.lease import Lease, PaydayBusy
from potluck.pledges.rules.periods import Period
from potluck.pledges.rules.schedule import due_period
from potluck.pledges.service import holds, pledges
from potluck.pledges.settings import PledgeSettings

STAGES = ("cleared", "staged", "executed", "settled", "done")
STAGE_BATCH = 10_000
"""Payments started per transaction: as many as are sent per batch, so that a payday of a
hundred thousand donors commits ten times rather than twenty."""
SEND_BATCH = 10_000
"""Payments sent per batch: marked as sent in one transaction, their answers recorded (and
those that succeeded posted to the books as one settlement) in another."""
PAYDAY_PAYMENTS: Table = PaydayPayment.__table__  # type: ignore[assignment]


class Progress(Protocol):
    """Where a payday reports how far it got; the command line shows it with Rich."""

    def begin(self, stage: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


class Quiet:
    def begin(self, stage: str, total: int) -> None:
        del stage, total

    def advance(self, count: int) -> None:
        del count


@dataclass(frozen=True)
class PaydayOutcome:
    """How one payday ended."""

    payday_id: int
    period: Period
    check_ok: bool
    summary: dict[str, Any]
    check_report: list[dict[str, Any]]


@dataclass
class Runner:
    """Everything a payday needs besides its database."""

    database: Database
    clock: Clock
    settings: PledgeSettings
    registry: gateway.ProviderRegistry
    lease: Lease
    progress: Progress

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits only while this runner still holds the lease."""
        with self.database.transaction() as session:
            self.lease.renew(session)
            yield session


def run_due_paydays(
    database: Database,
    *,
    clock: Clock,
    settings: PledgeSettings,
    registry: gateway.ProviderRegistry,
    progress: Progress | None = None,
) -> list[PaydayOutcome]:
    """Finish an interrupted payday, then run every payday whose period has ended, in order.

    Raises PaydayBusy if another runner holds the lease.
    """
    lease = Lease(database, clock)
    if not lease.acquire():
        raise PaydayBusy(
            f"A payday is already running ({lease.holder_now() or 'another runner'}); "
            "try again when it has finished."
        )
    runner = Runner(database, clock, settings, registry, lease, progress or Quiet())
    outcomes: list[PaydayOutcome] = []
    try:
        while True:
            with collector.paused():
                payday_id = _unfinished(database) or _clear_due(runner)
            if payday_id is None:
                return outcomes
            outcomes.append(_finish(runner, payday_id))
    finally:
        lease.release()


def _unfinished(database: Database) -> int | None:
    with database.transaction(write=False) as session:
        return session.scalar(
            select(Payday.id).where(Payday.stage != "done").order_by(Payday.period_start).limit(1)
        )


def _latest_period(session: Session) -> Period | None:
    latest = session.scalar(select(Payday).order_by(Payday.period_start.desc()).limit(1))
    return Period(latest.period_start, latest.period_end) if latest else None


def due(session: Session, now: datetime, settings: PledgeSettings) -> Period | None:
    """The period the next payday clears, if it has ended."""
    return due_period(_latest_period(session), now, settings.payday_cadence)


def _clear_due(runner: Runner) -> int | None:
    """Stage 1: plan the due period from one consistent read, then store it at once."""
    now = runner.clock.now()
    runner.lease.refresh()
    with runner.database.transaction(write=False) as reading:
        if reading.get_bind().dialect.name == "postgresql":
            # Every query of the plan reads the same snapshot, as SQLite's reads always do.
            reading.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        period = due(reading, now, runner.settings)
        if period is None:
            return None
        runner.progress.begin(f"clear {period}", 1)
        plan = clearing.plan_payday(reading, period, runner.settings.minimum)
    with runner.write() as session:
        # The lease makes this runner the only one; the unique period is the backstop.
        payday = clearing.store_payday(session, plan, now=now)
        payday_id = payday.id
    runner.progress.advance(1)
    return payday_id


def _finish(runner: Runner, payday_id: int) -> PaydayOutcome:
    for stage, step in (
        ("staged", _start_payments),
        ("executed", _execute_payments),
        ("settled", _settle_holds),
        ("done", _self_check),
    ):
        if STAGES.index(_stage(runner.database, payday_id)) < STAGES.index(stage):
            runner.lease.refresh()
            with collector.paused():
                step(runner, payday_id)
    with runner.database.transaction(write=False) as session:
        payday = session.get(Payday, payday_id)
        assert payday is not None
        return PaydayOutcome(
            payday_id=payday.id,
            period=Period(payday.period_start, payday.period_end),
            check_ok=bool(payday.check_ok),
            summary=dict(payday.summary),
            check_report=list(payday.check_report),
        )


def _stage(database: Database, payday_id: int) -> str:
    with database.transaction(write=False) as session:
        stage = session.scalar(select(Payday.stage).where(Payday.id == payday_id))
    assert stage is not None
    return stage


def _mark(session: Session, payday_id: int, stage: str, **values: Any) -> None:
    session.execute(update(Payday).where(Payday.id == payday_id).values(stage=stage, **values))


def _count(database: Database, payday_id: int, states: Sequence[str]) -> int:
    with database.transaction(write=False) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(PaydayPayment)
                .where(PaydayPayment.payday_id == payday_id, PaydayPayment.state.in_(states))
            )
            or 0
        )


def _start_payments(runner: Runner, payday_id: int) -> None:
    """Stage 2: start every planned payment, thousands per transaction."""
    runner.progress.begin("stage payments", _count(runner.database, payday_id, ("planned",)))
    after = ""
    while True:
        now = runner.clock.now()
        with runner.write() as session:
            batch = session.execute(
                select(
                    PaydayPayment.reference,
                    PaydayPayment.donor_id,
                    PaydayPayment.commodity,
                    PaydayPayment.lines,
                )
                .where(
                    PaydayPayment.payday_id == payday_id,
                    PaydayPayment.state == "planned",
                    PaydayPayment.reference > after,
                )
                .order_by(PaydayPayment.reference)
                .limit(STAGE_BATCH)
            ).all()
            if not batch:
                _mark(session, payday_id, "staged")
                return
            providers = gateway.providers_for(
                session, [row.donor_id for row in batch], runner.registry
            )
            started = gateway.start_many(
                session,
                [
                    gateway.Start(
                        row.reference,
                        row.donor_id,
                        row.commodity,
                        clearing.lines_in(row.lines),
                        providers[row.donor_id],
                    )
                    for row in batch
                ],
                now=now,
            )
            bulk.execute_many(
                session,
                "UPDATE payday_payments SET payment_id = ?, provider = ?, state = ?, "
                "updated_at = ? WHERE reference = ?",
                [
                    (
                        started[row.reference][0],
                        providers[row.donor_id],
                        started[row.reference][1],
                        now,
                        row.reference,
                    )
                    for row in batch
                ],
            )
        after = batch[-1].reference
        runner.progress.advance(len(batch))


def _execute_payments(runner: Runner, payday_id: int) -> None:
    """Stage 3: send every payment of this payday not yet settled or failed, and catch up
    with earlier paydays' payments that were still awaited; thousands at a time, each batch
    in a few transactions: marked as sent, sent, its answers recorded."""
    with runner.database.transaction(write=False) as session:
        rows = session.execute(
            select(PaydayPayment.reference, PaydayPayment.payment_id)
            .where(
                PaydayPayment.state.in_(("awaiting", "processing")),
                PaydayPayment.payday_id <= payday_id,
            )
            .order_by(PaydayPayment.payday_id, PaydayPayment.reference)
        ).all()
    runner.progress.begin("execute payments", len(rows))
    # A card processor answers over the network; a few payments in flight at once keep the
    # payday from waiting on each answer in turn. Each payment is still sent by one thread,
    # and the payments never charge twice whatever runs beside them.
    with ThreadPoolExecutor(max_workers=runner.settings.payday_senders) as senders:
        for start in range(0, len(rows), SEND_BATCH):
            batch = rows[start : start + SEND_BATCH]
            references = {pid: ref for ref, pid in batch if pid is not None}
            with runner.write() as session:
                prepared = gateway.prepare(
                    session, list(references), registry=runner.registry, now=runner.clock.now()
                )
            results = gateway.charge(prepared, registry=runner.registry, senders=senders)
            with runner.write() as session:
                recorded = gateway.record(session, results, now=runner.clock.now())
                current = {**prepared.states, **recorded.states}
                record_states(
                    session,
                    [(ref, current[pid]) for pid, ref in references.items() if pid in current],
                    runner=runner,
                )
            for event in recorded.later:
                with runner.write() as session:
                    payment_id = gateway.apply_later(session, event, now=runner.clock.now())
                    if payment_id in references:
                        state = gateway.states(session, [payment_id])[payment_id]
                        record_state(session, references[payment_id], state, runner=runner)
            runner.progress.advance(len(batch))
    with runner.write() as session:
        _mark(session, payday_id, "executed")


def record_states(session: Session, changes: Sequence[tuple[str, str]], *, runner: Runner) -> None:
    """Write the payments' new states on their plans: in one statement for all, where the state
    differs, but for the failed ones, which :func:`record_state` handles one by one."""
    now = runner.clock.now()
    bulk.execute_many(
        session,
        "UPDATE payday_payments SET state = ?, updated_at = ? WHERE reference = ? AND state <> ?",
        [(state, now, reference, state) for reference, state in changes if state != gateway.FAILED],
    )
    for reference, state in changes:
        if state == gateway.FAILED:
            # Does nothing for a plan that shows the failure already.
            record_state(session, reference, state, runner=runner)


def record_state(session: Session, reference: str, state: str, *, runner: Runner) -> None:
    """Write a payment's new state on its plan. A failed payment's charges become unpaid again,
    to be asked at the next payday, and enough failures in a row pause the donor's pledges."""
    row = session.get(PaydayPayment, reference)
    assert row is not None
    if row.state == state:
        return
    now = runner.clock.now()
    row.state = state
    row.updated_at = now
    if state != gateway.FAILED:
        session.flush()
        return
    session.execute(
        update(PaydayCharge)
        .where(PaydayCharge.payment_reference == reference)
        .values(payment_reference=None)
    )
    session.flush()
    failures = gateway.failures_in_a_row(session, row.donor_id, row.commodity)
    if failures >= runner.settings.payment_failures_before_pause:
        paused = pledges.pause_after_failures(session, row.donor_id, failures=failures, now=now)
        if paused and row.payment_id is not None:
            gateway.notice_paused(
                session,
                donor_id=row.donor_id,
                payment_id=row.payment_id,
                message=(
                    f"Your last {failures} payments failed, so your {paused} pledge(s) are "
                    "paused. Save a working payment method, then resume them on your giving "
                    "page."
                ),
                now=now,
            )


def _settle_holds(runner: Runner, payday_id: int) -> None:
    """Stage 4: end the holds of goals this payday decided, and settle paid promises."""
    now = runner.clock.now()
    runner.progress.begin("all-or-nothing holds", 3)
    with runner.write() as session:
        payday = session.get(Payday, payday_id)
        assert payday is not None
        period = Period(payday.period_start, payday.period_end)
        captured = set(
            session.scalars(
                select(PaydayCharge.pledge_id).where(
                    PaydayCharge.payday_id == payday_id, PaydayCharge.kind == "all-or-nothing"
                )
            )
        )
        open_holds = list(
            session.scalars(
                select(PledgeHold)
                .join(Pledge, Pledge.id == PledgeHold.pledge_id)
                .join(Need, Need.id == Pledge.need_id)
                .where(
                    PledgeHold.state == holds.OPEN,
                    Need.deadline >= period.starts_at,
                    Need.deadline < period.ends_at,
                )
                .order_by(PledgeHold.transfer_id)
            )
        )
        holds.capture_holds(
            session,
            [h for h in open_holds if h.pledge_id in captured],
            now=now,
            payday_id=payday_id,
        )
        runner.progress.advance(1)
        holds.void_holds(
            session,
            [h for h in open_holds if h.pledge_id not in captured],
            now=now,
            payday_id=payday_id,
        )
        runner.progress.advance(1)
        holds.settle_holds(session, paid_promises(session), now=now)
        runner.progress.advance(1)
        _mark(session, payday_id, "settled")


def paid_promises(session: Session) -> list[holds.Settlement]:
    """Captured all-or-nothing holds whose charge a succeeded payment has paid."""
    rows = session.execute(
        select(PledgeHold, PaydayCharge.donor_id, PaydayCharge.project_id, PaydayCharge.commodity)
        .join(
            PaydayCharge,
            (PaydayCharge.pledge_id == PledgeHold.pledge_id)
            & (PaydayCharge.payday_id == PledgeHold.payday_id),
        )
        .join(PaydayPayment, PaydayPayment.reference == PaydayCharge.payment_reference)
        .where(PledgeHold.state == holds.CAPTURED, PaydayPayment.state == gateway.SUCCEEDED)
        .order_by(PledgeHold.transfer_id)
    ).all()
    return [
        holds.Settlement(hold, donor_id, project_id, commodity)
        for hold, donor_id, project_id, commodity in rows
    ]


def _self_check(runner: Runner, payday_id: int) -> None:
    """Stage 5: compare, per project and currency, the charges with what the books say."""
    runner.progress.begin("self-check", 1)
    with runner.database.transaction(write=False) as session:
        report = self_check(session, payday_id)
    with runner.write() as session:
        _mark(
            session,
            payday_id,
            "done",
            check_ok=all(entry["ok"] for entry in report),
            check_report=report,
            finished_at=runner.clock.now(),
        )
    runner.progress.advance(1)


def self_check(session: Session, payday_id: int) -> list[dict[str, Any]]:
    """One entry per project and currency: this payday's charges; the charges its succeeded
    payments settle (this payday's and carried ones) against the receipts the books hold for
    those payments; and its all-or-nothing charges against the holds the books captured."""
    table: dict[tuple[int, str], dict[str, Any]] = defaultdict(
        lambda: dict.fromkeys(("charged", "paid", "received", "captured", "captured_in_books"), 0)
    )
    for project_id, commodity, kind, total in session.execute(
        select(
            PaydayCharge.project_id,
            PaydayCharge.commodity,
            PaydayCharge.kind,
            func.sum(PaydayCharge.amount),
        )
        .where(PaydayCharge.payday_id == payday_id)
        .group_by(PaydayCharge.project_id, PaydayCharge.commodity, PaydayCharge.kind)
    ):
        entry = table[project_id, commodity]
        entry["charged"] += int(total)
        if kind == "all-or-nothing":
            entry["captured"] += int(total)
    succeeded = select(PaydayPayment.reference).where(
        PaydayPayment.payday_id == payday_id, PaydayPayment.state == gateway.SUCCEEDED
    )
    for project_id, commodity, total in session.execute(
        select(PaydayCharge.project_id, PaydayCharge.commodity, func.sum(PaydayCharge.amount))
        .where(PaydayCharge.payment_reference.in_(succeeded))
        .group_by(PaydayCharge.project_id, PaydayCharge.commodity)
    ):
        table[project_id, commodity]["paid"] += int(total)
    payment_ids = session.scalars(
        select(PaydayPayment.payment_id).where(
            PaydayPayment.payday_id == payday_id, PaydayPayment.state == gateway.SUCCEEDED
        )
    )
    for key, total in gateway.received(session, [pid for pid in payment_ids if pid]).items():
        table[key]["received"] += total
    for key, total in holds.captured_in_books(session, payday_id).items():
        table[key]["captured_in_books"] += total
    report = []
    for (project_id, commodity), entry in sorted(table.items()):
        ok = entry["paid"] == entry["received"] and entry["captured"] == entry["captured_in_books"]
        report.append({"project_id": project_id, "commodity": commodity, **entry, "ok": ok})
    return report
