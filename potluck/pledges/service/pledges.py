"""Pledges: any signed-in peer promises toward a need, then edits, pauses, resumes or cancels.

A refused pledge writes nothing: every check runs before the first write. An all-or-nothing
pledge holds its amount in the books from the moment it is made (see ``holds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound
from potluck.ledger.service.accounts import insert_ignoring_conflict
from potluck.money import CURRENCIES, Amount, Commodity
from potluck.people.models import Peer
from potluck.pledges import rules
from potluck.pledges.models import (
    CADENCES,
    PLEDGE_KINDS,
    Need,
    PaydayCharge,
    Pledge,
    PledgeNotice,
)
from potluck.pledges.rules.schedule import PaydayCadence
from potluck.pledges.service import forecast, holds, loading
from potluck.pledges.service.common import (
    LIVE_STATES,
    check_units,
    project_of,
    require_open_project,
)
from potluck.projects.models import Project

ACTIVE = "active"
PAUSED = "paused"
CANCELLED = "cancelled"

# Which of a pledge's terms each kind takes; the others must be left out.
TERMS: dict[str, tuple[str, ...]] = {
    "gift": ("amount", "per"),
    "all-or-nothing": ("amount",),
    "crowdmatch": ("rate", "cap"),
    "share": ("cap",),
}
WORDS = {"amount": "an amount", "per": "a cadence", "rate": "a rate", "cap": "a cap"}


@dataclass(frozen=True, slots=True)
class PledgeTerms:
    """What a peer promises. Amounts are in the currency's smallest unit; ``cap`` is a share's
    cap or a crowdmatch pledge's limit per period."""

    kind: str
    amount: int | None = None
    per: str | None = None
    """A gift's cadence (``week``, ``month``, ``year``); None for a one-off gift."""
    rate: int | None = None
    cap: int | None = None
    anonymous: bool = False
    commodity: str | None = None
    """Left out, the need's; given, it must be the need's."""


def get_pledge(session: Session, pledge_id: int) -> Pledge:
    pledge = session.get(Pledge, pledge_id)
    if pledge is None:
        raise NotFound(f"Pledge {pledge_id} does not exist.")
    return pledge


def own_pledge(session: Session, pledge_id: int, donor: Peer) -> Pledge:
    """The donor's pledge ``pledge_id``; another peer's is refused."""
    pledge = get_pledge(session, pledge_id)
    if pledge.donor_id != donor.id:
        raise Forbidden(f"Pledge {pledge_id} is another peer's; only they can change it.")
    return pledge


def need_of(session: Session, pledge: Pledge) -> Need:
    need = session.get(Need, pledge.need_id)
    assert need is not None  # the foreign key guarantees it
    return need


def _check_terms(terms: PledgeTerms, need: Need) -> Commodity:
    if terms.kind not in PLEDGE_KINDS:
        raise InvalidInput(
            f"'{terms.kind}' is not a kind of pledge: use {', '.join(PLEDGE_KINDS)}.",
            field="kind",
        )
    if terms.commodity is not None and terms.commodity.strip().upper() != need.commodity:
        raise InvalidInput(
            f"This pledge is in {terms.commodity}, but need {need.id} “{need.title}” is "
            f"counted in {need.commodity}; pledge in {need.commodity}.",
            field="commodity",
        )
    of = CURRENCIES[need.commodity]
    wanted = TERMS[terms.kind]
    for name in ("amount", "per", "rate", "cap"):
        value = getattr(terms, name)
        if name not in wanted and value is not None:
            raise InvalidInput(
                f"A {terms.kind} pledge has {' and '.join(WORDS[w] for w in wanted)}, "
                f"not {WORDS[name]}.",
                field=name,
            )
        if name in wanted and name != "per" and value is None:
            raise InvalidInput(f"A {terms.kind} pledge needs {WORDS[name]}.", field=name)
    if terms.per is not None and terms.per not in CADENCES:
        raise InvalidInput(
            f"A recurring gift falls due every {', '.join(CADENCES)}; not '{terms.per}'.",
            field="per",
        )
    labels = {"amount": "The amount", "rate": "The rate", "cap": "The cap"}
    if terms.kind == "crowdmatch":
        labels["cap"] = "The limit"
    for name in ("amount", "rate", "cap"):
        value = getattr(terms, name)
        if value is not None:
            check_units(value, of, field=name, what=labels[name])
    return of


