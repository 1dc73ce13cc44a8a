"""Exports of a project's books, the page that shows them, and the ledger commands."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.ledger import export
from potluck.ledger.cli import app as ledger_cli
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import accounts, books, posting
from tests.ledger.factories import Books, make_books
from tests.support.books import assert_books_verify

BEAN_CHECK = Path(sys.executable).parent / "bean-check"


@pytest.fixture
def ledger(database: Database, clock: FrozenClock) -> Iterator[Books]:
    """Books with money, in-kind cpu-hours, a hold, a partial post, a void and a reversal."""
    with database.transaction() as session:
        made = make_books(session)
        made.in_kind = accounts.open_account(
            session,
            owner="project",
            purpose="in-kind",
            project_id=made.project.id,
            commodity="cpu-hour",
            now=clock.now(),
        )
        cpu_world = accounts.world_account(session, "cpu-hour", now=clock.now())
        steps = [
            [TransferRequest("gift-1", "transfer", made.given.id, made.funds.id, 5000,
                             memo='Monthly "gift"')],
            [TransferRequest("cpu-1", "transfer", cpu_world.id, made.in_kind.id, 12_500)],
            [TransferRequest("hold-1", "hold", made.funds.id, made.world.id, 2000,
                             timeout_seconds=7 * 86400)],
            [TransferRequest("post-1", "post", pending_id="hold-1", amount=1500)],
            [TransferRequest("hold-2", "hold", made.funds.id, made.world.id, 100)],
            [TransferRequest("void-2", "void", pending_id="hold-2")],
            [TransferRequest("oops-1", "transfer", made.given.id, made.funds.id, 99)],
            [TransferRequest("undo-1", "transfer", reverses_id="oops-1")],
            [TransferRequest("hold-3", "hold", made.funds.id, made.world.id, 300)],
        ]  # fmt: skip
        for number, step in enumerate(steps):
            posting.post_batch(session, step, now=clock.now() + timedelta(days=number))
    yield made
    assert_books_verify(database)


def render(database: Database, ledger: Books, fmt: str) -> str:
    with database.transaction(write=False) as session:
        found = books.extract(session, ledger.project, accounts.known_commodities(session))
        return export.render(found, fmt)


class TestCsv:
    def test_one_row_per_transfer_with_exact_amounts(
        self, database: Database, ledger: Books
    ) -> None:
        rows = list(csv.DictReader(io.StringIO(render(database, ledger, "csv"))))
        assert [r["id"] for r in rows][:2] == ["gift-1", "cpu-1"]
        assert rows[0]["amount"] == "50.00"
        assert rows[0]["memo"] == 'Monthly "gift"'
        assert rows[1]["amount"] == "12.500"
        assert rows[1]["commodity"] == "cpu-hour"
        assert len(rows) == 9


class TestJson:
    def test_verifies_on_its_own(self, database: Database, ledger: Books) -> None:
        data = json.loads(render(database, ledger, "json"))
        report = export.verify_export(data)
        assert report.ok, report.problems
        assert report.transfers == 9
        assert data["open_holds"] == ["hold-3"]

    def test_a_tampered_export_does_not_verify(self, database: Database, ledger: Books) -> None:
        data = json.loads(render(database, ledger, "json"))
        data["transfers"][0]["amount"] += 1
        report = export.verify_export(data)
        assert any("gift-1" in p.ids for p in report.problems)


class TestBeancount:
    def test_passes_bean_check(self, database: Database, ledger: Books, tmp_path: Path) -> None:
        ledger_file = tmp_path / "books.beancount"
        ledger_file.write_text(render(database, ledger, "beancount"))
        checked = subprocess.run(
            [str(BEAN_CHECK), str(ledger_file)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr + ledger_file.read_text()

    def test_holds_appear_only_as_what_was_posted(self, database: Database, ledger: Books) -> None:
        text = render(database, ledger, "beancount")
        assert "-15.00 EUR" in text
        assert "hold-2" not in text
        assert "CPU-HOUR" in text
        # Funds: 50.00 given - 15.00 posted + 0.99 - 0.99 reversed = 35.00.
        assert (
            f"balance {export.beancount_account(self._funds(database, ledger))}  35.00 EUR" in text
        )

    def _funds(self, database: Database, ledger: Books) -> books.AccountView:
        with database.transaction(write=False) as session:
            found = books.extract(session, ledger.project, accounts.known_commodities(session))
        return found.accounts[ledger.funds.id]


class TestBooksPage:
    def test_shows_balances_and_transfers(self, client: TestClient, ledger: Books) -> None:
        page = client.get(f"/projects/{ledger.project.slug}/books")
        assert page.status_code == 200
        assert "35.00 EUR" in page.text
        assert "3.00 EUR" in page.text  # held by hold-3
        assert ledger.custodian.name in page.text
        assert "12.500 cpu-hour" in page.text
        assert 'href="/api/v1/projects/' in page.text

    def test_filters_by_commodity_and_period(self, client: TestClient, ledger: Books) -> None:
        slug = ledger.project.slug
        cpu = client.get(f"/projects/{slug}/books?commodity=cpu-hour").text
        assert 'id="t-cpu-1"' in cpu
        assert 'id="t-gift-1"' not in cpu
        day = client.get(f"/projects/{slug}/books?since=2026-01-05&until=2026-01-05").text
        assert 'id="t-gift-1"' in day
        assert 'id="t-cpu-1"' not in day

    def test_a_bad_date_is_named_next_to_its_field(self, client: TestClient, ledger: Books) -> None:
        page = client.get(f"/projects/{ledger.project.slug}/books?since=yesterday")
        assert page.status_code == 200
        assert "is not a date such as 2026-03-01" in page.text

    def test_unknown_project_is_404(self, client: TestClient, ledger: Books) -> None:
        page = client.get("/projects/nope/books", headers={"Accept": "text/html"})
        assert page.status_code == 404

    def test_downloads_each_format(self, client: TestClient, ledger: Books) -> None:
        for fmt in export.FORMATS:
            answer = client.get(f"/api/v1/projects/{ledger.project.slug}/books/export?format={fmt}")
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith(export.MEDIA_TYPES[fmt].split(";")[0])
            assert "attachment" in answer.headers["content-disposition"]


class TestCommands:
    @pytest.fixture
    def runner(self, database: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
        monkeypatch.setenv("POTLUCK_DATABASE_URL", database.url)
        return CliRunner()

    def test_verify_prints_what_it_checked(self, runner: CliRunner, ledger: Books) -> None:
        result = runner.invoke(ledger_cli, ["verify"])
        assert result.exit_code == 0, result.output
        assert "hash chain(s) recomputed over 9 transfer(s)" in result.output
        assert "The books verify." in result.output

    def test_verify_fails_naming_the_offender(
        self, runner: CliRunner, ledger: Books, database: Database
    ) -> None:
        from sqlalchemy import text  # noqa: PLC0415

        from potluck.db import drop_append_only_ddl  # noqa: PLC0415

        with database.transaction() as session:
            for statement in drop_append_only_ddl(database.dialect, "ledger_transfers"):
                session.execute(text(statement))
            session.execute(text("UPDATE ledger_transfers SET memo = 'x' WHERE id = 'cpu-1'"))
        result = runner.invoke(ledger_cli, ["verify"])
        assert result.exit_code == 1
        assert "cpu-1" in result.output
        with database.transaction() as session:
            session.execute(text("UPDATE ledger_transfers SET memo = '' WHERE id = 'cpu-1'"))

    def test_export_writes_a_file(self, runner: CliRunner, ledger: Books, tmp_path: Path) -> None:
        target = tmp_path / "books.beancount"
        result = runner.invoke(
            ledger_cli,
            ["export", ledger.project.slug, "--format", "beancount", "--output", str(target)],
        )
        assert result.exit_code == 0, result.output
        assert "Books of" in target.read_text()

    def test_export_of_an_unknown_project_is_refused(
        self, runner: CliRunner, ledger: Books
    ) -> None:
        result = runner.invoke(ledger_cli, ["export", "nope"])
        assert result.exit_code == 2
        assert "no project 'nope'" in result.output

    def test_expire_ends_due_holds(self, runner: CliRunner, ledger: Books) -> None:
        result = runner.invoke(ledger_cli, ["expire"])
        assert result.exit_code == 0, result.output
        assert "Expired 0 hold(s)." in result.output  # hold-1 was posted; the rest never expire

    def test_add_unit(self, runner: CliRunner, ledger: Books) -> None:
        result = runner.invoke(
            ledger_cli, ["add-unit", "gpu-hour", "--precision", "4", "--name", "GPU"]
        )
        assert result.exit_code == 0, result.output
        bad = runner.invoke(ledger_cli, ["add-unit", "GPU", "--precision", "4", "--name", "GPU"])
        assert bad.exit_code == 2
        assert "not a resource unit" in bad.output
