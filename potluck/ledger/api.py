"""JSON routes of the books: public reading, and posting by a project's stewards."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from potluck import idempotency
from potluck.deps import ApiWriter, ClockDep, SessionDep
from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound, NotSignedIn, responses
from potluck.ledger import export, rules
from potluck.ledger.schemas import (
    AccountIn,
    AccountOut,
    BalanceOut,
    BatchIn,
    BatchOut,
    BooksOut,
    CommodityOut,
    CustodianIn,
    CustodianOut,
    TransferIn,
    TransferOut,
    TransferPageOut,
)
from potluck.ledger.service import accounts, books, posting
from potluck.ledger.service.books import Books

router = APIRouter(tags=["books"])

_WRITE_ERRORS = responses(NotSignedIn, Forbidden, NotFound, Conflict, InvalidInput)


def transfers_out(
    session: Session, rows: list[rules.TransferRow], *, known_keys: Mapping[int, str] | None = None
) -> list[TransferOut]:
    """The answer for ``rows``; ``known_keys`` (chain id to key) saves looking those up."""
    keys = dict(known_keys or {})
    keys.update(books.chain_keys(session, {r.chain_id for r in rows} - keys.keys()))
    scales = accounts.exponents(session, {r.commodity for r in rows})
    return [TransferOut.of(r, keys[r.chain_id], scales.get(r.commodity, 0)) for r in rows]


def books_out(view: Books) -> BooksOut:
    return BooksOut(
        project=view.project.slug,
        chain=view.chain.key if view.chain else None,
        head_seq=view.chain.head_seq if view.chain else 0,
        head_hash=view.chain.head_hash if view.chain else "0" * 64,
        balances=[
            BalanceOut(
                commodity=a.commodity.code,
                custodian=a.custodian_name,
                balance=a.totals.balance,
                balance_text=str(a.balance),
            )
            for a in view.accounts
        ],
        accounts=[AccountOut.of(a) for a in view.accounts],
    )


@router.get("/commodities", response_model=list[CommodityOut])
def list_commodities(session: SessionDep) -> list[CommodityOut]:
    known = accounts.known_commodities(session)
    return [CommodityOut.of(c) for c in sorted(known.values(), key=lambda c: c.code)]


@router.get("/custodians", response_model=list[CustodianOut])
def list_custodians(session: SessionDep) -> list[CustodianOut]:
    return [
        CustodianOut(id=c.id, name=c.name, kind=c.kind) for c in accounts.list_custodians(session)
    ]


@router.post(
    "/custodians",
    status_code=201,
    response_model=CustodianOut,
    responses=_WRITE_ERRORS,
)
def create_custodian(
    body: CustodianIn, session: SessionDep, writer: ApiWriter, clock: ClockDep
) -> Response:
    del writer
    custodian = accounts.create_custodian(session, name=body.name, kind=body.kind, now=clock.now())
    return idempotency.respond(
        session,
        CustodianOut(id=custodian.id, name=custodian.name, kind=custodian.kind),
        status_code=201,
    )


@router.get("/projects/{slug}/books", response_model=BooksOut, responses=responses(NotFound))
def project_books(slug: str, session: SessionDep) -> BooksOut:
    project = books.project_by_slug(session, slug)
    return books_out(books.project_books(session, project, accounts.known_commodities(session)))


@router.post(
    "/projects/{slug}/books/accounts",
    status_code=201,
    response_model=AccountOut,
    responses=_WRITE_ERRORS,
)
def open_project_account(
    slug: str, body: AccountIn, session: SessionDep, writer: ApiWriter, clock: ClockDep
) -> Response:
    project = books.project_by_slug(session, slug)
    if not books.is_steward(session, project.id, writer.id):
        raise Forbidden(f"Only a steward of {slug} may open accounts in its books.")
    account = accounts.open_account(
        session,
        owner="project",
        purpose=body.purpose,
        project_id=project.id,
        custodian_id=body.custodian_id,
        commodity=body.commodity,
        no_negative=body.no_negative,
        now=clock.now(),
    )
    known = accounts.known_commodities(session)
    view = next(
        v for v in books.account_views(session, known, where=(accounts.ACCOUNTS.c.id == account.id))
    )
    return idempotency.respond(session, AccountOut.of(view), status_code=201)


@router.get(
    "/projects/{slug}/books/transfers",
    response_model=TransferPageOut,
    responses=responses(NotFound, InvalidInput),
)
def project_transfers(
    slug: str,
    session: SessionDep,
    *,
    commodity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=books.MAX_PER_PAGE)] = 50,
) -> TransferPageOut:
    project = books.project_by_slug(session, slug)
    chain = books.project_chain(session, project.id)
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(
                f"{name} needs a time zone, such as 2026-03-01T00:00:00Z.", field=name
            )
    found = books.transfers_page(
        session,
        chain.id if chain else None,
        commodity=commodity,
        since=since,
        until=until,
        page=page,
        per_page=per_page,
    )
    return TransferPageOut(
        transfers=transfers_out(session, found.transfers),
        page=found.page,
        per_page=found.per_page,
        has_more=found.has_more,
    )


@router.get(
    "/projects/{slug}/books/export",
    responses={
        200: {"content": {t: {} for t in export.MEDIA_TYPES.values()}},
        **responses(NotFound),
    },
)
def export_books(
    slug: str,
    session: SessionDep,
    format: Literal["csv", "json", "beancount"] = "json",  # noqa: A002
) -> Response:
    project = books.project_by_slug(session, slug)
    extract = books.extract(session, project, accounts.known_commodities(session))
    suffix = {"csv": "csv", "json": "json", "beancount": "beancount"}[format]
    return Response(
        export.render(extract, format),
        media_type=export.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{slug}-books.{suffix}"'},
    )


@router.post(
    "/ledger/transfers",
    status_code=201,
    response_model=TransferOut,
    responses=_WRITE_ERRORS,
)
def post_transfer(
    body: TransferIn, session: SessionDep, writer: ApiWriter, clock: ClockDep
) -> Response:
    """Post one transfer into the books of a project you steward. Posting the same id with
    the same content again answers like the first time; with other content, 409."""
    chains = books.stewarded_chains(session, writer.id)
    row = posting.post_transfer(
        session, body.request(), now=clock.now(), allowed_chain_ids=chains.keys()
    )
    return idempotency.respond(
        session, transfers_out(session, [row], known_keys=chains)[0], status_code=201
    )


@router.post(
    "/ledger/batches",
    status_code=201,
    response_model=BatchOut,
    responses=_WRITE_ERRORS,
)
def post_batch(body: BatchIn, session: SessionDep, writer: ApiWriter, clock: ClockDep) -> Response:
    """Post linked transfers: all of them, or none and an error naming the first that fails."""
    chains = books.stewarded_chains(session, writer.id)
    rows = posting.post_batch(
        session,
        [t.request() for t in body.transfers],
        now=clock.now(),
        batch_id=body.batch_id,
        allowed_chain_ids=chains.keys(),
    )
    return idempotency.respond(
        session,
        BatchOut(batch_id=body.batch_id, transfers=transfers_out(session, rows, known_keys=chains)),
        status_code=201,
    )


@router.get(
    "/ledger/transfers/{transfer_id}",
    response_model=TransferOut,
    responses=responses(NotFound),
)
def get_transfer(transfer_id: str, session: SessionDep) -> TransferOut:
    row = books.get_transfer(session, transfer_id)
    out = transfers_out(session, [row])[0]
    if out.chain == rules.INSTANCE_CHAIN_KEY:
        # The instance's own books concern individual peers; only projects' books are public.
        raise NotFound(f"Transfer {transfer_id} is not in any project's public books.")
    return out