def _rule_pledge(
    terms: PledgeTerms, need: Need, *, pledge_id: int, donor_id: int, created_at: datetime
) -> rules.Pledge:
    common: dict[str, Any] = {
        "id": pledge_id,
        "donor_id": donor_id,
        "need_id": need.id,
        "commodity": need.commodity,
        "created_at": created_at,
    }
    if terms.kind == "gift":
        assert terms.amount is not None
        per = rules.Cadence(terms.per) if terms.per else None
        return rules.Gift(amount=terms.amount, per=per, **common)
    if terms.kind == "all-or-nothing":
        assert terms.amount is not None
        return rules.AllOrNothing(amount=terms.amount, **common)
    if terms.kind == "crowdmatch":
        assert terms.rate is not None
        assert terms.cap is not None
        return rules.Crowdmatch(rate=terms.rate, limit=terms.cap, **common)
    assert terms.cap is not None
    return rules.Share(cap=terms.cap, **common)


def _require_need_open(need: Need, project: Project) -> None:
    if need.closed_at is not None:
        raise Conflict(
            f"Need {need.id} “{need.title}” is closed; pledges can no longer be added or changed."
        )
    require_open_project(project)


def _check_share(
    session: Session,
    need: Need,
    cap: int,
    *,
    now: datetime,
    cadence: PaydayCadence,
    excluding: int | None,
) -> None:
    period = forecast.next_period(session, now, cadence)
    cost = forecast.cost_left_to_share(session, need, period, excluding=excluding)
    caps = forecast.share_caps(session, need, excluding=excluding)
    least = rules.least_share_cap(cost, caps)
    if cap < least:
        of = CURRENCIES[need.commodity]
        raise InvalidInput(
            f"A cap of {Amount(cap, of).display()} is below the current share of "
            f"{Amount(least, of).display()} for need {need.id} “{need.title}”; raise it to "
            f"at least {Amount(least, of).display()} to share this cost.",
            field="cap",
        )


def _live_pledge_of(session: Session, need: Need, donor: Peer) -> Pledge | None:
    """The donor's live pledge toward ``need`` other than one-off gifts, which may be many."""
    return session.scalar(
        select(Pledge).where(
            Pledge.need_id == need.id,
            Pledge.donor_id == donor.id,
            Pledge.state.in_(LIVE_STATES),
            ~((Pledge.kind == "gift") & Pledge.per.is_(None)),
        )
    )


def make_pledge(
    session: Session,
    need: Need,
    *,
    donor: Peer,
    terms: PledgeTerms,
    now: datetime,
    cadence: PaydayCadence,
) -> Pledge:
    """Promise ``terms`` toward ``need``. Refused, naming the problem: a closed need or an
    archived project, another currency than the need's, an amount of zero or less, a kind the
    need's funding rule does not take, a goal whose deadline has passed, a share cap below the
    current share, or a second standing pledge toward the same need."""
    project = project_of(session, need)
    _require_need_open(need, project)
    _check_terms(terms, need)
    candidate = _rule_pledge(terms, need, pledge_id=0, donor_id=donor.id, created_at=now)
    rules.check_pledge(candidate, loading.rule_need(need), as_of=now)
    if not (terms.kind == "gift" and terms.per is None):
        existing = _live_pledge_of(session, need, donor)
        if existing is not None:
            raise Conflict(
                f"You already pledge toward need {need.id} “{need.title}” (pledge "
                f"{existing.id}); change that pledge instead of adding another.",
                field="kind",
            )
    if terms.kind == "share":
        assert terms.cap is not None
        _check_share(session, need, terms.cap, now=now, cadence=cadence, excluding=None)
    pledge = Pledge(
        need_id=need.id,
        donor_id=donor.id,
        kind=terms.kind,
        commodity=need.commodity,
        amount=terms.amount,
        per=terms.per,
        rate=terms.rate,
        cap=terms.cap,
        state=ACTIVE,
        anonymous=terms.anonymous,
        revision=1,
        state_reason="",
        created_at=now,
        updated_at=now,
    )
    session.add(pledge)
    session.flush()
    if pledge.kind == "all-or-nothing":
        holds.place_hold(session, _hold_terms(pledge, need), now=now, cadence=cadence)
    return pledge


def _hold_terms(pledge: Pledge, need: Need) -> holds.HoldTerms:
    assert pledge.amount is not None
    assert need.deadline is not None
    return holds.HoldTerms(
        pledge_id=pledge.id,
        revision=pledge.revision,
        donor_id=pledge.donor_id,
        project_id=need.project_id,
        need_id=need.id,
        commodity=pledge.commodity,
        amount=pledge.amount,
        deadline=need.deadline,
    )


