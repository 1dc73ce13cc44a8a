"""Needs on SQLite and PostgreSQL: stewards add, change and close them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from potluck.db import Database
from potluck.errors import Conflict, Forbidden, InvalidInput
from potluck.people.models import Peer
from potluck.pledges.models import Need, Pledge, PledgeHold, PledgeNotice
from potluck.pledges.rules.schedule import PaydayCadence
from potluck.pledges.service import needs
from potluck.projects.models import ActivityEntry, Project
from tests.people.factories import DEFAULT_NOW
from tests.pledges.conftest import Census, Commons
from tests.pledges.stored import stored_goal, stored_need, stored_pledge
from tests.support.books import assert_books_verify

MONTH = PaydayCadence.MONTH


def add(
    database: Database, commons: Commons, *, steward: Peer | None = None, **overrides: object
) -> Need:
    """Add a need to the commons' project, in a transaction of its own."""
    with database.transaction() as session:
        project = session.get(Project, commons.project.id)
        assert project is not None
        return needs.create_need(
            session,
            project,
            steward=steward or commons.steward,
            terms=terms(**overrides),
            now=DEFAULT_NOW,
            cadence=MONTH,
        )


def change(database: Database, need_id: int, steward: Peer, **overrides: object) -> Need:
    """Change a need, in a transaction of its own."""
    with database.transaction() as session:
        return needs.update_need(
            session,
            needs.get_need(session, need_id),
            steward=steward,
            terms=terms(**overrides),
            now=DEFAULT_NOW,
            cadence=MONTH,
        )


def terms(**overrides: object) -> needs.NeedTerms:
    fields: dict[str, object] = {
        "title": "Hosting",
        "commodity": "EUR",
        "amount": 4000,
        "per": "month",
        "deadline": None,
        "funding": "open",
    }
    fields.update(overrides)
    return needs.NeedTerms(**fields)  # type: ignore[arg-type]


class TestCreateNeed:
    def test_a_steward_adds_a_recurring_cost(self, database: Database, commons: Commons) -> None:
        with database.transaction() as session:
            project = session.get(Project, commons.project.id)
            assert project is not None
            need = needs.create_need(
                session,
                project,
                steward=commons.steward,
                terms=terms(description="  Two small servers.  "),
                now=DEFAULT_NOW,
                cadence=MONTH,
            )
            assert (need.amount, need.per, need.description) == (
                4000,
                "month",
                "Two small servers.",
            )
            entry = session.scalars(
                select(ActivityEntry).where(ActivityEntry.action == "need.created")
            ).one()
            assert entry.summary == (
                "Stella Steward added the need “Hosting”: 40.00 EUR a month, open."
            )

    def test_a_goal_with_a_deadline(self, database: Database, commons: Commons) -> None:
        with database.transaction() as session:
            goal = stored_goal(session, commons.project, amount=120_000)
            assert goal.per is None
            assert goal.deadline == DEFAULT_NOW + timedelta(days=40)

    @pytest.mark.parametrize(
        ("overrides", "field", "words"),
        [
            ({"commodity": "cpu-hour"}, "commodity", "not a currency"),
            ({"commodity": "XXQ"}, "commodity", "not a currency"),
            ({"amount": 0}, "amount", "must be more than zero; 0.00 EUR is not"),
            ({"amount": -500}, "amount", "must be more than zero"),
            ({"title": "  "}, "title", "title of 1 to 120"),
            ({"funding": "lottery"}, "funding", "not a funding rule"),
            ({"per": "decade"}, "per", "not 'decade'"),
            ({"funding": "all-or-nothing"}, "funding", "only a one-off goal"),
            (
                {"per": None, "deadline": DEFAULT_NOW - timedelta(days=1)},
                "deadline",
                "already passed",
            ),
            (
                {"per": None, "deadline": DEFAULT_NOW + timedelta(days=400)},
                "deadline",
                "at most until",
            ),
            ({"per": None, "deadline": None}, "deadline", "needs a deadline"),
        ],
    )
    def test_refuses_bad_terms_and_writes_nothing(
        self,
        *,
        database: Database,
        commons: Commons,
        census: Census,
        overrides: dict[str, Any],
        field: str,
        words: str,
    ) -> None:
        before = census()
        with pytest.raises(InvalidInput, match=words) as raised:
            add(database, commons, **overrides)
        assert raised.value.field == field
        assert census() == before

    def test_only_stewards_add_needs(self, database: Database, commons: Commons) -> None:
        with pytest.raises(Forbidden, match="Only stewards of Open Tiles"):
            add(database, commons, steward=commons.ana)

    def test_an_archived_project_takes_no_needs(self, database: Database, commons: Commons) -> None:
        with database.transaction() as session:
            project = session.get(Project, commons.project.id)
            assert project is not None
            project.archived_at = DEFAULT_NOW
        with pytest.raises(Conflict, match="archived"):
            add(database, commons)


