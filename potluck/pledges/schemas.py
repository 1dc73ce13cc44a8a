"""Request and response shapes of the needs, pledges and payday API.

Amounts are whole numbers of the currency's smallest unit (cents for EUR), as in the books;
every amount in an answer also comes as text for people (``"12.50 EUR"``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from potluck.money import CURRENCIES, MAX_UNITS, Amount
from potluck.pledges.models import Need, Payday, Pledge
from potluck.pledges.rules.periods import Period
from potluck.pledges.service.forecast import HistoryPoint, NeedOutlook, PledgePreview
from potluck.pledges.service.giving import Giving, GivingLine

Units = Field(gt=0, le=MAX_UNITS, description="In the currency's smallest unit.")
Cadence = Literal["week", "month", "year"]
Funding = Literal["open", "all-or-nothing", "shared"]
Kind = Literal["gift", "all-or-nothing", "crowdmatch", "share"]


def text(units: int, commodity: str) -> str:
    return Amount(units, CURRENCIES[commodity]).display()


class Covers(Protocol):
    """Anything that reports a need's coverage: the clearing's or a stored payday's."""

    @property
    def cost(self) -> int: ...
    @property
    def pledged(self) -> int: ...
    @property
    def cleared(self) -> int: ...
    @property
    def missing(self) -> int: ...


class PeriodOut(BaseModel):
    start: date
    end: date = Field(description="The first day after the period.")

    @classmethod
    def of(cls, period: Period) -> PeriodOut:
        return cls(start=period.start, end=period.end)


class NeedIn(BaseModel):
    """A recurring cost (give ``per``) or a one-off goal (give ``deadline``)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=1000, examples=["Hosting"])
    commodity: str = Field(max_length=10, examples=["EUR"], description="An ISO 4217 currency.")
    amount: int = Field(
        gt=0, le=MAX_UNITS, description="Cost per period, or the goal's target; smallest unit."
    )
    per: Cadence | None = Field(default=None, description="How often a recurring cost is due.")
    deadline: datetime | None = Field(default=None, description="When a goal must be reached.")
    funding: Funding = "open"
    description: str = Field(default="", max_length=20_000, description="Markdown.")


class NeedPatch(BaseModel):
    """Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=1000)
    commodity: str | None = Field(default=None, max_length=10)
    amount: int | None = Field(default=None, gt=0, le=MAX_UNITS)
    per: Cadence | None = None
    deadline: datetime | None = None
    funding: Funding | None = None
    description: str | None = Field(default=None, max_length=20_000)


class CoverageOut(BaseModel):
    period: PeriodOut
    cost: int
    pledged: int
    cleared: int
    missing: int
    cost_text: str
    pledged_text: str
    cleared_text: str
    missing_text: str

    @classmethod
    def of(cls, period: Period, commodity: str, coverage: Covers) -> CoverageOut:
        cost, pledged, cleared, missing = (
            coverage.cost,
            coverage.pledged,
            coverage.cleared,
            coverage.missing,
        )
        return cls(
            period=PeriodOut.of(period),
            cost=cost,
            pledged=pledged,
            cleared=cleared,
            missing=missing,
            cost_text=text(cost, commodity),
            pledged_text=text(pledged, commodity),
            cleared_text=text(cleared, commodity),
            missing_text=text(missing, commodity),
        )


class NeedOut(BaseModel):
    id: int
    project: str = Field(description="The project's slug.")
    title: str
    description: str
    commodity: str
    amount: int
    amount_text: str
    per: str | None
    deadline: datetime | None
    funding: str
    created_at: datetime
    closed_at: datetime | None
    next_payday: CoverageOut | None = Field(
        default=None, description="What the next payday would clear, if nothing changed."
    )
    last_payday: CoverageOut | None = Field(
        default=None, description="What the latest payday that cleared it recorded."
    )

    @classmethod
    def of(cls, need: Need, slug: str, outlook: NeedOutlook | None = None) -> NeedOut:
        out = cls(
            id=need.id,
            project=slug,
            title=need.title,
            description=need.description,
            commodity=need.commodity,
            amount=need.amount,
            amount_text=text(need.amount, need.commodity),
            per=need.per,
            deadline=need.deadline,
            funding=need.funding,
            created_at=need.created_at,
            closed_at=need.closed_at,
        )
        if outlook is not None:
            out.next_payday = CoverageOut.of(outlook.period, need.commodity, outlook.coverage)
            if outlook.last is not None and outlook.last_period is not None:
                out.last_payday = CoverageOut.of(outlook.last_period, need.commodity, outlook.last)
        return out


class CoverageHistoryOut(BaseModel):
    payday_id: int
    coverage: CoverageOut

    @classmethod
    def of(cls, point: HistoryPoint, commodity: str) -> CoverageHistoryOut:
        return cls(
            payday_id=point.payday_id,
            coverage=CoverageOut.of(point.period, commodity, point.coverage),
        )


