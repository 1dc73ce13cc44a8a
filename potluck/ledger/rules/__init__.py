"""Pure rules of the books: how a batch of transfer requests becomes rows, how each row is
chained by hash, and how a whole set of books is checked. No database, no clock, no I/O:
callers hand in plain values and get plain values or a PotluckError back.

Sign convention (TigerBeetle's): a transfer *debits* one account and *credits* another. An
account's balance is ``credits_posted - debits_posted``; a hold reserves its amount in
``debits_pending`` and ``credits_pending`` until it is posted, voided or expired. An account
that forbids a negative balance keeps ``debits_posted + debits_pending <= credits_posted``.
"""

from potluck.ledger.rules.checking import (
    BooksChecker,
    CheckedAccount,
    Problem,
    TransferTuple,
    VerifyReport,
)
from potluck.ledger.rules.facts import (
    CLIENT_KINDS,
    EXPIRY_PREFIX,
    INSTANCE_CHAIN_KEY,
    MAX_BATCH,
    MAX_MEMO_LENGTH,
    MAX_TIMEOUT_SECONDS,
    RESOLUTIONS,
    TRANSFER_ID,
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
    expiry_id,
    project_chain_key,
    time_text,
    transfer_hash,
)
from potluck.ledger.rules.planning import check_request, plan_batch, plan_each

__all__ = [
    "CLIENT_KINDS",
    "EXPIRY_PREFIX",
    "INSTANCE_CHAIN_KEY",
    "MAX_BATCH",
    "MAX_MEMO_LENGTH",
    "MAX_TIMEOUT_SECONDS",
    "RESOLUTIONS",
    "TRANSFER_ID",
    "AccountFacts",
    "BooksChecker",
    "ChainHead",
    "CheckedAccount",
    "HoldAlreadyEnded",
    "HoldExpired",
    "HoldFacts",
    "InsufficientFunds",
    "Plan",
    "Problem",
    "ReversalTarget",
    "Totals",
    "TransferIdReused",
    "TransferRequest",
    "TransferRow",
    "TransferTuple",
    "VerifyReport",
    "check_request",
    "expiry_id",
    "plan_batch",
    "plan_each",
    "project_chain_key",
    "time_text",
    "transfer_hash",
]
