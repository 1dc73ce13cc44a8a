"""Fixtures for the peers tests: a peer who exists, and counting what was written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from potluck.db import Base, Database
from potluck.people.models import Peer
from tests.people.factories import make_peer

CountRows = Callable[[type[Base]], int]


@pytest.fixture
def ada(database: Database) -> Peer:
    """A peer with the default password, committed before the test's requests run."""
    with database.transaction() as session:
        return make_peer(session, email="ada@example.org", display_name="Ada Lovelace")


@pytest.fixture
def count_rows(database: Database) -> CountRows:
    def count(model: type[Base]) -> int:
        with database.transaction(write=False) as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    return count
