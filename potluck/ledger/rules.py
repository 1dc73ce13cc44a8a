"""Pure rules of the books: how a batch of transfer requests becomes rows, how each row is
chained by hash, and how a whole set of books is checked. No database, no clock, no I/O:
callers hand in plain values and get plain values or a PotluckError back.

Sign convention (TigerBeetle's): a transfer *debits* one account and *credits* another. An
account's balance is ``credits_posted - debits_posted``; a hold reserves its amount in
``debits_pending`` and ``credits_pending`` until it is posted, voided or expired. An account
that forbids a negative balance keeps ``debits_posted + debits_pending <= credits_posted``.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from potluck.errors import Conflict, InvalidInput, NotFound
from potluck.money import MAX_UNITS, decimal_text

TRANSFER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
MAX_MEMO_LENGTH = 500
MAX_BATCH = 10_000
# A hold may wait at most a year: anything longer is a promise, not a hold.
MAX_TIMEOUT_SECONDS = 366 * 24 * 3600
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_SEARCH = _CONTROL.search
_ID_MATCH = TRANSFER_ID.fullmatch
_SEP = "\x1f"

CLIENT_KINDS = ("transfer", "hold", "post", "void")
RESOLUTIONS = ("post", "void", "expire")
INSTANCE_CHAIN_KEY = "instance"
# Ids of the transfers the instance writes when a hold times out; reserved for that.
EXPIRY_PREFIX = "expire:"


def expiry_id(hold_id: str) -> str:
    """The id of the transfer that expires ``hold_id``: the same on every run, so expiring
    twice is harmless."""
    candidate = EXPIRY_PREFIX + hold_id
    if len(candidate) <= 64:
        return candidate
    return EXPIRY_PREFIX + hashlib.sha256(hold_id.encode()).hexdigest()[: 64 - len(EXPIRY_PREFIX)]


def project_chain_key(project_id: int) -> str:
    """The chain key of a project's books."""
    return f"project:{project_id}"


class InsufficientFunds(Conflict):
    """Posting would take an account that forbids it below zero."""


class TransferIdReused(Conflict):
    """A transfer id already names a transfer with different content."""


class HoldAlreadyEnded(Conflict):
    """The hold was already posted, voided or expired."""


class HoldExpired(Conflict):
    """The hold's timeout has passed; it can no longer be posted or voided."""


def time_text(moment: datetime) -> str:
    """The canonical text of a time inside a hash: UTC, microseconds, no zone suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def transfer_hash(  # noqa: PLR0917 - positional in the order they are hashed, for speed
    prev_hash: str,
    chain_key: str,
    seq: int,
    transfer_id: str,
    kind: str,
    debit_account_id: int,
    credit_account_id: int,
    commodity: str,
    amount: int,
    pending_id: str | None,
    timeout_text: str | None,
    reverses_id: str | None,
    batch_id: str | None,
    memo: str,
    created_text: str,
) -> str:
    """SHA-256 (hex) of a transfer and its predecessor's hash.

    Fields are joined with the ASCII unit separator, which ids and memos may not contain, so
    two different transfers can never encode to the same text.
    """
    text = (
        f"{prev_hash}\x1f{chain_key}\x1f{seq}\x1f{transfer_id}\x1f{kind}\x1f"
        f"{debit_account_id}\x1f{credit_account_id}\x1f{commodity}\x1f{amount}\x1f"
        f"{pending_id or ''}\x1f{timeout_text or ''}\x1f{reverses_id or ''}\x1f"
        f"{batch_id or ''}\x1f{memo}\x1f{created_text}"
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(slots=True)
class Totals:
    """An account's four running totals, in smallest units."""

    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What may still be debited from an account that forbids a negative balance."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)


@dataclass(frozen=True, slots=True)
class AccountFacts:
    id: int
    commodity: str
    exponent: int
    chain_id: int
    no_negative: bool
    label: str
    """How the account is named in messages: ``funds at Example Host (EUR)``."""


@dataclass(frozen=True, slots=True)
class ChainHead:
    id: int
    key: str
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """What a client asks for. ``None`` means "not given": for a post, the hold's amount."""

    id: str
    kind: str = "transfer"
    debit_account_id: int | None = None
    credit_account_id: int | None = None
    amount: int | None = None
    pending_id: str | None = None
    timeout_seconds: int | None = None
    reverses_id: str | None = None
    memo: str = ""


