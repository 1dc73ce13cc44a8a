"""HTML pages: a project's needs, a need with its coverage chart and pledge form, the "what
would I pay" preview, a donor's giving, and the paydays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from potluck import deps
from potluck.errors import Conflict, Forbidden, InvalidInput, PotluckError
from potluck.money import CURRENCIES, Amount
from potluck.people.models import Peer
from potluck.pledges.deps import SettingsDep, pledge_settings
from potluck.pledges.models import FUNDING_RULES, Need, Payday, Pledge
from potluck.pledges.rules import ACCEPTED, FundingRule
from potluck.pledges.rules.chart import CoveragePoint, coverage_chart
from potluck.pledges.rules.periods import Period
from potluck.pledges.rules.schedule import latest_deadline
from potluck.pledges.service import common, forecast, giving, needs, paydays, pledges
from potluck.pledges.service.common import parse_units
from potluck.pledges.settings import PledgeSettings
from potluck.projects import service as projects
from potluck.projects.models import Project
from potluck.web.pages import redirect, render

router = APIRouter(include_in_schema=False)

TextField = Annotated[str, Form()]
FORM_ERRORS = (InvalidInput, Conflict)

FLASHES = {
    "need-added": "The need is added and on the project's activity log.",
    "need-saved": "Changes saved and added to the activity log.",
    "need-closed": "The need is closed; its pledges ended and their donors were told.",
    "pledged": "Thank you! Your pledge counts from the next payday.",
    "pledge-saved": "Your pledge is changed; the change counts from the next payday.",
    "paused": "Your pledge is paused.",
    "resumed": "Your pledge counts again from the next payday.",
    "cancelled": "Your pledge is cancelled.",
}
KIND_LABELS = {
    "gift": "Gift",
    "all-or-nothing": "All or nothing",
    "crowdmatch": "Crowdmatch",
    "share": "Share of the cost",
}
FUNDING_LABELS = {
    "open": "Open: gifts and crowdmatch are charged as promised",
    "all-or-nothing": "All or nothing: charged only if the goal is reached by its deadline",
    "shared": "Shared equally: the cost left after gifts is split among those who share it",
}
PER_LABELS = {"once": "once", "week": "a week", "month": "a month", "year": "a year"}


def _viewer(session: deps.SessionDep, peer: deps.OptionalPeer) -> Peer | None:
    # Detached, so that the signed-in peer stays readable on an error page after a rollback.
    if peer is not None and peer in session:
        session.expunge(peer)
    return peer


Viewer = Annotated[Peer | None, Depends(_viewer)]


def _sign_in_first(path: str) -> RedirectResponse:
    return redirect(f"/sign-in?next={quote(path, safe='/')}")


def money(units: int | None, commodity: str) -> str:
    """``1,234.50 EUR`` for people; a dash for nothing."""
    if units is None:
        return "—"
    return Amount(units, CURRENCIES[commodity]).display()


def decimal(units: int | None, commodity: str) -> str:
    """An amount as a form field shows it: ``12.50``."""
    if units is None:
        return ""
    return Amount(units, CURRENCIES[commodity]).decimal_text()


def period_label(item: Period | Payday) -> str:
    """``March 2026`` for a calendar month, ``2 – 8 Mar 2026`` for any other period."""
    if isinstance(item, Payday):
        item = Period(item.period_start, item.period_end)
    if (
        item.start.day == 1
        and item.end.day == 1
        and item.following().start == item.end
        and ((item.end - item.start).days >= 28)
    ):
        return item.start.strftime("%B %Y")
    last = item.end - timedelta(days=1)
    return f"{item.start:%-d %b} – {last:%-d %b %Y}"


def _page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    full = {
        "money": money,
        "decimal": decimal,
        "kind_labels": KIND_LABELS,
        "funding_labels": FUNDING_LABELS,
        "per_labels": PER_LABELS,
        "period_label": period_label,
        "flash": FLASHES.get(request.query_params.get("done", "")),
    }
    full.update(context)
    return render(request, template, full, status_code=status_code)


def _errors(error: PotluckError) -> dict[str, str]:
    return {error.field or "_form": error.detail}


def _is_steward(session: Session, project: Project, peer: Peer | None) -> bool:
    return projects.is_steward(session, project, peer)


# A project's needs


@router.get("/projects/{slug}/needs", response_class=HTMLResponse)
def project_needs(
    request: Request,
    slug: str,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
) -> Response:
    project = projects.get_project(session, slug)
    rows = needs.project_needs(session, project, include_closed=True)
    outlooks = {
        need.id: forecast.outlook(session, need, now=clock.now(), cadence=settings.payday_cadence)
        for need in rows
        if need.closed_at is None
    }
    return _page(
        request,
        "pledges/needs.html",
        {
            "project": project,
            "needs": rows,
            "outlooks": outlooks,
            "is_steward": _is_steward(session, project, peer),
        },
    )


def _need_form(
    request: Request,
    *,
    project: Project,
    need: Need | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    locked: bool = False,
) -> Response:
    settings: PledgeSettings = pledge_settings(request)
    now: datetime = request.app.state.clock.now()
    return _page(
        request,
        "pledges/need_form.html",
        {
            "today": now.date().isoformat(),
            "latest_deadline": latest_deadline(now, settings.payday_cadence).date().isoformat(),
            "project": project,
            "need": need,
            "values": values,
            "errors": errors or {},
            "funding_rules": FUNDING_RULES,
            "locked": locked,
        },
        status_code=status_code,
    )


def _deadline(text: str) -> datetime | None:
    """A goal's deadline from a date field: the end of that day, UTC."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidInput(
            f"'{text}' is not a date such as 2026-03-31.", field="deadline"
        ) from error
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _need_terms(values: dict[str, str]) -> needs.NeedTerms:
    """The need a steward typed, checked field by field so each error sits by its field."""
    currency = needs.currency(values.get("commodity", ""))
    goal = values.get("shape") == "goal"
    amount = parse_units(
        values.get("amount", ""),
        currency,
        field="amount",
        what="The target" if goal else "The cost",
    )
    deadline = _deadline(values.get("deadline", "")) if goal else None
    if goal and deadline is None:
        raise InvalidInput("A one-off goal needs a deadline.", field="deadline")
    return needs.NeedTerms(
        title=values.get("title", ""),
        commodity=currency.code,
        amount=amount,
        per=None if goal else (values.get("per") or "month"),
        deadline=deadline,
        funding=values.get("funding", "open"),
        description=values.get("description", ""),
    )


