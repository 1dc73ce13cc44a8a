"""How long the whole payday takes: clearing, storing the charges, starting and executing one
payment per donor (posted to the books by the simulated processor), ending the all-or-nothing
holds, and the self-check.

Run from the repository root::

    .venv/bin/python -m bench.payday [--pledges 1000000] [--engine sqlite|postgresql] [--runs 3]

Goal (issue 4): the whole payday for 1,000,000 pledges from 100,000 peers over 10,000 projects,
posted to the books on SQLite, in at most 60 s. The baseline, measured in the same run, is the
same payday on an instance a tenth the size, scaled up ten times (1.00 means linear scaling).
Each stage's time is printed, so that a missed goal says where the time went.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.clearing import COMMODITY, PERIOD, make_world
from bench.ledger_common import database_for
from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.ledger import rules as ledger_rules
from potluck.ledger.models import Account, Transfer
from potluck.ledger.service import accounts, posting
from potluck.pledges import rules
from potluck.pledges.payday.run import run_due_paydays
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.pledges.payments.settings import PaymentSettings
from potluck.pledges.rules.schedule import PaydayCadence, hold_timeout
from potluck.pledges.service import holds
from potluck.pledges.settings import PledgeSettings
from tests.support.books import assert_books_verify

GOAL_S = 60.0
BEFORE = datetime(2025, 1, 1, tzinfo=UTC)
HOLDS_AT = PERIOD.starts_at - timedelta(days=1)
PAYDAY_AT = PERIOD.ends_at + timedelta(minutes=5)
CARD = "4242424242424242"


@dataclass
class StageClock:
    """Payday's progress as seconds per stage."""

    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    _stage: str = ""
    _began: float = 0.0

    def begin(self, stage: str, total: int) -> None:
        self._close()
        self._stage = stage.split(" ", maxsplit=1)[0] if stage.startswith("clear") else stage
        self.counts[self._stage] = total
        self._began = time.perf_counter()

    def advance(self, count: int) -> None:
        del count

    def _close(self) -> None:
        if self._stage:
            self.seconds[self._stage] = time.perf_counter() - self._began
            self._stage = ""

    def finish(self) -> None:
        self._close()


