"""Needs: what a project must cover. Stewards create, edit and close them; every change is on
the project's public activity log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound
from potluck.ledger.service import accounts
from potluck.money import (
    CURRENCIES,
    Amount,
    Commodity,
)
from potluck.people.models import Peer
from potluck.pledges import rules
from potluck.pledges.models import CADENCES, FUNDING_RULES, Need, Pledge
from potluck.pledges.rules.schedule import PaydayCadence, latest_deadline
from potluck.pledges.service import pledges
from potluck.pledges.service.common import (
    LIVE_STATES,
    check_units,
    project_of,
    require_open_project,
)
from potluck.projects.models import ActivityEntry, Project, Steward

TITLE_MAX_LENGTH = 120
DESCRIPTION_MAX_LENGTH = 10_000


@dataclass(frozen=True, slots=True)
class NeedTerms:
    """What a steward says a need is. ``amount`` is in the currency's smallest unit."""

    title: str
    commodity: str
    amount: int
    per: str | None
    """``week``, ``month`` or ``year``; None for a one-off goal."""
    deadline: datetime | None
    funding: str
    description: str = ""


def get_need(session: Session, need_id: int) -> Need:
    need = session.get(Need, need_id)
    if need is None:
        raise NotFound(f"Need {need_id} does not exist.")
    return need


def project_needs(
    session: Session, project: Project, *, include_closed: bool = False
) -> list[Need]:
    """The project's needs, open ones first, each group oldest first."""
    statement = select(Need).where(Need.project_id == project.id)
    if not include_closed:
        statement = statement.where(Need.closed_at.is_(None))
    return list(
        session.scalars(statement.order_by(Need.closed_at.is_not(None), Need.created_at, Need.id))
    )


def currency(code: str) -> Commodity:
    """The currency ``code`` names; needs are paid in money, so resource units are refused."""
    clean = code.strip().upper()
    found = CURRENCIES.get(clean)
    if found is None:
        raise InvalidInput(
            f"'{code}' is not a currency: give an ISO 4217 code such as EUR or USD. "
            "Resource units are covered by offers and the grid, not by pledges.",
            field="commodity",
        )
    return found


def _require_steward(session: Session, project: Project, peer: Peer, *, doing: str) -> None:
    steward = session.scalar(
        select(Steward.id).where(
            Steward.project_id == project.id,
            Steward.peer_id == peer.id,
            Steward.ended_at.is_(None),
        )
    )
    if steward is None:
        raise Forbidden(f"Only stewards of {project.name} can {doing}; you are not one of them.")


def _clean_title(title: str) -> str:
    clean = " ".join(title.split())
    if not 0 < len(clean) <= TITLE_MAX_LENGTH:
        raise InvalidInput(
            f"A need needs a title of 1 to {TITLE_MAX_LENGTH} characters.", field="title"
        )
    return clean


def _clean_description(description: str) -> str:
    clean = description.strip()
    if len(clean) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(
            f"A need's description is at most {DESCRIPTION_MAX_LENGTH} characters.",
            field="description",
        )
    return clean


def _checked_terms(
    terms: NeedTerms,
    *,
    now: datetime,
    cadence: PaydayCadence,
    need_id: int = 0,
    kept_deadline: datetime | None = None,
) -> tuple[str, Commodity, int, str | None, datetime | None, str]:
    title = _clean_title(terms.title)
    of = currency(terms.commodity)
    if terms.funding not in FUNDING_RULES:
        raise InvalidInput(
            f"'{terms.funding}' is not a funding rule: use {', '.join(FUNDING_RULES)}.",
            field="funding",
        )
    if terms.per is not None and terms.per not in CADENCES:
        raise InvalidInput(
            f"A recurring cost falls due every {', '.join(CADENCES)}; not '{terms.per}'.",
            field="per",
        )
    units = check_units(terms.amount, of, field="amount", what="A need's amount")
    deadline = terms.deadline
    if deadline is not None and deadline != kept_deadline:
        if deadline.tzinfo is None:
            raise InvalidInput("The deadline must say its time zone.", field="deadline")
        if deadline <= now:
            raise InvalidInput(
                f"The deadline {deadline:%Y-%m-%d %H:%M} UTC has already passed.",
                field="deadline",
            )
        latest = latest_deadline(now, cadence)
        if deadline > latest:
            raise InvalidInput(
                f"A goal's deadline can be at most until {latest:%Y-%m-%d}: pledges toward "
                "it are held in the books until then, and a hold lasts at most a year.",
                field="deadline",
            )
    rules.check_need(
        rules.Need(
            id=need_id,
            project_id=0,
            commodity=of.code,
            amount=units,
            per=rules.Cadence(terms.per) if terms.per else None,
            deadline=deadline,
            funding=rules.FundingRule(terms.funding),
        )
    )
    return title, of, units, terms.per, deadline, terms.funding


