"""Starting payments: one at a time for the API, thousands at once for a payday, by one set of
rules.

Both paths check a start with :func:`check_start`, compare it with what its reference already
names with :func:`differing_field`, and write new payments with :func:`insert_payments`: one
INSERT of every payment that does nothing where the reference is taken (and says which it did
insert), then their lines in one statement. A reference that turns out to be taken — started
before, or by a writer racing this one — is read back and compared, so the same content
answers with the first payment and different content is a Conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from potluck.db import one_of
from potluck.errors import Conflict, InvalidInput, NotFound
from potluck.ledger.service import accounts
from potluck.money import Commodity, CommodityKind
from potluck.people.models import Peer
from potluck.pledges import bulk
from potluck.pledges.payments import rules
from potluck.pledges.payments.base import PaymentLine, PaymentState, ProviderName
from potluck.pledges.payments.models import PROVIDERS, Payment, PaymentLineRow
from potluck.projects.models import Project

PAYMENTS: Table = Payment.__table__  # type: ignore[assignment]
LINES: Table = PaymentLineRow.__table__  # type: ignore[assignment]
_LINE_COLUMNS = ("payment_id", "position", "project_id", "amount", "memo")
_CHUNK = 20_000


@dataclass(frozen=True)
class PaymentStart:
    """What starting a payment asks for."""

    reference: str
    """The caller's idempotency key: starting it again answers with the first payment."""
    donor_id: int
    currency: str
    lines: Sequence[PaymentLine]
    provider: str


@dataclass(frozen=True)
class StoredStart:
    """What a reference already names: a payment's id, state and the start that made it."""

    payment_id: int
    state: str
    start: PaymentStart


def currency_of(session: Session, code: str) -> Commodity:
    """The currency ``code`` names; a resource unit or an unknown code is refused."""
    try:
        commodity = accounts.get_commodity(session, code)
    except NotFound as error:
        raise InvalidInput(error.detail, field="currency") from error
    if commodity.kind is not CommodityKind.CURRENCY:
        raise InvalidInput(
            f"{code} is a resource unit; payments move money in a currency such as EUR.",
            field="currency",
        )
    return commodity


def _checked_lines(
    lines: Sequence[PaymentLine], project_exists: Callable[[int], bool]
) -> list[PaymentLine]:
    if not lines:
        raise InvalidInput(
            "A payment pays at least one project: give one line or more.", field="lines"
        )
    if len(lines) > rules.MAX_LINES:
        raise InvalidInput(f"A payment has at most {rules.MAX_LINES} lines.", field="lines")
    checked = []
    for position, line in enumerate(lines):
        if isinstance(line.amount, bool) or not isinstance(line.amount, int) or line.amount <= 0:
            raise InvalidInput(
                f"Line {position + 1}: the amount must be a positive whole number of the "
                f"currency's smallest unit, not {line.amount!r}.",
                field=f"lines.{position}.amount",
            )
        if not project_exists(line.project_id):
            raise NotFound(
                f"Line {position + 1}: project {line.project_id} does not exist.",
                field=f"lines.{position}.project_id",
            )
        memo = rules.check_line_memo(line.memo, position)
        checked.append(
            line if memo == line.memo else PaymentLine(line.project_id, line.amount, memo)
        )
    return checked


def check_start(
    start: PaymentStart,
    *,
    currency: Callable[[str], Commodity],
    project_exists: Callable[[int], bool],
    donor_exists: Callable[[int], bool],
) -> PaymentStart:
    """``start`` as it is stored (memos tidied, the currency's own code), or the error naming
    the first thing wrong with it: the reference, the provider, the currency, a line, the
    donor, in that order."""
    rules.check_reference(start.reference)
    if start.provider not in PROVIDERS:
        raise InvalidInput(
            f"Payment provider '{start.provider}' is not one of {', '.join(PROVIDERS)}.",
            field="provider",
        )
    commodity = currency(start.currency)
    checked = _checked_lines(start.lines, project_exists)
    if not donor_exists(start.donor_id):
        raise NotFound(f"Donor {start.donor_id} does not exist.", field="donor_id")
    return PaymentStart(start.reference, start.donor_id, commodity.code, checked, start.provider)


def differing_field(stored: PaymentStart, wanted: PaymentStart) -> str | None:
    """The first field in which ``wanted`` differs from what was stored, or None."""
    for name in ("donor_id", "currency", "provider"):
        if getattr(stored, name) != getattr(wanted, name):
            return name
    if len(stored.lines) != len(wanted.lines):
        return "lines"
    for position, (old, new) in enumerate(zip(stored.lines, wanted.lines, strict=True)):
        for name in ("project_id", "amount", "memo"):
            if getattr(old, name) != getattr(new, name):
                return f"lines.{position}.{name}"
    return None


def reference_taken(reference: str, payment_id: int, field: str) -> Conflict:
    return Conflict(
        f"Payment reference '{reference}' is already payment {payment_id} with a different "
        f"{field}; a new payment needs a new reference.",
        field=field,
    )


