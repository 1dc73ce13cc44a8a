"""A donor's giving: every pledge with what it will cost at the next payday, what is still owed
from earlier paydays, and what each payday charged them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from potluck.money import CURRENCIES
from potluck.people.models import Peer
from potluck.pledges.models import Need, Payday, PaydayCharge, PaydayPayment, Pledge
from potluck.pledges.rules.minimums import MinimumCharge
from potluck.pledges.rules.periods import Period
from potluck.pledges.rules.schedule import PaydayCadence
from potluck.pledges.service import forecast, pledges
from potluck.projects.models import Project


@dataclass(frozen=True, slots=True)
class GivingLine:
    pledge: Pledge
    need: Need
    project: Project
    next_charge: int
    """What the next payday would charge it, were nothing to change before then."""
    note: str
    """Why it costs what it costs, when that is not plain: held, suspended, paused."""


@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    commodity: str
    charges: int
    """The next payday's charges in this currency."""
    owed: int
    """Charges of earlier paydays not paid yet: carried below the minimum or failed."""
    minimum: int

    @property
    def total(self) -> int:
        return self.charges + self.owed

    @property
    def carried(self) -> bool:
        """Whether the next payday will carry the total forward instead of asking for it."""
        return 0 < self.total < self.minimum


@dataclass(frozen=True, slots=True)
class Giving:
    period: Period
    """The period the next payday clears."""
    lines: tuple[GivingLine, ...]
    totals: tuple[CurrencyTotal, ...]


def giving(
    session: Session,
    donor: Peer,
    *,
    now: datetime,
    cadence: PaydayCadence,
    minimum: MinimumCharge,
    include_cancelled: bool = False,
) -> Giving:
    """The donor's pledges, newest first, each with its cost at the next payday."""
    period = forecast.next_period(session, now, cadence)
    rows = pledges.donor_pledges(session, donor, include_cancelled=include_cancelled)
    needs = {need.id: need for _, need, _ in rows if need.closed_at is None}
    clearing = forecast.clear_needs(session, list(needs.values()), period)
    charged = {c.pledge_id: c.amount for c in clearing.charges}
    suspended = set(clearing.suspended)
    held = set(clearing.held)
    lines = []
    charges: dict[str, int] = defaultdict(int)
    for pledge, need, project in rows:
        amount = charged.get(pledge.id, 0) if pledge.state == "active" else 0
        charges[need.commodity] += amount
        lines.append(
            GivingLine(
                pledge,
                need,
                project,
                amount,
                _note(pledge, need, period, amount, suspended=suspended, held=held),
            )
        )
    owed = owed_by(session, donor.id)
    totals = tuple(
        CurrencyTotal(
            code,
            charges.get(code, 0),
            owed.get(code, 0),
            minimum.units(CURRENCIES[code]),
        )
        for code in sorted(set(charges) | set(owed))
    )
    return Giving(period, tuple(lines), totals)


def _note(
    pledge: Pledge,
    need: Need,
    period: Period,
    amount: int,
    *,
    suspended: set[int],
    held: set[int],
) -> str:
    """Why a pledge costs what it does at the next payday, when that is not plain."""
    if pledge.state != "active":
        default = (
            "Cancelled."
            if pledge.state == "cancelled"
            else "Paused: left out of paydays until you resume it."
        )
        return pledge.state_reason or default
    reasons = (
        (need.closed_at is not None, "The need is closed."),
        (
            pledge.id in suspended,
            (
                "Suspended: matching every patron would pass your limit. It counts again when "
                "fewer patrons match or you raise the limit."
            ),
        ),
        (
            pledge.id in held,
            "Held in the books until the goal's deadline; charged only if the goal is reached.",
        ),
        (
            pledge.kind == "share" and amount == 0,
            "Your cap is below the share this period; you pay nothing unless more join.",
        ),
        (
            pledge.kind == "gift" and pledge.per is None and amount == 0,
            "Given already." if pledge.created_at < period.starts_at else "",
        ),
        (
            need.deadline is not None and need.deadline < period.starts_at,
            "The goal's deadline has passed.",
        ),
    )
    return next((reason for applies, reason in reasons if applies), "")


def owed_by(session: Session, donor_id: int) -> dict[str, int]:
    """Charges of earlier paydays the donor has not paid yet, per currency."""
    totals: dict[str, int] = defaultdict(int)
    for commodity, amount in session.execute(
        select(PaydayCharge.commodity, PaydayCharge.amount).where(
            PaydayCharge.donor_id == donor_id, PaydayCharge.payment_reference.is_(None)
        )
    ):
        totals[commodity] += amount
    return dict(totals)


@dataclass(frozen=True, slots=True)
class PastCharge:
    period: Period
    payday_id: int
    charge: PaydayCharge
    need_title: str
    project: Project
    payment_state: str | None
    """The state of the payment that settles it, or None while it is carried."""


def past_charges(session: Session, donor: Peer, *, limit: int = 50) -> Sequence[PastCharge]:
    """What paydays charged the donor, newest first."""
    rows = session.execute(
        select(Payday, PaydayCharge, Need.title, Project, PaydayPayment.state)
        .join(PaydayCharge, PaydayCharge.payday_id == Payday.id)
        .join(Need, Need.id == PaydayCharge.need_id)
        .join(Project, Project.id == PaydayCharge.project_id)
        .outerjoin(PaydayPayment, PaydayPayment.reference == PaydayCharge.payment_reference)
        .where(PaydayCharge.donor_id == donor.id)
        .order_by(Payday.period_start.desc(), PaydayCharge.pledge_id)
        .limit(limit)
    ).all()
    return [
        PastCharge(
            Period(payday.period_start, payday.period_end),
            payday.id,
            charge,
            title,
            project,
            state,
        )
        for payday, charge, title, project, state in rows
    ]
