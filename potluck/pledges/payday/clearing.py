"""Payday's first stage: clear a period with the pure rules and store what it decided.

Everything is written in one transaction — the payday row, every charge (keyed by payday and
pledge, so a charge can exist once), every need's coverage, and each donor's payment plan with
its reference — or nothing is. A rerun after a crash therefore finds either no payday (and
clears again, from the same stored needs and pledges, to the same charges) or the whole stage.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from potluck.money import CURRENCIES
from potluck.pledges import bulk, rules
from potluck.pledges.models import (
    Need,
    Payday,
    PaydayCharge,
    PaydayCoverage,
    PaydayPayment,
    Pledge,
)
from potluck.pledges.payday.gateway import Line
from potluck.pledges.rules.minimums import MinimumCharge
from potluck.pledges.rules.periods import Period
from potluck.pledges.service import loading
from potluck.projects.models import Project

CHARGES: Table = PaydayCharge.__table__  # type: ignore[assignment]
COVERAGE: Table = PaydayCoverage.__table__  # type: ignore[assignment]
PAYMENTS: Table = PaydayPayment.__table__  # type: ignore[assignment]

_CHARGE_COLUMNS = (
    "payday_id",
    "pledge_id",
    "donor_id",
    "project_id",
    "need_id",
    "commodity",
    "amount",
    "kind",
    "payment_reference",
)
MAX_MEMO = 200
_BY_PROJECT = attrgetter("project_id")


def reference(payday_id: int, donor_id: int, currency: str) -> str:
    """The reference of a donor's payment at a payday: its idempotency key everywhere."""
    return f"payday-{payday_id}/donor-{donor_id}/{currency}"


@dataclass(frozen=True, slots=True)
class Outstanding:
    """A charge of an earlier payday that no payment has settled yet."""

    payday_id: int
    pledge_id: int
    project_id: int
    amount: int


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    """One donor's payment in one currency, with what each project receives of it."""

    donor_id: int
    commodity: str
    amount: int
    carried_in: int
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class PaydayPlan:
    """What clearing a period decides, before anything is written."""

    period: Period
    clearing: rules.Clearing
    payments: tuple[PaymentPlan, ...]
    carried: Mapping[rules.DonorCommodity, int]
    """What each donor will owe at a later payday, below the minimum."""
    outstanding: Mapping[rules.DonorCommodity, Sequence[Outstanding]]
    minimum: Mapping[str, int]
    needs: int = 0
    pledges: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


def _cleared_needs(period: Period) -> Any:
    """The needs a payday of ``period`` clears: made before it ended, not closed, of projects
    that are not archived."""
    return (
        select(Need)
        .join(Project, Project.id == Need.project_id)
        .where(
            Need.created_at < period.ends_at,
            Need.closed_at.is_(None),
            Project.archived_at.is_(None),
        )
    )


def outstanding_charges(
    session: Session, *, before_payday: int | None = None
) -> dict[rules.DonorCommodity, list[Outstanding]]:
    """Charges that no payment has settled: carried below the minimum, or whose payment
    failed. Only those of paydays before ``before_payday`` when given."""
    statement = select(
        PaydayCharge.donor_id,
        PaydayCharge.commodity,
        PaydayCharge.payday_id,
        PaydayCharge.pledge_id,
        PaydayCharge.project_id,
        PaydayCharge.amount,
    ).where(PaydayCharge.payment_reference.is_(None))
    if before_payday is not None:
        statement = statement.where(PaydayCharge.payday_id < before_payday)
    found: dict[rules.DonorCommodity, list[Outstanding]] = defaultdict(list)
    for donor_id, commodity, payday_id, pledge_id, project_id, amount in session.execute(
        statement.order_by(PaydayCharge.payday_id, PaydayCharge.pledge_id)
    ):
        found[donor_id, commodity].append(Outstanding(payday_id, pledge_id, project_id, amount))
    return dict(found)