def _require_changeable(pledge: Pledge, need: Need, *, now: datetime, doing: str) -> None:
    if pledge.state == CANCELLED:
        raise Conflict(f"Pledge {pledge.id} is cancelled; make a new pledge instead.")
    if pledge.kind == "all-or-nothing" and need.deadline is not None and need.deadline <= now:
        raise Conflict(
            f"The deadline of need {need.id} “{need.title}” has passed; its payday decides "
            f"all-or-nothing pledge {pledge.id}, which can no longer {doing}."
        )


def _was_charged(session: Session, pledge: Pledge) -> bool:
    return (
        session.scalar(select(PaydayCharge.payday_id).where(PaydayCharge.pledge_id == pledge.id))
        is not None
    )


def update_pledge(
    session: Session,
    pledge: Pledge,
    *,
    donor: Peer,
    terms: PledgeTerms,
    now: datetime,
    cadence: PaydayCadence,
) -> Pledge:
    """Change a pledge's terms; its kind stays (cancel it and pledge anew for another kind).
    The change counts from the next payday; the pledge keeps its place in creation order."""
    if pledge.donor_id != donor.id:
        raise Forbidden(f"Pledge {pledge.id} is another peer's; only they can change it.")
    need = need_of(session, pledge)
    _require_need_open(need, project_of(session, need))
    _require_changeable(pledge, need, now=now, doing="change")
    if terms.kind != pledge.kind:
        raise InvalidInput(
            f"Pledge {pledge.id} is a {pledge.kind} pledge and stays one; cancel it and make "
            f"a {terms.kind} pledge instead.",
            field="kind",
        )
    if pledge.kind == "gift" and pledge.per is None and _was_charged(session, pledge):
        raise Conflict(f"One-off gift {pledge.id} was already given at a payday.")
    _check_terms(terms, need)
    candidate = _rule_pledge(
        terms, need, pledge_id=pledge.id, donor_id=donor.id, created_at=pledge.created_at
    )
    rules.check_pledge(candidate, loading.rule_need(need), as_of=now)
    if pledge.kind == "share" and pledge.state == ACTIVE:
        assert terms.cap is not None
        _check_share(session, need, terms.cap, now=now, cadence=cadence, excluding=pledge.id)
    terms_changed = (pledge.amount, pledge.per, pledge.rate, pledge.cap) != (
        terms.amount,
        terms.per,
        terms.rate,
        terms.cap,
    )
    if not terms_changed and pledge.anonymous == terms.anonymous:
        return pledge
    pledge.anonymous = terms.anonymous
    pledge.updated_at = now
    if terms_changed:
        pledge.amount, pledge.per, pledge.rate, pledge.cap = (
            terms.amount,
            terms.per,
            terms.rate,
            terms.cap,
        )
        if pledge.kind == "all-or-nothing" and pledge.state == ACTIVE:
            _void_open_hold(session, pledge, now=now)
            pledge.revision += 1
            session.flush()
            holds.place_hold(session, _hold_terms(pledge, need), now=now, cadence=cadence)
        else:
            pledge.revision += 1
    session.flush()
    return pledge


def _void_open_hold(session: Session, pledge: Pledge, *, now: datetime) -> None:
    """Release the pledge's hold, unless a payday already charged it: then that payday
    captures the hold, whatever happens to the pledge afterwards."""
    hold = holds.open_hold(session, pledge.id)
    if hold is not None and not _was_charged(session, pledge):
        holds.void_holds(session, [hold], now=now)


def pause_pledge(session: Session, pledge: Pledge, *, donor: Peer, now: datetime) -> Pledge:
    """Leave the pledge out of paydays until it is resumed; an all-or-nothing hold is released."""
    if pledge.donor_id != donor.id:
        raise Forbidden(f"Pledge {pledge.id} is another peer's; only they can pause it.")
    need = need_of(session, pledge)
    _require_changeable(pledge, need, now=now, doing="be paused")
    if pledge.state == PAUSED:
        return pledge
    _set_state(session, pledge, PAUSED, reason="", now=now)
    return pledge


def resume_pledge(
    session: Session, pledge: Pledge, *, donor: Peer, now: datetime, cadence: PaydayCadence
) -> Pledge:
    """Count a paused pledge again from the next payday."""
    if pledge.donor_id != donor.id:
        raise Forbidden(f"Pledge {pledge.id} is another peer's; only they can resume it.")
    need = need_of(session, pledge)
    _require_need_open(need, project_of(session, need))
    _require_changeable(pledge, need, now=now, doing="be resumed")
    if pledge.state == ACTIVE:
        return pledge
    pledge.state = ACTIVE
    pledge.state_reason = ""
    pledge.updated_at = now
    if pledge.kind == "all-or-nothing":
        pledge.revision += 1
        session.flush()
        holds.place_hold(session, _hold_terms(pledge, need), now=now, cadence=cadence)
    session.flush()
    return pledge


