"""A small instance with pledges of every kind in the period that ended last, for running the
real ``potluck payday`` command against (it reads the system clock)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from potluck.db import Database
from potluck.pledges.rules.periods import Period
from potluck.pledges.rules.schedule import PaydayCadence, period_before, period_containing
from tests.people.factories import make_peer
from tests.pledges.stored import DECLINED, save_card, stored_goal, stored_need, stored_pledge
from tests.projects.factories import make_project


def last_period(now: datetime | None = None) -> Period:
    """The month that ended last: what the command's first payday clears."""
    moment = now or datetime.now(UTC)
    return period_before(period_containing(moment, PaydayCadence.MONTH), PaydayCadence.MONTH)


def seed(database: Database, *, donors: int = 30, seed: int = 7) -> Period:
    """Projects with needs of every rule, and ``donors`` peers pledging toward them during the
    last period: most pay by a card that works, some by a declined card, some by bank transfer."""
    rng = random.Random(seed)
    period = last_period()
    start = period.starts_at + timedelta(hours=1)
    with database.transaction() as session:
        projects = [make_project(session, now=start) for _ in range(4)]
        hosting = [stored_need(session, project, now=start) for project in projects]
        rent = stored_need(
            session, projects[0], title="Rent", amount=9000, funding="shared", now=start
        )
        reached = stored_goal(
            session,
            projects[1],
            amount=3000,
            deadline=period.starts_at + timedelta(days=20),
            now=start,
        )
        missed = stored_goal(
            session,
            projects[2],
            amount=10**7,
            deadline=period.starts_at + timedelta(days=20),
            now=start,
        )
        later = stored_goal(
            session,
            projects[3],
            amount=5000,
            deadline=period.ends_at + timedelta(days=15),
            now=start,
        )
        sharers = 0
        for number in range(donors):
            moment = start + timedelta(minutes=number)
            peer = make_peer(session, now=moment)
            roll = rng.random()
            if roll < 0.75:
                save_card(session, peer)
            elif roll < 0.88:
                save_card(session, peer, DECLINED)
            gift_to, match_to = rng.sample(hosting, 2)
            stored_pledge(session, gift_to, donor=peer, amount=rng.randint(50, 900), now=moment)
            stored_pledge(
                session,
                rng.choice([reached, missed, later]),
                donor=peer,
                kind="all-or-nothing",
                amount=rng.randint(100, 2000),
                now=moment,
            )
            if number == 0 or rng.random() < 0.4:
                # A cap at least the share it joins at, so that no sharer is refused.
                least = -(-rent.amount // (sharers + 1))
                cap = rng.randint(least, max(least, 4000))
                stored_pledge(session, rent, donor=peer, kind="share", cap=cap, now=moment)
                sharers += 1
            elif rng.random() < 0.5:
                stored_pledge(
                    session,
                    match_to,
                    donor=peer,
                    kind="crowdmatch",
                    rate=rng.randint(1, 20),
                    cap=rng.randint(100, 2000),
                    now=moment,
                )
    return period