def plan_payday(session: Session, period: Period, minimum: MinimumCharge) -> PaydayPlan:
    """Clear ``period`` over the stored needs and pledges and batch each donor's charges,
    old unpaid ones included, into one payment per currency. Writes nothing."""
    needs = list(session.scalars(_cleared_needs(period).order_by(Need.id)))
    rule_needs = loading.rule_needs(session, needs, period)
    # Every active pledge is read in one pass over the table and those of needs not cleared
    # are dropped here: looking each need's pledges up through the index instead takes SQLite
    # several times longer at a million pledges.
    statement = select(*loading.PLEDGE_COLUMNS).where(
        Pledge.state == "active", Pledge.created_at < period.ends_at
    )
    pledges = loading.stream_pledges(session, statement, need_ids=rule_needs)
    clearing = rules.clear(rule_needs.values(), pledges, period)

    outstanding = outstanding_charges(session)
    carried_forward = {
        key: sum(item.amount for item in items) for key, items in outstanding.items()
    }
    currencies = {charge.commodity for charge in clearing.charges} | {
        commodity for _, commodity in outstanding
    }
    minimum_table = minimum.table(CURRENCIES[code] for code in sorted(currencies))
    batched = rules.donor_payments(clearing.charges, minimum_table, carried_forward)
    head = _memo_head(period)
    payments = tuple(
        PaymentPlan(
            donor_id=payment.donor_id,
            commodity=payment.commodity,
            amount=payment.amount,
            carried_in=payment.carried_in,
            lines=_lines(
                head, payment.charges, outstanding.get((payment.donor_id, payment.commodity), ())
            ),
        )
        for payment in batched.payments
    )
    return PaydayPlan(
        period=period,
        clearing=clearing,
        payments=payments,
        carried=batched.carried,
        outstanding=outstanding,
        minimum=minimum_table,
        needs=len(needs),
        pledges=len(pledges),
        summary=_summary(clearing, payments, batched.carried, len(needs), len(pledges)),
    )


def _lines(
    head: str, charges: Sequence[rules.Charge], earlier: Sequence[Outstanding]
) -> tuple[Line, ...]:
    if not earlier:
        projects = {charge.project_id for charge in charges}
        if len(projects) == len(charges):
            # The usual payment: one charge per project, each line naming its one pledge.
            return tuple(
                Line(charge.project_id, charge.amount, f"{head} {charge.pledge_id}")
                for charge in sorted(charges, key=_BY_PROJECT)
            )
    amounts: dict[int, int] = defaultdict(int)
    pledges: dict[int, list[int]] = defaultdict(list)
    for charge in charges:
        amounts[charge.project_id] += charge.amount
        pledges[charge.project_id].append(charge.pledge_id)
    for item in earlier:
        amounts[item.project_id] += item.amount
        pledges[item.project_id].append(item.pledge_id)
    return tuple(
        Line(project_id, amounts[project_id], _memo(head, pledges[project_id]))
        for project_id in sorted(amounts)
    )


def _memo_head(period: Period) -> str:
    return f"Payday {period.start.isoformat()} to {period.end.isoformat()}: pledge"


def _memo(head: str, pledge_ids: list[int]) -> str:
    if len(pledge_ids) == 1:
        return f"{head} {pledge_ids[0]}"
    ids = sorted(set(pledge_ids))
    text = f"{head}{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}"
    if len(text) <= MAX_MEMO:
        return text
    return f"{head}s {ids[0]} to {ids[-1]} ({len(ids)} in all)"


def _summary(
    clearing: rules.Clearing,
    payments: Sequence[PaymentPlan],
    carried: Mapping[rules.DonorCommodity, int],
    needs: int,
    pledges: int,
) -> dict[str, Any]:
    per: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("charges", "charged", "payments", "to_pay", "carried", "donors"), 0)
    )
    for charge in clearing.charges:
        entry = per[charge.commodity]
        entry["charges"] += 1
        entry["charged"] += charge.amount
    for payment in payments:
        entry = per[payment.commodity]
        entry["payments"] += 1
        entry["to_pay"] += payment.amount
    for (_, commodity), amount in carried.items():
        entry = per[commodity]
        entry["carried"] += amount
        entry["donors"] += 1
    return {
        "needs": needs,
        "pledges": pledges,
        "uncovered": sum(1 for c in clearing.coverage if c.missing > 0 and c.cost > 0),
        "suspended": len(clearing.suspended),
        "captured": len(clearing.captured),
        "voided": len(clearing.voided),
        "held": len(clearing.held),
        "currencies": {code: per[code] for code in sorted(per)},
    }


