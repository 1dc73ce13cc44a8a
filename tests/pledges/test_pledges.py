"""Pledges on SQLite and PostgreSQL: made, refused, changed, paused, resumed and cancelled;
all-or-nothing pledges held in the books."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from potluck.db import Database
from potluck.errors import Conflict, Forbidden, InvalidInput, PotluckError
from potluck.ledger.models import Account, Transfer
from potluck.people.models import Peer
from potluck.pledges.models import Need, Pledge, PledgeHold
from potluck.pledges.rules.schedule import PaydayCadence
from potluck.pledges.service import holds, needs, pledges
from potluck.projects.models import Project
from tests.people.factories import DEFAULT_NOW
from tests.pledges.conftest import Census, Commons
from tests.pledges.stored import stored_goal, stored_need, stored_pledge
from tests.support.books import assert_books_verify

MONTH = PaydayCadence.MONTH


def make(
    database: Database, need: Need, donor: Peer, *, now: datetime = DEFAULT_NOW, **terms: Any
) -> Pledge:
    """Pledge ``terms`` toward ``need`` as ``donor``, in a transaction of its own."""
    with database.transaction() as session:
        peer = session.get(Peer, donor.id)
        assert peer is not None
        return pledges.make_pledge(
            session,
            needs.get_need(session, need.id),
            donor=peer,
            terms=pledges.PledgeTerms(**terms),
            now=now,
            cadence=MONTH,
        )


def refused(
    database: Database,
    census: Census,
    need: Need,
    donor: Peer,
    *,
    error: type[PotluckError],
    words: str,
    **terms: Any,
) -> PotluckError:
    before = census()
    with pytest.raises(error, match=words) as raised:
        make(database, need, donor, **terms)
    assert census() == before, "a refused pledge wrote something"
    return raised.value


def insert_raw(
    database: Database, need: Need, donor: Peer, *, commodity: str, per: str | None
) -> None:
    """A gift written straight to the table, past every check but the database's own."""
    with database.transaction() as session:
        session.add(
            Pledge(
                need_id=need.id,
                donor_id=donor.id,
                kind="gift",
                commodity=commodity,
                amount=100,
                per=per,
                created_at=DEFAULT_NOW,
                updated_at=DEFAULT_NOW,
            )
        )
        session.flush()


def holds_of(database: Database, pledge_id: int) -> list[tuple[str, str]]:
    with database.transaction(write=False) as session:
        return [
            (hold.transfer_id, hold.state)
            for hold in session.scalars(
                select(PledgeHold)
                .where(PledgeHold.pledge_id == pledge_id)
                .order_by(PledgeHold.revision)
            )
        ]


def kinds_in_books(database: Database) -> list[tuple[str, str, int]]:
    with database.transaction(write=False) as session:
        return [
            (row.id, row.kind, row.amount)
            for row in session.execute(
                select(Transfer.id, Transfer.kind, Transfer.amount).order_by(Transfer.seq)
            )
        ]


@pytest.fixture
def need(database: Database, commons: Commons) -> Need:
    with database.transaction() as session:
        return stored_need(session, commons.project)


@pytest.fixture
def shared(database: Database, commons: Commons) -> Need:
    with database.transaction() as session:
        return stored_need(session, commons.project, title="Rent", amount=6000, funding="shared")


@pytest.fixture
def goal(database: Database, commons: Commons) -> Need:
    with database.transaction() as session:
        return stored_goal(session, commons.project, amount=100_000)


