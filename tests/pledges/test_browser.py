"""The pledge form's preview and the need page's chart, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.pledges.models import Need
from tests.people.factories import DEFAULT_PASSWORD
from tests.pledges.conftest import Commons
from tests.pledges.paydays import pay
from tests.pledges.stored import save_card, stored_need, stored_pledge
from tests.support.browser import distinct_colours

pytestmark = pytest.mark.browser


def sign_in(page: Page, email: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture
def rent(database: Database, commons: Commons) -> Need:
    with database.transaction() as session:
        need = stored_need(session, commons.project, title="Rent", amount=6000, funding="shared")
        stored_pledge(session, need, donor=commons.ben, kind="share", cap=6000)
        return need


class TestPledgeForm:
    def test_the_preview_follows_the_typing_then_the_pledge_is_made(
        self, page: Page, rent: Need
    ) -> None:
        sign_in(page, "ana@example.org")
        page.goto(f"/needs/{rent.id}")
        page.evaluate("window.stillTheSamePage = true")
        page.get_by_label("Share of the cost").check()
        # Only the chosen kind's fields show.
        expect(page.get_by_label("Amount (EUR)")).to_be_hidden()
        page.get_by_label("Your cap per payday (EUR)").fill("40.00")
        preview = page.locator("#preview")
        expect(preview).to_contain_text("You would pay 30.00 EUR at the next payday")
        expect(preview.get_by_role("row", name="3 20.00 EUR")).to_be_visible()
        page.get_by_label("Your cap per payday (EUR)").fill("25.00")
        expect(preview).to_contain_text("You would pay nothing today")
        expect(preview).to_contain_text("the current share is 30.00 EUR")
        assert page.evaluate("window.stillTheSamePage") is True
        page.get_by_label("Your cap per payday (EUR)").fill("30.00")
        page.get_by_role("button", name="Pledge", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/needs/{rent.id}\?done=pledged"))
        expect(page.get_by_role("status")).to_contain_text("Thank you!")
        expect(
            page.get_by_text("You pledge an equal share, at most 30.00 EUR a period.")
        ).to_be_visible()

    def test_without_javascript_the_preview_is_a_button_away(
        self, browser: Browser, live_server: str, rent: Need
    ) -> None:
        context = browser.new_context(base_url=live_server, java_script_enabled=False)
        page = context.new_page()
        sign_in(page, "ana@example.org")
        page.goto(f"/needs/{rent.id}")
        page.get_by_label("Share of the cost").check()
        page.get_by_label("Your cap per payday (EUR)").fill("60.00")
        page.get_by_role("button", name="Show what I would pay").click()
        expect(page.locator("#preview")).to_contain_text("You would pay 30.00 EUR")
        expect(page.get_by_label("Your cap per payday (EUR)")).to_have_value("60.00")
        context.close()


class TestNeedChart:
    def test_the_chart_is_drawn_and_described(
        self,
        page: Page,
        database: Database,
        clock: FrozenClock,
        commons: Commons,
        rent: Need,
    ) -> None:
        with database.transaction() as session:
            save_card(session, commons.ben)
        pay(database, clock)
        page.goto(f"/needs/{rent.id}")
        chart = page.get_by_role("img", name="Coverage of “Rent” at each payday")
        expect(chart).to_be_visible()
        expect(chart.locator("rect.bar")).to_have_count(1)
        box = chart.locator("rect.bar").bounding_box()
        assert box is not None
        assert box["height"] > 50
        table = page.get_by_role("table", name="Coverage at each payday")
        expect(table.get_by_role("row", name=re.compile("January 2026|1 Jan 2026"))).to_be_visible()
        assert distinct_colours(page.screenshot(full_page=True)) > 20

    def test_fits_a_phone_screen(self, browser: Browser, live_server: str, rent: Need) -> None:
        phone = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 740})
        page = phone.new_page()
        sign_in(page, "ana@example.org")
        for path in (f"/needs/{rent.id}", "/projects/open-tiles/needs", "/me/giving", "/paydays"):
            page.goto(path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} is wider than a phone by {overflow}px"
        phone.close()
