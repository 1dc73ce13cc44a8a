"""The command line: migrating a database and filling the demo, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from potluck.cli import _safe, cli
from potluck.db import Database
from potluck.demo import PROJECTS
from potluck.projects.models import Project


class TestDbUpgrade:
    def test_reaches_head_on_an_existing_database(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("POTLUCK_DATABASE_URL", database.url)
        result = CliRunner().invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "is at heads" in " ".join(result.output.split())
        with database.transaction(write=False) as session:
            assert session.execute(text("SELECT version_num FROM alembic_version")).scalar()


class TestDemoCommand:
    def test_fills_then_reports_nothing_to_do(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("POTLUCK_DATABASE_URL", database.url)
        first = CliRunner().invoke(cli, ["demo"])
        assert first.exit_code == 0, first.output
        assert "Demo data added" in first.output
        second = CliRunner().invoke(cli, ["demo"])
        assert "nothing changed" in second.output
        with database.transaction(write=False) as session:
            assert session.scalar(select(func.count()).select_from(Project)) == len(PROJECTS)


class TestSafeUrl:
    def test_hides_the_password(self) -> None:
        assert _safe("postgresql://me:hunter2@db/potluck") == "postgresql://me@db/potluck"

    def test_leaves_sqlite_alone(self) -> None:
        assert _safe("sqlite:///var/p.sqlite3") == "sqlite:///var/p.sqlite3"
