"""All-or-nothing pledges in the books: a pending transfer per pledge, captured or voided.

A promise is not money, so it moves between two memorandum accounts, never into a project's
funds: the donor's ``pledged`` account and the project's ``pledged`` account, both in the
pledge's currency. While the goal is open the promise is a hold; the payday of the goal's
deadline posts it (captured: the donor now owes it) or voids it (the goal failed). When the
donor's payment arrives — the money itself reaches the project's funds through the payment —
a settling transfer returns both memorandum accounts to zero, so they always show what is
promised and not yet paid.

Every transfer id derives from the pledge and its revision, so doing any step twice is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from potluck.db import one_of
from potluck.ledger import rules as ledger_rules
from potluck.ledger.models import Account
from potluck.ledger.service import accounts, posting
from potluck.pledges import bulk
from potluck.pledges.models import PledgeHold
from potluck.pledges.rules.schedule import PaydayCadence, hold_timeout

PLEDGED = "pledged"
OPEN = "open"
CAPTURED = "captured"
VOIDED = "voided"
EXPIRED = "expired"
SETTLED = "settled"


def hold_id(pledge_id: int, revision: int) -> str:
    return f"pledge:{pledge_id}:r{revision}:hold"


def capture_id(pledge_id: int, revision: int) -> str:
    return f"pledge:{pledge_id}:r{revision}:capture"


def void_id(pledge_id: int, revision: int) -> str:
    return f"pledge:{pledge_id}:r{revision}:void"


def settle_id(pledge_id: int, revision: int) -> str:
    return f"pledge:{pledge_id}:r{revision}:paid"


def pledged_account(
    session: Session,
    *,
    commodity: str,
    now: datetime,
    project_id: int | None = None,
    peer_id: int | None = None,
) -> int:
    """The id of a peer's or a project's ``pledged`` account in ``commodity``; opened if new.

    The books' ``open_account`` opens accounts for money held (funds) and money given; these
    hold neither, so they are opened here, with the same get-or-create insert and keys of the
    same shape. They may go negative: a captured promise is a debt until it is paid.
    """
    if (project_id is None) == (peer_id is None):
        msg = "A pledged account belongs to exactly one peer or one project."
        raise ValueError(msg)
    key = _pledged_key(commodity, project_id=project_id, peer_id=peer_id)
    found = session.scalar(select(Account.id).where(Account.key == key))
    if found is not None:
        return int(found)
    accounts.get_commodity(session, commodity)
    accounts.insert_ignoring_conflict(
        session,
        accounts.ACCOUNTS,
        {
            "key": key,
            "owner": "project" if project_id is not None else "peer",
            "purpose": PLEDGED,
            "project_id": project_id,
            "peer_id": peer_id,
            "custodian_id": None,
            "commodity": commodity,
            "chain_id": accounts.ensure_chain(session, project_id),
            "no_negative": False,
            "debits_pending": 0,
            "debits_posted": 0,
            "credits_pending": 0,
            "credits_posted": 0,
            "created_at": now,
        },
    )
    return int(session.scalars(select(Account.id).where(Account.key == key)).one())


def _pledged_key(commodity: str, *, project_id: int | None, peer_id: int | None) -> str:
    if project_id is not None:
        return f"project:{project_id}:{PLEDGED}:-:{commodity}"
    return f"peer:{peer_id}:{PLEDGED}:{commodity}"


def pledged_accounts(
    session: Session, owners: Iterable[tuple[str, int, str]], *, now: datetime
) -> dict[tuple[str, int, str], int]:
    """:func:`pledged_account` for many ``("project" or "peer", owner id, commodity)`` at once:
    those that exist are read in a few queries, and only a missing one is opened on its own."""
    keys = {
        owner: _pledged_key(
            owner[2],
            project_id=owner[1] if owner[0] == "project" else None,
            peer_id=owner[1] if owner[0] == "peer" else None,
        )
        for owner in set(owners)
    }
    found: dict[str, int] = {}
    for part in bulk.chunks(sorted(keys.values()), 20_000):
        found.update(
            session.execute(
                select(Account.key, Account.id).where(one_of(session, "ledger_accounts.key", part))
            ).all()
        )
    opened = {}
    for (kind, owner_id, commodity), key in keys.items():
        account = found.get(key)
        if account is None:
            account = pledged_account(
                session,
                commodity=commodity,
                now=now,
                project_id=owner_id if kind == "project" else None,
                peer_id=owner_id if kind == "peer" else None,
            )
        opened[kind, owner_id, commodity] = account
    return opened


@dataclass(frozen=True, slots=True)
class HoldTerms:
    """What an all-or-nothing hold is for: enough to place it in the books."""

    pledge_id: int
    revision: int
    donor_id: int
    project_id: int
    need_id: int
    commodity: str
    amount: int
    deadline: datetime


def place_hold(
    session: Session, terms: HoldTerms, *, now: datetime, cadence: PaydayCadence
) -> PledgeHold:
    """Hold ``terms.amount`` from the donor's pledged account toward the project's, until the
    payday of the goal's deadline has had time to decide it."""
    donor_account = pledged_account(
        session, commodity=terms.commodity, peer_id=terms.donor_id, now=now
    )
    project_account = pledged_account(
        session, commodity=terms.commodity, project_id=terms.project_id, now=now
    )
    timeout = hold_timeout(terms.deadline, cadence)
    seconds = max(1, int((timeout - now).total_seconds()))
    transfer = hold_id(terms.pledge_id, terms.revision)
    posting.post_transfer(
        session,
        ledger_rules.TransferRequest(
            id=transfer,
            kind="hold",
            debit_account_id=donor_account,
            credit_account_id=project_account,
            amount=terms.amount,
            timeout_seconds=min(seconds, ledger_rules.MAX_TIMEOUT_SECONDS),
            memo=f"All-or-nothing pledge {terms.pledge_id} toward need {terms.need_id}",
        ),
        now=now,
    )
    hold = session.get(PledgeHold, transfer)
    if hold is None:
        hold = PledgeHold(
            transfer_id=transfer,
            pledge_id=terms.pledge_id,
            revision=terms.revision,
            amount=terms.amount,
            state=OPEN,
            created_at=now,
        )
        session.add(hold)
        session.flush()
    return hold