def stored_starts(session: Session, references: Sequence[str]) -> dict[str, StoredStart]:
    """What each of ``references`` already names, if anything."""
    found: dict[str, StoredStart] = {}
    for part in bulk.chunks(sorted(set(references)), _CHUNK):
        payments = session.execute(
            select(
                Payment.id,
                Payment.reference,
                Payment.state,
                Payment.donor_id,
                Payment.currency,
                Payment.provider,
            ).where(one_of(session, "payments.reference", part))
        ).all()
        if not payments:
            continue
        ids = [row.id for row in payments]
        lines: dict[int, list[PaymentLine]] = {payment_id: [] for payment_id in ids}
        for payment_id, project_id, amount, memo in session.execute(
            select(
                PaymentLineRow.payment_id,
                PaymentLineRow.project_id,
                PaymentLineRow.amount,
                PaymentLineRow.memo,
            )
            .where(one_of(session, "payment_lines.payment_id", ids))
            .order_by(PaymentLineRow.payment_id, PaymentLineRow.position)
        ):
            lines[payment_id].append(PaymentLine(project_id, amount, memo))
        for row in payments:
            found[row.reference] = StoredStart(
                row.id,
                row.state,
                PaymentStart(
                    row.reference, row.donor_id, row.currency, lines[row.id], row.provider
                ),
            )
    return found


def insert_payments(
    session: Session, starts: Sequence[PaymentStart], *, now: datetime
) -> dict[str, int]:
    """Write checked ``starts`` as new payments awaiting their sending, with their lines and,
    for a bank transfer, its reference code. A start whose reference is already taken is left
    out: the answer names only the payments this call inserted, ``reference → id``."""
    if not starts:
        return {}
    insert = pg_insert if bulk.is_postgresql(session) else sqlite_insert
    statement = (
        insert(PAYMENTS)
        .on_conflict_do_nothing(index_elements=["reference"])
        .returning(PAYMENTS.c.id, PAYMENTS.c.reference)
    )
    inserted: dict[str, int] = {}
    awaiting = PaymentState.AWAITING.value
    for part in bulk.chunks(starts, _CHUNK):
        rows = [
            {
                "reference": start.reference,
                "donor_id": start.donor_id,
                "currency": start.currency,
                "amount": sum(line.amount for line in start.lines),
                "provider": start.provider,
                "state": awaiting,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for start in part
        ]
        inserted.update(
            (reference, int(payment_id))
            for payment_id, reference in session.execute(statement, rows)
        )
    manual = [
        {"pid": inserted[start.reference], "code": rules.reference_code(inserted[start.reference])}
        for start in starts
        if start.provider == ProviderName.MANUAL.value and start.reference in inserted
    ]
    if manual:
        session.execute(
            update(PAYMENTS)
            .where(PAYMENTS.c.id == bindparam("pid"))
            .values(bank_code=bindparam("code")),
            manual,
            execution_options={"synchronize_session": False},
        )
    bulk.insert_rows(
        session,
        "payment_lines",
        _LINE_COLUMNS,
        (
            (inserted[start.reference], position, line.project_id, line.amount, line.memo)
            for start in starts
            if start.reference in inserted
            for position, line in enumerate(start.lines)
        ),
    )
    return inserted


@dataclass(frozen=True)
class Started:
    payment_id: int
    state: str


def start_payments(
    session: Session, starts: Sequence[PaymentStart], *, now: datetime
) -> dict[str, Started]:
    """Start many payments at once, each exactly as ``service.start_payment`` would: the same
    checks and the same idempotency on the reference. All or nothing: the first refused start
    raises, and the caller's transaction writes none of them. Answers ``reference →``
    the payment's id and state."""
    references = [start.reference for start in starts]
    if len(set(references)) != len(references):
        raise InvalidInput("Each payment started at once needs its own reference.")
    project_ids = sorted({line.project_id for start in starts for line in start.lines})
    donor_ids = sorted({start.donor_id for start in starts})
    projects = _existing_ids(session, Project.id, "projects.id", project_ids)
    donors = _existing_ids(session, Peer.id, "peers.id", donor_ids)
    currencies: dict[str, Commodity] = {}

    def currency(code: str) -> Commodity:
        if code not in currencies:
            currencies[code] = currency_of(session, code)
        return currencies[code]

    checked = [
        check_start(
            start,
            currency=currency,
            project_exists=projects.__contains__,
            donor_exists=donors.__contains__,
        )
        for start in starts
    ]
    before = stored_starts(session, references)
    inserted = insert_payments(
        session, [start for start in checked if start.reference not in before], now=now
    )
    # Taken before this call, or by a writer racing it: the same content answers with it.
    taken = [start for start in checked if start.reference not in inserted]
    stored = {
        **before,
        **stored_starts(session, [s.reference for s in taken if s.reference not in before]),
    }
    started = {
        reference: Started(payment_id, PaymentState.AWAITING.value)
        for reference, payment_id in inserted.items()
    }
    for start in taken:
        found = stored[start.reference]
        differing = differing_field(found.start, start)
        if differing is not None:
            raise reference_taken(start.reference, found.payment_id, differing)
        started[start.reference] = Started(found.payment_id, found.state)
    return started


def _existing_ids(
    session: Session, column: InstrumentedAttribute[int], name: str, ids: Sequence[int]
) -> set[int]:
    """Which of ``ids`` name a row: ``name`` is ``column``'s qualified name."""
    found: set[int] = set()
    for part in bulk.chunks(ids, _CHUNK):
        found.update(session.scalars(select(column).where(one_of(session, name, part))))
    return found
