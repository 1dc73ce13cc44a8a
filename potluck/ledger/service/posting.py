"""Posting transfers: a batch is planned in Python by the pure rules, then written with a few
bulk statements, all inside the caller's transaction.

Concurrency: before reading anything that can change, the batch locks the chain rows and then
the account rows it touches, each in id order (``SELECT ... FOR UPDATE`` on PostgreSQL), so
two writers touching the same accounts queue instead of deadlocking, and each sees the other's
committed totals. SQLite serialises writers with ``BEGIN IMMEDIATE`` already. The database's
own constraints (unique ids, one end per hold, the no-negative CHECK) stay as a backstop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Table, bindparam, delete, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from potluck.db import one_of
from potluck.errors import Conflict, Forbidden, InvalidInput, PotluckError
from potluck.ledger import rules
from potluck.ledger.models import Account, Chain, OpenHold, Transfer
from potluck.ledger.service.accounts import account_labels, exponents

TRANSFERS: Table = Transfer.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CHAINS: Table = Chain.__table__  # type: ignore[assignment]
OPEN_HOLDS: Table = OpenHold.__table__  # type: ignore[assignment]

_ROW_COLUMNS = [TRANSFERS.c[name] for name in rules.TransferRow._fields]

_PG_UPDATE_TOTALS = text(
    "UPDATE ledger_accounts AS a SET "
    "debits_pending = a.debits_pending + v.dp, debits_posted = a.debits_posted + v.dpo, "
    "credits_pending = a.credits_pending + v.cp, credits_posted = a.credits_posted + v.cpo "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:dp AS bigint[]), CAST(:dP AS bigint[]), "
    "CAST(:cp AS bigint[]), CAST(:cP AS bigint[])) AS v(id, dp, dpo, cp, cpo) "
    "WHERE a.id = v.id"
)
_SQLITE_UPDATE_TOTALS = (
    "UPDATE ledger_accounts SET debits_pending = debits_pending + ?, "
    "debits_posted = debits_posted + ?, credits_pending = credits_pending + ?, "
    "credits_posted = credits_posted + ? WHERE id = ?"
)
_SQLITE_UPDATE_HEAD = "UPDATE ledger_chains SET head_seq = ?, head_hash = ? WHERE id = ?"
_PG_UPDATE_HEADS = text(
    "UPDATE ledger_chains AS c SET head_seq = v.seq, head_hash = v.hash "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:seqs AS bigint[]), CAST(:hashes AS text[])) "
    "AS v(id, seq, hash) WHERE c.id = v.id"
)


def _row(values: Sequence[Any]) -> rules.TransferRow:
    return rules.TransferRow(*values)


def _driver(session: Session) -> Any:
    return session.connection().connection.driver_connection


def _id_list_clause(session: Session, ids: Collection[str]) -> Any:
    return one_of(session, "ledger_transfers.id", ids)


def transfers_by_id(session: Session, ids: Collection[str]) -> dict[str, rules.TransferRow]:
    if not ids:
        return {}
    found: dict[str, rules.TransferRow] = {}
    query = select(*_ROW_COLUMNS).where(_id_list_clause(session, ids))
    for row in session.execute(query):
        transfer = _row(row)
        found[transfer.id] = transfer
    return found


def _ended_by(session: Session, hold_ids: Collection[str]) -> dict[str, str]:
    if not hold_ids:
        return {}
    rows = session.execute(
        select(TRANSFERS.c.pending_id, TRANSFERS.c.id).where(
            TRANSFERS.c.pending_id.in_(list(hold_ids))
        )
    )
    return dict(rows.all())


def _reversed_by(session: Session, ids: Collection[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(TRANSFERS.c.reverses_id, TRANSFERS.c.id).where(
            TRANSFERS.c.reverses_id.in_(list(ids))
        )
    )
    return dict(rows.all())


def _due_holds(session: Session, account_ids: Collection[str | int], now: datetime) -> list[str]:
    """Holds past their timeout that still reserve funds in ``account_ids``."""
    if not account_ids or session.scalar(_ANY_DUE, {"now": now}) is None:
        # One probe of the timeout index answers the usual case: nothing is due anywhere.
        return []
    among = one_of(session, "ledger_open_holds.debit_account_id", [int(i) for i in account_ids])
    return list(
        session.scalars(
            select(OPEN_HOLDS.c.transfer_id)
            .where(among, OPEN_HOLDS.c.timeout_at <= now)
            .order_by(OPEN_HOLDS.c.transfer_id)
        )
    )


_ANY_DUE = (
    select(OPEN_HOLDS.c.transfer_id).where(OPEN_HOLDS.c.timeout_at <= bindparam("now")).limit(1)
)


def _lock_for_update(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def post_batch(
    session: Session,
    requests: Sequence[rules.TransferRequest],
    *,
    now: datetime,
    batch_id: str | None = None,
    allowed_chain_ids: Collection[int] | None = None,
) -> list[rules.TransferRow]:
    """Post ``requests`` as one linked batch: all of them, or none and an error naming the
    first that cannot be posted. Returns one stored transfer per request, in order; a request
    repeating an existing transfer exactly gets that transfer back and writes nothing.

    ``allowed_chain_ids``: when given, every new transfer must land in one of these books.
    """
    if not requests:
        raise InvalidInput("A batch needs at least one transfer.", field="transfers")
    if len(requests) > rules.MAX_BATCH:
        raise InvalidInput(f"A batch holds at most {rules.MAX_BATCH} transfers.", field="transfers")
    if batch_id is not None and not rules.TRANSFER_ID.fullmatch(batch_id):
        raise InvalidInput("A batch id is 1 to 64 letters, digits or '._:-'.", field="batch_id")
    return _post(
        session,
        list(requests),
        now=now,
        batch_id=batch_id,
        allowed_chain_ids=allowed_chain_ids,
        hold_ids_to_expire=(),
    )[1]


def post_transfer(
    session: Session,
    request: rules.TransferRequest,
    *,
    now: datetime,
    allowed_chain_ids: Collection[int] | None = None,
) -> rules.TransferRow:
    return post_batch(session, [request], now=now, allowed_chain_ids=allowed_chain_ids)[0]


def expire_holds(session: Session, *, now: datetime, limit: int = 1000) -> list[rules.TransferRow]:
    """End every hold whose timeout has passed with an ``expire`` transfer. Safe to run
    again and concurrently: an expiry's id is derived from its hold."""
    due = list(
        session.scalars(
            select(OPEN_HOLDS.c.transfer_id)
            .where(OPEN_HOLDS.c.timeout_at <= now)
            .order_by(OPEN_HOLDS.c.timeout_at, OPEN_HOLDS.c.transfer_id)
            .limit(limit)
        )
    )
    if not due:
        return []
    return _post(
        session, [], now=now, batch_id=None, allowed_chain_ids=None, hold_ids_to_expire=due
    )[0]