@router.get("/projects/{slug}/needs/new", response_class=HTMLResponse)
def new_need(
    request: Request,
    slug: str,
    *,
    session: deps.SessionDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return _sign_in_first(f"/projects/{slug}/needs/new")
    project = projects.get_project(session, slug)
    if not _is_steward(session, project, peer):
        raise Forbidden(f"Only stewards of {project.name} can add needs; you are not one of them.")
    values = {"shape": "cost", "commodity": "EUR", "per": "month", "funding": "open"}
    return _need_form(request, project=project, need=None, values=values)


@router.post(
    "/projects/{slug}/needs/new", response_class=HTMLResponse, dependencies=[deps.CsrfChecked]
)
def create_need(
    request: Request,
    *,
    slug: str,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    title: TextField = "",
    shape: TextField = "cost",
    commodity: TextField = "EUR",
    amount: TextField = "",
    per: TextField = "month",
    deadline: TextField = "",
    funding: TextField = "open",
    description: TextField = "",
) -> Response:
    if peer is None:
        return _sign_in_first(f"/projects/{slug}/needs/new")
    project = projects.get_project(session, slug)
    values = {
        "title": title,
        "shape": shape,
        "commodity": commodity,
        "amount": amount,
        "per": per,
        "deadline": deadline,
        "funding": funding,
        "description": description,
    }
    try:
        need = needs.create_need(
            session,
            project,
            steward=peer,
            terms=_need_terms(values),
            now=clock.now(),
            cadence=settings.payday_cadence,
        )
    except FORM_ERRORS as error:
        session.rollback()
        return _need_form(
            request,
            project=project,
            need=None,
            values=values,
            errors=_errors(error),
            status_code=error.status,
        )
    return redirect(f"/needs/{need.id}?done=need-added")


@router.get("/needs/{need_id}/edit", response_class=HTMLResponse)
def edit_need(
    request: Request,
    need_id: int,
    *,
    session: deps.SessionDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return _sign_in_first(f"/needs/{need_id}/edit")
    need = needs.get_need(session, need_id)
    project = common.project_of(session, need)
    if not _is_steward(session, project, peer):
        raise Forbidden(f"Only stewards of {project.name} can edit needs; you are not one of them.")
    values = {
        "title": need.title,
        "shape": "goal" if need.per is None else "cost",
        "commodity": need.commodity,
        "amount": decimal(need.amount, need.commodity),
        "per": need.per or "month",
        "deadline": need.deadline.date().isoformat() if need.deadline else "",
        "funding": need.funding,
        "description": need.description,
    }
    return _need_form(
        request,
        project=project,
        need=need,
        values=values,
        locked=needs.live_pledges(session, need) > 0,
    )


@router.post("/needs/{need_id}/edit", response_class=HTMLResponse, dependencies=[deps.CsrfChecked])
def update_need(
    request: Request,
    *,
    need_id: int,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    title: TextField = "",
    shape: TextField = "cost",
    commodity: TextField = "EUR",
    amount: TextField = "",
    per: TextField = "month",
    deadline: TextField = "",
    funding: TextField = "open",
    description: TextField = "",
) -> Response:
    if peer is None:
        return _sign_in_first(f"/needs/{need_id}/edit")
    need = needs.get_need(session, need_id)
    values = {
        "title": title,
        "shape": shape,
        "commodity": commodity,
        "amount": amount,
        "per": per,
        "deadline": deadline,
        "funding": funding,
        "description": description,
    }
    try:
        terms = _need_terms(values)
        if (
            need.deadline is not None
            and terms.deadline is not None
            and terms.deadline.date() == need.deadline.date()
        ):
            # The form shows the day only; an unchanged day keeps the exact deadline.
            terms = needs.NeedTerms(**{**terms.__dict__, "deadline": need.deadline})
        needs.update_need(
            session,
            need,
            steward=peer,
            terms=terms,
            now=clock.now(),
            cadence=settings.payday_cadence,
        )
    except FORM_ERRORS as error:
        session.rollback()
        return _need_form(
            request,
            project=common.project_of(session, need),
            need=need,
            values=values,
            errors=_errors(error),
            status_code=error.status,
            locked=needs.live_pledges(session, need) > 0,
        )
    return redirect(f"/needs/{need.id}?done=need-saved")


@router.post("/needs/{need_id}/close", response_class=HTMLResponse, dependencies=[deps.CsrfChecked])
def close_need(
    need_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return _sign_in_first(f"/needs/{need_id}")
    needs.close_need(session, needs.get_need(session, need_id), steward=peer, now=clock.now())
    return redirect(f"/needs/{need_id}?done=need-closed")


# A need's page


def _chart(session: Session, need: Need) -> tuple[Any, list[forecast.HistoryPoint]]:
    history = forecast.coverage_history(session, need.id)
    points = [
        CoveragePoint(
            label=point.period.start.strftime("%b %Y" if _monthly(point) else "%-d %b"),
            cost=point.coverage.cost,
            cleared=point.coverage.cleared,
        )
        for point in history
    ]
    return coverage_chart(points), history


def _monthly(point: forecast.HistoryPoint) -> bool:
    return point.period.start.day == 1 and (point.period.end - point.period.start).days >= 28


def _need_page(
    request: Request,
    session: Session,
    need: Need,
    *,
    peer: Peer | None,
    now: datetime,
    settings: PledgeSettings,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    preview: forecast.PledgePreview | None = None,
    status_code: int = 200,
) -> Response:
    project = common.project_of(session, need)
    outlook = forecast.outlook(session, need, now=now, cadence=settings.payday_cadence)
    chart, history = _chart(session, need)
    own = None
    if peer is not None:
        own = next(
            (
                item.pledge
                for item in pledges.public_pledges(session, need)
                if item.pledge.donor_id == peer.id
            ),
            None,
        )
    return _page(
        request,
        "pledges/need.html",
        {
            "project": project,
            "need": need,
            "outlook": outlook,
            "chart": chart,
            "history": history,
            "public": pledges.public_pledges(session, need),
            "kinds": [kind.kind.value for kind in ACCEPTED[FundingRule(need.funding)]],
            "values": values or {"kind": "", "per": "month"},
            "errors": errors or {},
            "preview": preview,
            "own": own,
            "is_steward": _is_steward(session, project, peer),
            "deadline_passed": need.deadline is not None and need.deadline <= now,
        },
        status_code=status_code,
    )


@router.get("/needs/{need_id}", response_class=HTMLResponse)
def show_need(
    request: Request,
    need_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
) -> Response:
    need = needs.get_need(session, need_id)
    return _need_page(request, session, need, peer=peer, now=clock.now(), settings=settings)


def _pledge_terms(need: Need, values: dict[str, str]) -> pledges.PledgeTerms:
    """The pledge a peer typed: only the fields of the chosen kind are read."""
    kind = values.get("kind", "")
    if kind not in KIND_LABELS:
        raise InvalidInput("Choose how you want to pledge.", field="kind")
    currency = CURRENCIES[need.commodity]

    def units(name: str, what: str) -> int:
        return parse_units(values.get(name, ""), currency, field=name, what=what)

    per = values.get("per") or "once"
    if kind == "gift":
        return pledges.PledgeTerms(
            kind=kind,
            amount=units("amount", "The amount"),
            per=None if per == "once" else per,
            anonymous=values.get("anonymous") == "on",
        )
    if kind == "all-or-nothing":
        return pledges.PledgeTerms(
            kind=kind,
            amount=units("amount", "The amount"),
            anonymous=values.get("anonymous") == "on",
        )
    if kind == "crowdmatch":
        return pledges.PledgeTerms(
            kind=kind,
            rate=units("rate", "The amount per patron"),
            cap=units("limit", "The limit"),
            anonymous=values.get("anonymous") == "on",
        )
    return pledges.PledgeTerms(
        kind=kind, cap=units("cap", "The cap"), anonymous=values.get("anonymous") == "on"
    )


def _form_values(
    *, kind: str, amount: str, per: str, rate: str, limit: str, cap: str, anonymous: str
) -> dict[str, str]:
    return {
        "kind": kind,
        "amount": amount,
        "per": per,
        "rate": rate,
        "limit": limit,
        "cap": cap,
        "anonymous": anonymous,
    }


def _pledge_errors(error: PotluckError, kind: str) -> dict[str, str]:
    # The service names a crowdmatch limit "cap"; the form calls that field "limit".
    field = error.field or "_form"
    if kind == "crowdmatch" and field == "cap":
        field = "limit"
    return {field: error.detail}


@router.post(
    "/needs/{need_id}/pledge", response_class=HTMLResponse, dependencies=[deps.CsrfChecked]
)
def make_pledge(
    request: Request,
    *,
    need_id: int,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    kind: TextField = "",
    amount: TextField = "",
    per: TextField = "month",
    rate: TextField = "",
    limit: TextField = "",
    cap: TextField = "",
    anonymous: TextField = "",
) -> Response:
    if peer is None:
        return _sign_in_first(f"/needs/{need_id}")
    need = needs.get_need(session, need_id)
    values = _form_values(
        kind=kind, amount=amount, per=per, rate=rate, limit=limit, cap=cap, anonymous=anonymous
    )
    try:
        pledges.make_pledge(
            session,
            need,
            donor=peer,
            terms=_pledge_terms(need, values),
            now=clock.now(),
            cadence=settings.payday_cadence,
        )
    except FORM_ERRORS as error:
        session.rollback()
        return _need_page(
            request,
            session,
            need,
            peer=peer,
            now=clock.now(),
            settings=settings,
            values=values,
            errors=_pledge_errors(error, kind),
            status_code=error.status,
        )
    return redirect(f"/needs/{need.id}?done=pledged#pledges")


def _preview(
    session: Session,
    need: Need,
    values: dict[str, str],
    *,
    now: datetime,
    settings: PledgeSettings,
    excluding: int | None = None,
) -> forecast.PledgePreview | None:
    kind = values.get("kind")
    if kind not in ("share", "crowdmatch"):
        return None
    terms = _pledge_terms(need, values)
    return forecast.preview(
        session,
        need,
        kind=kind,
        cap=terms.cap,
        rate=terms.rate,
        now=now,
        cadence=settings.payday_cadence,
        excluding=excluding,
    )


@router.get("/needs/{need_id}/preview", response_class=HTMLResponse)
def preview(
    request: Request,
    need_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    kind: str = "",
    amount: str = "",
    per: str = "month",
    rate: str = "",
    limit: str = "",
    cap: str = "",
    anonymous: str = "",
    excluding: int | None = None,
) -> Response:
    """What a share or crowdmatch pledge would pay: a fragment for htmx while the peer types,
    the whole need page (or pledge page) for a browser without JavaScript."""
    need = needs.get_need(session, need_id)
    values = _form_values(
        kind=kind, amount=amount, per=per, rate=rate, limit=limit, cap=cap, anonymous=anonymous
    )
    if excluding is not None and (
        peer is None or pledges.own_pledge(session, excluding, peer).need_id != need.id
    ):
        excluding = None
    result = None
    errors: dict[str, str] = {}
    try:
        result = _preview(
            session, need, values, now=clock.now(), settings=settings, excluding=excluding
        )
    except InvalidInput as error:
        errors = _pledge_errors(error, kind)
    partial = request.headers.get("hx-request") == "true"
    if partial:
        response: Response = _page(
            request,
            "pledges/_preview.html",
            {"need": need, "preview": result, "preview_errors": errors, "values": values},
        )
    elif excluding is not None:
        assert peer is not None
        response = _pledge_page(
            request,
            session,
            pledges.own_pledge(session, excluding, peer),
            now=clock.now(),
            settings=settings,
            values=values,
            errors=errors,
            preview=result,
        )
    else:
        response = _need_page(
            request,
            session,
            need,
            peer=peer,
            now=clock.now(),
            settings=settings,
            values=values,
            errors=errors,
            preview=result,
        )
    response.headers["Vary"] = "HX-Request"
    return response


# A donor's pledges


def _pledge_values(pledge: Pledge) -> dict[str, str]:
    return _form_values(
        kind=pledge.kind,
        amount=decimal(pledge.amount, pledge.commodity),
        per=pledge.per or "once",
        rate=decimal(pledge.rate, pledge.commodity),
        limit=decimal(pledge.cap, pledge.commodity) if pledge.kind == "crowdmatch" else "",
        cap=decimal(pledge.cap, pledge.commodity) if pledge.kind == "share" else "",
        anonymous="on" if pledge.anonymous else "",
    )


def _pledge_page(
    request: Request,
    session: Session,
    pledge: Pledge,
    *,
    now: datetime,
    settings: PledgeSettings,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    preview: forecast.PledgePreview | None = None,
    status_code: int = 200,
) -> Response:
    need = pledges.need_of(session, pledge)
    outlook = forecast.outlook(session, need, now=now, cadence=settings.payday_cadence)
    return _page(
        request,
        "pledges/pledge.html",
        {
            "pledge": pledge,
            "need": need,
            "project": common.project_of(session, need),
            "outlook": outlook,
            "next_charge": outlook.charges.get(pledge.id, 0) if pledge.state == "active" else 0,
            "values": values or _pledge_values(pledge),
            "errors": errors or {},
            "preview": preview,
            "kinds": [pledge.kind],
        },
        status_code=status_code,
    )


@router.get("/pledges/{pledge_id}", response_class=HTMLResponse)
def show_pledge(
    request: Request,
    pledge_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return _sign_in_first(f"/pledges/{pledge_id}")
    pledge = pledges.own_pledge(session, pledge_id, peer)
    return _pledge_page(request, session, pledge, now=clock.now(), settings=settings)


@router.post("/pledges/{pledge_id}", response_class=HTMLResponse, dependencies=[deps.CsrfChecked])
def update_pledge(
    request: Request,
    *,
    pledge_id: int,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    amount: TextField = "",
    per: TextField = "month",
    rate: TextField = "",
    limit: TextField = "",
    cap: TextField = "",
    anonymous: TextField = "",
) -> Response:
    if peer is None:
        return _sign_in_first(f"/pledges/{pledge_id}")
    pledge = pledges.own_pledge(session, pledge_id, peer)
    need = pledges.need_of(session, pledge)
    values = _form_values(
        kind=pledge.kind,
        amount=amount,
        per=per,
        rate=rate,
        limit=limit,
        cap=cap,
        anonymous=anonymous,
    )
    try:
        pledges.update_pledge(
            session,
            pledge,
            donor=peer,
            terms=_pledge_terms(need, values),
            now=clock.now(),
            cadence=settings.payday_cadence,
        )
    except FORM_ERRORS as error:
        session.rollback()
        return _pledge_page(
            request,
            session,
            pledges.own_pledge(session, pledge_id, peer),
            now=clock.now(),
            settings=settings,
            values=values,
            errors=_pledge_errors(error, pledge.kind),
            status_code=error.status,
        )
    return redirect(f"/me/giving?done=pledge-saved#pledge-{pledge.id}")


@router.post(
    "/pledges/{pledge_id}/{action}", response_class=HTMLResponse, dependencies=[deps.CsrfChecked]
)
def change_pledge_state(
    pledge_id: int,
    action: str,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return _sign_in_first("/me/giving")
    pledge = pledges.own_pledge(session, pledge_id, peer)
    now = clock.now()
    if action == "pause":
        pledges.pause_pledge(session, pledge, donor=peer, now=now)
        done = "paused"
    elif action == "resume":
        pledges.resume_pledge(session, pledge, donor=peer, now=now, cadence=settings.payday_cadence)
        done = "resumed"
    elif action == "cancel":
        pledges.cancel_pledge(session, pledge, donor=peer, now=now)
        done = "cancelled"
    else:
        raise InvalidInput(f"'{action}' is not something a pledge can do.", field="action")
    return redirect(f"/me/giving?done={done}#pledge-{pledge.id}")


@router.get("/me/giving", response_class=HTMLResponse)
def my_giving(
    request: Request,
    session: deps.SessionDep,
    *,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    cancelled: bool = False,
) -> Response:
    if peer is None:
        return _sign_in_first("/me/giving")
    view = giving.giving(
        session,
        peer,
        now=clock.now(),
        cadence=settings.payday_cadence,
        minimum=settings.minimum,
        include_cancelled=cancelled,
    )
    return _page(
        request,
        "pledges/giving.html",
        {
            "giving": view,
            "past": giving.past_charges(session, peer),
            "notices": pledges.notices(session, peer),
            "cancelled": cancelled,
        },
    )


@router.post(
    "/me/giving/notices/{notice_id}/dismiss",
    response_class=HTMLResponse,
    dependencies=[deps.CsrfChecked],
)
def dismiss_notice(
    notice_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return _sign_in_first("/me/giving")
    pledges.dismiss_notice(session, peer, notice_id, now=clock.now())
    return redirect("/me/giving")


# Paydays


@router.get("/paydays", response_class=HTMLResponse)
def list_paydays(
    request: Request,
    session: deps.SessionDep,
    *,
    clock: deps.ClockDep,
    settings: SettingsDep,
    _peer: Viewer,
) -> Response:
    return _page(
        request,
        "pledges/paydays.html",
        {
            "paydays": paydays.list_paydays(session),
            "next_period": forecast.next_period(session, clock.now(), settings.payday_cadence),
        },
    )


@router.get("/paydays/{payday_id}", response_class=HTMLResponse)
def show_payday(
    request: Request,
    *,
    payday_id: int,
    session: deps.SessionDep,
    _peer: Viewer,
) -> Response:
    payday = paydays.get_payday(session, payday_id)
    ids = {entry["project_id"] for entry in payday.check_report}
    slugs = {
        project.id: project
        for project in session.scalars(select(Project).where(Project.id.in_(ids)))
    }
    return _page(
        request,
        "pledges/payday.html",
        {
            "payday": payday,
            "uncovered": paydays.uncovered_needs(session, payday),
            "projects": slugs,
        },
    )
