"""Checking a set of books: recompute the hash chains and every account's totals from the
transfers, and compare with what is recorded."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from potluck.ledger.rules.facts import AccountFacts, ChainHead, Totals


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
