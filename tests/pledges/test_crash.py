"""The payday command killed with SIGKILL at random points, then run to the end: on a SQLite
file and on PostgreSQL, the books verify, the charges are exactly the clearing's, every donor
is asked once for exactly their charges, and no transfer was written twice."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, select

from potluck.db import Database
from potluck.ledger.models import Transfer
from potluck.pledges.models import Payday, PaydayCharge, PaydayLease, PaydayPayment, PledgeHold
from potluck.pledges.payments.models import Payment, PaymentLineRow
from potluck.pledges.payments.rules import receipt_transfer_id, split_fee
from potluck.pledges.service import holds
from tests.pledges.crashworld import seed
from tests.pledges.paydays import expected_clearing, payday_stages, settings, stored_charges
from tests.support.books import assert_books_verify

# Kills per database; each run resumes where the killed one stopped.
KILLS = int(os.environ.get("POTLUCK_CRASH_KILLS", "8"))
ROOT = Path(__file__).resolve().parents[2]


def payday_command(database: Database) -> subprocess.Popen[bytes]:
    """``potluck payday`` in a process of its own, on ``database``."""
    env = {
        **os.environ,
        "POTLUCK_DATABASE_URL": database.url,
        "POTLUCK_MODE": "development",
        "POTLUCK_SIMULATED_PAYMENTS": "true",
        "POTLUCK_MINIMUM_CHARGE": "2.00",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        # The ``potluck`` command's own entry point, whether or not its script is installed.
        [sys.executable, "-c", "from potluck.cli import main; main()", "payday"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


# How far a payday has got, as the database shows it to another process: the lease taken, the
# charges stored, payments started, sent, and the stages after.
MILESTONES = ("lease", "cleared", "staged", "sending", "executed", "settled", "done")


def milestone(database: Database, process: subprocess.Popen[bytes]) -> int:
    """The furthest milestone the payday has reached (an index into :data:`MILESTONES`), or -1
    while ``process`` has not taken the lease yet."""
    with database.transaction(write=False) as session:
        holder = session.scalar(select(PaydayLease.holder))
        stage = session.scalar(select(Payday.stage))
        sent = session.scalar(
            select(func.count())
            .select_from(PaydayPayment)
            .where(PaydayPayment.state.not_in(("planned", "awaiting")))
        )
    if stage is None:
        return 0 if holder is not None and f":{process.pid}:" in holder else -1
    if stage == "staged" and sent:
        return MILESTONES.index("sending")
    return MILESTONES.index(stage)


def kill_at_random_points(database: Database, rng: random.Random) -> list[str]:
    """Start the payday and SIGKILL it at a random point, again and again; returns where each
    killed run was. Each kill aims at a milestone drawn from where the payday stands to two
    steps past it, then lets it run a few random milliseconds more, so the kills walk through
    every stage whatever the machine's speed."""
    reached: list[str] = []
    for _ in range(KILLS):
        with database.transaction(write=False) as session:
            stage = session.scalar(select(Payday.stage))
        if stage == "done":
            break
        process = payday_command(database)
        try:
            start = MILESTONES.index(stage) if stage else 0
            # A step or two past where it stands, so that the kills walk through every stage.
            target = rng.randint(start, min(start + 2, MILESTONES.index("settled")))
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                if milestone(database, process) >= target:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.05))
            if process.poll() is not None:
                assert process.returncode == 0, "the payday failed"
                break
            process.kill()
            process.wait()
            reached.append(MILESTONES[max(0, milestone(database, process))])
        finally:
            if process.stderr is not None:
                process.stderr.close()
    return reached


def run_to_the_end(database: Database) -> None:
    process = payday_command(database)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode()


def transfers_by_kind(database: Database) -> dict[str, int]:
    with database.transaction(write=False) as session:
        return dict(
            iter(session.execute(select(Transfer.kind, func.count()).group_by(Transfer.kind)))
        )