@dataclass(frozen=True, slots=True)
class TransferRow:
    """A transfer as stored: every column of ``ledger_transfers``."""

    id: str
    chain_id: int
    seq: int
    kind: str
    debit_account_id: int
    credit_account_id: int
    commodity: str
    amount: int
    pending_id: str | None
    timeout_at: datetime | None
    reverses_id: str | None
    batch_id: str | None
    memo: str
    created_at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class HoldFacts:
    """A hold that a request names, with how (and whether) it already ended."""

    id: str
    amount: int
    debit_account_id: int
    credit_account_id: int
    commodity: str
    chain_id: int
    timeout_at: datetime | None
    ended_by: str | None


@dataclass(frozen=True, slots=True)
class ReversalTarget:
    """A transfer that a request asks to reverse."""

    id: str
    kind: str
    amount: int
    debit_account_id: int
    credit_account_id: int
    commodity: str
    reversed_by: str | None


@dataclass(slots=True)
class Plan:
    """What posting a batch writes: new rows, per-account deltas, holds opened and ended."""

    results: list[TransferRow] = field(default_factory=list)
    new_rows: list[TransferRow] = field(default_factory=list)
    deltas: dict[int, Totals] = field(default_factory=dict)
    opened_holds: list[TransferRow] = field(default_factory=list)
    ended_holds: list[str] = field(default_factory=list)
    heads: dict[int, ChainHead] = field(default_factory=dict)


def check_request(request: TransferRequest, where: str) -> None:
    """Refuse a malformed request before anything is looked up, naming the field."""
    if not _ID_MATCH(request.id) or request.id.startswith(EXPIRY_PREFIX):
        raise InvalidInput(
            f"Transfer id '{request.id}' must be 1 to 64 letters, digits or '._:-', "
            f"starting with a letter or digit and not with '{EXPIRY_PREFIX}'.",
            field=f"{where}id",
        )
    if request.kind not in CLIENT_KINDS:
        raise InvalidInput(
            f"Transfer {request.id}: kind '{request.kind}' is not one of "
            f"{', '.join(CLIENT_KINDS)}.",
            field=f"{where}kind",
        )
    if request.amount is not None and not 0 < request.amount <= MAX_UNITS:
        raise InvalidInput(
            f"Transfer {request.id}: the amount must be a positive whole number of the "
            f"commodity's smallest unit, at most {MAX_UNITS}.",
            field=f"{where}amount",
        )
    if request.memo and (len(request.memo) > MAX_MEMO_LENGTH or _CONTROL_SEARCH(request.memo)):
        raise InvalidInput(
            f"Transfer {request.id}: the memo must be at most {MAX_MEMO_LENGTH} characters "
            "on one line.",
            field=f"{where}memo",
        )
    resolves = request.kind in ("post", "void")
    if resolves and request.pending_id is None:
        raise InvalidInput(
            f"Transfer {request.id}: a {request.kind} must name the hold in pending_id.",
            field=f"{where}pending_id",
        )
    if not resolves and request.pending_id is not None:
        raise InvalidInput(
            f"Transfer {request.id}: only a post or a void names a hold in pending_id.",
            field=f"{where}pending_id",
        )
    if request.kind == "void" and request.amount is not None:
        raise InvalidInput(
            f"Transfer {request.id}: a void always releases the whole hold; leave out amount.",
            field=f"{where}amount",
        )
    if request.timeout_seconds is not None and (
        request.kind != "hold" or not 0 < request.timeout_seconds <= MAX_TIMEOUT_SECONDS
    ):
        raise InvalidInput(
            f"Transfer {request.id}: timeout_seconds belongs to a hold and is 1 to "
            f"{MAX_TIMEOUT_SECONDS} seconds.",
            field=f"{where}timeout_seconds",
        )
    if request.reverses_id is not None and request.kind != "transfer":
        raise InvalidInput(
            f"Transfer {request.id}: only a plain transfer can reverse another; "
            "a hold is undone by voiding it.",
            field=f"{where}reverses_id",
        )
    if request.kind in ("transfer", "hold") and request.reverses_id is None:
        for name in ("debit_account_id", "credit_account_id", "amount"):
            if getattr(request, name) is None:
                raise InvalidInput(
                    f"Transfer {request.id}: {name} is required for a {request.kind}.",
                    field=f"{where}{name}",
                )


def _delta(plan: Plan, account_id: int) -> Totals:
    delta = plan.deltas.get(account_id)
    if delta is None:
        delta = plan.deltas[account_id] = Totals()
    return delta


def _differs(row: TransferRow, wanted: TransferRow) -> str | None:
    for name in (
        "kind",
        "debit_account_id",
        "credit_account_id",
        "commodity",
        "amount",
        "pending_id",
        "reverses_id",
        "memo",
    ):
        if getattr(row, name) != getattr(wanted, name):
            return name
    if (row.timeout_at is None) != (wanted.timeout_at is None):
        return "timeout_seconds"
    return None