@dataclass(frozen=True, slots=True)
class _Facts:
    """What planning needs, read under the locks: see ``_read``."""

    rows: Sequence[Any]
    totals: dict[int, rules.Totals]
    heads: dict[int, rules.ChainHead]
    instance_id: int
    holds: dict[str, rules.HoldFacts]
    targets: dict[str, rules.ReversalTarget]
    existing: dict[str, rules.TransferRow]
    expiries: list[rules.TransferRequest]

    def accounts(self, session: Session, *, labelled: bool) -> dict[int, rules.AccountFacts]:
        return _account_facts(session, self.rows, labelled=labelled)


def _read(
    session: Session,
    requests: Sequence[rules.TransferRequest],
    *,
    now: datetime,
    hold_ids_to_expire: Iterable[str],
) -> _Facts:
    """Lock and read everything ``requests`` touch, and find the due holds among them."""
    session.flush()
    pending_ids = {r.pending_id for r in requests if r.pending_id is not None}
    target_ids = {r.reverses_id for r in requests if r.reverses_id is not None}
    account_ids: set[int] = set()
    for request in requests:
        if request.debit_account_id is not None:
            account_ids.add(request.debit_account_id)
        if request.credit_account_id is not None:
            account_ids.add(request.credit_account_id)

    # What a request names but leaves out (a hold's accounts) never changes once written, so
    # it may be read before the locks; what can change (ends, reversals, totals) is read after.
    named = transfers_by_id(session, pending_ids | target_ids)
    due = set(hold_ids_to_expire)
    due.update(
        _due_holds(
            session,
            account_ids | {t.debit_account_id for t in named.values()},
            now,
        )
    )
    named.update(transfers_by_id(session, due - named.keys()))
    for transfer in named.values():
        account_ids.update((transfer.debit_account_id, transfer.credit_account_id))

    # Locks are always taken accounts first, then chains, each in id order: any two writers
    # meet in the same order, so they queue instead of deadlocking.
    lock = _lock_for_update(session)
    account_query = (
        select(
            ACCOUNTS.c.id,
            ACCOUNTS.c.commodity,
            ACCOUNTS.c.chain_id,
            ACCOUNTS.c.no_negative,
            ACCOUNTS.c.debits_pending,
            ACCOUNTS.c.debits_posted,
            ACCOUNTS.c.credits_pending,
            ACCOUNTS.c.credits_posted,
        )
        .where(one_of(session, "ledger_accounts.id", sorted(account_ids)))
        .order_by(ACCOUNTS.c.id)
    )
    facts_rows = session.execute(account_query.with_for_update() if lock else account_query).all()
    totals = {row[0]: rules.Totals(row[4], row[5], row[6], row[7]) for row in facts_rows}
    head_query = (
        select(CHAINS.c.id, CHAINS.c.key, CHAINS.c.head_seq, CHAINS.c.head_hash)
        .where(CHAINS.c.id.in_(sorted({int(row.chain_id) for row in facts_rows})))
        .order_by(CHAINS.c.id)
    )
    heads = {
        row.id: rules.ChainHead(row.id, row.key, row.head_seq, row.head_hash)
        for row in session.execute(head_query.with_for_update() if lock else head_query)
    }
    # No account of the instance's books is involved when its chain is not among these.
    instance_id = next((h.id for h in heads.values() if h.key == rules.INSTANCE_CHAIN_KEY), -1)

    existing = transfers_by_id(session, {r.id for r in requests})
    ended = _ended_by(session, pending_ids | due)
    reversed_by = _reversed_by(session, target_ids)
    holds = {
        t.id: rules.HoldFacts(
            t.id,
            t.amount,
            t.debit_account_id,
            t.credit_account_id,
            t.commodity,
            t.chain_id,
            t.timeout_at,
            ended.get(t.id),
        )
        for t in named.values()
        if t.kind == "hold"
    }
    targets = {
        t.id: rules.ReversalTarget(
            t.id,
            t.kind,
            t.amount,
            t.debit_account_id,
            t.credit_account_id,
            t.commodity,
            reversed_by.get(t.id),
        )
        for t in named.values()
        if t.id in target_ids and t.kind in ("transfer", "post")
    }
    expiries = [
        rules.TransferRequest(id=rules.expiry_id(hold_id), kind="expire", pending_id=hold_id)
        for hold_id in sorted(due)
        if hold_id in holds and holds[hold_id].ended_by is None
    ]
    return _Facts(facts_rows, totals, heads, instance_id, holds, targets, existing, expiries)