def _bulk(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Insert through the driver: COPY on PostgreSQL, executemany on SQLite (times as the text
    SQLAlchemy itself writes)."""
    driver: Any = session.connection().connection.driver_connection
    names = ", ".join(columns)
    if session.get_bind().dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    text_rows = [
        tuple(ledger_rules.time_text(v) if isinstance(v, datetime) else v for v in row)
        for row in rows
    ]
    cursor = driver.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", text_rows
        )
    finally:
        cursor.close()


def _standing(pledges: list[rules.Pledge], peers: int, rng: random.Random) -> list[rules.Pledge]:
    """The world with one standing pledge per donor and need, as the database requires: a
    second one moves to another donor, or, when every donor already pledges toward that need,
    is cancelled."""
    seen: set[tuple[int, int]] = set()
    kept = []
    for original in sorted(pledges, key=lambda p: p.id):
        pledge = original
        one_off = isinstance(pledge, rules.Gift) and pledge.per is None
        if pledge.state is not rules.PledgeState.CANCELLED and not one_off:
            donor = pledge.donor_id
            for _ in range(50):
                if (pledge.need_id, donor) not in seen:
                    break
                donor = rng.randint(1, peers)
            if (pledge.need_id, donor) in seen:
                pledge = dataclasses.replace(pledge, state=rules.PledgeState.CANCELLED)
            else:
                seen.add((pledge.need_id, donor))
                pledge = dataclasses.replace(pledge, donor_id=donor)
        kept.append(pledge)
    return kept


def seed(database: Database, args: argparse.Namespace) -> dict[str, int]:
    """Write a seeded world straight into the tables, with a saved test card per peer and the
    all-or-nothing pledges held in the books."""
    rng = random.Random(args.seed)
    needs, pledges = make_world(args.pledges, args.peers, args.projects, args.seed)
    pledges = _standing(pledges, args.peers, rng)
    with database.transaction() as session:
        _bulk(
            session,
            "peers",
            ("id", "email", "display_name", "password_hash", "bio", "created_at"),
            (
                (i, f"p{i}@bench.example", f"Peer {i}", "-", "", BEFORE)
                for i in range(1, args.peers + 1)
            ),
        )
        _bulk(
            session,
            "projects",
            ("id", "slug", "name", "summary", "description", "licence", "search_text",
             "created_at", "updated_at"),
            ((i, f"project-{i}", f"Project {i}", "Bench", "", "MIT", "", BEFORE, BEFORE)
             for i in range(1, args.projects + 1)),
        )  # fmt: skip
        _bulk(
            session,
            "needs",
            ("id", "project_id", "title", "description", "commodity", "amount", "per",
             "deadline", "funding", "created_by_id", "created_at", "updated_at"),
            ((n.id, n.project_id, f"Need {n.id}", "", COMMODITY, n.amount,
              n.per.value if n.per else None, n.deadline, n.funding.value, 1, BEFORE, BEFORE)
             for n in needs),
        )  # fmt: skip
        _bulk(
            session,
            "pledges",
            ("id", "need_id", "donor_id", "kind", "commodity", "amount", "per", "rate", "cap",
             "state", "anonymous", "revision", "state_reason", "created_at", "updated_at"),
            (_pledge_row(p) for p in pledges),
        )  # fmt: skip
        _bulk(
            session,
            "payment_methods",
            ("peer_id", "provider", "method_ref", "label", "created_at"),
            ((i, "simulated", CARD, "Visa ending 4242 (test card)", BEFORE)
             for i in range(1, args.peers + 1)),
        )  # fmt: skip
    held = _hold(database, needs, pledges)
    return {"needs": len(needs), "pledges": len(pledges), "holds": held}


def _pledge_row(p: rules.Pledge) -> tuple[Any, ...]:
    amount = per = rate = cap = None
    if isinstance(p, rules.Gift):
        amount, per = p.amount, (p.per.value if p.per else None)
    elif isinstance(p, rules.AllOrNothing):
        amount = p.amount
    elif isinstance(p, rules.Crowdmatch):
        rate, cap = p.rate, p.limit
    else:
        cap = p.cap
    return (
        p.id, p.need_id, p.donor_id, p.kind.value, COMMODITY, amount, per, rate, cap,
        p.state.value, False, 1, "", p.created_at, p.created_at,
    )  # fmt: skip


def _hold(database: Database, needs: list[rules.Need], pledges: list[rules.Pledge]) -> int:
    """Hold every active all-or-nothing pledge whose goal is not decided before the period,
    as making the pledge would have."""
    deadlines: dict[int, datetime] = {n.id: n.deadline for n in needs if n.deadline is not None}
    projects = {n.id: n.project_id for n in needs}
    held = [
        p
        for p in pledges
        if isinstance(p, rules.AllOrNothing)
        and p.state is rules.PledgeState.ACTIVE
        and deadlines[p.need_id] >= PERIOD.starts_at
    ]
    with database.transaction() as session:
        for project_id in sorted({projects[p.need_id] for p in held}):
            accounts.ensure_chain(session, project_id)
        ids = _pledged_accounts(session, held, projects)
        requests = [
            ledger_rules.TransferRequest(
                id=holds.hold_id(p.id, 1),
                kind="hold",
                debit_account_id=ids["peer", p.donor_id],
                credit_account_id=ids["project", projects[p.need_id]],
                amount=p.amount,
                timeout_seconds=int(
                    (
                        hold_timeout(deadlines[p.need_id], PaydayCadence.MONTH) - HOLDS_AT
                    ).total_seconds()
                ),
            )
            for p in held
        ]
        for start in range(0, len(requests), ledger_rules.MAX_BATCH):
            posting.post_batch(
                session, requests[start : start + ledger_rules.MAX_BATCH], now=HOLDS_AT
            )
        _bulk(
            session,
            "pledge_holds",
            ("transfer_id", "pledge_id", "revision", "amount", "state", "created_at"),
            ((holds.hold_id(p.id, 1), p.id, 1, p.amount, "open", HOLDS_AT) for p in held),
        )
    return len(held)


def _pledged_accounts(
    session: Session, held: list[rules.AllOrNothing], projects: dict[int, int]
) -> dict[tuple[str, int], int]:
    chains = dict(iter(session.execute(select(accounts.CHAINS.c.project_id, accounts.CHAINS.c.id))))
    owners = sorted(
        {("peer", p.donor_id) for p in held} | {("project", projects[p.need_id]) for p in held}
    )
    rows = []
    for owner, owner_id in owners:
        project = owner == "project"
        key = f"project:{owner_id}:pledged:-:EUR" if project else f"peer:{owner_id}:pledged:EUR"
        rows.append(
            (key, owner, "pledged", owner_id if project else None, None if project else owner_id,
             None, COMMODITY, chains[owner_id] if project else chains[None], False, 0, 0, 0, 0,
             HOLDS_AT)
        )  # fmt: skip
    _bulk(
        session,
        "ledger_accounts",
        ("key", "owner", "purpose", "project_id", "peer_id", "custodian_id", "commodity",
         "chain_id", "no_negative", "debits_pending", "debits_posted", "credits_pending",
         "credits_posted", "created_at"),
        rows,
    )  # fmt: skip
    found: dict[tuple[str, int], int] = {}
    for account_id, owner, project_id, peer_id in session.execute(
        select(Account.id, Account.owner, Account.project_id, Account.peer_id).where(
            Account.purpose == "pledged"
        )
    ):
        whose = project_id if owner == "project" else peer_id
        assert whose is not None
        found[owner, whose] = account_id
    return found


def payday(database: Database) -> tuple[float, StageClock, bool]:
    stages = StageClock()
    clock = FrozenClock(PAYDAY_AT)
    registry = ProviderRegistry.from_settings(PaymentSettings(simulated_payments=True))
    began = time.perf_counter()
    (outcome,) = run_due_paydays(
        database, clock=clock, settings=PledgeSettings(), registry=registry, progress=stages
    )
    elapsed = time.perf_counter() - began
    stages.finish()
    return elapsed, stages, outcome.check_ok


def measure(
    engine: str, args: argparse.Namespace
) -> tuple[float, StageClock, bool, dict[str, int]]:
    with database_for(engine) as database:
        with database.transaction() as session:
            # The clearing's commodity row and the instance chain, as a running instance has.
            accounts.get_commodity(session, COMMODITY)
            accounts.instance_chain_id(session)
        began = time.perf_counter()
        sizes = seed(database, args)
        sizes["seed_s"] = int(time.perf_counter() - began)
        before = _transfers(database)
        elapsed, stages, ok = payday(database)
        sizes.update(
            {
                f"posted_{kind}": count - before.get(kind, 0)
                for kind, count in _transfers(database).items()
            }
        )
        if args.verify:
            assert_books_verify(database)
    return elapsed, stages, ok, sizes


def _transfers(database: Database) -> dict[str, int]:
    """How many transfers the books hold: all of them, payment lines' receipts, and fees."""
    with database.transaction(write=False) as session:
        return {
            "transfers": session.scalar(select(func.count()).select_from(Transfer)) or 0,
            "receipts": session.scalar(
                select(func.count()).select_from(Transfer).where(Transfer.id.like("payment:%:in"))
            )
            or 0,
            "fees": session.scalar(
                select(func.count())
                .select_from(Transfer)
                .where(Transfer.id.like("%:fee") | Transfer.id.like("settlement:%:fee:%"))
            )
            or 0,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pledges", type=int, default=1_000_000)
    parser.add_argument("--peers", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--verify", action="store_true", help="Verify the books afterwards.")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="Time the payday this many times, each on a new instance, and judge the median.",
    )
    args = parser.parse_args()
    print(
        f"cpu_count: {os.cpu_count()}  python: {platform.python_version()}  "
        f"engine: {args.engine}  load average: {_load()}"
    )
    baseline = None
    if not args.no_baseline:
        small = argparse.Namespace(**vars(args))
        small.pledges, small.peers, small.projects = (
            args.pledges // 10,
            args.peers // 10,
            args.projects // 10,
        )
        baseline, small_stages, _, _ = measure(args.engine, small)
        print(f"baseline: a tenth of the instance ({small.pledges:,} pledges) in {baseline:.1f} s")
        _stages(small_stages)
    runs = []
    for run in range(1, args.runs + 1):
        elapsed, stages, ok, sizes = measure(args.engine, args)
        runs.append((elapsed, stages))
        if args.runs > 1:
            print(f"run {run} of {args.runs} (load average {_load()}):")
        print(
            f"instance: {sizes['pledges']:,} pledges, {args.peers:,} peers, {args.projects:,} "
            f"projects, {sizes['needs']:,} needs, {sizes['holds']:,} held all-or-nothing "
            f"pledges (seeded in {sizes['seed_s']} s)"
        )
        print(f"whole payday: {elapsed:.1f} s; self-check {'passed' if ok else 'FAILED'}")
        print(
            f"  posted {sizes['posted_transfers']:,} transfers: {sizes['posted_receipts']:,} "
            f"receipts of payment lines, {sizes['posted_fees']:,} fee transfers, the rest ending "
            "all-or-nothing holds"
        )
        _stages(stages)
    elapsed = statistics.median(seconds for seconds, _ in runs)
    if args.runs > 1:
        print(
            f"median of {args.runs} runs: {elapsed:.1f} s "
            f"({', '.join(f'{seconds:.1f}' for seconds, _ in runs)})"
        )
        for stage in runs[0][1].seconds:
            median = statistics.median(stages.seconds.get(stage, 0.0) for _, stages in runs)
            print(f"    {stage:<22} {median:7.2f} s  (median)")
    if baseline:
        print(f"  ratio to the tenth ×10: {elapsed / (baseline * 10):.2f} (1.00 is linear)")
    met = elapsed <= GOAL_S
    print(f"  goal ≤ {GOAL_S:.0f} s on {args.engine}: {'GOAL MET' if met else 'GOAL MISSED'}")
    print(f"load average after: {_load()}")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _stages(stages: StageClock) -> None:
    for stage, seconds in stages.seconds.items():
        count = stages.counts.get(stage, 0)
        rate = f" ({count / seconds:,.0f}/s)" if count > 1 and seconds > 0 else ""
        print(f"    {stage:<22} {seconds:7.2f} s  {count:>9,} items{rate}")


if __name__ == "__main__":
    main()
