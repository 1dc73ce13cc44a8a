"""The public books page in Chromium: balances, filtering transfers, downloading an export."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import accounts, posting
from tests.ledger.factories import make_books
from tests.support.books import assert_books_verify
from tests.support.browser import distinct_colours

pytestmark = pytest.mark.browser


class TestBooksPage:
    def test_a_visitor_reads_filters_and_downloads_the_books(
        self, page: Page, database: Database, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            books = make_books(session)
            in_kind = accounts.open_account(
                session,
                owner="project",
                purpose="in-kind",
                project_id=books.project.id,
                commodity="cpu-hour",
                now=clock.now(),
            )
            cpu_world = accounts.world_account(session, "cpu-hour", now=clock.now())
            posting.post_batch(
                session,
                [TransferRequest("gift-1", "transfer", books.given.id, books.funds.id, 4200,
                                 memo="Hosting for March")],
                now=clock.now(),
            )  # fmt: skip
            posting.post_batch(
                session,
                [TransferRequest("cpu-1", "transfer", cpu_world.id, in_kind.id, 7250,
                                 memo="Test farm cycles")],
                now=clock.now() + timedelta(days=3),
            )  # fmt: skip
            slug = books.project.slug

        page.goto(f"/projects/{slug}/books")
        expect(page.get_by_role("heading", name="Balances")).to_be_visible()
        expect(page.get_by_role("cell", name="42.00 EUR").first).to_be_visible()
        expect(page.get_by_role("cell", name="Test farm cycles")).to_be_visible()
        assert distinct_colours(page.screenshot(full_page=True)) > 20

        page.get_by_label("Commodity").select_option("EUR")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("cell", name="Hosting for March")).to_be_visible()
        expect(page.get_by_role("cell", name="Test farm cycles")).to_have_count(0)

        with page.expect_download() as download:
            page.get_by_role("link", name="beancount").click()
        text = download.value.path().read_text()
        assert "Hosting for March" in text
        assert_books_verify(database)