class TestMakePledge:
    def test_a_monthly_gift(self, database: Database, commons: Commons, need: Need) -> None:
        made = make(database, need, commons.ana, kind="gift", amount=500, per="month")
        assert (made.kind, made.amount, made.per, made.state) == ("gift", 500, "month", "active")
        assert made.commodity == "EUR"

    def test_a_crowdmatch_pledge(self, database: Database, commons: Commons, need: Need) -> None:
        made = make(database, need, commons.ana, kind="crowdmatch", rate=10, cap=1000)
        assert (made.rate, made.cap) == (10, 1000)

    def test_the_first_share_must_accept_the_whole_cost(
        self, database: Database, commons: Commons, shared: Need, census: Census
    ) -> None:
        error = refused(
            database,
            census,
            shared,
            commons.ana,
            error=InvalidInput,
            words="A cap of 30.00 EUR is below the current share of 60.00 EUR for need",
            kind="share",
            cap=3000,
        )
        assert error.field == "cap"
        make(database, shared, commons.ana, kind="share", cap=6000)
        # With one sharer already, a second halves the share: 30.00 is enough now.
        made = make(database, shared, commons.ben, kind="share", cap=3000)
        assert made.cap == 3000

    def test_gifts_lower_the_share(
        self, database: Database, commons: Commons, shared: Need
    ) -> None:
        make(database, shared, commons.ana, kind="gift", amount=5000, per="month")
        made = make(database, shared, commons.ben, kind="share", cap=1000)
        assert made.cap == 1000

    def test_an_all_or_nothing_pledge_is_held_in_the_books(
        self, database: Database, commons: Commons, goal: Need
    ) -> None:
        made = make(database, goal, commons.ana, kind="all-or-nothing", amount=2500)
        assert holds_of(database, made.id) == [(f"pledge:{made.id}:r1:hold", "open")]
        with database.transaction(write=False) as session:
            hold = session.get(Transfer, f"pledge:{made.id}:r1:hold")
            assert hold is not None
            assert hold.kind == "hold"
            assert hold.amount == 2500
            assert hold.timeout_at is not None
            assert hold.timeout_at > (goal.deadline or DEFAULT_NOW)
            debit = session.get(Account, hold.debit_account_id)
            credit = session.get(Account, hold.credit_account_id)
            assert debit is not None
            assert credit is not None
            assert (debit.owner, debit.purpose, debit.peer_id) == (
                "peer",
                "pledged",
                commons.ana.id,
            )
            assert (credit.owner, credit.purpose, credit.project_id) == (
                "project",
                "pledged",
                commons.project.id,
            )
            assert credit.credits_pending == 2500
        assert_books_verify(database)

    def test_anonymous_pledges_hide_their_donor(
        self, database: Database, commons: Commons, need: Need
    ) -> None:
        make(database, need, commons.ana, kind="gift", amount=500, per="month", anonymous=True)
        make(database, need, commons.ben, kind="gift", amount=700, per="month")
        with database.transaction(write=False) as session:
            shown = pledges.public_pledges(session, needs.get_need(session, need.id))
        assert [item.donor.display_name if item.donor else None for item in shown] == [
            None,
            "Ben Okafor",
        ]

    @pytest.mark.parametrize(
        ("terms", "error", "field", "words"),
        [
            (
                {"kind": "gift", "amount": 500, "commodity": "USD"},
                InvalidInput,
                "commodity",
                r"This pledge is in USD, but need .* is counted in EUR",
            ),
            ({"kind": "gift", "amount": 0}, InvalidInput, "amount", "more than zero; 0.00 EUR"),
            ({"kind": "gift", "amount": -100}, InvalidInput, "amount", "more than zero; -1.00 EUR"),
            ({"kind": "gift"}, InvalidInput, "amount", "A gift pledge needs an amount"),
            (
                {"kind": "gift", "amount": 500, "cap": 10},
                InvalidInput,
                "cap",
                "has an amount and a cadence, not a cap",
            ),
            (
                {"kind": "crowdmatch", "rate": 100, "cap": 50},
                InvalidInput,
                "limit",
                r"limit of 50 .* below its rate",
            ),
            (
                {"kind": "crowdmatch", "rate": 0, "cap": 50},
                InvalidInput,
                "rate",
                "The rate must be more than zero",
            ),
            (
                {"kind": "share", "cap": 6000},
                InvalidInput,
                "kind",
                "funded open: it takes gift or crowdmatch pledges, not share",
            ),
            (
                {"kind": "all-or-nothing", "amount": 500},
                InvalidInput,
                "kind",
                "not all-or-nothing",
            ),
            ({"kind": "bet", "amount": 500}, InvalidInput, "kind", "not a kind of pledge"),
            (
                {"kind": "gift", "amount": 500, "per": "fortnight"},
                InvalidInput,
                "per",
                "not 'fortnight'",
            ),
        ],
    )
    def test_refuses_bad_terms_naming_them(
        self,
        *,
        database: Database,
        commons: Commons,
        need: Need,
        census: Census,
        terms: dict[str, Any],
        error: type[PotluckError],
        field: str,
        words: str,
    ) -> None:
        raised = refused(database, census, need, commons.ana, error=error, words=words, **terms)
        assert raised.field == field

    def test_refuses_a_pledge_on_an_archived_project(
        self, database: Database, commons: Commons, need: Need, census: Census
    ) -> None:
        with database.transaction() as session:
            project = session.get(Project, commons.project.id)
            assert project is not None
            project.archived_at = DEFAULT_NOW
        refused(
            database,
            census,
            need,
            commons.ana,
            error=Conflict,
            words="Open Tiles is archived",
            kind="gift",
            amount=500,
        )

    def test_refuses_a_pledge_on_a_closed_need(
        self, database: Database, commons: Commons, need: Need, census: Census
    ) -> None:
        with database.transaction() as session:
            needs.close_need(
                session, needs.get_need(session, need.id), steward=commons.steward, now=DEFAULT_NOW
            )
        refused(
            database,
            census,
            need,
            commons.ana,
            error=Conflict,
            words=r"Need .* “Hosting” is closed",
            kind="gift",
            amount=500,
        )

    def test_refuses_all_or_nothing_after_the_deadline(
        self, database: Database, commons: Commons, goal: Need, census: Census
    ) -> None:
        assert goal.deadline is not None
        before = census()
        with pytest.raises(InvalidInput, match=r"deadline .* has passed") as raised:
            make(
                database,
                goal,
                commons.ana,
                now=goal.deadline + timedelta(minutes=1),
                kind="all-or-nothing",
                amount=500,
            )
        assert raised.value.field == "need_id"
        assert census() == before

    def test_refuses_a_second_standing_pledge(
        self, database: Database, commons: Commons, need: Need, census: Census
    ) -> None:
        first = make(database, need, commons.ana, kind="gift", amount=500, per="month")
        refused(
            database,
            census,
            need,
            commons.ana,
            error=Conflict,
            words=rf"already pledge toward need .* \(pledge {first.id}\)",
            kind="crowdmatch",
            rate=10,
            cap=100,
        )

    def test_one_off_gifts_may_repeat(
        self, database: Database, commons: Commons, need: Need
    ) -> None:
        make(database, need, commons.ana, kind="gift", amount=500, per="month")
        make(database, need, commons.ana, kind="gift", amount=2000, per=None)
        make(database, need, commons.ana, kind="gift", amount=1000, per=None)
        with database.transaction(write=False) as session:
            assert len(session.scalars(select(Pledge)).all()) == 3

    def test_the_database_refuses_two_standing_pledges_too(
        self, database: Database, commons: Commons, need: Need
    ) -> None:
        make(database, need, commons.ana, kind="gift", amount=500, per="month")
        with pytest.raises(IntegrityError, match=r"(?i)unique"):
            insert_raw(database, need, commons.ana, commodity="EUR", per="week")

    def test_the_database_refuses_another_currency_than_the_need(
        self, database: Database, commons: Commons, need: Need
    ) -> None:
        with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
            insert_raw(database, need, commons.ana, commodity="USD", per=None)


