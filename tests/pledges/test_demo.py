"""The demo's needs, pledges and paydays: every kind, a few paydays, and running it twice
changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from potluck.db import Database
from potluck.demo import DEMO_START, fill
from potluck.pledges.demo import NEEDS, fill_pledges
from potluck.pledges.models import Need, Payday, Pledge
from tests.pledges.conftest import Census
from tests.support.books import assert_books_verify


class TestFillPledges:
    def test_needs_and_pledges_of_every_kind_and_paydays_that_check(
        self, database: Database
    ) -> None:
        # The instance's demo fills needs and pledges too, once its projects exist.
        report = fill(database)
        assert any(
            line.startswith("need “Tile server hosting” of Open River Tiles") for line in report
        )
        assert fill_pledges(database, DEMO_START) == []
        with database.transaction(write=False) as session:
            assert session.scalar(select(func.count()).select_from(Need)) == len(NEEDS)
            kinds = set(session.scalars(select(Pledge.kind)))
            assert kinds == {"gift", "all-or-nothing", "crowdmatch", "share"}
            funding = set(session.scalars(select(Need.funding)))
            assert funding == {"open", "all-or-nothing", "shared"}
            paydays = session.scalars(select(Payday)).all()
        assert len(paydays) >= 2
        assert all(payday.check_ok for payday in paydays)
        assert_books_verify(database)

    def test_running_twice_changes_nothing(self, database: Database, census: Census) -> None:
        fill(database)
        fill_pledges(database, DEMO_START)
        before = census()
        assert fill_pledges(database, DEMO_START) == []
        assert census() == before

    def test_without_the_demo_projects_it_adds_nothing(self, database: Database) -> None:
        assert fill_pledges(database, DEMO_START) == []
