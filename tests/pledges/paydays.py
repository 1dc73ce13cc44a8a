"""Running paydays in tests, and the oracle they are checked against: the pure clearing of what
is stored, and what the books and the payments say each donor paid."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.ledger.models import Transfer
from potluck.pledges import rules
from potluck.pledges.models import Payday, PaydayCharge
from potluck.pledges.payday import clearing
from potluck.pledges.payday.run import PaydayOutcome, run_due_paydays
from potluck.pledges.payments.models import Payment
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.pledges.payments.settings import PaymentSettings
from potluck.pledges.rules.periods import Period
from potluck.pledges.settings import PledgeSettings

JANUARY = Period.month(2026, 1)
FEBRUARY = Period.month(2026, 2)


def pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    """The two columns of ``rows`` as a mapping."""
    return dict(iter(rows))


def settings(**overrides: object) -> PledgeSettings:
    return PledgeSettings(**overrides)  # type: ignore[arg-type]


def registry() -> ProviderRegistry:
    return ProviderRegistry.from_settings(PaymentSettings(simulated_payments=True))


def pay(
    database: Database,
    clock: FrozenClock,
    *,
    at: datetime | None = None,
    config: PledgeSettings | None = None,
) -> list[PaydayOutcome]:
    """Move the clock to ``at`` (by default just after January ends) and run what is due."""
    clock.set(at or datetime(2026, 2, 1, 0, 5, tzinfo=UTC))
    return run_due_paydays(
        database, clock=clock, settings=config or settings(), registry=registry()
    )


def expected_clearing(database: Database, period: Period) -> rules.Clearing:
    """The pure clearing of ``period`` over what is stored now: the oracle of every payday."""
    with database.transaction(write=False) as session:
        plan = clearing.plan_payday(session, period, settings().minimum)
        return plan.clearing


def stored_charges(database: Database, payday_id: int) -> dict[int, int]:
    """Pledge id → amount, as the payday stored them."""
    with database.transaction(write=False) as session:
        return pairs(
            session.execute(
                select(PaydayCharge.pledge_id, PaydayCharge.amount).where(
                    PaydayCharge.payday_id == payday_id
                )
            )
        )


def paid_by_donor(database: Database) -> dict[tuple[int, str], int]:
    """What every donor's succeeded payments came to, per currency."""
    totals: dict[tuple[int, str], int] = defaultdict(int)
    with database.transaction(write=False) as session:
        for donor_id, currency, amount in session.execute(
            select(Payment.donor_id, Payment.currency, Payment.amount).where(
                Payment.state == "succeeded"
            )
        ):
            totals[donor_id, currency] += amount
    return dict(totals)


def payments_by_reference(database: Database) -> dict[str, int]:
    with database.transaction(write=False) as session:
        return pairs(session.execute(select(Payment.reference, Payment.amount)))


def transfer_count(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Transfer)) or 0)


def payday_stages(database: Database) -> list[tuple[str, str, bool | None]]:
    with database.transaction(write=False) as session:
        return [
            (str(row.period_start), row.stage, row.check_ok)
            for row in session.scalars(select(Payday).order_by(Payday.period_start))
        ]