def _post(
    session: Session,
    requests: list[rules.TransferRequest],
    *,
    now: datetime,
    batch_id: str | None,
    allowed_chain_ids: Collection[int] | None,
    hold_ids_to_expire: Iterable[str],
) -> tuple[list[rules.TransferRow], list[rules.TransferRow]]:
    """Post ``requests`` after expiring the due holds they touch; returns (expiries, results)."""
    facts = _read(session, requests, now=now, hold_ids_to_expire=hold_ids_to_expire)
    expiries = facts.expiries

    def plan(accounts: dict[int, rules.AccountFacts]) -> rules.Plan:
        return rules.plan_batch(
            [*expiries, *requests],
            accounts=accounts,
            totals=facts.totals,
            heads=facts.heads,
            instance_chain_id=facts.instance_id,
            holds=facts.holds,
            targets=facts.targets,
            existing=facts.existing,
            now=now,
            batch_id=batch_id,
            system_kinds=True,
        )

    try:
        planned = plan(facts.accounts(session, labelled=False))
    except rules.InsufficientFunds:
        # Names for people cost a query; only a refusal needs them. Planning is pure, so the
        # second run refuses the same transfer, now naming the account.
        planned = plan(facts.accounts(session, labelled=True))
    if allowed_chain_ids is not None:
        allowed = set(allowed_chain_ids)
        expiry_count = len(expiries)
        for row in planned.new_rows[expiry_count:]:
            if row.chain_id not in allowed:
                raise Forbidden(
                    f"Transfer {row.id} goes into books you do not keep: only a steward of "
                    "the project may post to its books."
                )
    _write(session, planned)
    return planned.results[: len(expiries)], planned.results[len(expiries) :]


