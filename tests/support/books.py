"""The check every test that moves value ends with: the books still verify."""

from __future__ import annotations

from potluck.db import Database
from potluck.ledger.service.verify import verify_books


def assert_books_verify(database: Database) -> None:
    """Recompute every chain and balance of ``database``'s books; fail naming each problem."""
    report = verify_books(database)
    problems = "\n".join(
        f"[{problem.check}] {problem.message} ({', '.join(problem.ids)})"
        for problem in report.problems
    )
    assert report.ok, f"The books do not verify:\n{problems}"
