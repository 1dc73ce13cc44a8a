"""The pages of needs, pledges and paydays, as a browser without JavaScript sees them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.pledges.models import Need, Pledge
from tests.pledges.conftest import Census, Commons
from tests.pledges.paydays import pay
from tests.pledges.stored import save_card, stored_goal, stored_need, stored_pledge
from tests.projects.factories import browser_session
from tests.projects.pagecheck import (
    HTML,
    accessibility_problems,
    error_next_to,
    page,
    submit,
    visible_text,
)


@pytest.fixture
def hosting(database: Database, commons: Commons) -> Need:
    with database.transaction() as session:
        return stored_need(session, commons.project, amount=6000, funding="shared")


def sign_in(database: Database, client: TestClient, commons: Commons, who: str) -> None:
    with database.transaction() as session:
        browser_session(session, client, getattr(commons, who))


class TestProjectNeeds:
    def test_lists_needs_with_their_coverage(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        with database.transaction() as session:
            stored_pledge(session, hosting, donor=commons.ana, kind="share", cap=6000)
        answer = page(client, "/projects/open-tiles/needs")
        assert answer.status_code == 200
        text = visible_text(answer.text)
        assert "Hosting" in text
        assert "60.00 EUR pledged of 60.00 EUR (100%)" in text
        assert accessibility_problems(answer.text) == []

    def test_a_steward_adds_a_goal_through_the_form(
        self, client: TestClient, database: Database, commons: Commons
    ) -> None:
        sign_in(database, client, commons, "steward")
        answer = submit(
            client,
            "/projects/open-tiles/needs/new",
            {
                "title": "A new server",
                "shape": "goal",
                "commodity": "eur",
                "amount": "1,200.00",
                "deadline": "2026-03-15",
                "funding": "all-or-nothing",
            },
            form_page="/projects/open-tiles/needs/new",
        )
        assert answer.status_code == 303, answer.text
        with database.transaction(write=False) as session:
            need = session.scalars(select(Need)).one()
        assert answer.headers["location"] == f"/needs/{need.id}?done=need-added"
        assert (need.amount, need.commodity, need.per) == (120_000, "EUR", None)
        assert need.deadline == datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)

    def test_form_errors_sit_next_to_their_field(
        self, client: TestClient, database: Database, commons: Commons, census: Census
    ) -> None:
        sign_in(database, client, commons, "steward")
        before = census()
        answer = submit(
            client,
            "/projects/open-tiles/needs/new",
            {"title": "Hosting", "shape": "cost", "commodity": "EUR", "amount": "12.345"},
            form_page="/projects/open-tiles/needs/new",
        )
        assert answer.status_code == 422
        assert "more decimal places than EUR" in error_next_to(answer.text, "amount")
        assert 'value="Hosting"' in answer.text
        assert census() == before
        assert accessibility_problems(answer.text) == []

    def test_only_stewards_see_the_form(
        self, client: TestClient, database: Database, commons: Commons
    ) -> None:
        sign_in(database, client, commons, "ana")
        assert page(client, "/projects/open-tiles/needs/new").status_code == 403


class TestNeedPage:
    def test_before_any_payday(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        answer = page(client, f"/needs/{hosting.id}")
        text = visible_text(answer.text)
        assert "No payday has cleared this need yet" in text
        assert "Sign in to pledge" in text
        assert accessibility_problems(answer.text) == []

    def test_the_chart_has_a_title_a_description_and_its_table(
        self,
        client: TestClient,
        database: Database,
        clock: FrozenClock,
        commons: Commons,
        hosting: Need,
    ) -> None:
        with database.transaction() as session:
            save_card(session, commons.ana)
            stored_pledge(session, hosting, donor=commons.ana, kind="share", cap=6000)
        pay(database, clock)
        answer = page(client, f"/needs/{hosting.id}")
        html = answer.text
        assert '<svg viewBox="0 0 640 240"' in html
        assert 'role="img"' in html
        assert 'aria-labelledby="chart-title chart-desc"' in html
        assert '<title id="chart-title">Coverage of “Hosting” at each payday</title>' in html
        assert "Jan 2026: cleared 60.00 EUR of 60.00 EUR." in html
        assert "<caption>Coverage at each payday</caption>" in html
        text = visible_text(html)
        assert "Cleared at the last payday 60.00 EUR of 60.00 EUR (January 2026)" in text
        assert accessibility_problems(html) == []

    def test_a_pledge_through_the_form(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        sign_in(database, client, commons, "ana")
        answer = submit(
            client,
            f"/needs/{hosting.id}/pledge",
            {"kind": "share", "cap": "60.00", "amount": "", "rate": "", "limit": ""},
            form_page=f"/needs/{hosting.id}",
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == f"/needs/{hosting.id}?done=pledged#pledges"
        with database.transaction(write=False) as session:
            assert session.scalars(select(Pledge.cap)).one() == 6000
        after = visible_text(page(client, f"/needs/{hosting.id}?done=pledged").text)
        assert "Thank you! Your pledge counts from the next payday." in after
        assert "You pledge an equal share, at most 60.00 EUR a period." in after

    def test_a_cap_below_the_share_is_shown_by_its_field(
        self,
        client: TestClient,
        database: Database,
        commons: Commons,
        hosting: Need,
        census: Census,
    ) -> None:
        sign_in(database, client, commons, "ana")
        before = census()
        answer = submit(
            client,
            f"/needs/{hosting.id}/pledge",
            {"kind": "share", "cap": "10.00"},
            form_page=f"/needs/{hosting.id}",
        )
        assert answer.status_code == 422
        assert error_next_to(answer.text, "cap").startswith(
            "A cap of 10.00 EUR is below the current share of 60.00 EUR"
        )
        assert census() == before

    def test_a_missing_kind_is_asked_for(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        sign_in(database, client, commons, "ana")
        answer = submit(client, f"/needs/{hosting.id}/pledge", {}, form_page=f"/needs/{hosting.id}")
        assert answer.status_code == 422
        assert "Choose how you want to pledge." in visible_text(answer.text)


class TestPreview:
    def test_htmx_gets_the_fragment(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        with database.transaction() as session:
            stored_pledge(session, hosting, donor=commons.ben, kind="share", cap=6000)
        answer = client.get(
            f"/needs/{hosting.id}/preview?kind=share&cap=40.00", headers={"HX-Request": "true"}
        )
        assert answer.status_code == 200
        assert answer.text.lstrip().startswith('<div id="preview"')
        text = visible_text(answer.text)
        assert (
            "You would pay 30.00 EUR at the next payday (for January 2026), one of 2 paying" in text
        )
        assert "3 20.00 EUR" in text
        assert answer.headers["vary"] == "HX-Request"

    def test_without_javascript_the_whole_page_shows_it(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        answer = page(client, f"/needs/{hosting.id}/preview?kind=share&cap=60.00")
        text = visible_text(answer.text)
        assert "You would pay 60.00 EUR at the next payday" in text
        assert "<h1>Hosting</h1>" in answer.text

    def test_editing_ones_own_pledge_previews_without_counting_it_twice(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        with database.transaction() as session:
            own = stored_pledge(session, hosting, donor=commons.ana, kind="share", cap=6000)
            stored_pledge(session, hosting, donor=commons.ben, kind="share", cap=6000)
        sign_in(database, client, commons, "ana")
        answer = page(
            client, f"/needs/{hosting.id}/preview?kind=share&cap=60.00&excluding={own.id}"
        )
        text = visible_text(answer.text)
        assert "You would pay 30.00 EUR at the next payday" in text
        assert f'action="/pledges/{own.id}"' in answer.text

    def test_a_bad_number_is_explained(
        self, client: TestClient, database: Database, hosting: Need
    ) -> None:
        answer = client.get(
            f"/needs/{hosting.id}/preview?kind=share&cap=abc", headers={"HX-Request": "true"}
        )
        assert "'abc' is not a number" in visible_text(answer.text)


class TestGiving:
    def test_lists_pledges_with_their_next_cost(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        with database.transaction() as session:
            other = stored_need(session, commons.project, title="Domain", amount=1200)
            stored_pledge(session, hosting, donor=commons.ana, kind="share", cap=6000)
            stored_pledge(session, other, donor=commons.ana, amount=150)
        sign_in(database, client, commons, "ana")
        answer = page(client, "/me/giving")
        assert answer.status_code == 200
        text = visible_text(answer.text)
        assert "Hosting Open Tiles Share of the cost: an equal share, at most 60.00 EUR" in text
        assert "Domain Open Tiles Gift: 1.50 EUR a month" in text
        assert "EUR 61.50 EUR 0.00 EUR 61.50 EUR One payment" in text
        assert accessibility_problems(answer.text) == []

    def test_pause_resume_and_cancel(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        with database.transaction() as session:
            pledge = stored_pledge(session, hosting, donor=commons.ana, kind="share", cap=6000)
        sign_in(database, client, commons, "ana")
        for action, state in (("pause", "paused"), ("resume", "active"), ("cancel", "cancelled")):
            answer = submit(
                client, f"/pledges/{pledge.id}/{action}", {}, form_page="/me/giving?cancelled=true"
            )
            assert answer.status_code == 303, answer.text
            with database.transaction(write=False) as session:
                assert session.get(Pledge, pledge.id).state == state  # type: ignore[union-attr]

    def test_a_pledge_is_changed_on_its_page(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        with database.transaction() as session:
            pledge = stored_pledge(session, hosting, donor=commons.ana, kind="share", cap=6000)
        sign_in(database, client, commons, "ana")
        shown = page(client, f"/pledges/{pledge.id}")
        assert accessibility_problems(shown.text) == []
        answer = submit(
            client, f"/pledges/{pledge.id}", {"cap": "75.00"}, form_page=f"/pledges/{pledge.id}"
        )
        assert answer.status_code == 303, answer.text
        with database.transaction(write=False) as session:
            assert session.get(Pledge, pledge.id).cap == 7500  # type: ignore[union-attr]

    def test_asks_to_sign_in(self, client: TestClient) -> None:
        answer = page(client, "/me/giving")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/sign-in?next=/me/giving"

    def test_a_form_without_its_token_is_refused(
        self, client: TestClient, database: Database, commons: Commons, hosting: Need
    ) -> None:
        with database.transaction() as session:
            pledge = stored_pledge(session, hosting, donor=commons.ana, kind="share", cap=6000)
        sign_in(database, client, commons, "ana")
        answer = client.post(f"/pledges/{pledge.id}/cancel", headers=HTML)
        assert answer.status_code == 403


class TestPaydayPages:
    def test_list_and_one_payday(
        self,
        client: TestClient,
        database: Database,
        clock: FrozenClock,
        commons: Commons,
        hosting: Need,
    ) -> None:
        with database.transaction() as session:
            save_card(session, commons.ana)
            stored_pledge(session, hosting, donor=commons.ana, kind="share", cap=6000)
            goal = stored_goal(session, commons.project, deadline=datetime(2026, 1, 25, tzinfo=UTC))
            stored_pledge(session, goal, donor=commons.ben, kind="all-or-nothing", amount=100)
        (outcome,) = pay(database, clock)
        listed = page(client, "/paydays")
        assert "January 2026 done 1 60.00 EUR agrees with the books" in visible_text(listed.text)
        one = page(client, f"/paydays/{outcome.payday_id}")
        text = visible_text(one.text)
        assert "Payday of January 2026" in text
        assert "Open Tiles EUR 60.00 EUR 60.00 EUR 60.00 EUR 0.00 EUR yes" in text
        assert "New server of Open Tiles: 1,199.00 EUR missing of 1,200.00 EUR" in text
        assert accessibility_problems(one.text) == []
