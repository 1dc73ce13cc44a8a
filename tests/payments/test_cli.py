"""``potluck payments ...`` on a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from potluck.db import Database
from potluck.pledges.payments.base import PaymentState
from potluck.pledges.payments.cli import app as payments_cli
from tests.payments.factories import Giving, funds, make_giving, reload, start
from tests.people.factories import make_peer
from tests.support.books import assert_books_verify


@pytest.fixture
def runner(database: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("POTLUCK_DATABASE_URL", database.url)
    return CliRunner()


@pytest.fixture
def giving(database: Database) -> Iterator[Giving]:
    with database.transaction() as session:
        made = make_giving(session)
    yield made
    assert_books_verify(database)


def awaiting(database: Database, giving: Giving) -> tuple[int, str]:
    with database.transaction() as session:
        payment = start(session, giving, provider="manual", amounts=(999,))
        return payment.id, str(payment.bank_code)


class TestPaymentsCommands:
    def test_awaiting_lists_the_codes(
        self, runner: CliRunner, database: Database, giving: Giving
    ) -> None:
        _, code = awaiting(database, giving)
        result = runner.invoke(payments_cli, ["awaiting"])
        assert result.exit_code == 0, result.output
        assert code in result.output
        assert "9.99 EUR" in result.output

    def test_a_steward_confirms_by_the_code_typed_loosely(
        self, runner: CliRunner, database: Database, giving: Giving
    ) -> None:
        payment_id, code = awaiting(database, giving)
        typed = code.lower().replace("-", " ")
        result = runner.invoke(
            payments_cli, ["confirm", typed, "--received", "9.99", "--by", giving.stewards[0].email]
        )
        assert result.exit_code == 0, result.output
        assert reload(database, payment_id).payment_state is PaymentState.SUCCEEDED
        assert funds(database, giving.projects[0], "manual") == 999

    def test_a_mistyped_code_is_refused(
        self, runner: CliRunner, database: Database, giving: Giving
    ) -> None:
        payment_id, code = awaiting(database, giving)
        mistyped = code[:-1] + ("A" if code[-1] != "A" else "B")
        result = runner.invoke(
            payments_cli,
            ["confirm", mistyped, "--received", "9.99", "--by", giving.stewards[0].email],
        )
        assert result.exit_code == 1
        assert "not a reference code" in result.output
        assert reload(database, payment_id).payment_state is PaymentState.AWAITING

    def test_an_appointed_admin_may_confirm(
        self, runner: CliRunner, database: Database, giving: Giving
    ) -> None:
        payment_id, code = awaiting(database, giving)
        with database.transaction() as session:
            treasurer = make_peer(session).email
        refused = runner.invoke(
            payments_cli, ["confirm", code, "--received", "9.99", "--by", treasurer]
        )
        assert refused.exit_code == 1
        appointed = runner.invoke(payments_cli, ["appoint-admin", treasurer])
        assert appointed.exit_code == 0, appointed.output
        confirmed = runner.invoke(
            payments_cli, ["confirm", code, "--received", "9.99", "--by", treasurer]
        )
        assert confirmed.exit_code == 0, confirmed.output
        assert reload(database, payment_id).payment_state is PaymentState.SUCCEEDED
