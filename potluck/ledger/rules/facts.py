"""The values the books' rules work on: transfer requests and rows, account facts and
totals, chain heads, the hash that chains transfers, and the errors a posting can meet."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from potluck.errors import Conflict

TRANSFER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
MAX_MEMO_LENGTH = 500
MAX_BATCH = 10_000
# A hold may wait at most a year: anything longer is a promise, not a hold.
MAX_TIMEOUT_SECONDS = 366 * 24 * 3600
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_SEARCH = _CONTROL.search
_ID_MATCH = TRANSFER_ID.fullmatch

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


class AccountFacts(NamedTuple):
    """What planning needs to know of an account that cannot change while it plans; a named
    tuple, because a batch reads hundreds of them."""

    id: int
    commodity: str
    exponent: int
    chain_id: int
    no_negative: bool
    label: str
    """How the account is named in messages: ``funds at Example Host (EUR)``."""


class ChainHead(NamedTuple):
    """Where a chain ends: the sequence number and hash of its newest transfer. A named tuple,
    as is :class:`TransferRow`: planning makes one per transfer, and a tuple is built several
    times faster than a frozen dataclass while being just as immutable."""

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


class TransferRow(NamedTuple):
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


_ZERO = Totals()