def plan_batch(
    requests: Sequence[TransferRequest],
    *,
    accounts: Mapping[int, AccountFacts],
    totals: Mapping[int, Totals],
    heads: Mapping[int, ChainHead],
    instance_chain_id: int,
    holds: Mapping[str, HoldFacts],
    targets: Mapping[str, ReversalTarget],
    existing: Mapping[str, TransferRow],
    now: datetime,
    batch_id: str | None = None,
    system_kinds: bool = False,
    field_prefix: str = "transfers",
) -> Plan:
    """Turn ``requests`` into the rows to write, applying them one after another.

    All-or-nothing: the first request that cannot be applied raises, naming it and the
    problem, and nothing is to be written. A request whose id already names a stored (or an
    earlier, identical) transfer with the same content is answered with that transfer.
    ``system_kinds`` lets the instance itself expire holds, which clients may not.
    """
    plan = Plan(heads=dict(heads))
    planned: dict[str, TransferRow] = {}
    holds_now = dict(holds)
    targets_now = dict(targets)
    created_text = time_text(now)
    # Expiries the instance adds in front are not the client's; fields are named by the
    # position among the client's own requests.
    expiries = sum(1 for r in requests if r.kind == "expire") if system_kinds else 0
    single = len(requests) - expiries == 1
    fast = _PlainTransfers(
        plan,
        accounts=accounts,
        totals=totals,
        instance_chain_id=instance_chain_id,
        batch_id=batch_id,
        now=now,
        created_text=created_text,
    )
    for index, request in enumerate(requests):
        if (
            request.kind == "transfer"
            and request.reverses_id is None
            and request.pending_id is None
            and request.timeout_seconds is None
            and request.id not in planned
            and request.id not in existing
        ):
            row = fast.try_plan(request)
            if row is not None:
                planned[row.id] = row
                continue
        where = "" if single else f"{field_prefix}[{index - expiries}]."
        if request.kind == "expire":
            if not system_kinds:
                raise InvalidInput(
                    f"Transfer {request.id}: holds expire by themselves; a client may post "
                    "or void them.",
                    field=f"{where}kind",
                )
        else:
            check_request(request, where)
        known = planned.get(request.id) or existing.get(request.id)
        wanted = _resolve(
            request,
            where,
            accounts=accounts,
            holds=holds_now,
            targets=targets_now,
            planned=planned,
            instance_chain_id=instance_chain_id,
            now=now,
        )
        if known is not None:
            differing = _differs(known, wanted)
            if differing is not None:
                raise TransferIdReused(
                    f"Transfer id {request.id} already names a transfer with a different "
                    f"{differing}; choose a new id for a new transfer.",
                    field=f"{where}{differing}",
                )
            plan.results.append(known)
            continue
        if wanted.kind in RESOLUTIONS:
            hold = holds_now[wanted.pending_id or ""]
            _check_hold_open(request, where, hold, now)
        if wanted.reverses_id is not None:
            target = targets_now.get(wanted.reverses_id) or _target(planned[wanted.reverses_id])
            if target.reversed_by is not None:
                raise Conflict(
                    f"Transfer {wanted.reverses_id} was already reversed by "
                    f"{target.reversed_by}; reverse the reversal instead.",
                    field=f"{where}reverses_id",
                )
        _apply(
            plan,
            wanted,
            accounts=accounts,
            totals=totals,
            holds=holds_now,
            request=request,
            where=where,
        )
        head = plan.heads[wanted.chain_id]
        seq = head.seq + 1
        timeout_text = time_text(wanted.timeout_at) if wanted.timeout_at else None
        digest = transfer_hash(
            head.hash,
            head.key,
            seq,
            wanted.id,
            wanted.kind,
            wanted.debit_account_id,
            wanted.credit_account_id,
            wanted.commodity,
            wanted.amount,
            wanted.pending_id,
            timeout_text,
            wanted.reverses_id,
            batch_id,
            wanted.memo,
            created_text,
        )
        row = TransferRow(
            wanted.id,
            wanted.chain_id,
            seq,
            wanted.kind,
            wanted.debit_account_id,
            wanted.credit_account_id,
            wanted.commodity,
            wanted.amount,
            wanted.pending_id,
            wanted.timeout_at,
            wanted.reverses_id,
            batch_id,
            wanted.memo,
            now,
            head.hash,
            digest,
        )
        plan.heads[wanted.chain_id] = ChainHead(head.id, head.key, seq, digest)
        planned[row.id] = row
        plan.new_rows.append(row)
        plan.results.append(row)
        if row.kind == "hold":
            plan.opened_holds.append(row)
            holds_now[row.id] = HoldFacts(
                row.id,
                row.amount,
                row.debit_account_id,
                row.credit_account_id,
                row.commodity,
                row.chain_id,
                row.timeout_at,
                None,
            )
        elif row.kind in RESOLUTIONS:
            plan.ended_holds.append(row.pending_id or "")
            hold = holds_now[row.pending_id or ""]
            holds_now[hold.id] = HoldFacts(
                hold.id,
                hold.amount,
                hold.debit_account_id,
                hold.credit_account_id,
                hold.commodity,
                hold.chain_id,
                hold.timeout_at,
                row.id,
            )
        if row.reverses_id is not None:
            old = targets_now.get(row.reverses_id) or _target(planned[row.reverses_id])
            targets_now[old.id] = ReversalTarget(
                old.id,
                old.kind,
                old.amount,
                old.debit_account_id,
                old.credit_account_id,
                old.commodity,
                row.id,
            )
    return plan


