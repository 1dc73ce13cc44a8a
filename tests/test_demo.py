"""The demo instance: believable data, and running it twice changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.demo import DEMO_PASSWORD, PEERS, PROJECTS, fill
from potluck.people import service as people
from potluck.people.models import Peer
from potluck.people.service import Throttle
from potluck.projects.models import ActivityEntry, Project, Steward, StewardInvitation


def _counts(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Peer, Project, Steward, StewardInvitation, ActivityEntry)
    }


class TestFill:
    def test_fills_peers_projects_and_stewards(self, database: Database) -> None:
        report = fill(database)
        assert report[0] == "Demo data added:"
        with database.transaction(write=False) as session:
            counts = _counts(session)
            assert counts["peers"] == len(PEERS)
            assert counts["projects"] == len(PROJECTS)
            assert counts["stewards"] == sum(len(p.stewards) for p in PROJECTS)
            pending = session.scalar(
                select(func.count())
                .select_from(StewardInvitation)
                .where(StewardInvitation.state == "pending")
            )
            assert pending == sum(len(p.invited) for p in PROJECTS)

    def test_running_twice_changes_nothing(self, database: Database) -> None:
        fill(database)
        with database.transaction(write=False) as session:
            before = _counts(session)
        assert fill(database) == ["Demo data is already in place; nothing changed."]
        with database.transaction(write=False) as session:
            assert _counts(session) == before

    def test_demo_peers_sign_in_with_the_published_password(
        self, database: Database, clock: FrozenClock
    ) -> None:
        fill(database)
        with database.transaction() as session:
            peer = people.authenticate(
                session,
                email=f"{PEERS[0].handle}@demo.potluck.example",
                password=DEMO_PASSWORD,
                address="127.0.0.1",
                now=clock.now(),
                throttle=Throttle(attempts=5, window=timedelta(minutes=15)),
            )
            assert peer.display_name == PEERS[0].display_name
