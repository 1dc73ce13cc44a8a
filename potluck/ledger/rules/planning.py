"""Planning a batch of transfer requests: checking each, filling in what a post or a
reversal leaves out, applying it to the accounts' totals, and chaining it by hash."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound, PotluckError
from potluck.ledger.rules.facts import (
    _CONTROL_SEARCH,
    _ID_MATCH,
    _ZERO,
    CLIENT_KINDS,
    EXPIRY_PREFIX,
    MAX_MEMO_LENGTH,
    MAX_TIMEOUT_SECONDS,
    RESOLUTIONS,
    AccountFacts,
    ChainHead,
    HoldAlreadyEnded,
    HoldExpired,
    HoldFacts,
    InsufficientFunds,
    Plan,
    ReversalTarget,
    Totals,
    TransferIdReused,
    TransferRequest,
    TransferRow,
    time_text,
    transfer_hash,
)
from potluck.money import MAX_UNITS, decimal_text


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


def plan_each(
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
    allowed_chain_ids: Sequence[Collection[int] | None] | None = None,
    expiries: Sequence[TransferRequest] = (),
) -> tuple[Plan, list[TransferRow | PotluckError]]:
    """Plan independent requests together, each standing or falling on its own: the outcome
    of each is its stored transfer or the error that refuses it, exactly as if it had been
    posted alone right after the ones before it. The merged plan writes what was accepted.

    ``allowed_chain_ids[i]``, when given and not None, names the only books request ``i`` may
    land in. ``expiries`` (the instance's own, of holds already due) are planned first, all
    together; their rows lead ``plan.results``.
    """
    state = _Running(
        Plan(heads=dict(heads)),
        dict(totals),
        dict(holds),
        dict(targets),
        dict(existing),
        {r.reverses_id for r in requests if r.reverses_id is not None},
    )

    def plan(batch: Sequence[TransferRequest], *, system_kinds: bool) -> Plan:
        return plan_batch(
            batch,
            accounts=accounts,
            totals=state.totals,
            heads=state.merged.heads,
            instance_chain_id=instance_chain_id,
            holds=state.holds,
            targets=state.targets,
            existing=state.existing,
            now=now,
            system_kinds=system_kinds,
        )

    if expiries:
        lead = plan(expiries, system_kinds=True)
        state.merge(lead)
        state.merged.results.extend(lead.results)
    outcomes: list[TransferRow | PotluckError] = []
    for index, request in enumerate(requests):
        try:
            accepted = plan([request], system_kinds=False)
            allowed = allowed_chain_ids[index] if allowed_chain_ids is not None else None
            if allowed is not None and any(r.chain_id not in allowed for r in accepted.new_rows):
                raise Forbidden(
                    f"Transfer {request.id} goes into books you do not keep: only a steward "
                    "of the project may post to its books."
                )
        except PotluckError as error:
            outcomes.append(error)
            continue
        state.merge(accepted)
        outcomes.append(accepted.results[0])
    return state.merged, outcomes


@dataclass(slots=True)
class _Running:
    """What ``plan_each`` carries from one request to the next."""

    merged: Plan
    totals: dict[int, Totals]
    holds: dict[str, HoldFacts]
    targets: dict[str, ReversalTarget]
    existing: dict[str, TransferRow]
    named_targets: set[str]

    def merge(self, plan: Plan) -> None:
        """Fold an accepted ``plan`` into the merged one and into what later requests see."""
        merged, holds, targets = self.merged, self.holds, self.targets
        merged.heads = plan.heads
        merged.new_rows.extend(plan.new_rows)
        for account_id, delta in plan.deltas.items():
            for running in (merged.deltas, self.totals):
                before = running.get(account_id) or _ZERO
                running[account_id] = Totals(
                    before.debits_pending + delta.debits_pending,
                    before.debits_posted + delta.debits_posted,
                    before.credits_pending + delta.credits_pending,
                    before.credits_posted + delta.credits_posted,
                )
        merged.opened_holds.extend(plan.opened_holds)
        merged.ended_holds.extend(plan.ended_holds)
        for row in plan.new_rows:
            self.existing[row.id] = row
            if row.kind == "hold":
                holds[row.id] = HoldFacts(
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
                ended = holds[row.pending_id or ""]
                holds[ended.id] = HoldFacts(
                    ended.id,
                    ended.amount,
                    ended.debit_account_id,
                    ended.credit_account_id,
                    ended.commodity,
                    ended.chain_id,
                    ended.timeout_at,
                    row.id,
                )
            if row.reverses_id is not None:
                old = targets[row.reverses_id]
                targets[old.id] = ReversalTarget(
                    old.id,
                    old.kind,
                    old.amount,
                    old.debit_account_id,
                    old.credit_account_id,
                    old.commodity,
                    row.id,
                )
            if row.id in self.named_targets and row.kind in ("transfer", "post"):
                targets[row.id] = _target(row)
