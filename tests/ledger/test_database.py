"""What the database itself refuses, whatever Python asks; and what verify catches when
someone gets around it (a superuser who drops the triggers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from potluck.clock import FrozenClock
from potluck.db import Database, append_only_ddl, drop_append_only_ddl
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import posting
from potluck.ledger.service.verify import verify_books
from tests.ledger.factories import Books, make_books
from tests.support.books import assert_books_verify

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REFUSED = (DBAPIError, IntegrityError)
_ALL_TRANSFERS = "SELECT * FROM ledger_transfers ORDER BY chain_id, seq"
_ALL_HOLDS = "SELECT transfer_id, debit_account_id, timeout_at FROM ledger_open_holds"


@pytest.fixture
def ledger(database: Database, clock: FrozenClock) -> Books:
    with database.transaction() as session:
        made = make_books(session)
        posting.post_batch(
            session,
            [
                TransferRequest("t1", "transfer", made.given.id, made.funds.id, 1000),
                TransferRequest("h1", "hold", made.funds.id, made.world.id, 300),
            ],
            now=clock.now(),
        )
    return made


def raw_insert(database: Database, **overrides: object) -> None:
    values: dict[str, object] = {
        "id": "raw",
        "chain_id": 1,
        "seq": 99,
        "kind": "transfer",
        "debit_account_id": 2,
        "credit_account_id": 1,
        "commodity": "EUR",
        "amount": 5,
        "pending_id": None,
        "timeout_at": None,
        "reverses_id": None,
        "batch_id": None,
        "memo": "",
        "created_at": NOW,
        "prev_hash": "0" * 64,
        "hash": "0" * 64,
    }
    values.update(overrides)
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    with database.transaction() as session:
        session.execute(text(f"INSERT INTO ledger_transfers ({columns}) VALUES ({params})"), values)  # noqa: S608


class TestTransferConstraints:
    @pytest.mark.parametrize(
        ("overrides", "why"),
        [
            ({"amount": 0}, "amount_positive"),
            ({"amount": -5}, "amount_positive"),
            ({"credit_account_id": 2}, "two_accounts"),
            ({"commodity": "USD"}, "foreign key"),
            ({"debit_account_id": 999}, "foreign key"),
            ({"credit_account_id": 999}, "foreign key"),
            ({"chain_id": 999}, "foreign key"),
            ({"kind": "void", "pending_id": "no-such-hold"}, "foreign key"),
            ({"reverses_id": "no-such-transfer"}, "foreign key"),
            ({"kind": "gift"}, "kind_known"),
            ({"kind": "post"}, "resolution_names_hold"),
            ({"timeout_at": NOW}, "timeout_on_hold"),
            ({"id": "t1", "seq": 1}, "unique"),
            ({"seq": 1}, "unique"),
        ],
    )
    def test_database_refuses_invalid_rows(
        self, database: Database, ledger: Books, overrides: dict[str, object], why: str
    ) -> None:
        with pytest.raises(REFUSED):
            raw_insert(database, **overrides)

    def test_a_hold_cannot_end_twice(
        self, database: Database, ledger: Books, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            posting.post_transfer(
                session, TransferRequest("v0", "void", pending_id="h1"), now=clock.now()
            )
        with pytest.raises(REFUSED):
            raw_insert(
                database, id="v1", kind="void", pending_id="h1", amount=300,
                debit_account_id=ledger.funds.id, credit_account_id=ledger.world.id,
            )  # fmt: skip

    def test_accounts_must_share_the_commodity(self, database: Database, ledger: Books) -> None:
        with database.transaction() as session:
            session.execute(
                text(
                    "INSERT INTO ledger_accounts (key, owner, purpose, commodity, chain_id, "
                    "no_negative, debits_pending, debits_posted, credits_pending, "
                    "credits_posted, created_at) VALUES ('world:USD', 'world', 'outside', "
                    "'USD', 1, false, 0, 0, 0, 0, :now)"
                ),
                {"now": NOW},
            )
            usd = session.execute(text("SELECT id FROM ledger_accounts WHERE key = 'world:USD'"))
            usd_id = usd.scalar_one()
        with pytest.raises(REFUSED):
            raw_insert(database, debit_account_id=usd_id, commodity="EUR")
        with pytest.raises(REFUSED):
            raw_insert(database, debit_account_id=usd_id, commodity="USD")


class TestReferencedRowsStay:
    """What transfers refer to can be neither deleted nor re-keyed: on SQLite the foreign
    keys refuse it, on PostgreSQL the triggers that stand in for them."""

    @pytest.mark.parametrize(
        "statement",
        [
            "DELETE FROM ledger_accounts WHERE id = :funds",
            "UPDATE ledger_accounts SET commodity = 'USD' WHERE id = :funds",
            "UPDATE ledger_accounts SET id = 999 WHERE id = :funds",
            "DELETE FROM ledger_chains WHERE id IN (SELECT chain_id FROM ledger_accounts)",
        ],
    )
    def test_database_refuses_removing_what_transfers_name(
        self, database: Database, ledger: Books, statement: str
    ) -> None:
        with pytest.raises(REFUSED), database.transaction() as session:
            session.execute(text(statement), {"funds": ledger.funds.id})
        assert_books_verify(database)

    def test_one_bad_row_refuses_the_whole_statement(
        self, database: Database, ledger: Books
    ) -> None:
        good = {"id": "good", "seq": 98}
        with pytest.raises(REFUSED), database.transaction() as session:
            session.execute(
                text(
                    "INSERT INTO ledger_transfers SELECT :id, chain_id, :seq, kind, "
                    "debit_account_id, credit_account_id, commodity, amount, NULL, NULL, "
                    "NULL, NULL, memo, created_at, prev_hash, hash FROM ledger_transfers "
                    "WHERE id = 't1' UNION ALL SELECT 'bad', chain_id, 97, kind, 999, "
                    "credit_account_id, commodity, amount, NULL, NULL, NULL, NULL, memo, "
                    "created_at, prev_hash, hash FROM ledger_transfers WHERE id = 't1'"
                ),
                good,
            )
        with database.transaction(write=False) as session:
            found = session.execute(text("SELECT count(*) FROM ledger_transfers")).scalar_one()
        assert found == 2


class TestAppendOnlyTransfers:
    @pytest.mark.parametrize(
        "statement",
        ["UPDATE ledger_transfers SET amount = 1", "DELETE FROM ledger_transfers"],
    )
    def test_database_refuses_rewriting_transfers(
        self, database: Database, ledger: Books, statement: str
    ) -> None:
        with pytest.raises(REFUSED, match="append-only"), database.transaction() as session:
            session.execute(text(statement))
        assert_books_verify(database)


class TestNoNegativeInTheDatabase:
    def test_database_refuses_a_negative_balance_on_a_guarded_account(
        self, database: Database, ledger: Books
    ) -> None:
        with pytest.raises(REFUSED, match="no_negative"), database.transaction() as session:
            session.execute(
                text("UPDATE ledger_accounts SET debits_posted = 800 WHERE id = :id"),
                {"id": ledger.funds.id},
            )


class TestVerifyCatchesTampering:
    @contextmanager
    def _tampered(self, database: Database, *statements: str) -> Iterator[None]:
        """Get around the triggers as a database superuser could, then put everything back,
        so that the books verify again once the test has looked."""
        with database.transaction() as session:
            transfers = [dict(r._mapping) for r in session.execute(text(_ALL_TRANSFERS))]
            holds = [dict(r._mapping) for r in session.execute(text(_ALL_HOLDS))]
            for drop in drop_append_only_ddl(database.dialect, "ledger_transfers"):
                session.execute(text(drop))
            for statement in statements:
                session.execute(text(statement))
        yield
        with database.transaction() as session:
            session.execute(text("DELETE FROM ledger_open_holds"))
            session.execute(text("DELETE FROM ledger_transfers"))
            columns = ", ".join(transfers[0])
            values = ", ".join(f":{name}" for name in transfers[0])
            for row in transfers:
                session.execute(
                    text(f"INSERT INTO ledger_transfers ({columns}) VALUES ({values})"),  # noqa: S608
                    row,
                )
            for row in holds:
                session.execute(
                    text(
                        "INSERT INTO ledger_open_holds (transfer_id, debit_account_id, timeout_at) "
                        "VALUES (:transfer_id, :debit_account_id, :timeout_at)"
                    ),
                    row,
                )
            for statement in append_only_ddl(database.dialect, "ledger_transfers"):
                session.execute(text(statement))
        assert_books_verify(database)

    def test_an_edited_amount_breaks_the_chain_and_the_balance(
        self, database: Database, ledger: Books
    ) -> None:
        with self._tampered(database, "UPDATE ledger_transfers SET amount = 999 WHERE id = 't1'"):
            report = verify_books(database)
        assert not report.ok
        assert {p.check for p in report.problems} >= {"chain", "balance"}
        assert any("t1" in p.ids for p in report.problems)

    def test_a_deleted_transfer_is_noticed(self, database: Database, ledger: Books) -> None:
        with self._tampered(
            database,
            "DELETE FROM ledger_open_holds WHERE transfer_id = 'h1'",
            "DELETE FROM ledger_transfers WHERE id = 'h1'",
        ):
            report = verify_books(database)
        assert any("removed or added" in p.message for p in report.problems)

    def test_a_clean_project_verifies_on_its_own(self, database: Database, ledger: Books) -> None:
        report = verify_books(database, project_slug=ledger.project.slug)
        assert report.ok, report.problems
        assert report.transfers == 2
        assert report.open_holds == 1
