"""Commodities, custodians, chains and accounts: opening what transfers move value between."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from potluck.errors import Conflict, InvalidInput, NotFound
from potluck.ledger import rules
from potluck.ledger.models import (
    CUSTODIAN_KINDS,
    Account,
    Chain,
    CommodityRow,
    Custodian,
)
from potluck.money import (
    BUILTIN_COMMODITIES,
    Commodity,
    CommodityKind,
    MoneyError,
)
from potluck.people.models import Peer
from potluck.projects.models import Project

PROJECT_PURPOSES = ("funds", "in-kind", "owed")
PEER_PURPOSES = ("given", "owed")
MAX_NAME_LENGTH = 120

ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CHAINS: Table = Chain.__table__  # type: ignore[assignment]


def insert_ignoring_conflict(session: Session, table: Table, values: dict[str, Any]) -> None:
    """INSERT that does nothing if a unique key already holds the row: get-or-create without
    a race between two requests opening the same thing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())


# --- commodities ---------------------------------------------------------------------------


def known_commodities(session: Session) -> dict[str, Commodity]:
    """Every commodity the books can count in: the built-in ones and the instance's own."""
    known = dict(BUILTIN_COMMODITIES)
    for row in session.execute(select(CommodityRow)).scalars():
        if row.code not in known:
            known[row.code] = Commodity(row.code, row.exponent, CommodityKind(row.kind), row.name)
    return known


def get_commodity(session: Session, code: str) -> Commodity:
    found = BUILTIN_COMMODITIES.get(code)
    if found is not None:
        if session.get(CommodityRow, code) is None:
            # A currency added to the built-in list after the table was seeded.
            insert_ignoring_conflict(
                session,
                CommodityRow.__table__,  # type: ignore[arg-type]
                {
                    "code": code,
                    "kind": found.kind.value,
                    "exponent": found.exponent,
                    "name": found.name,
                },
            )
        return found
    row = session.get(CommodityRow, code)
    if row is None:
        raise NotFound(
            f"'{code}' is not a known commodity: use an ISO 4217 currency code or a resource "
            "unit such as 'cpu-hour'.",
            field="commodity",
        )
    return Commodity(row.code, row.exponent, CommodityKind(row.kind), row.name)


def define_resource_unit(session: Session, *, code: str, exponent: int, name: str) -> Commodity:
    """Add an instance-defined resource unit (``gpu-hour``, ``kwh-day``)."""
    try:
        unit = Commodity(code, exponent, CommodityKind.RESOURCE, " ".join(name.split()))
    except MoneyError as error:
        raise InvalidInput(str(error), field="code") from error
    if not unit.name or len(unit.name) > 80:
        raise InvalidInput("A unit needs a name of 1 to 80 characters.", field="name")
    existing = session.get(CommodityRow, code)
    if existing is not None:
        if (existing.exponent, existing.name) == (unit.exponent, unit.name):
            return unit
        raise Conflict(
            f"Unit {code} already exists with precision {existing.exponent}; "
            "a unit's precision never changes.",
            field="code",
        )
    session.add(CommodityRow(code=code, kind=unit.kind.value, exponent=exponent, name=unit.name))
    session.flush()
    return unit


# --- custodians ----------------------------------------------------------------------------


def create_custodian(session: Session, *, name: str, kind: str, now: datetime) -> Custodian:
    clean = " ".join(name.split())
    if not 0 < len(clean) <= MAX_NAME_LENGTH:
        raise InvalidInput(
            f"A custodian needs a name of 1 to {MAX_NAME_LENGTH} characters.", field="name"
        )
    if kind not in CUSTODIAN_KINDS:
        raise InvalidInput(
            f"Custodian kind '{kind}' is not one of {', '.join(CUSTODIAN_KINDS)}.", field="kind"
        )
    if session.scalar(select(Custodian.id).where(Custodian.name == clean)) is not None:
        raise Conflict(f"A custodian named '{clean}' already exists.", field="name")
    custodian = Custodian(name=clean, kind=kind, created_at=now)
    session.add(custodian)
    session.flush()
    return custodian


def get_custodian(session: Session, custodian_id: int) -> Custodian:
    custodian = session.get(Custodian, custodian_id)
    if custodian is None:
        raise NotFound(f"Custodian {custodian_id} does not exist.", field="custodian_id")
    return custodian


def list_custodians(session: Session) -> list[Custodian]:
    return list(session.scalars(select(Custodian).order_by(Custodian.name)))


# --- chains --------------------------------------------------------------------------------


def ensure_chain(session: Session, project_id: int | None) -> int:
    """The id of the chain of ``project_id``'s books, or of the instance's; created if new."""
    key = rules.INSTANCE_CHAIN_KEY if project_id is None else rules.project_chain_key(project_id)
    found = session.scalar(select(CHAINS.c.id).where(CHAINS.c.key == key))
    if found is not None:
        return int(found)
    insert_ignoring_conflict(
        session,
        CHAINS,
        {"key": key, "project_id": project_id, "head_seq": 0, "head_hash": "0" * 64},
    )
    return int(session.scalars(select(CHAINS.c.id).where(CHAINS.c.key == key)).one())


def instance_chain_id(session: Session) -> int:
    return ensure_chain(session, None)


# --- accounts ------------------------------------------------------------------------------


