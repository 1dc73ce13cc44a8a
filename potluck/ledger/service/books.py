"""Reading a project's public books: balances per commodity and custodian, transfers by page,
and everything an export needs."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from potluck.errors import InvalidInput, NotFound
from potluck.ledger import rules
from potluck.ledger.models import Account, Chain, Custodian, OpenHold, Transfer
from potluck.ledger.service.accounts import label
from potluck.ledger.service.posting import transfers_by_id
from potluck.money import Amount, Commodity
from potluck.projects.models import Project, Steward

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class AccountView:
    id: int
    owner: str
    purpose: str
    commodity: Commodity
    custodian_id: int | None
    custodian_name: str | None
    project_id: int | None
    peer_id: int | None
    no_negative: bool
    totals: rules.Totals
    label: str
    chain_id: int

    @property
    def balance(self) -> Amount:
        return Amount(self.totals.balance, self.commodity)

    @property
    def held(self) -> Amount:
        """Reserved by holds on this account, not yet posted or released."""
        return Amount(self.totals.debits_pending, self.commodity)


@dataclass(frozen=True)
class Books:
    project: Project
    chain: Chain | None
    accounts: list[AccountView]


@dataclass(frozen=True)
class TransferPage:
    transfers: list[rules.TransferRow]
    page: int
    per_page: int
    has_more: bool


def project_by_slug(session: Session, slug: str) -> Project:
    project = session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        raise NotFound(f"There is no project '{slug}'.")
    return project


def project_chain(session: Session, project_id: int) -> Chain | None:
    return session.scalar(select(Chain).where(Chain.project_id == project_id))


def stewarded_chains(session: Session, peer_id: int) -> dict[int, str]:
    """The books a peer keeps (the chains of the projects they currently steward), as chain
    id to chain key."""
    rows = session.execute(
        select(Chain.id, Chain.key)
        .join(Steward, Steward.project_id == Chain.project_id)
        .where(Steward.peer_id == peer_id, Steward.ended_at.is_(None))
    )
    return dict(rows.all())


def is_steward(session: Session, project_id: int, peer_id: int) -> bool:
    return (
        session.scalar(
            select(Steward.id).where(
                Steward.project_id == project_id,
                Steward.peer_id == peer_id,
                Steward.ended_at.is_(None),
            )
        )
        is not None
    )


def account_views(
    session: Session, known: dict[str, Commodity], *, where: object
) -> list[AccountView]:
    rows = session.execute(
        select(Account, Custodian.name, Project.slug)
        .outerjoin(Custodian, Custodian.id == Account.custodian_id)
        .outerjoin(Project, Project.id == Account.project_id)
        .where(where)  # type: ignore[arg-type]
        .order_by(Account.commodity, Account.purpose, Custodian.name, Account.id)
    )
    views = []
    for account, custodian_name, slug in rows:
        views.append(
            AccountView(
                id=account.id,
                owner=account.owner,
                purpose=account.purpose,
                commodity=known[account.commodity],
                custodian_id=account.custodian_id,
                custodian_name=custodian_name,
                project_id=account.project_id,
                peer_id=account.peer_id,
                no_negative=account.no_negative,
                totals=rules.Totals(
                    account.debits_pending,
                    account.debits_posted,
                    account.credits_pending,
                    account.credits_posted,
                ),
                label=label(
                    account.owner,
                    account.purpose,
                    account.commodity,
                    project_slug=slug,
                    custodian_name=custodian_name,
                    account_id=account.id,
                ),
                chain_id=account.chain_id,
            )
        )
    return views


def project_books(session: Session, project: Project, known: dict[str, Commodity]) -> Books:
    return Books(
        project=project,
        chain=project_chain(session, project.id),
        accounts=account_views(session, known, where=Account.project_id == project.id),
    )


def transfers_page(
    session: Session,
    chain_id: int | None,
    *,
    commodity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> TransferPage:
    """One page of a chain's transfers, newest first. ``until`` is exclusive."""
    if page < 1:
        raise InvalidInput("Pages are numbered from 1.", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page is 1 to {MAX_PER_PAGE}.", field="per_page")
    if since is not None and until is not None and until <= since:
        raise InvalidInput("The period must end after it starts.", field="until")
    if chain_id is None:
        return TransferPage([], page, per_page, has_more=False)
    query = select(Transfer.id).where(Transfer.chain_id == chain_id)
    if commodity:
        query = query.where(Transfer.commodity == commodity)
    if since is not None:
        query = query.where(Transfer.created_at >= since)
    if until is not None:
        query = query.where(Transfer.created_at < until)
    ids = list(
        session.scalars(
            query.order_by(Transfer.seq.desc()).limit(per_page + 1).offset((page - 1) * per_page)
        )
    )
    found = transfers_by_id(session, ids[:per_page])
    return TransferPage(
        [found[tid] for tid in ids[:per_page]], page, per_page, has_more=len(ids) > per_page
    )


def get_transfer(session: Session, transfer_id: str) -> rules.TransferRow:
    found = transfers_by_id(session, [transfer_id])
    if transfer_id not in found:
        raise NotFound(f"Transfer {transfer_id} does not exist.")
    return found[transfer_id]


def chain_keys(session: Session, chain_ids: Collection[int]) -> dict[int, str]:
    if not chain_ids:
        return {}
    rows = session.execute(select(Chain.id, Chain.key).where(Chain.id.in_(sorted(chain_ids))))
    return dict(rows.all())


@dataclass(frozen=True)
class Extract:
    """Everything needed to export one project's books and verify them on their own."""

    project: Project
    chain: Chain | None
    accounts: dict[int, AccountView]
    """The project's own accounts and every account its transfers touch."""
    transfers: list[rules.TransferRow]
    open_holds: list[str]


def extract(session: Session, project: Project, known: dict[str, Commodity]) -> Extract:
    chain = project_chain(session, project.id)
    if chain is None:
        own = account_views(session, known, where=Account.project_id == project.id)
        return Extract(project, None, {a.id: a for a in own}, [], [])
    columns = [Transfer.__table__.c[name] for name in rules.TransferRow._fields]
    transfers = [
        rules.TransferRow(*row)
        for row in session.execute(
            select(*columns).where(Transfer.chain_id == chain.id).order_by(Transfer.seq)
        )
    ]
    touched = {t.debit_account_id for t in transfers} | {t.credit_account_id for t in transfers}
    views = account_views(
        session,
        known,
        where=or_(Account.project_id == project.id, Account.id.in_(touched)),
    )
    holds = {t.id for t in transfers if t.kind == "hold"}
    open_holds = [h for h in session.scalars(select(OpenHold.transfer_id)) if h in holds]
    return Extract(project, chain, {a.id: a for a in views}, transfers, sorted(open_holds))