class _PlainTransfers:
    """The common case, a plain transfer between two known accounts, planned with as little
    work as possible: batches of thousands must plan in milliseconds. It only ever says yes;
    whenever anything is off it returns None and the general path (which names the problem)
    handles the request, so the rules are not written twice."""

    def __init__(
        self,
        plan: Plan,
        *,
        accounts: Mapping[int, AccountFacts],
        totals: Mapping[int, Totals],
        instance_chain_id: int,
        batch_id: str | None,
        now: datetime,
        created_text: str,
    ) -> None:
        self.plan = plan
        self.accounts = accounts
        self.totals = totals
        self.instance = instance_chain_id
        self.batch_id = batch_id
        self.batch_text = batch_id or ""
        self.now = now
        self.created_text = created_text

    def try_plan(self, request: TransferRequest) -> TransferRow | None:  # noqa: PLR0911 - one "no" per rule
        tid, amount, memo = request.id, request.amount, request.memo
        if (
            amount is None
            or not 0 < amount <= MAX_UNITS
            or not _ID_MATCH(tid)
            or tid.startswith(EXPIRY_PREFIX)
            or (memo and (len(memo) > MAX_MEMO_LENGTH or _CONTROL_SEARCH(memo)))
        ):
            return None
        debit = self.accounts.get(request.debit_account_id or 0)
        credit = self.accounts.get(request.credit_account_id or 0)
        if debit is None or credit is None or debit.id == credit.id:
            return None
        commodity = debit.commodity
        if credit.commodity != commodity:
            return None
        chain_id = debit.chain_id
        if credit.chain_id != chain_id:
            if chain_id == self.instance:
                chain_id = credit.chain_id
            elif credit.chain_id != self.instance:
                return None
        deltas = self.plan.deltas
        debit_delta = deltas.get(debit.id)
        if debit_delta is None:
            debit_delta = deltas[debit.id] = Totals()
        credit_delta = deltas.get(credit.id)
        if credit_delta is None:
            credit_delta = deltas[credit.id] = Totals()
        base = self.totals.get(debit.id) or _ZERO
        credit_base = self.totals.get(credit.id) or _ZERO
        debited = base.debits_posted + debit_delta.debits_posted + amount
        credited = credit_base.credits_posted + credit_delta.credits_posted + amount
        if debited > MAX_UNITS or credited > MAX_UNITS:
            return None
        if debit.no_negative and (
            base.credits_posted
            + debit_delta.credits_posted
            - debited
            - base.debits_pending
            - debit_delta.debits_pending
            < 0
        ):
            return None
        debit_delta.debits_posted += amount
        credit_delta.credits_posted += amount
        heads = self.plan.heads
        head = heads[chain_id]
        seq = head.seq + 1
        text = (
            f"{head.hash}\x1f{head.key}\x1f{seq}\x1f{tid}\x1ftransfer\x1f"
            f"{debit.id}\x1f{credit.id}\x1f{commodity}\x1f{amount}\x1f\x1f\x1f\x1f"
            f"{self.batch_text}\x1f{memo}\x1f{self.created_text}"
        )
        digest = hashlib.sha256(text.encode()).hexdigest()
        row = TransferRow(
            tid, chain_id, seq, "transfer", debit.id, credit.id, commodity, amount, None,
            None, None, self.batch_id, memo, self.now, head.hash, digest,
        )  # fmt: skip
        heads[chain_id] = ChainHead(head.id, head.key, seq, digest)
        self.plan.new_rows.append(row)
        self.plan.results.append(row)
        return row