def check_everything(database: Database, expected: dict[int, int]) -> None:
    assert_books_verify(database)
    ((_, stage, check_ok),) = payday_stages(database)
    assert (stage, check_ok) == ("done", True)
    with database.transaction(write=False) as session:
        payday_id = session.scalar(select(PaydayPayment.payday_id).limit(1))
        assert payday_id is not None
        assert stored_charges(database, payday_id) == expected

        # Every donor asked once per currency, for exactly their charges.
        owed: dict[tuple[int, str], int] = defaultdict(int)
        for donor_id, commodity, amount in session.execute(
            select(PaydayCharge.donor_id, PaydayCharge.commodity, PaydayCharge.amount)
        ):
            owed[donor_id, commodity] += amount
        asked: dict[tuple[int, str], int] = {}
        for donor_id, currency, amount in session.execute(
            select(Payment.donor_id, Payment.currency, Payment.amount)
        ):
            assert (donor_id, currency) not in asked, f"donor {donor_id} was asked twice"
            asked[donor_id, currency] = amount
        minimum = settings().minimum.per_currency.get("EUR", 200)
        assert asked == {key: total for key, total in owed.items() if total >= minimum}

        # What the books received: each succeeded payment's lines, once each; and what each
        # project's funds paid of the fees: its lines' shares of each payment's fee, exactly.
        receipts = 0
        fee_shares: dict[int, int] = defaultdict(int)
        for payment in session.scalars(select(Payment).where(Payment.state == "succeeded")):
            lines = session.scalars(
                select(PaymentLineRow)
                .where(PaymentLineRow.payment_id == payment.id)
                .order_by(PaymentLineRow.position)
            ).all()
            ids = [receipt_transfer_id(payment.id, x.position) for x in lines]
            received = {
                transfer_id: (account, amount)
                for transfer_id, account, amount in session.execute(
                    select(Transfer.id, Transfer.credit_account_id, Transfer.amount).where(
                        Transfer.id.in_(ids)
                    )
                )
            }
            assert sum(amount for _, amount in received.values()) == payment.amount
            receipts += len(received)
            shares = split_fee(payment.fee or 0, [x.amount for x in lines])
            for transfer_id, share in zip(ids, shares, strict=True):
                fee_shares[received[transfer_id][0]] += share
        fees_paid: dict[int, int] = defaultdict(int)
        fees = 0
        for account, amount in session.execute(
            select(Transfer.debit_account_id, Transfer.amount).where(
                Transfer.id.like("%:fee") | Transfer.id.like("settlement:%:fee:%")
            )
        ):
            fees_paid[account] += amount
            fees += 1
        assert fees_paid == {account: total for account, total in fee_shares.items() if total}
        hold_states = [state for (state,) in session.execute(select(PledgeHold.state))]
    # Nothing written twice under another id: the transfers are exactly those the outcome
    # accounts for — a hold per all-or-nothing pledge, one capture or void per decided hold,
    # one settlement per paid promise, and each payment's receipts and fees.
    decided = sum(1 for state in hold_states if state in (holds.CAPTURED, holds.SETTLED))
    settled = sum(1 for state in hold_states if state == holds.SETTLED)
    voided = sum(1 for state in hold_states if state == holds.VOIDED)
    assert transfers_by_kind(database) == {
        kind: count
        for kind, count in {
            "hold": len(hold_states),
            "post": decided,
            "void": voided,
            "transfer": receipts + fees + settled,
        }.items()
        if count
    }


def test_payday_killed_at_random_points_finishes_exactly_once(database: Database) -> None:
    period = seed(database, donors=24)
    expected = {c.pledge_id: c.amount for c in expected_clearing(database, period).charges}
    assert expected, "the instance has nothing to clear"
    reached = kill_at_random_points(database, random.Random(os.getpid()))
    run_to_the_end(database)
    check_everything(database, expected)
    assert reached, "no run was killed: the delays are too long for this machine"