def open_hold(session: Session, pledge_id: int) -> PledgeHold | None:
    """The pledge's hold that no payday or change has ended yet, if any."""
    return session.scalar(
        select(PledgeHold).where(PledgeHold.pledge_id == pledge_id, PledgeHold.state == OPEN)
    )


def void_holds(
    session: Session,
    holds: Sequence[PledgeHold],
    *,
    now: datetime,
    payday_id: int | None = None,
) -> None:
    """Release ``holds``: nothing is owed for them. A hold that already expired in the books
    is only marked so."""
    _end(session, holds, kind="void", state=VOIDED, now=now, payday_id=payday_id)


def capture_holds(
    session: Session, holds: Sequence[PledgeHold], *, now: datetime, payday_id: int
) -> None:
    """Post ``holds`` in full: the goal was reached and each donor now owes their pledge."""
    _end(session, holds, kind="post", state=CAPTURED, now=now, payday_id=payday_id)


def _end(
    session: Session,
    holds: Sequence[PledgeHold],
    *,
    kind: str,
    state: str,
    now: datetime,
    payday_id: int | None,
) -> None:
    if not holds:
        return
    ids = [hold.transfer_id for hold in holds]
    ended = _ended_in_books(session, ids)
    make_id = capture_id if kind == "post" else void_id
    requests = []
    expired: list[PledgeHold] = []
    ending_now: list[PledgeHold] = []
    for hold in holds:
        ending = ended.get(hold.transfer_id)
        if ending is not None and ending != make_id(hold.pledge_id, hold.revision):
            # Ended some other way already: by its timeout, when no payday came in time.
            expired.append(hold)
            continue
        requests.append(
            ledger_rules.TransferRequest(
                id=make_id(hold.pledge_id, hold.revision), kind=kind, pending_id=hold.transfer_id
            )
        )
        ending_now.append(hold)
    _mark(session, expired, state=EXPIRED, ended_at=now)
    _mark(session, ending_now, state=state, ended_at=now, payday_id=payday_id)
    for start in range(0, len(requests), ledger_rules.MAX_BATCH):
        posting.post_batch(session, requests[start : start + ledger_rules.MAX_BATCH], now=now)


