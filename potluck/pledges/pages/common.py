"""What the pages of needs, pledges and paydays share: who is looking, how amounts and
periods read, and the pledge form's fields."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from potluck import deps
from potluck.errors import Conflict, InvalidInput, PotluckError
from potluck.money import CURRENCIES, Amount
from potluck.people.models import Peer
from potluck.pledges.models import Need, Payday, Pledge
from potluck.pledges.rules.periods import Period
from potluck.pledges.service import forecast, pledges
from potluck.pledges.service.common import parse_units
from potluck.pledges.settings import PledgeSettings
from potluck.projects import service as projects
from potluck.projects.models import Project
from potluck.web.pages import redirect, render

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


def viewer(session: deps.SessionDep, peer: deps.OptionalPeer) -> Peer | None:
    # Detached, so that the signed-in peer stays readable on an error page after a rollback.
    if peer is not None and peer in session:
        session.expunge(peer)
    return peer


Viewer = Annotated[Peer | None, Depends(viewer)]


def sign_in_first(path: str) -> RedirectResponse:
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


def page(
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


def errors_of(error: PotluckError) -> dict[str, str]:
    return {error.field or "_form": error.detail}


def is_steward(session: Session, project: Project, peer: Peer | None) -> bool:
    return projects.is_steward(session, project, peer)


def pledge_terms(need: Need, values: dict[str, str]) -> pledges.PledgeTerms:
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


class PledgeFields(BaseModel):
    """What the pledge form sends (or, for the preview, asks in its query), as typed; the
    pledges service checks it."""

    kind: str = ""
    amount: str = ""
    per: str = "month"
    rate: str = ""
    limit: str = ""
    cap: str = ""
    anonymous: str = ""

    def values(self, *, kind: str | None = None) -> dict[str, str]:
        """The fields as the form shows them again; ``kind`` for a pledge that has one."""
        values = self.model_dump()
        if kind is not None:
            values["kind"] = kind
        return values


PledgeForm = Annotated[PledgeFields, Form()]
PledgeQuery = Annotated[PledgeFields, Query()]


def pledge_errors(error: PotluckError, kind: str) -> dict[str, str]:
    # The service names a crowdmatch limit "cap"; the form calls that field "limit".
    field = error.field or "_form"
    if kind == "crowdmatch" and field == "cap":
        field = "limit"
    return {field: error.detail}


def preview_for(
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
    terms = pledge_terms(need, values)
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


def pledge_values(pledge: Pledge) -> dict[str, str]:
    return PledgeFields(
        kind=pledge.kind,
        amount=decimal(pledge.amount, pledge.commodity),
        per=pledge.per or "once",
        rate=decimal(pledge.rate, pledge.commodity),
        limit=decimal(pledge.cap, pledge.commodity) if pledge.kind == "crowdmatch" else "",
        cap=decimal(pledge.cap, pledge.commodity) if pledge.kind == "share" else "",
        anonymous="on" if pledge.anonymous else "",
    ).values()
