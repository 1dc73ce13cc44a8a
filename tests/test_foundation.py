"""The storage layer itself: migrations, pragmas, the append-only log trigger, the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.migrate import check


class TestMigrations:
    def test_models_match_migrations(self, database: Database) -> None:
        check(database.url)

    def test_sqlite_runs_in_wal_with_foreign_keys(self, database: Database) -> None:
        if database.dialect != "sqlite":
            pytest.skip("SQLite pragmas")
        with database.transaction(write=False) as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert session.execute(text("PRAGMA busy_timeout")).scalar() == 30000
            assert session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 10_000
            assert session.execute(text("PRAGMA cache_size")).scalar() == -32 * 1024


class TestAppendOnlyActivity:
    def _insert(self, database: Database) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with database.transaction() as session:
            session.execute(
                text(
                    "INSERT INTO projects (slug, name, summary, description, licence, "
                    "created_at, updated_at) VALUES ('p', 'P', 's', '', 'MIT', :now, :now)"
                ),
                {"now": now},
            )
            session.execute(
                text(
                    "INSERT INTO activity_entries (project_id, action, summary, details, at) "
                    "VALUES (1, 'project.created', 'made', '{}', :now)"
                ),
                {"now": now},
            )

    @pytest.mark.parametrize(
        "statement",
        ["UPDATE activity_entries SET summary = 'rewritten'", "DELETE FROM activity_entries"],
    )
    def test_database_refuses_rewriting_history(self, database: Database, statement: str) -> None:
        self._insert(database)
        with (
            pytest.raises((DBAPIError, IntegrityError), match="append-only"),
            database.transaction() as session,
        ):
            session.execute(text(statement))
        with database.transaction(write=False) as session:
            assert session.execute(text("SELECT summary FROM activity_entries")).scalar() == "made"


class TestFrozenClock:
    def test_moves_only_when_told(self) -> None:
        clock = FrozenClock(datetime(2026, 3, 1, tzinfo=UTC))
        assert clock.now() == clock.now()
        clock.advance(timedelta(days=2))
        assert clock.now() == datetime(2026, 3, 3, tzinfo=UTC)

    def test_refuses_naive_time(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            FrozenClock(datetime(2026, 3, 1))
