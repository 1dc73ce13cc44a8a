"""Many writers at once, submitting overlapping transfers and retrying the same ids."""

from __future__ import annotations

import random
import threading
from collections import Counter

from sqlalchemy import select

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.errors import PotluckError
from potluck.ledger import rules
from potluck.ledger.models import Account, Transfer
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import posting
from tests.ledger.factories import make_books
from tests.support.books import assert_books_verify

THREADS = 8
SUBMISSIONS_PER_THREAD = 40


class TestConcurrentWriters:
    def test_balances_are_exact_and_no_id_counts_twice(
        self, database: Database, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            first = make_books(session)
            second = make_books(session)
        # Two projects' books that share the outside world's account, so writers of both
        # chains meet on one row.
        requests: dict[str, TransferRequest] = {}
        for books, tag in ((first, "a"), (second, "b")):
            for number in range(30):
                requests[f"{tag}-gift-{number}"] = TransferRequest(
                    f"{tag}-gift-{number}", "transfer", books.given.id, books.funds.id, 100
                )
                requests[f"{tag}-spend-{number}"] = TransferRequest(
                    f"{tag}-spend-{number}", "transfer", books.funds.id, books.world.id, 150
                )
        ids = sorted(requests)
        outcomes: Counter[str] = Counter()
        failures: list[BaseException] = []
        start = threading.Barrier(THREADS)

        def writer(seed: int) -> None:
            rng = random.Random(seed)
            # Every gift at least once from each writer, so all of them land; spends compete.
            plan = [i for i in ids if "gift" in i] + rng.choices(ids, k=SUBMISSIONS_PER_THREAD)
            rng.shuffle(plan)
            start.wait()
            for tid in plan:
                try:
                    with database.transaction() as session:
                        posting.post_transfer(session, requests[tid], now=clock.now())
                    outcomes["posted"] += 1
                except rules.InsufficientFunds:
                    outcomes["refused"] += 1
                except PotluckError as error:
                    failures.append(error)

        threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not failures, failures
        assert outcomes["posted"] > 0

        with database.transaction(write=False) as session:
            stored = session.scalars(select(Transfer.id)).all()
            assert len(stored) == len(set(stored))
            assert {i for i in ids if "gift" in i} <= set(stored)
            for books, tag in ((first, "a"), (second, "b")):
                gifts = sum(1 for i in stored if i.startswith(f"{tag}-gift"))
                spends = sum(1 for i in stored if i.startswith(f"{tag}-spend"))
                funds = session.get(Account, books.funds.id)
                assert funds is not None
                assert funds.credits_posted == 100 * gifts
                assert funds.debits_posted == 150 * spends
                assert funds.credits_posted - funds.debits_posted >= 0
        assert_books_verify(database)