def _target(row: TransferRow) -> ReversalTarget:
    return ReversalTarget(
        row.id,
        row.kind,
        row.amount,
        row.debit_account_id,
        row.credit_account_id,
        row.commodity,
        None,
    )


def _account(accounts: Mapping[int, AccountFacts], account_id: int, what: str) -> AccountFacts:
    found = accounts.get(account_id)
    if found is None:
        raise NotFound(f"Account {account_id} does not exist.", field=what)
    return found


def _resolve(
    request: TransferRequest,
    where: str,
    *,
    accounts: Mapping[int, AccountFacts],
    holds: Mapping[str, HoldFacts],
    targets: Mapping[str, ReversalTarget],
    planned: Mapping[str, TransferRow],
    instance_chain_id: int,
    now: datetime,
) -> TransferRow:
    """The row a request means, before chaining: accounts, commodity and amount filled in
    from the hold or the reversed transfer where the request leaves them out."""
    debit_id = request.debit_account_id
    credit_id = request.credit_account_id
    amount = request.amount
    timeout_at = None
    if request.kind in RESOLUTIONS:
        hold = holds.get(request.pending_id or "")
        if hold is None:
            raise NotFound(
                f"Transfer {request.id}: hold {request.pending_id} does not exist.",
                field=f"{where}pending_id",
            )
        for name, given, held in (
            ("debit_account_id", debit_id, hold.debit_account_id),
            ("credit_account_id", credit_id, hold.credit_account_id),
        ):
            if given is not None and given != held:
                raise InvalidInput(
                    f"Transfer {request.id}: {name} must be the hold's ({held}) or left out.",
                    field=f"{where}{name}",
                )
        debit_id, credit_id = hold.debit_account_id, hold.credit_account_id
        if amount is None or request.kind != "post":
            amount = hold.amount
        elif amount > hold.amount:
            raise InvalidInput(
                f"Transfer {request.id}: cannot post {amount} of hold {hold.id}, which holds "
                f"only {hold.amount}.",
                field=f"{where}amount",
            )
    elif request.reverses_id is not None:
        target = targets.get(request.reverses_id)
        if target is None and request.reverses_id in planned:
            earlier = planned[request.reverses_id]
            if earlier.kind in ("transfer", "post"):
                target = _target(earlier)
        if target is None:
            raise NotFound(
                f"Transfer {request.id}: transfer {request.reverses_id} to reverse does not "
                "exist or is not a posted transfer.",
                field=f"{where}reverses_id",
            )
        if debit_id is not None and debit_id != target.credit_account_id:
            raise InvalidInput(
                f"Transfer {request.id}: a reversal debits the account the original credited "
                f"({target.credit_account_id}).",
                field=f"{where}debit_account_id",
            )
        if credit_id is not None and credit_id != target.debit_account_id:
            raise InvalidInput(
                f"Transfer {request.id}: a reversal credits the account the original debited "
                f"({target.debit_account_id}).",
                field=f"{where}credit_account_id",
            )
        debit_id, credit_id = target.credit_account_id, target.debit_account_id
        if amount is None:
            amount = target.amount
        elif amount > target.amount:
            raise InvalidInput(
                f"Transfer {request.id}: cannot reverse {amount} of transfer {target.id}, "
                f"which moved {target.amount}.",
                field=f"{where}amount",
            )
    assert debit_id is not None
    assert credit_id is not None
    assert amount is not None
    debit = _account(accounts, debit_id, f"{where}debit_account_id")
    credit = _account(accounts, credit_id, f"{where}credit_account_id")
    if debit.id == credit.id:
        raise InvalidInput(
            f"Transfer {request.id}: the debit and credit accounts must differ.",
            field=f"{where}credit_account_id",
        )
    if debit.commodity != credit.commodity:
        raise InvalidInput(
            f"Transfer {request.id}: account {debit.id} counts in {debit.commodity} but "
            f"account {credit.id} in {credit.commodity}; a transfer moves one commodity.",
            field=f"{where}credit_account_id",
        )
    if credit.chain_id in (debit.chain_id, instance_chain_id):
        chain_id = debit.chain_id
    elif debit.chain_id == instance_chain_id:
        chain_id = credit.chain_id
    else:
        raise InvalidInput(
            f"Transfer {request.id}: accounts {debit.id} and {credit.id} belong to two "
            "projects' books; move value between projects through an instance account.",
            field=f"{where}credit_account_id",
        )
    if request.timeout_seconds is not None:
        timeout_at = now + timedelta(seconds=request.timeout_seconds)
    return TransferRow(
        request.id,
        chain_id,
        0,
        request.kind,
        debit.id,
        credit.id,
        debit.commodity,
        amount,
        request.pending_id,
        timeout_at,
        request.reverses_id,
        None,
        request.memo,
        now,
        "",
        "",
    )