def post_each(
    session: Session,
    requests: Sequence[rules.TransferRequest],
    *,
    now: datetime,
    allowed_chain_ids: Sequence[Collection[int] | None] | None = None,
) -> list[rules.TransferRow | PotluckError]:
    """Post independent transfers in one go, each standing or falling on its own: returns,
    per request, its stored transfer or the error that refused it, as if each had been posted
    alone in turn. Many requests then share one set of reads, locks and writes (the API's
    group commit, ``potluck.ledger.lane``).

    ``allowed_chain_ids[i]``: when given and not None, request ``i`` must land in these books.
    """
    if not requests:
        return []
    facts = _read(session, requests, now=now, hold_ids_to_expire=())

    def plan(accounts: dict[int, rules.AccountFacts]) -> tuple[rules.Plan, list[Any]]:
        return rules.plan_each(
            requests,
            accounts=accounts,
            totals=facts.totals,
            heads=facts.heads,
            instance_chain_id=facts.instance_id,
            holds=facts.holds,
            targets=facts.targets,
            existing=facts.existing,
            now=now,
            allowed_chain_ids=allowed_chain_ids,
            expiries=facts.expiries,
        )

    planned, outcomes = plan(facts.accounts(session, labelled=False))
    if any(isinstance(o, rules.InsufficientFunds) for o in outcomes):
        # As in ``_post``: only a refusal needs the accounts' names, and planning is pure.
        planned, outcomes = plan(facts.accounts(session, labelled=True))
    _write(session, planned)
    return outcomes


def _account_facts(
    session: Session, rows: Sequence[Any], *, labelled: bool
) -> dict[int, rules.AccountFacts]:
    labels = account_labels(session, [row.id for row in rows]) if labelled else {}
    scales = exponents(session, {row.commodity for row in rows})
    return {
        row.id: rules.AccountFacts(
            id=row.id,
            commodity=row.commodity,
            exponent=scales.get(row.commodity, 0),
            chain_id=row.chain_id,
            no_negative=bool(row.no_negative),
            label=labels.get(row.id, f"account {row.id}"),
        )
        for row in rows
    }