def store_payday(session: Session, plan: PaydayPlan, *, now: datetime) -> Payday:
    """Write the plan: the payday, its charges, coverage and payment plans; earlier unpaid
    charges of every paying donor are tied to that donor's new payment."""
    period = plan.period
    payday = Payday(
        period_start=period.start,
        period_end=period.end,
        stage="cleared",
        started_at=now,
        minimum_charge=dict(plan.minimum),
        summary=plan.summary,
        check_report=[],
    )
    session.add(payday)
    session.flush()
    # Plain locals: an ORM attribute or an enum's value read per charge costs a call each.
    payday_id = payday.id
    paying = {
        (payment.donor_id, payment.commodity): reference(
            payday_id, payment.donor_id, payment.commodity
        )
        for payment in plan.payments
    }
    get = paying.get
    kinds = {kind: kind.value for kind in rules.PledgeKind}
    _insert_charges(
        session,
        [
            (
                payday_id,
                c.pledge_id,
                c.donor_id,
                c.project_id,
                c.need_id,
                c.commodity,
                c.amount,
                kinds[c.kind],
                get((c.donor_id, c.commodity)),
            )
            # In the order of the table's key, so each insert appends to it.
            for c in sorted(plan.clearing.charges, key=attrgetter("pledge_id"))
        ],
    )
    if plan.clearing.coverage:
        session.execute(
            insert(COVERAGE),
            [
                {
                    "payday_id": payday_id,
                    "need_id": c.need_id,
                    "project_id": c.project_id,
                    "commodity": c.commodity,
                    "cost": c.cost,
                    "pledged": c.pledged,
                    "cleared": c.cleared,
                    "missing": c.missing,
                }
                for c in plan.clearing.coverage
            ],
        )
    tied = [
        {"ref": paying[key], "donor": key[0], "currency": key[1], "payday": payday_id}
        for key in plan.outstanding
        if key in paying
    ]
    if tied:
        session.execute(
            update(CHARGES)
            .where(
                CHARGES.c.payment_reference.is_(None),
                CHARGES.c.donor_id == bindparam("donor"),
                CHARGES.c.commodity == bindparam("currency"),
                CHARGES.c.payday_id < bindparam("payday"),
            )
            .values(payment_reference=bindparam("ref")),
            tied,
        )
    bulk.insert_rows(
        session,
        "payday_payments",
        _PAYMENT_COLUMNS,
        (
            (
                paying[payment.donor_id, payment.commodity],
                payday_id,
                payment.donor_id,
                payment.commodity,
                payment.amount,
                payment.carried_in,
                json.dumps([[line.project_id, line.amount, line.memo] for line in payment.lines]),
                None,
                "planned",
                "",
                now,
            )
            # In the order of the table's key, which the later stages read it in.
            for payment in sorted(plan.payments, key=lambda p: paying[p.donor_id, p.commodity])
        ),
    )
    session.flush()
    return payday


_PAYMENT_COLUMNS = (
    "reference",
    "payday_id",
    "donor_id",
    "commodity",
    "amount",
    "carried_in",
    "lines",
    "payment_id",
    "state",
    "provider",
    "updated_at",
)
_SQLITE_INSERT = (
    f"INSERT INTO payday_charges ({', '.join(_CHARGE_COLUMNS)}) "  # noqa: S608 - fixed names
    f"VALUES ({', '.join('?' * len(_CHARGE_COLUMNS))})"
)
_PG_COPY = f"COPY payday_charges ({', '.join(_CHARGE_COLUMNS)}) FROM STDIN"


def _insert_charges(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert charges through the driver itself (COPY on PostgreSQL, executemany on SQLite):
    a payday writes a million of them, and per-row parameter processing would dominate."""
    if not rows:
        return
    driver: Any = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(_PG_COPY) as copy:
            for row in rows:
                copy.write_row(row)
        return
    cursor = driver.cursor()
    try:
        cursor.executemany(_SQLITE_INSERT, rows)
    finally:
        cursor.close()


def lines_in(stored: Sequence[Sequence[Any]]) -> list[Line]:
    """A payment plan's lines, from their stored form."""
    # Stored by store_payday as JSON numbers and strings: they come back as int and str.
    return [Line(project, amount, memo) for project, amount, memo in stored]