def cancel_pledge(session: Session, pledge: Pledge, *, donor: Peer, now: datetime) -> Pledge:
    """End the pledge for good. What earlier paydays charged stays charged."""
    if pledge.donor_id != donor.id:
        raise Forbidden(f"Pledge {pledge.id} is another peer's; only they can cancel it.")
    need = need_of(session, pledge)
    _require_changeable(pledge, need, now=now, doing="be cancelled")
    _set_state(session, pledge, CANCELLED, reason="", now=now)
    return pledge


def _set_state(session: Session, pledge: Pledge, state: str, *, reason: str, now: datetime) -> None:
    was_active = pledge.state == ACTIVE
    pledge.state = state
    pledge.state_reason = reason
    pledge.updated_at = now
    if was_active and pledge.kind == "all-or-nothing":
        _void_open_hold(session, pledge, now=now)
    session.flush()


def end_pledges_of_need(session: Session, need: Need, *, reason: str, now: datetime) -> int:
    """Cancel every live pledge toward a closed need and tell each donor; returns how many."""
    live = list(
        session.scalars(
            select(Pledge).where(Pledge.need_id == need.id, Pledge.state.in_(LIVE_STATES))
        )
    )
    for pledge in live:
        _set_state(session, pledge, CANCELLED, reason=reason, now=now)
        notify(
            session,
            pledge.donor_id,
            key=f"pledge:{pledge.id}:need-closed",
            message=f"Your pledge {pledge.id} ended: {reason}",
            now=now,
        )
    return len(live)


def pause_after_failures(session: Session, donor_id: int, *, failures: int, now: datetime) -> int:
    """Pause every active pledge of a donor whose payments keep failing; returns how many.
    Each paused pledge says why on the donor's giving page."""
    active = list(
        session.scalars(select(Pledge).where(Pledge.donor_id == donor_id, Pledge.state == ACTIVE))
    )
    reason = (
        f"Paused after {failures} failed payments in a row. Check your payment method, "
        "then resume your pledges."
    )
    for pledge in active:
        _set_state(session, pledge, PAUSED, reason=reason, now=now)
    return len(active)


def notify(session: Session, peer_id: int, *, key: str, message: str, now: datetime) -> None:
    """Tell a peer something on their giving page, once per ``key``."""
    insert_ignoring_conflict(
        session,
        PledgeNotice.__table__,  # type: ignore[arg-type]
        {"peer_id": peer_id, "key": key, "message": message[:500], "created_at": now},
    )


def notices(session: Session, peer: Peer) -> list[PledgeNotice]:
    return list(
        session.scalars(
            select(PledgeNotice)
            .where(PledgeNotice.peer_id == peer.id, PledgeNotice.dismissed_at.is_(None))
            .order_by(PledgeNotice.created_at.desc(), PledgeNotice.id.desc())
        )
    )


def dismiss_notice(session: Session, peer: Peer, notice_id: int, *, now: datetime) -> None:
    notice = session.get(PledgeNotice, notice_id)
    if notice is None or notice.peer_id != peer.id:
        raise NotFound(f"You have no notice {notice_id}.")
    notice.dismissed_at = now
    session.flush()


@dataclass(frozen=True, slots=True)
class PublicPledge:
    pledge: Pledge
    donor: Peer | None
    """None when the pledge is anonymous."""


def public_pledges(session: Session, need: Need) -> list[PublicPledge]:
    """The need's active pledges, oldest first; anonymous donors are not named."""
    rows = session.execute(
        select(Pledge, Peer)
        .join(Peer, Peer.id == Pledge.donor_id)
        .where(Pledge.need_id == need.id, Pledge.state == ACTIVE)
        .order_by(Pledge.created_at, Pledge.id)
    ).all()
    return [PublicPledge(pledge, None if pledge.anonymous else peer) for pledge, peer in rows]


def donor_pledges(
    session: Session, donor: Peer, *, include_cancelled: bool = False
) -> Sequence[tuple[Pledge, Need, Project]]:
    """Every pledge of ``donor`` with its need and project, newest first."""
    statement = (
        select(Pledge, Need, Project)
        .join(Need, Need.id == Pledge.need_id)
        .join(Project, Project.id == Need.project_id)
        .where(Pledge.donor_id == donor.id)
    )
    if not include_cancelled:
        statement = statement.where(Pledge.state.in_(LIVE_STATES))
    rows = session.execute(statement.order_by(Pledge.created_at.desc(), Pledge.id.desc()))
    return [(pledge, need, project) for pledge, need, project in rows]