def _check_hold_open(
    request: TransferRequest,
    where: str,
    hold: HoldFacts,
    now: datetime,
) -> None:
    if hold.ended_by is not None:
        raise HoldAlreadyEnded(
            f"Transfer {request.id}: hold {hold.id} already ended with transfer {hold.ended_by}.",
            field=f"{where}pending_id",
        )
    due = hold.timeout_at is not None and hold.timeout_at <= now
    if request.kind == "expire":
        if not due:
            raise Conflict(f"Hold {hold.id} is not due to expire yet.")
    elif due:
        assert hold.timeout_at is not None
        raise HoldExpired(
            f"Transfer {request.id}: hold {hold.id} expired at {time_text(hold.timeout_at)} UTC.",
            field=f"{where}pending_id",
        )


def _apply(
    plan: Plan,
    row: TransferRow,
    *,
    accounts: Mapping[int, AccountFacts],
    totals: Mapping[int, Totals],
    holds: Mapping[str, HoldFacts],
    request: TransferRequest,
    where: str,
) -> None:
    debit = _delta(plan, row.debit_account_id)
    credit = _delta(plan, row.credit_account_id)
    amount = row.amount
    kind = row.kind
    if kind == "transfer":
        debit.debits_posted += amount
        credit.credits_posted += amount
    elif kind == "hold":
        debit.debits_pending += amount
        credit.credits_pending += amount
    else:
        held = holds[row.pending_id or ""].amount
        debit.debits_pending -= held
        credit.credits_pending -= held
        if kind == "post":
            debit.debits_posted += amount
            credit.credits_posted += amount
    base = totals.get(row.debit_account_id) or _ZERO
    facts = accounts[row.debit_account_id]
    if facts.no_negative and kind in ("transfer", "hold"):
        available = (
            base.credits_posted
            + debit.credits_posted
            - base.debits_posted
            - debit.debits_posted
            - base.debits_pending
            - debit.debits_pending
        )
        if available < 0:
            raise InsufficientFunds(
                f"Transfer {request.id} would take {facts.label} (account {facts.id}) below "
                f"zero: {decimal_text(available + amount, facts.exponent)} {facts.commodity} "
                f"available, {decimal_text(amount, facts.exponent)} asked.",
                field=f"{where}amount",
            )
    credit_base = totals.get(row.credit_account_id) or _ZERO
    if (
        credit_base.credits_posted + credit.credits_posted > MAX_UNITS
        or credit_base.credits_pending + credit.credits_pending > MAX_UNITS
        or base.debits_posted + debit.debits_posted > MAX_UNITS
        or base.debits_pending + debit.debits_pending > MAX_UNITS
    ):
        raise InvalidInput(
            f"Transfer {request.id} would overflow an account's totals.", field=f"{where}amount"
        )


_ZERO = Totals()


# ---------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the books, naming the ids it concerns."""

    check: str
    message: str
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CheckedAccount:
    facts: AccountFacts
    recorded: Totals
    complete: bool
    """True if every chain this account's transfers can be in was checked."""


@dataclass(slots=True)
class VerifyReport:
    chains: int = 0
    transfers: int = 0
    accounts: int = 0
    commodities: int = 0
    holds: int = 0
    open_holds: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def checked(self) -> list[str]:
        """What was checked, as sentences for a person."""
        return [
            f"{self.chains} hash chain(s) recomputed over {self.transfers} transfer(s)",
            f"{self.accounts} account balance(s) equal the sum of their transfers",
            f"debits equal credits in {self.commodities} commodit(ies)",
            "no account that forbids it is below zero",
            f"{self.holds} hold(s) ended at most once; {self.open_holds} still open",
        ]


TransferTuple = tuple[
    str,  # id
    int,  # chain_id
    int,  # seq
    str,  # kind
    int,  # debit_account_id
    int,  # credit_account_id
    str,  # commodity
    int,  # amount
    str | None,  # pending_id
    str | None,  # timeout text
    str | None,  # reverses_id
    str | None,  # batch_id
    str,  # memo
    str,  # created text
    str,  # prev_hash
    str,  # hash
]