def create_need(
    session: Session,
    project: Project,
    *,
    steward: Peer,
    terms: NeedTerms,
    now: datetime,
    cadence: PaydayCadence,
) -> Need:
    """Add a need to ``project``; only its stewards may."""
    _require_steward(session, project, steward, doing="add needs")
    require_open_project(project)
    title, of, units, per, deadline, funding = _checked_terms(terms, now=now, cadence=cadence)
    description = _clean_description(terms.description)
    accounts.get_commodity(session, of.code)
    need = Need(
        project_id=project.id,
        title=title,
        description=description,
        commodity=of.code,
        amount=units,
        per=per,
        deadline=deadline,
        funding=funding,
        created_by_id=steward.id,
        created_at=now,
        updated_at=now,
    )
    session.add(need)
    session.flush()
    log(
        session,
        project,
        actor=steward,
        action="need.created",
        summary=f"{steward.display_name} added the need “{title}”: {describe(need)}.",
        details={"need_id": need.id, "amount": units, "commodity": of.code, "funding": funding},
        now=now,
    )
    return need


def live_pledges(session: Session, need: Need) -> int:
    """How many pledges toward ``need`` are active or paused."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Pledge)
            .where(Pledge.need_id == need.id, Pledge.state.in_(LIVE_STATES))
        )
        or 0
    )


def update_need(
    session: Session,
    need: Need,
    *,
    steward: Peer,
    terms: NeedTerms,
    now: datetime,
    cadence: PaydayCadence,
) -> Need:
    """Change a need. Once peers have pledged, its currency, funding rule, kind (cost or goal)
    and deadline stay as they are: their pledges were made on those terms."""
    project = project_of(session, need)
    _require_steward(session, project, steward, doing="edit needs")
    require_open_project(project)
    if need.closed_at is not None:
        raise Conflict(f"Need {need.id} is closed; it can no longer be edited.")
    title, of, units, per, deadline, funding = _checked_terms(
        terms, now=now, cadence=cadence, need_id=need.id, kept_deadline=need.deadline
    )
    description = _clean_description(terms.description)
    pledged = live_pledges(session, need)
    if pledged:
        for name, before, after in (
            ("commodity", need.commodity, of.code),
            ("funding", need.funding, funding),
            ("per", need.per, per),
            ("deadline", need.deadline, deadline),
        ):
            if before != after:
                raise Conflict(
                    f"Need {need.id} has {pledged} pledge(s) made on its current {name}; "
                    f"it cannot change. Close the need and add a new one instead.",
                    field=name,
                )
    changed = {
        name: (getattr(need, name), value)
        for name, value in (
            ("title", title),
            ("description", description),
            ("commodity", of.code),
            ("amount", units),
            ("per", per),
            ("deadline", deadline),
            ("funding", funding),
        )
        if getattr(need, name) != value
    }
    if not changed:
        return need
    if "commodity" in changed:
        accounts.get_commodity(session, of.code)
    for name, (_, value) in changed.items():
        setattr(need, name, value)
    need.updated_at = now
    session.flush()
    log(
        session,
        project,
        actor=steward,
        action="need.updated",
        summary=f"{steward.display_name} changed the need “{need.title}”: {describe(need)}.",
        details={
            "need_id": need.id,
            "changed": sorted(changed),
            "from": {k: _plain(v[0]) for k, v in changed.items() if k != "description"},
            "to": {k: _plain(v[1]) for k, v in changed.items() if k != "description"},
        },
        now=now,
    )
    return need


def close_need(session: Session, need: Need, *, steward: Peer, now: datetime) -> Need:
    """Stop asking for ``need``: its live pledges are cancelled (all-or-nothing holds voided)
    and each donor is told why."""
    project = project_of(session, need)
    _require_steward(session, project, steward, doing="close needs")
    if need.closed_at is not None:
        raise Conflict(f"Need {need.id} is already closed.")
    need.closed_at = now
    need.updated_at = now
    session.flush()
    ended = pledges.end_pledges_of_need(
        session,
        need,
        reason=f"{project.name} closed the need “{need.title}”.",
        now=now,
    )
    log(
        session,
        project,
        actor=steward,
        action="need.closed",
        summary=(
            f"{steward.display_name} closed the need “{need.title}”; "
            f"{ended} pledge(s) toward it ended."
        ),
        details={"need_id": need.id, "pledges_ended": ended},
        now=now,
    )
    return need


def describe(need: Need) -> str:
    """``40.00 EUR a month, open`` or ``1,200.00 EUR by 1 Mar 2026, all-or-nothing``."""
    amount = Amount(need.amount, CURRENCIES[need.commodity]).display()
    if need.per is not None:
        return f"{amount} a {need.per}, {need.funding}"
    assert need.deadline is not None
    return f"{amount} by {need.deadline:%-d %b %Y}, {need.funding}"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def log(
    session: Session,
    project: Project,
    *,
    actor: Peer | None,
    action: str,
    summary: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    """Append a line to the project's public activity log, in the caller's transaction."""
    session.add(
        ActivityEntry(
            project_id=project.id,
            actor_id=actor.id if actor else None,
            action=action,
            summary=summary[:500],
            details=details,
            at=now,
        )
    )
    session.flush()