def open_account(
    session: Session,
    *,
    owner: str,
    purpose: str,
    commodity: str,
    now: datetime,
    project_id: int | None = None,
    peer_id: int | None = None,
    custodian_id: int | None = None,
    no_negative: bool | None = None,
) -> Account:
    """Open an account, or return the one that already is what is asked for.

    By default a project's funds and a custodian's holdings may not go below zero (they are
    real money someone holds); peers' and the outside world's accounts may, and so may a
    project's ``owed`` account at a custodian: what the project owes that custodian's other
    money after money went back (a refund, a dispute) that its funds there no longer held.
    """
    get_commodity(session, commodity)
    if owner == "project":
        if project_id is None or session.get(Project, project_id) is None:
            raise NotFound(f"Project {project_id} does not exist.", field="project_id")
        if purpose not in PROJECT_PURPOSES:
            raise InvalidInput(
                f"A project account is for {' or '.join(PROJECT_PURPOSES)}, not '{purpose}'.",
                field="purpose",
            )
        if purpose in ("funds", "owed") and custodian_id is None:
            whose = (
                "A project's funds are always held by someone"
                if purpose == "funds"
                else "What a project owes, it owes at one custodian"
            )
            raise InvalidInput(f"{whose}: name the custodian.", field="custodian_id")
        if purpose == "in-kind" and custodian_id is not None:
            raise InvalidInput(
                "In-kind contributions are not held by a custodian.", field="custodian_id"
            )
        key = f"project:{project_id}:{purpose}:{custodian_id or '-'}:{commodity}"
    elif owner == "peer":
        if peer_id is None or session.get(Peer, peer_id) is None:
            raise NotFound(f"Peer {peer_id} does not exist.", field="peer_id")
        if purpose not in PEER_PURPOSES:
            raise InvalidInput(
                f"A peer account is for {' or '.join(PEER_PURPOSES)}, not '{purpose}'.",
                field="purpose",
            )
        key = f"peer:{peer_id}:{purpose}:{commodity}"
    elif owner == "custodian":
        purpose = "holdings"
        key = f"custodian:{custodian_id}:holdings:{commodity}"
    elif owner == "world":
        purpose = "outside"
        key = f"world:{commodity}"
    else:
        raise InvalidInput(f"Account owner '{owner}' is not known.", field="owner")
    if custodian_id is not None:
        get_custodian(session, custodian_id)
    chain_id = ensure_chain(session, project_id if owner == "project" else None)
    if no_negative is None:
        no_negative = owner == "custodian" or (owner == "project" and purpose == "funds")
    existing = session.scalar(select(Account).where(Account.key == key))
    if existing is None:
        insert_ignoring_conflict(
            session,
            ACCOUNTS,
            {
                "key": key,
                "owner": owner,
                "purpose": purpose,
                "project_id": project_id if owner == "project" else None,
                "peer_id": peer_id if owner == "peer" else None,
                "custodian_id": custodian_id,
                "commodity": commodity,
                "chain_id": chain_id,
                "no_negative": no_negative,
                "debits_pending": 0,
                "debits_posted": 0,
                "credits_pending": 0,
                "credits_posted": 0,
                "created_at": now,
            },
        )
        existing = session.scalars(select(Account).where(Account.key == key)).one()
    return existing


def world_account(session: Session, commodity: str, *, now: datetime) -> Account:
    """The outside world in ``commodity``: where money comes from and goes to."""
    return open_account(session, owner="world", purpose="outside", commodity=commodity, now=now)


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Account {account_id} does not exist.", field="account_id")
    return account


def account_labels(session: Session, account_ids: Collection[int]) -> dict[int, str]:
    """How each account is named for people: ``funds of tiles at Example Host (EUR)``."""
    rows = session.execute(
        select(
            Account.id,
            Account.owner,
            Account.purpose,
            Account.commodity,
            Project.slug,
            Custodian.name,
        )
        .outerjoin(Project, Project.id == Account.project_id)
        .outerjoin(Custodian, Custodian.id == Account.custodian_id)
        .where(Account.id.in_(list(account_ids)))
    )
    return {
        row[0]: label(
            row[1],
            row[2],
            row[3],
            project_slug=row[4],
            custodian_name=row[5],
            account_id=row[0],
        )
        for row in rows
    }


def label(
    owner: str,
    purpose: str,
    commodity: str,
    *,
    project_slug: str | None,
    custodian_name: str | None,
    account_id: int,
) -> str:
    """How an account is named in the public books. Peers are not named: who gave what is
    theirs to tell, so a peer's account appears by its number only."""
    if owner == "project":
        where = f" at {custodian_name}" if custodian_name else ""
        return f"{purpose} of {project_slug}{where} ({commodity})"
    if owner == "peer":
        return f"{purpose} by peer account {account_id} ({commodity})"
    if owner == "custodian":
        return f"holdings of {custodian_name} ({commodity})"
    return f"the outside world ({commodity})"


def exponents(session: Session, codes: Collection[str]) -> Mapping[str, int]:
    wanted = set(codes)
    found = {
        code: BUILTIN_COMMODITIES[code].exponent for code in wanted & BUILTIN_COMMODITIES.keys()
    }
    rest = wanted - found.keys()
    if rest:
        found.update(
            session.execute(
                select(CommodityRow.code, CommodityRow.exponent).where(CommodityRow.code.in_(rest))
            ).all()
        )
    return found


def count_accounts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Account)) or 0)