class BooksChecker:
    """Recomputes books from their transfers, fed in chain order, and compares with what is
    recorded. Feed rows with ``feed`` (sorted by chain, then seq), then call ``finish``."""

    def __init__(
        self,
        chains: Iterable[ChainHead],
        accounts: Iterable[CheckedAccount],
        *,
        instance_chain_id: int | None,
    ) -> None:
        self._heads = {head.id: head for head in chains}
        self._accounts = {account.facts.id: account for account in accounts}
        self._instance = instance_chain_id
        self._last: dict[int, tuple[int, str]] = {}
        self._sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self._holds: dict[str, tuple[int, int, int]] = {}
        self._ended: dict[str, str] = {}
        self._reversals: list[tuple[str, str, int, int, int]] = []
        self.report = VerifyReport(chains=len(self._heads), accounts=len(self._accounts))

    def _problem(self, check: str, message: str, *ids: str) -> None:
        self.report.problems.append(Problem(check, message, ids))

    def feed(self, row: TransferTuple) -> None:
        self.feed_many((row,))

    def feed_many(self, rows: Iterable[TransferTuple]) -> None:
        """Check rows in chain order. Written for speed (a million rows must take seconds):
        everything the loop touches is a local name, and the hash is computed inline."""
        heads = self._heads
        last = self._last
        accounts = self._accounts
        sums = self._sums
        holds = self._holds
        reversals = self._reversals
        instance = self._instance
        problem = self._problem
        sha256 = hashlib.sha256
        genesis = (0, "0" * 64)
        count = 0
        for row in rows:
            (
                tid,
                chain_id,
                seq,
                kind,
                debit_id,
                credit_id,
                commodity,
                amount,
                pending_id,
                timeout_text,
                reverses_id,
                batch_id,
                memo,
                created_text,
                prev_hash,
                stored_hash,
            ) = row
            count += 1
            head = heads.get(chain_id)
            if head is None:
                problem("chain", f"Transfer {tid} is in unknown chain {chain_id}.", tid)
                continue
            last_seq, last_hash = last.get(chain_id, genesis)
            if seq != last_seq + 1 or prev_hash != last_hash:
                problem(
                    "chain",
                    f"Transfer {tid} (chain {head.key}, seq {seq}) does not follow seq {last_seq}.",
                    tid,
                )
            text = (
                f"{prev_hash}\x1f{head.key}\x1f{seq}\x1f{tid}\x1f{kind}\x1f"
                f"{debit_id}\x1f{credit_id}\x1f{commodity}\x1f{amount}\x1f"
                f"{pending_id or ''}\x1f{timeout_text or ''}\x1f{reverses_id or ''}\x1f"
                f"{batch_id or ''}\x1f{memo}\x1f{created_text}"
            )
            if sha256(text.encode()).hexdigest() != stored_hash:
                problem("chain", f"Transfer {tid}'s hash does not match its content: altered.", tid)
            last[chain_id] = (seq, stored_hash)
            if amount <= 0 or debit_id == credit_id:
                problem("shape", f"Transfer {tid} has a non-positive amount or one side.", tid)
            debit = accounts.get(debit_id)
            credit = accounts.get(credit_id)
            if debit is None or credit is None:
                problem("accounts", f"Transfer {tid} names an unknown account.", tid)
            else:
                debit_facts, credit_facts = debit.facts, credit.facts
                if debit_facts.commodity != commodity or credit_facts.commodity != commodity:
                    problem("commodity", f"Transfer {tid} mixes commodities.", tid)
                debit_chain, credit_chain = debit_facts.chain_id, credit_facts.chain_id
                if debit_chain != credit_chain:
                    if debit_chain == instance:
                        debit_chain = credit_chain
                    elif credit_chain == instance:
                        credit_chain = debit_chain
                if debit_chain != chain_id or credit_chain != chain_id:
                    problem("chain", f"Transfer {tid} is chained in the wrong books.", tid)
            if kind == "transfer":
                sums[debit_id][1] += amount
                sums[credit_id][3] += amount
            elif kind == "hold":
                sums[debit_id][0] += amount
                sums[credit_id][2] += amount
                holds[tid] = (amount, debit_id, credit_id)
            else:
                self._resolve(
                    tid,
                    kind=kind,
                    amount=amount,
                    debit_id=debit_id,
                    credit_id=credit_id,
                    pending_id=pending_id,
                )
            if reverses_id is not None:
                reversals.append((tid, reverses_id, amount, debit_id, credit_id))
        self.report.transfers += count

    def _resolve(
        self,
        tid: str,
        *,
        kind: str,
        amount: int,
        debit_id: int,
        credit_id: int,
        pending_id: str | None,
    ) -> None:
        hold = self._holds.get(pending_id or "")
        if hold is None:
            self._problem("holds", f"Transfer {tid} ends {pending_id}, which is no hold.", tid)
            return
        if pending_id in self._ended:
            self._problem(
                "holds",
                f"Hold {pending_id} ended twice: by {self._ended[pending_id]} and by {tid}.",
                pending_id or "",
                tid,
            )
            return
        self._ended[pending_id or ""] = tid
        held, hold_debit, hold_credit = hold
        if (debit_id, credit_id) != (hold_debit, hold_credit) or (
            amount > held if kind == "post" else amount != held
        ):
            self._problem("holds", f"Transfer {tid} does not match hold {pending_id}.", tid)
        self._sums[debit_id][0] -= held
        self._sums[credit_id][2] -= held
        if kind == "post":
            self._sums[debit_id][1] += amount
            self._sums[credit_id][3] += amount

    def _check_reversals(self, targets: Mapping[str, tuple[str, int, int, int]]) -> None:
        seen: set[str] = set()
        for tid, target_id, amount, debit_id, credit_id in self._reversals:
            target = targets.get(target_id)
            if (
                target is None
                or target[0] not in ("transfer", "post")
                or target_id in seen
                or amount > target[1]
                or (debit_id, credit_id) != (target[3], target[2])
            ):
                self._problem(
                    "reversal",
                    f"Transfer {tid} does not validly reverse {target_id}.",
                    tid,
                    target_id,
                )
            seen.add(target_id)

    def chained_holds(self) -> set[str]:
        """Every hold fed so far, ended or not."""
        return set(self._holds)

    def reversal_targets(self) -> set[str]:
        """The transfers named by reversals fed so far: ``finish`` needs their facts."""
        return {target for _, target, _, _, _ in self._reversals}

    def finish(
        self,
        open_holds: Iterable[str],
        targets: Mapping[str, tuple[str, int, int, int]] | None = None,
    ) -> VerifyReport:
        """Compare everything fed with what is recorded. ``targets`` gives, for each id in
        ``reversal_targets()``, that transfer's (kind, amount, debit, credit); kept apart so
        that checking a million rows need not remember every one of them."""
        report = self.report
        self._check_reversals(targets or {})
        for chain_id, head in self._heads.items():
            last = self._last.get(chain_id, (0, "0" * 64))
            if last != (head.seq, head.hash):
                self._problem(
                    "chain",
                    f"Chain {head.key} records head seq {head.seq} but its transfers end at "
                    f"seq {last[0]}: transfers were removed or added behind its back.",
                    head.key,
                )
        debits_posted: dict[str, int] = defaultdict(int)
        credits_posted: dict[str, int] = defaultdict(int)
        debits_pending: dict[str, int] = defaultdict(int)
        credits_pending: dict[str, int] = defaultdict(int)
        all_complete = True
        for account in self._accounts.values():
            facts, recorded = account.facts, account.recorded
            commodity = facts.commodity
            debits_posted[commodity] += recorded.debits_posted
            credits_posted[commodity] += recorded.credits_posted
            debits_pending[commodity] += recorded.debits_pending
            credits_pending[commodity] += recorded.credits_pending
            all_complete = all_complete and account.complete
            if account.complete:
                sums = tuple(self._sums.get(facts.id, (0, 0, 0, 0)))
                if sums != recorded.as_tuple():
                    self._problem(
                        "balance",
                        f"Account {facts.id} ({facts.label}) records totals "
                        f"{recorded.as_tuple()} but its transfers sum to {sums}.",
                        str(facts.id),
                    )
            if facts.no_negative and recorded.available < 0:
                self._problem(
                    "no-negative",
                    f"Account {facts.id} ({facts.label}) forbids a negative balance but has "
                    f"{recorded.available} available.",
                    str(facts.id),
                )
        report.commodities = len(debits_posted)
        if all_complete:
            for commodity in sorted(debits_posted):
                if (debits_posted[commodity], debits_pending[commodity]) != (
                    credits_posted[commodity],
                    credits_pending[commodity],
                ):
                    self._problem(
                        "double-entry",
                        f"In {commodity}, debits ({debits_posted[commodity]} posted, "
                        f"{debits_pending[commodity]} held) differ from credits "
                        f"({credits_posted[commodity]} posted, {credits_pending[commodity]} "
                        "held).",
                        commodity,
                    )
        unresolved = set(self._holds) - set(self._ended)
        recorded_open = set(open_holds)
        for missing in sorted(unresolved - recorded_open):
            self._problem("holds", f"Hold {missing} is open but not listed as open.", missing)
        for stale in sorted(recorded_open - unresolved):
            self._problem("holds", f"Hold {stale} is listed as open but has ended.", stale)
        report.holds = len(self._holds)
        report.open_holds = len(unresolved)
        return report
