"""``potluck payday`` from the command line, and the scheduled payday of the server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from potluck.clock import FrozenClock
from potluck.config import Settings
from potluck.db import Database
from potluck.pledges.cli import app
from potluck.pledges.payday.lease import Lease
from potluck.pledges.payday.run import PaydayOutcome
from potluck.pledges.scheduler import PaydayScheduler, start_payday_scheduler
from tests.pledges.conftest import Census, Commons
from tests.pledges.crashworld import seed
from tests.pledges.paydays import payday_stages, registry, settings
from tests.pledges.stored import save_card, stored_need, stored_pledge
from tests.support.books import assert_books_verify


@pytest.fixture
def runner(database: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("POTLUCK_DATABASE_URL", database.url)
    monkeypatch.setenv("POTLUCK_SIMULATED_PAYMENTS", "true")
    return CliRunner()


def said(output: str) -> str:
    return " ".join(output.split())


class TestPaydayCommand:
    def test_dry_run_then_run_then_nothing_due(
        self, runner: CliRunner, database: Database, census: Census
    ) -> None:
        period = seed(database, donors=6)
        before = census()
        dry = runner.invoke(app, ["--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert f"Dry run: the payday of {period} is due. Nothing is written." in said(dry.output)
        assert census() == before
        done = runner.invoke(app, [])
        assert done.exit_code == 0, done.output
        assert "Self-check passed" in done.output
        assert payday_stages(database) == [(str(period.start), "done", True)]
        again = runner.invoke(app, [])
        assert "No payday is due" in said(again.output)
        status = runner.invoke(app, ["status"])
        assert f"{period.start} to {period.end}" in status.output
        assert_books_verify(database)

    def test_another_runner_makes_it_wait(
        self, runner: CliRunner, database: Database, clock: FrozenClock
    ) -> None:
        other = Lease(database, clock)
        other.holder = "elsewhere:1:busy"
        clock.set(datetime(2100, 1, 1, tzinfo=UTC))
        assert other.acquire()
        answer = runner.invoke(app, [])
        assert answer.exit_code == 2
        assert "A payday is already running (elsewhere:1:busy)" in said(answer.output)

    def test_status_before_any_payday(self, runner: CliRunner) -> None:
        assert "No payday has run yet." in runner.invoke(app, ["status"]).output


class TestScheduler:
    def test_runs_what_is_due_and_nothing_more(
        self, database: Database, clock: FrozenClock, commons: Commons
    ) -> None:
        with database.transaction() as session:
            save_card(session, commons.ana)
            stored_pledge(session, stored_need(session, commons.project), donor=commons.ana)
        seen: list[PaydayOutcome] = []
        scheduler = PaydayScheduler(
            database, clock=clock, settings=settings(), registry=registry(), on_outcome=seen.append
        )
        clock.set(datetime(2026, 1, 20, tzinfo=UTC))
        # December, before anyone pledged, is due first; then nothing until January ends.
        assert [str(o.period) for o in scheduler.run_once()] == ["2025-12-01/2026-01-01"]
        assert scheduler.run_once() == []
        assert not scheduler.has_work()
        clock.set(datetime(2026, 2, 1, 0, 1, tzinfo=UTC))
        scheduler.start()
        scheduler.wait(0.1)
        for _ in range(200):
            if len(seen) == 2:
                break
            scheduler.wait(0.05)
        scheduler.stop()
        assert not scheduler.running
        assert [str(o.period) for o in seen] == ["2025-12-01/2026-01-01", "2026-01-01/2026-02-01"]
        assert all(o.check_ok for o in seen)

    def test_leaves_a_busy_payday_to_its_runner(
        self, database: Database, clock: FrozenClock
    ) -> None:
        other = Lease(database, clock)
        other.holder = "elsewhere:1:busy"
        assert other.acquire()
        scheduler = PaydayScheduler(database, clock=clock, settings=settings(), registry=registry())
        assert scheduler.has_work()
        assert scheduler.run_once() == []

    def test_the_server_can_turn_it_off(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("POTLUCK_PAYDAY_SCHEDULE", "false")
        assert start_payday_scheduler(Settings(database_url="sqlite://")) is None