_UNSET: Any = object()


def _mark(
    session: Session,
    holds: Sequence[PledgeHold],
    *,
    state: str,
    ended_at: datetime | None = _UNSET,
    payday_id: int | None = _UNSET,
) -> None:
    """Write the holds' new state (and end, and payday, when given) in one statement for all,
    and show it on the loaded holds as already stored: a payday ends tens of thousands of
    holds, and the ORM's flush would update them one parameter set at a time."""
    if not holds:
        return
    values: dict[str, Any] = {"state": state}
    if ended_at is not _UNSET:
        values["ended_at"] = ended_at
    if payday_id is not _UNSET:
        values["payday_id"] = payday_id
    columns = ", ".join(f"{name} = ?" for name in values)
    bulk.execute_many(
        session,
        f"UPDATE pledge_holds SET {columns} WHERE transfer_id = ?",  # noqa: S608 - fixed names
        [(*values.values(), hold.transfer_id) for hold in holds],
    )
    for hold in holds:
        for name, value in values.items():
            set_committed_value(hold, name, value)


def _ended_in_books(session: Session, hold_ids: Iterable[str]) -> dict[str, str]:
    """Hold id → the transfer that ended it, for those of ``hold_ids`` that have ended."""
    table = posting.TRANSFERS
    found: dict[str, str] = {}
    ids = list(hold_ids)
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(table.c.pending_id, table.c.id).where(
                table.c.pending_id.in_(ids[start : start + 1000])
            )
        )
        found.update({str(pending): str(ending) for pending, ending in rows})
    return found


@dataclass(frozen=True, slots=True)
class Settlement:
    """A captured hold whose donor has now paid."""

    hold: PledgeHold
    donor_id: int
    project_id: int
    commodity: str


def settle_holds(session: Session, settled: Sequence[Settlement], *, now: datetime) -> None:
    """Return both pledged accounts to zero for promises the donor has paid."""
    accounts_of = pledged_accounts(
        session,
        [
            owner
            for item in settled
            for owner in (
                ("peer", item.donor_id, item.commodity),
                ("project", item.project_id, item.commodity),
            )
        ],
        now=now,
    )
    requests = []
    for item in settled:
        hold = item.hold
        requests.append(
            ledger_rules.TransferRequest(
                id=settle_id(hold.pledge_id, hold.revision),
                kind="transfer",
                debit_account_id=accounts_of["project", item.project_id, item.commodity],
                credit_account_id=accounts_of["peer", item.donor_id, item.commodity],
                amount=hold.amount,
                memo=f"All-or-nothing pledge {hold.pledge_id} paid",
            )
        )
    _mark(session, [item.hold for item in settled], state=SETTLED)
    for start in range(0, len(requests), ledger_rules.MAX_BATCH):
        posting.post_batch(session, requests[start : start + ledger_rules.MAX_BATCH], now=now)


def captured_in_books(session: Session, payday_id: int) -> dict[tuple[int, str], int]:
    """What the books say the holds a payday captured came to: ``(project id, currency) →
    amount`` over the posting transfers of those holds."""
    ids = [
        capture_id(pledge_id, revision)
        for pledge_id, revision in session.execute(
            select(PledgeHold.pledge_id, PledgeHold.revision).where(
                PledgeHold.payday_id == payday_id, PledgeHold.state.in_((CAPTURED, SETTLED))
            )
        )
    ]
    table = posting.TRANSFERS
    totals: dict[tuple[int, str], int] = {}
    for start in range(0, len(ids), 900):
        rows = session.execute(
            select(Account.project_id, table.c.commodity, table.c.amount)
            .join(Account, Account.id == table.c.credit_account_id)
            .where(table.c.id.in_(ids[start : start + 900]), table.c.kind == "post")
        )
        for project_id, commodity, amount in rows:
            key = (int(project_id), str(commodity))
            totals[key] = totals.get(key, 0) + int(amount)
    return totals