def _write(session: Session, plan: rules.Plan) -> None:
    if not plan.new_rows:
        return
    try:
        _insert_rows(session, plan.new_rows)
        # (account, debits pending, debits posted, credits pending, credits posted)
        deltas = [
            (account_id, *d.as_tuple())
            for account_id, d in sorted(plan.deltas.items())
            if d.as_tuple() != (0, 0, 0, 0)
        ]
        if deltas and session.get_bind().dialect.name == "postgresql":
            # One statement for all accounts: a batch touches hundreds of them.
            columns = list(zip(*deltas, strict=True))
            session.execute(
                _PG_UPDATE_TOTALS,
                dict(zip(("ids", "dp", "dP", "cp", "cP"), map(list, columns), strict=True)),
            )
        elif deltas:
            # Straight to the driver: the ORM would process each account's parameters anew.
            cursor = _driver(session).cursor()
            try:
                cursor.executemany(_SQLITE_UPDATE_TOTALS, [(*d[1:], d[0]) for d in deltas])
            finally:
                cursor.close()
        changed_chains = {r.chain_id for r in plan.new_rows}
        # A payday's batch moves thousands of chains: one statement, no ORM per chain.
        heads = [
            (head.seq, head.hash, head.id)
            for head in plan.heads.values()
            if head.id in changed_chains
        ]
        if session.get_bind().dialect.name == "postgresql":
            seqs, hashes, ids = (list(column) for column in zip(*heads, strict=True))
            session.execute(_PG_UPDATE_HEADS, {"ids": ids, "seqs": seqs, "hashes": hashes})
        else:
            cursor = _driver(session).cursor()
            try:
                cursor.executemany(_SQLITE_UPDATE_HEAD, heads)
            finally:
                cursor.close()
        if plan.opened_holds:
            session.execute(
                insert(OPEN_HOLDS),
                [
                    {
                        "transfer_id": r.id,
                        "debit_account_id": r.debit_account_id,
                        "timeout_at": r.timeout_at,
                    }
                    for r in plan.opened_holds
                ],
            )
        if plan.ended_holds:
            session.execute(
                delete(OPEN_HOLDS).where(OPEN_HOLDS.c.transfer_id.in_(plan.ended_holds))
            )
    except (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError) as error:
        # Only reachable when another writer got in between (an id taken in other books) or
        # a bug let a plan through that the database refuses; either way nothing is written.
        raise Conflict(
            "The books changed while this was being posted (a transfer id was taken "
            f"concurrently, or an invariant would break); nothing was written. "
            f"{getattr(error, 'orig', error)}"
        ) from error


_COLUMN_NAMES = ", ".join(rules.TransferRow._fields)
_SQLITE_INSERT = (
    f"INSERT INTO ledger_transfers ({_COLUMN_NAMES}) "  # noqa: S608 - fixed column names
    f"VALUES ({', '.join('?' * len(rules.TransferRow._fields))})"
)
_PG_COPY = f"COPY ledger_transfers ({_COLUMN_NAMES}) FROM STDIN"


def _insert_rows(session: Session, rows: Sequence[rules.TransferRow]) -> None:
    """Insert new transfers through the driver itself: COPY on PostgreSQL, executemany on
    SQLite. The ORM's per-row parameter processing would cost more than the database does.

    On SQLite, times are written in the text form SQLAlchemy itself uses for DATETIME, which
    is also the form they are hashed in."""
    driver = _driver(session)
    if session.get_bind().dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(_PG_COPY) as copy:
            for row in rows:
                # A row is a tuple in the table's column order already.
                copy.write_row(row)
        return
    created: dict[datetime, str] = {}
    cursor = driver.cursor()
    try:
        params = []
        for r in rows:
            when = created.get(r.created_at)
            if when is None:
                when = created[r.created_at] = rules.time_text(r.created_at)
            timeout = r.timeout_at
            # Columns 9 and 13 are the two times (timeout_at, created_at); the rest go as is.
            params.append(
                (*r[:9], timeout and rules.time_text(timeout), *r[10:13], when, r[14], r[15])
            )
        cursor.executemany(_SQLITE_INSERT, params)
    finally:
        cursor.close()