class TestUpdatePledge:
    def test_changes_a_gift(self, database: Database, commons: Commons, need: Need) -> None:
        made = make(database, need, commons.ana, kind="gift", amount=500, per="month")
        with database.transaction() as session:
            mine = pledges.own_pledge(session, made.id, commons.ana)
            pledges.update_pledge(
                session,
                mine,
                donor=commons.ana,
                terms=pledges.PledgeTerms(kind="gift", amount=800, per="week"),
                now=DEFAULT_NOW + timedelta(days=1),
                cadence=MONTH,
            )
            assert (mine.amount, mine.per, mine.revision) == (800, "week", 2)
            assert mine.created_at == DEFAULT_NOW

    def test_a_changed_all_or_nothing_pledge_is_held_anew(
        self, database: Database, commons: Commons, goal: Need
    ) -> None:
        made = make(database, goal, commons.ana, kind="all-or-nothing", amount=2500)
        with database.transaction() as session:
            mine = pledges.own_pledge(session, made.id, commons.ana)
            pledges.update_pledge(
                session,
                mine,
                donor=commons.ana,
                terms=pledges.PledgeTerms(kind="all-or-nothing", amount=4000),
                now=DEFAULT_NOW,
                cadence=MONTH,
            )
        assert holds_of(database, made.id) == [
            (f"pledge:{made.id}:r1:hold", "voided"),
            (f"pledge:{made.id}:r2:hold", "open"),
        ]
        assert [kind for _, kind, _ in kinds_in_books(database)] == ["hold", "void", "hold"]
        assert_books_verify(database)

    def test_the_kind_stays(self, database: Database, commons: Commons, need: Need) -> None:
        made = make(database, need, commons.ana, kind="gift", amount=500, per="month")
        with pytest.raises(InvalidInput, match="stays one") as raised, database.transaction() as s:
            pledges.update_pledge(
                s,
                pledges.own_pledge(s, made.id, commons.ana),
                donor=commons.ana,
                terms=pledges.PledgeTerms(kind="crowdmatch", rate=1, cap=10),
                now=DEFAULT_NOW,
                cadence=MONTH,
            )
        assert raised.value.field == "kind"

    def test_a_share_cap_below_the_current_share_is_refused(
        self, database: Database, commons: Commons, shared: Need
    ) -> None:
        made = make(database, shared, commons.ana, kind="share", cap=6000)
        with (
            pytest.raises(InvalidInput, match=r"below the current share of 60\.00 EUR"),
            database.transaction() as s,
        ):
            pledges.update_pledge(
                s,
                pledges.own_pledge(s, made.id, commons.ana),
                donor=commons.ana,
                terms=pledges.PledgeTerms(kind="share", cap=5999),
                now=DEFAULT_NOW,
                cadence=MONTH,
            )

    def test_only_its_donor_changes_it(
        self, database: Database, commons: Commons, need: Need
    ) -> None:
        made = make(database, need, commons.ana, kind="gift", amount=500, per="month")
        with pytest.raises(Forbidden, match="another peer's"), database.transaction() as s:
            pledges.own_pledge(s, made.id, commons.ben)


