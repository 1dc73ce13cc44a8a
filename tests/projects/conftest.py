"""Fixtures for the projects tests: peers who exist and a census of what was written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from potluck.db import Database
from potluck.people.models import Peer
from potluck.projects.models import (
    ActivityEntry,
    Project,
    ProjectLink,
    Steward,
    StewardInvitation,
)
from tests.people.factories import make_peer

Census = Callable[[], dict[str, int]]
_TABLES = (Project, ProjectLink, Steward, StewardInvitation, ActivityEntry)


@pytest.fixture
def census(database: Database) -> Census:
    """Row counts of every projects table, to show that a refused request wrote nothing."""

    def count() -> dict[str, int]:
        with database.transaction(write=False) as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in _TABLES
            }

    return count


@pytest.fixture
def ana(database: Database) -> Peer:
    with database.transaction() as session:
        return make_peer(session, email="ana@example.org", display_name="Ana Lima")


@pytest.fixture
def ben(database: Database) -> Peer:
    with database.transaction() as session:
        return make_peer(session, email="ben@example.org", display_name="Ben Okafor")


@pytest.fixture
def cleo(database: Database) -> Peer:
    with database.transaction() as session:
        return make_peer(session, email="cleo@example.org", display_name="Cleo Park")
