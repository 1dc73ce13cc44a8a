"""Fixtures for the needs, pledges and payday tests: a census of what was written and a
project with a steward."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from potluck.db import Database
from potluck.ledger.models import Transfer
from potluck.people.models import Peer
from potluck.pledges.models import (
    Need,
    Payday,
    PaydayCharge,
    PaydayPayment,
    Pledge,
    PledgeHold,
)
from potluck.projects.models import ActivityEntry, Project
from tests.people.factories import make_peer
from tests.projects.factories import make_project

Census = Callable[[], dict[str, int]]
_TABLES = (Need, Pledge, PledgeHold, Transfer, ActivityEntry, Payday, PaydayCharge, PaydayPayment)


@pytest.fixture
def census(database: Database) -> Census:
    """Row counts of every table a pledge or payday writes, to show a refusal wrote nothing."""

    def count() -> dict[str, int]:
        with database.transaction(write=False) as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in _TABLES
            }

    return count


@dataclass(frozen=True)
class Commons:
    """A project, its steward, and two peers who may pledge."""

    project: Project
    steward: Peer
    ana: Peer
    ben: Peer


@pytest.fixture
def commons(database: Database) -> Commons:
    with database.transaction() as session:
        steward = make_peer(session, email="stella@example.org", display_name="Stella Steward")
        project = make_project(session, creator=steward, name="Open Tiles", slug="open-tiles")
        ana = make_peer(session, email="ana@example.org", display_name="Ana Lima")
        ben = make_peer(session, email="ben@example.org", display_name="Ben Okafor")
    return Commons(project, steward, ana, ben)