class TestPausePledge:
    def test_leaves_it_out_and_releases_the_hold(
        self, database: Database, commons: Commons, goal: Need
    ) -> None:
        made = make(database, goal, commons.ana, kind="all-or-nothing", amount=2500)
        with database.transaction() as s:
            paused = pledges.pause_pledge(
                s, pledges.own_pledge(s, made.id, commons.ana), donor=commons.ana, now=DEFAULT_NOW
            )
            assert paused.state == "paused"
        assert holds_of(database, made.id) == [(f"pledge:{made.id}:r1:hold", "voided")]
        assert_books_verify(database)

    def test_after_the_deadline_an_all_or_nothing_pledge_stays(
        self, database: Database, commons: Commons, goal: Need
    ) -> None:
        made = make(database, goal, commons.ana, kind="all-or-nothing", amount=2500)
        assert goal.deadline is not None
        with pytest.raises(Conflict, match="its payday decides"), database.transaction() as s:
            pledges.pause_pledge(
                s,
                pledges.own_pledge(s, made.id, commons.ana),
                donor=commons.ana,
                now=goal.deadline + timedelta(seconds=1),
            )


class TestResumePledge:
    def test_holds_an_all_or_nothing_pledge_again(
        self, database: Database, commons: Commons, goal: Need
    ) -> None:
        made = make(database, goal, commons.ana, kind="all-or-nothing", amount=2500)
        with database.transaction() as s:
            mine = pledges.own_pledge(s, made.id, commons.ana)
            pledges.pause_pledge(s, mine, donor=commons.ana, now=DEFAULT_NOW)
            pledges.resume_pledge(s, mine, donor=commons.ana, now=DEFAULT_NOW, cadence=MONTH)
            assert mine.state == "active"
        assert holds_of(database, made.id) == [
            (f"pledge:{made.id}:r1:hold", "voided"),
            (f"pledge:{made.id}:r2:hold", "open"),
        ]
        assert_books_verify(database)

    def test_not_on_a_closed_need(self, database: Database, commons: Commons, need: Need) -> None:
        made = make(database, need, commons.ana, kind="gift", amount=500, per="month")
        with database.transaction() as s:
            pledges.pause_pledge(
                s, pledges.own_pledge(s, made.id, commons.ana), donor=commons.ana, now=DEFAULT_NOW
            )
            needs.close_need(
                s, needs.get_need(s, need.id), steward=commons.steward, now=DEFAULT_NOW
            )
        with pytest.raises(Conflict, match=r"closed|cancelled"), database.transaction() as s:
            pledges.resume_pledge(
                s,
                pledges.own_pledge(s, made.id, commons.ana),
                donor=commons.ana,
                now=DEFAULT_NOW,
                cadence=MONTH,
            )


