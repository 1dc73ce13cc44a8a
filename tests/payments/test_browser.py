"""The payment pages in Chromium: a steward confirms a bank transfer, a donor saves a card."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from potluck.db import Database
from tests.payments.factories import funds, make_giving, start
from tests.people.factories import DEFAULT_PASSWORD
from tests.support.books import assert_books_verify
from tests.support.browser import distinct_colours

pytestmark = pytest.mark.browser


def sign_in(page: Page, email: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


class TestPaymentPagesInABrowser:
    def test_a_steward_confirms_a_bank_transfer(self, page: Page, database: Database) -> None:
        with database.transaction() as session:
            giving = make_giving(session)
            payment = start(session, giving, provider="manual", amounts=(4250,))
            steward_email, code = giving.stewards[0].email, payment.bank_code
        sign_in(page, steward_email)
        page.goto("/payments/awaiting")
        expect(page.get_by_role("heading", level=1)).to_have_text("Bank transfers to confirm")
        expect(page.get_by_text(str(code))).to_be_visible()
        assert distinct_colours(page.screenshot(full_page=True)) > 20
        page.get_by_label("Amount arrived (EUR)").fill("42.5")
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_url(re.compile(r"/payments/awaiting\?done=confirmed$"))
        expect(page.get_by_role("status")).to_contain_text("now in the projects' books")
        assert funds(database, giving.projects[0], "manual") == 4250
        assert_books_verify(database)

    def test_a_donor_saves_a_test_card(self, page: Page, database: Database) -> None:
        with database.transaction() as session:
            donor_email = make_giving(session).donor.email
        sign_in(page, donor_email)
        page.goto("/payments/methods")
        page.get_by_label("Test card number").fill("4000 0000 0000 0000")
        page.get_by_role("button", name="Save test card").click()
        expect(page.get_by_role("alert")).to_contain_text("only test card numbers")
        page.get_by_label("Test card number").fill("4242 4242 4242 4242")
        page.get_by_role("button", name="Save test card").click()
        expect(page.get_by_role("status")).to_contain_text("Your card is saved")
        expect(page.get_by_text("Visa ending 4242 (test card)")).to_be_visible()
        assert distinct_colours(page.screenshot(full_page=True)) > 20