class PledgeIn(BaseModel):
    """A gift takes ``amount`` (and ``per`` when recurring); all-or-nothing takes ``amount``;
    crowdmatch takes ``rate`` and ``cap`` (its limit per period); share takes ``cap``."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    amount: int | None = Field(default=None, gt=0, le=MAX_UNITS)
    per: Cadence | None = None
    rate: int | None = Field(default=None, gt=0, le=MAX_UNITS)
    cap: int | None = Field(default=None, gt=0, le=MAX_UNITS)
    anonymous: bool = False
    commodity: str | None = Field(
        default=None, max_length=10, description="Left out, the need's; given, it must match."
    )


class PledgePatch(BaseModel):
    """New terms; those left out stay. The kind never changes."""

    model_config = ConfigDict(extra="forbid")

    amount: int | None = Field(default=None, gt=0, le=MAX_UNITS)
    per: Cadence | Literal["once"] | None = Field(
        default=None, description="'once' turns a recurring gift into a one-off one."
    )
    rate: int | None = Field(default=None, gt=0, le=MAX_UNITS)
    cap: int | None = Field(default=None, gt=0, le=MAX_UNITS)
    anonymous: bool | None = None


class PledgeOut(BaseModel):
    id: int
    need_id: int
    need_title: str
    project: str
    kind: str
    commodity: str
    amount: int | None
    per: str | None
    rate: int | None
    cap: int | None
    state: str
    state_reason: str
    anonymous: bool
    created_at: datetime
    updated_at: datetime
    next_charge: int | None = Field(
        default=None, description="What the next payday would charge, were nothing to change."
    )
    next_charge_text: str | None = None
    note: str = ""

    @classmethod
    def of(
        cls,
        pledge: Pledge,
        need: Need,
        slug: str,
        *,
        next_charge: int | None = None,
        note: str = "",
    ) -> PledgeOut:
        return cls(
            id=pledge.id,
            need_id=need.id,
            need_title=need.title,
            project=slug,
            kind=pledge.kind,
            commodity=pledge.commodity,
            amount=pledge.amount,
            per=pledge.per,
            rate=pledge.rate,
            cap=pledge.cap,
            state=pledge.state,
            state_reason=pledge.state_reason,
            anonymous=pledge.anonymous,
            created_at=pledge.created_at,
            updated_at=pledge.updated_at,
            next_charge=next_charge,
            next_charge_text=None if next_charge is None else text(next_charge, pledge.commodity),
            note=note,
        )

    @classmethod
    def line(cls, line: GivingLine) -> PledgeOut:
        return cls.of(
            line.pledge,
            line.need,
            line.project.slug,
            next_charge=line.next_charge,
            note=line.note,
        )


class PublicPledgeOut(BaseModel):
    """A pledge as anyone sees it: anonymous donors are not named."""

    id: int
    kind: str
    donor: str | None
    donor_id: int | None
    amount: int | None
    per: str | None
    rate: int | None
    cap: int | None
    created_at: datetime


class CurrencyTotalOut(BaseModel):
    commodity: str
    charges: int
    owed: int = Field(description="Charges of earlier paydays not paid yet.")
    total: int
    minimum: int
    carried: bool = Field(description="Below the minimum: carried to a later payday.")
    total_text: str


class GivingOut(BaseModel):
    next_payday: PeriodOut
    pledges: list[PledgeOut]
    totals: list[CurrencyTotalOut]

    @classmethod
    def of(cls, giving: Giving) -> GivingOut:
        return cls(
            next_payday=PeriodOut.of(giving.period),
            pledges=[PledgeOut.line(line) for line in giving.lines],
            totals=[
                CurrencyTotalOut(
                    commodity=t.commodity,
                    charges=t.charges,
                    owed=t.owed,
                    total=t.total,
                    minimum=t.minimum,
                    carried=t.carried,
                    total_text=text(t.total, t.commodity),
                )
                for t in giving.totals
            ],
        )


class PreviewPointOut(BaseModel):
    peers: int = Field(description="Peers pledging, you included.")
    pays: int
    pays_text: str


class PreviewOut(BaseModel):
    need_id: int
    kind: str
    period: PeriodOut
    today: int = Field(description="What you would pay at the next payday, as things stand.")
    today_text: str
    paying: int = Field(description="How many pledges would pay, yours included if it pays.")
    least_cap: int | None = Field(
        default=None, description="For a share: the smallest cap that pays today."
    )
    points: list[PreviewPointOut]

    @classmethod
    def of(cls, preview: PledgePreview) -> PreviewOut:
        commodity = preview.need.commodity
        return cls(
            need_id=preview.need.id,
            kind=preview.kind,
            period=PeriodOut.of(preview.period),
            today=preview.preview.today,
            today_text=text(preview.preview.today, commodity),
            paying=preview.preview.paying,
            least_cap=preview.least_cap,
            points=[
                PreviewPointOut(peers=peers, pays=pays, pays_text=text(pays, commodity))
                for peers, pays in preview.preview.points
            ],
        )


class PaydayOut(BaseModel):
    id: int
    period: PeriodOut
    stage: str
    started_at: datetime
    finished_at: datetime | None
    check_ok: bool | None
    summary: dict[str, Any]
    check_report: list[dict[str, Any]] | None = None

    @classmethod
    def of(cls, payday: Payday, *, report: bool = False) -> PaydayOut:
        return cls(
            id=payday.id,
            period=PeriodOut(start=payday.period_start, end=payday.period_end),
            stage=payday.stage,
            started_at=payday.started_at,
            finished_at=payday.finished_at,
            check_ok=payday.check_ok,
            summary=payday.summary,
            check_report=payday.check_report if report else None,
        )


class PaydayPreviewOut(BaseModel):
    period: PeriodOut
    due: bool = Field(description="Whether the period has ended, so a payday now clears it.")
    summary: dict[str, Any]