class TestCancelPledge:
    def test_ends_it_for_good(self, database: Database, commons: Commons, goal: Need) -> None:
        made = make(database, goal, commons.ana, kind="all-or-nothing", amount=2500)
        with database.transaction() as s:
            mine = pledges.own_pledge(s, made.id, commons.ana)
            pledges.cancel_pledge(s, mine, donor=commons.ana, now=DEFAULT_NOW)
        with pytest.raises(Conflict, match="is cancelled"), database.transaction() as s:
            pledges.resume_pledge(
                s,
                pledges.own_pledge(s, made.id, commons.ana),
                donor=commons.ana,
                now=DEFAULT_NOW,
                cadence=MONTH,
            )
        assert holds_of(database, made.id) == [(f"pledge:{made.id}:r1:hold", "voided")]
        # Cancelled, the donor may pledge toward the need again.
        again = make(database, goal, commons.ana, kind="all-or-nothing", amount=100)
        assert again.id != made.id
        assert_books_verify(database)


def test_pledged_accounts_are_opened_once(database: Database, commons: Commons) -> None:
    with database.transaction() as session:
        first = holds.pledged_account(
            session, commodity="EUR", peer_id=commons.ana.id, now=DEFAULT_NOW
        )
        again = holds.pledged_account(
            session, commodity="EUR", peer_id=commons.ana.id, now=DEFAULT_NOW
        )
        other = holds.pledged_account(
            session, commodity="EUR", project_id=commons.project.id, now=DEFAULT_NOW
        )
        assert first == again != other
        with pytest.raises(ValueError, match="exactly one"):
            holds.pledged_account(session, commodity="EUR", now=DEFAULT_NOW)


def test_stored_helpers(database: Database, commons: Commons) -> None:
    with database.transaction() as session:
        need = stored_need(session, commons.project)
        made = stored_pledge(session, need, donor=commons.ana)
        assert made.amount == 500
