"""``verify``: recompute every chain and every balance from the transfers and compare.

Reads in one consistent snapshot (REPEATABLE READ on PostgreSQL; SQLite's read transaction is
a snapshot already) and streams the transfers through the driver's own cursor: a million rows
must check in seconds, so nothing is turned into ORM objects on the way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from potluck.db import Database
from potluck.errors import NotFound
from potluck.ledger import rules
from potluck.ledger.models import Account, Chain, Custodian, OpenHold, Transfer
from potluck.ledger.service.accounts import label
from potluck.money import BUILTIN_COMMODITIES
from potluck.projects.models import Project

_FETCH = 20_000
_COLUMNS = (
    "id, chain_id, seq, kind, debit_account_id, credit_account_id, commodity, amount, "
    "pending_id, {timeout}, reverses_id, batch_id, memo, {created}, prev_hash, hash"
)
_PG_TIME = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"


def verify_books(database: Database, *, project_slug: str | None = None) -> rules.VerifyReport:
    """Check the whole books, or only one project's (its chain and its own accounts)."""
    engine = database.engine
    if database.dialect == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with engine.connect() as connection, connection.begin():
        return _verify(connection, project_slug)


def _verify(connection: Connection, project_slug: str | None) -> rules.VerifyReport:
    chain_filter = None
    if project_slug is not None:
        project_id = connection.scalar(select(Project.id).where(Project.slug == project_slug))
        if project_id is None:
            raise NotFound(f"There is no project '{project_slug}'.")
        chain_filter = connection.scalar(select(Chain.id).where(Chain.project_id == project_id))
        if chain_filter is None:
            return rules.VerifyReport()
    heads = [
        rules.ChainHead(row.id, row.key, row.head_seq, row.head_hash)
        for row in connection.execute(select(Chain.id, Chain.key, Chain.head_seq, Chain.head_hash))
        if chain_filter is None or row.id == chain_filter
    ]
    instance_id = connection.scalar(select(Chain.id).where(Chain.key == rules.INSTANCE_CHAIN_KEY))
    accounts = []
    for row in connection.execute(
        select(
            Account.id,
            Account.commodity,
            Account.chain_id,
            Account.no_negative,
            Account.debits_pending,
            Account.debits_posted,
            Account.credits_pending,
            Account.credits_posted,
            Account.owner,
            Account.purpose,
            Project.slug,
            Custodian.name,
        )
        .outerjoin(Project, Project.id == Account.project_id)
        .outerjoin(Custodian, Custodian.id == Account.custodian_id)
    ):
        commodity = BUILTIN_COMMODITIES.get(row.commodity)
        facts = rules.AccountFacts(
            id=row.id,
            commodity=row.commodity,
            exponent=commodity.exponent if commodity else 0,
            chain_id=row.chain_id,
            no_negative=bool(row.no_negative),
            label=label(
                row.owner,
                row.purpose,
                row.commodity,
                project_slug=row.slug,
                custodian_name=row.name,
                account_id=row.id,
            ),
        )
        accounts.append(
            rules.CheckedAccount(
                facts=facts,
                recorded=rules.Totals(
                    row.debits_pending, row.debits_posted, row.credits_pending, row.credits_posted
                ),
                complete=chain_filter is None or row.chain_id == chain_filter,
            )
        )
    checker = rules.BooksChecker(heads, accounts, instance_chain_id=instance_id)
    open_holds = list(connection.scalars(select(OpenHold.transfer_id)))
    _stream(connection, checker, chain_filter)
    if chain_filter is not None:
        # Only holds chained in these books can be judged; the rest belong to other books.
        chained = checker.chained_holds()
        open_holds = [hold for hold in open_holds if hold in chained]
    return checker.finish(open_holds, _targets(connection, checker.reversal_targets()))


def _targets(connection: Connection, ids: set[str]) -> dict[str, tuple[str, int, int, int]]:
    found: dict[str, tuple[str, int, int, int]] = {}
    listed = sorted(ids)
    for start in range(0, len(listed), 1000):
        for row in connection.execute(
            select(
                Transfer.id,
                Transfer.kind,
                Transfer.amount,
                Transfer.debit_account_id,
                Transfer.credit_account_id,
            ).where(Transfer.id.in_(listed[start : start + 1000]))
        ):
            found[row.id] = (row.kind, row.amount, row.debit_account_id, row.credit_account_id)
    return found


def _stream(connection: Connection, checker: rules.BooksChecker, chain_id: int | None) -> None:
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        columns = _COLUMNS.format(
            timeout=_PG_TIME.format("timeout_at"), created=_PG_TIME.format("created_at")
        )
    else:
        columns = _COLUMNS.format(timeout="timeout_at", created="created_at")
    where = "" if chain_id is None else f" WHERE chain_id = {int(chain_id)}"
    sql = f"SELECT {columns} FROM ledger_transfers{where} ORDER BY chain_id, seq"  # noqa: S608
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor(name="potluck_verify") if postgres else driver.cursor()
    if postgres:
        cursor.itersize = _FETCH
    try:
        cursor.execute(sql)
        feed = checker.feed_many
        while True:
            rows = cursor.fetchmany(_FETCH)
            if not rows:
                break
            feed(rows)
    finally:
        cursor.close()
