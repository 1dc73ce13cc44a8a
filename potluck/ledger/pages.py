"""HTML pages of the books: a project's public balances and transfers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from potluck.deps import OptionalPeer, SessionDep
from potluck.errors import InvalidInput
from potluck.ledger.api import transfers_out
from potluck.ledger.service import accounts, books
from potluck.web.pages import render

router = APIRouter()
PER_PAGE = 50


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInput(f"'{value}' is not a date such as 2026-03-01.", field=field) from error


def _period(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    start = _day(since, "since")
    end = _day(until, "until")
    if start and end and end < start:
        raise InvalidInput("The period must end on or after its first day.", field="until")
    return start, end


@router.get("/projects/{slug}/books", response_class=HTMLResponse)
def books_page(
    request: Request,
    slug: str,
    session: SessionDep,
    peer: OptionalPeer,
    *,
    commodity: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: int = 1,
) -> HTMLResponse:
    # Asked for only so that the caller is resolved: the layout shows who is signed in.
    del peer
    project = books.project_by_slug(session, slug)
    known = accounts.known_commodities(session)
    view = books.project_books(session, project, known)
    errors: dict[str, str] = {}
    try:
        start, end = _period(since, until)
    except InvalidInput as error:
        errors[error.field or "_form"] = error.detail
        start = end = None
    chosen = commodity if commodity in {a.commodity.code for a in view.accounts} else None
    found = books.transfers_page(
        session,
        view.chain.id if view.chain else None,
        commodity=chosen,
        since=datetime.combine(start, time(), UTC) if start else None,
        until=datetime.combine(end, time(), UTC) + timedelta(days=1) if end else None,
        page=max(page, 1),
        per_page=PER_PAGE,
    )
    labels = accounts.account_labels(
        session,
        {t.debit_account_id for t in found.transfers}
        | {t.credit_account_id for t in found.transfers},
    )
    filters = {
        k: v
        for k, v in (("commodity", chosen), ("since", since), ("until", until))
        if v and k not in errors
    }

    def page_url(number: int) -> str:
        return f"?{urlencode({**filters, 'page': number})}"

    return render(
        request,
        "ledger/books.html",
        {
            "project": project,
            "books": view,
            "transfers": transfers_out(session, found.transfers),
            "labels": labels,
            "page": found.page,
            "has_more": found.has_more,
            "previous_url": page_url(found.page - 1) if found.page > 1 else None,
            "next_url": page_url(found.page + 1) if found.has_more else None,
            "commodities": sorted({a.commodity.code for a in view.accounts}),
            "chosen": chosen,
            "since": since or "",
            "until": until or "",
            "errors": errors,
        },
    )