class TestUpdateNeed:
    def test_changes_the_amount_and_logs_it(self, database: Database, commons: Commons) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            needs.update_need(
                session,
                need,
                steward=commons.steward,
                terms=terms(amount=5000),
                now=DEFAULT_NOW,
                cadence=MONTH,
            )
            assert need.amount == 5000
            entry = session.scalars(
                select(ActivityEntry).where(ActivityEntry.action == "need.updated")
            ).one()
            assert entry.details["from"] == {"amount": 4000}
            assert entry.details["to"] == {"amount": 5000}

    def test_nothing_changed_logs_nothing(self, database: Database, commons: Commons) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            needs.update_need(
                session,
                need,
                steward=commons.steward,
                terms=terms(),
                now=DEFAULT_NOW,
                cadence=MONTH,
            )
            assert not session.scalars(
                select(ActivityEntry).where(ActivityEntry.action == "need.updated")
            ).all()

    def test_pledged_terms_stay(self, database: Database, commons: Commons) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            stored_pledge(session, need, donor=commons.ana)
        with pytest.raises(Conflict, match="1 pledge") as raised:
            change(database, need.id, commons.steward, funding="shared")
        assert raised.value.field == "funding"

    def test_a_passed_deadline_may_stay_while_the_title_changes(
        self, database: Database, commons: Commons
    ) -> None:
        deadline = DEFAULT_NOW + timedelta(days=3)
        with database.transaction() as session:
            goal = stored_goal(session, commons.project, deadline=deadline)
        later = deadline + timedelta(days=1)
        with database.transaction() as session:
            goal = needs.get_need(session, goal.id)
            needs.update_need(
                session,
                goal,
                steward=commons.steward,
                terms=terms(
                    title="A new server",
                    per=None,
                    deadline=deadline,
                    funding="all-or-nothing",
                    amount=120_000,
                ),
                now=later,
                cadence=MONTH,
            )
            assert goal.title == "A new server"


class TestCloseNeed:
    def test_cancels_its_pledges_voids_holds_and_tells_donors(
        self, database: Database, commons: Commons
    ) -> None:
        with database.transaction() as session:
            goal = stored_goal(session, commons.project)
            stored_pledge(session, goal, donor=commons.ana, kind="all-or-nothing", amount=5000)
        with database.transaction() as session:
            goal = needs.get_need(session, goal.id)
            needs.close_need(session, goal, steward=commons.steward, now=DEFAULT_NOW)
            pledge = session.scalars(select(Pledge)).one()
            assert pledge.state == "cancelled"
            assert pledge.state_reason == "Open Tiles closed the need “New server”."
        assert_books_verify(database)
        with database.transaction(write=False) as session:
            assert session.scalars(select(PledgeHold.state)).one() == "voided"
            assert "Your pledge" in session.scalars(select(PledgeNotice.message)).one()

    def test_twice_is_refused(self, database: Database, commons: Commons) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            needs.close_need(session, need, steward=commons.steward, now=DEFAULT_NOW)
        with pytest.raises(Conflict, match="already closed"), database.transaction() as session:
            needs.close_need(
                session, needs.get_need(session, need.id), steward=commons.steward, now=DEFAULT_NOW
            )

    def test_only_stewards_close(self, database: Database, commons: Commons) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
        with pytest.raises(Forbidden), database.transaction() as session:
            needs.close_need(
                session, needs.get_need(session, need.id), steward=commons.ana, now=DEFAULT_NOW
            )


def test_deadlines_are_kept_in_utc(database: Database, commons: Commons) -> None:
    deadline = datetime(2026, 2, 1, 12, tzinfo=UTC)
    with database.transaction() as session:
        goal = stored_goal(session, commons.project, deadline=deadline)
    with database.transaction(write=False) as session:
        assert needs.get_need(session, goal.id).deadline == deadline
