"""How fast "what would I pay" answers, through the service, for one need with 10,000 pledges.

Run from the repository root::

    .venv/bin/python -m bench.preview [--pledges 10000] [--engine sqlite|postgresql|both]

Goal (issue 4): at most 50 ms per preview for a project with 10,000 pledges. Each preview runs
in its own read transaction, loading what it needs from the database, as a request does. The
baseline, measured in the same run, is the plain way: load every pledge of the need as an ORM
object and clear the need with the new pledge added.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bench.ledger_common import database_for
from bench.payday import _bulk
from potluck.db import Database
from potluck.ledger.service import accounts
from potluck.pledges import rules
from potluck.pledges.models import Pledge
from potluck.pledges.rules.schedule import PaydayCadence
from potluck.pledges.service import forecast, loading, needs

GOAL_MS = 50.0
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
SHARED, MATCHED = 1, 2


def seed(database: Database, pledges: int, seed: int) -> None:
    """One project with a shared cost and an open need, each with ``pledges`` pledges from as
    many peers (shares and a few gifts; crowdmatch and a few gifts)."""
    rng = random.Random(seed)
    with database.transaction() as session:
        accounts.get_commodity(session, "EUR")
        _bulk(
            session,
            "peers",
            ("id", "email", "display_name", "password_hash", "bio", "created_at"),
            (
                (i, f"p{i}@bench.example", f"Peer {i}", "-", "", BEFORE)
                for i in range(1, pledges + 2)
            ),
        )
        _bulk(
            session,
            "projects",
            ("id", "slug", "name", "summary", "description", "licence", "search_text",
             "created_at", "updated_at"),
            [(1, "bench", "Bench", "Bench", "", "MIT", "", BEFORE, BEFORE)],
        )  # fmt: skip
        _bulk(
            session,
            "needs",
            ("id", "project_id", "title", "description", "commodity", "amount", "per",
             "funding", "created_by_id", "created_at", "updated_at"),
            [
                (SHARED, 1, "Rent", "", "EUR", 2_000_000, "month", "shared", 1, BEFORE, BEFORE),
                (MATCHED, 1, "Hosting", "", "EUR", 500_000, "month", "open", 1, BEFORE, BEFORE),
            ],
        )  # fmt: skip
        rows: list[tuple[object, ...]] = []
        for donor in range(1, pledges + 1):
            made = BEFORE + timedelta(seconds=donor)
            gift = rng.random() < 0.05
            rows.append(
                (2 * donor - 1, SHARED, donor, "gift" if gift else "share", "EUR",
                 rng.randint(100, 5_000) if gift else None, "month" if gift else None, None,
                 None if gift else rng.randint(50, 5_000), "active", False, 1, "", made, made)
            )  # fmt: skip
            rate = rng.randint(1, 10)
            rows.append(
                (2 * donor, MATCHED, donor, "gift" if gift else "crowdmatch", "EUR",
                 rng.randint(100, 5_000) if gift else None, "month" if gift else None,
                 None if gift else rate, None if gift else rate * rng.randint(1, 30_000),
                 "active", False, 1, "", made, made)
            )  # fmt: skip
        _bulk(
            session,
            "pledges",
            ("id", "need_id", "donor_id", "kind", "commodity", "amount", "per", "rate", "cap",
             "state", "anonymous", "revision", "state_reason", "created_at", "updated_at"),
            rows,
        )  # fmt: skip


def through_service(database: Database, need_id: int, kind: str) -> Callable[[], int]:
    def preview() -> int:
        with database.transaction(write=False) as session:
            need = needs.get_need(session, need_id)
            result = forecast.preview(
                session,
                need,
                kind=kind,
                cap=400 if kind == "share" else 50_000,
                rate=None if kind == "share" else 5,
                now=NOW,
                cadence=PaydayCadence.MONTH,
            )
            return result.preview.today

    return preview


def plain_way(database: Database, need_id: int, kind: str) -> Callable[[], int]:
    """The baseline: every pledge as an ORM object, then the clearing with the new one."""

    def preview() -> int:
        with database.transaction(write=False) as session:
            need = needs.get_need(session, need_id)
            period = forecast.next_period(session, NOW, PaydayCadence.MONTH)
            rows = session.scalars(
                select(Pledge).where(Pledge.need_id == need_id, Pledge.state == "active")
            ).all()
            existing = [loading.rule_pledge(row) for row in rows]
            common = {"id": 10**9, "donor_id": 10**9, "need_id": need_id, "commodity": "EUR"}
            mine: rules.Pledge
            if kind == "share":
                mine = rules.Share(cap=400, created_at=NOW, **common)  # type: ignore[arg-type]
            else:
                mine = rules.Crowdmatch(rate=5, limit=50_000, created_at=NOW, **common)  # type: ignore[arg-type]
            clearing = rules.clear([loading.rule_need(need)], [*existing, mine], period)
            return next((c.amount for c in clearing.charges if c.pledge_id == mine.id), 0)

    return preview


def millis(action: Callable[[], int], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per run; CPU time shows what the run would take with a
    processor to itself when other processes share the machine."""
    action()
    wall, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return wall, cpu


def run(engine: str, args: argparse.Namespace) -> None:
    with database_for(engine) as database:
        seed(database, args.pledges, args.seed)
        print(f"\n{engine}: one project, {args.pledges:,} pledges toward each need")
        for kind, need_id in (("share", SHARED), ("crowdmatch", MATCHED)):
            service, cpu = millis(through_service(database, need_id, kind), args.runs)
            plain, _ = millis(plain_way(database, need_id, kind), max(5, args.runs // 10))
            median, baseline = statistics.median(service), statistics.median(plain)
            print(
                f"  {kind:<10} preview through the service: median {median:6.2f} ms "
                f"({statistics.median(cpu):.2f} ms CPU), max {max(service):6.2f} ms over "
                f"{args.runs} runs"
            )
            print(
                f"  {'':<10} baseline (ORM + clearing): median {baseline:6.2f} ms; "
                f"speed-up {baseline / median:4.1f}x"
            )
            verdict = "GOAL MET" if median <= GOAL_MS else "GOAL MISSED"
            print(f"  {'':<10} goal ≤ {GOAL_MS:.0f} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pledges", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=101)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"cpu_count: {os.cpu_count()}  python: {platform.python_version()}  load: {load}")
    for engine in ("sqlite", "postgresql") if args.engine == "both" else (args.engine,):
        run(engine, args)


if __name__ == "__main__":
    main()
