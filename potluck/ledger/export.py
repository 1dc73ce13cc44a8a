"""A project's books as CSV, JSON or beancount, and checking an exported JSON on its own.

The JSON carries every field that goes into the hash chain, so anyone holding an export can
recompute the chain and the project's balances without access to the instance
(``verify_export``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from potluck.ledger import rules
from potluck.ledger.service.books import AccountView, Extract
from potluck.money import decimal_text

FORMATS = ("csv", "json", "beancount")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "beancount": "text/plain; charset=utf-8",
}
CSV_COLUMNS = (
    "seq",
    "id",
    "created_at",
    "kind",
    "debit_account_id",
    "debit_account",
    "credit_account_id",
    "credit_account",
    "commodity",
    "amount",
    "amount_units",
    "pending_id",
    "timeout_at",
    "reverses_id",
    "batch_id",
    "memo",
    "prev_hash",
    "hash",
)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _amount(row: rules.TransferRow, accounts: Mapping[int, AccountView]) -> str:
    exponent = accounts[row.debit_account_id].commodity.exponent
    return decimal_text(row.amount, exponent)


def to_csv(books: Extract) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in books.transfers:
        writer.writerow(
            (
                row.seq,
                row.id,
                _iso(row.created_at),
                row.kind,
                row.debit_account_id,
                books.accounts[row.debit_account_id].label,
                row.credit_account_id,
                books.accounts[row.credit_account_id].label,
                row.commodity,
                _amount(row, books.accounts),
                row.amount,
                row.pending_id or "",
                _iso(row.timeout_at) or "",
                row.reverses_id or "",
                row.batch_id or "",
                row.memo,
                row.prev_hash,
                row.hash,
            )
        )
    return out.getvalue()


def to_json_data(books: Extract) -> dict[str, Any]:
    chain = books.chain
    return {
        "project": {"slug": books.project.slug, "name": books.project.name},
        "chain": {
            "id": chain.id if chain else None,
            "key": chain.key if chain else rules.project_chain_key(books.project.id),
            "head_seq": chain.head_seq if chain else 0,
            "head_hash": chain.head_hash if chain else "0" * 64,
        },
        "accounts": [
            {
                "id": a.id,
                "label": a.label,
                "owner": a.owner,
                "purpose": a.purpose,
                "commodity": a.commodity.code,
                "exponent": a.commodity.exponent,
                "custodian": a.custodian_name,
                "no_negative": a.no_negative,
                "chain_id": a.chain_id,
                "in_these_books": a.project_id == books.project.id,
                "debits_pending": a.totals.debits_pending,
                "debits_posted": a.totals.debits_posted,
                "credits_pending": a.totals.credits_pending,
                "credits_posted": a.totals.credits_posted,
                "balance": a.balance.decimal_text(),
            }
            for a in sorted(books.accounts.values(), key=lambda a: a.id)
        ],
        "open_holds": books.open_holds,
        "transfers": [
            {
                "seq": r.seq,
                "id": r.id,
                "kind": r.kind,
                "debit_account_id": r.debit_account_id,
                "credit_account_id": r.credit_account_id,
                "commodity": r.commodity,
                "amount": r.amount,
                "pending_id": r.pending_id,
                "timeout_at": rules.time_text(r.timeout_at) if r.timeout_at else None,
                "reverses_id": r.reverses_id,
                "batch_id": r.batch_id,
                "memo": r.memo,
                "created_at": rules.time_text(r.created_at),
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
            for r in books.transfers
        ],
    }


def to_json(books: Extract) -> str:
    return json.dumps(to_json_data(books), indent=2, ensure_ascii=False) + "\n"


def verify_export(data: Mapping[str, Any]) -> rules.VerifyReport:
    """Check an exported JSON on its own: the chain recomputes, and each of the project's own
    accounts equals the sum of its transfers."""
    chain = data["chain"]
    chain_id = chain["id"] if chain["id"] is not None else 0
    head = rules.ChainHead(chain_id, chain["key"], chain["head_seq"], chain["head_hash"])
    accounts = [
        rules.CheckedAccount(
            facts=rules.AccountFacts(
                id=a["id"],
                commodity=a["commodity"],
                exponent=a["exponent"],
                chain_id=a["chain_id"],
                no_negative=a["no_negative"],
                label=a["label"],
            ),
            recorded=rules.Totals(
                a["debits_pending"], a["debits_posted"], a["credits_pending"], a["credits_posted"]
            ),
            complete=a["in_these_books"],
        )
        for a in data["accounts"]
    ]
    others = {a.facts.chain_id for a in accounts if a.facts.chain_id != chain_id}
    checker = rules.BooksChecker(
        [head], accounts, instance_chain_id=next(iter(others)) if len(others) == 1 else None
    )
    targets = {
        t["id"]: (t["kind"], t["amount"], t["debit_account_id"], t["credit_account_id"])
        for t in data["transfers"]
    }
    for t in data["transfers"]:
        checker.feed(
            (
                t["id"], chain_id, t["seq"], t["kind"], t["debit_account_id"],
                t["credit_account_id"], t["commodity"], t["amount"], t["pending_id"],
                t["timeout_at"], t["reverses_id"], t["batch_id"], t["memo"], t["created_at"],
                t["prev_hash"], t["hash"],
            )
        )  # fmt: skip
    return checker.finish(data["open_holds"], targets)


# --- beancount ------------------------------------------------------------------------------

_ROOTS = {"project": "Assets", "peer": "Income", "custodian": "Liabilities", "world": "Equity"}
_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")


def _component(text: str) -> str:
    """A beancount account component: starts with a capital letter or digit, no spaces."""
    words = [w for w in _NOT_NAME.split(text) if w]
    joined = "-".join(w[:1].upper() + w[1:] for w in words) or "X"
    return joined if joined[0].isupper() or joined[0].isdigit() else "X" + joined


def beancount_account(account: AccountView) -> str:
    """``Assets:Funds:Example-Host:A12``: the account id keeps names unique."""
    root = _ROOTS[account.owner]
    parts = [root, _component(account.purpose)]
    if account.custodian_name:
        parts.append(_component(account.custodian_name))
    parts.append(f"A{account.id}")
    return ":".join(parts)


def beancount_commodity(code: str) -> str:
    """Beancount commodities are upper case; resource units carry a hyphen, so ``CPU-HOUR``
    cannot be mistaken for a currency."""
    return code.upper()


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_beancount(books: Extract) -> str:
    """Posted value only: beancount has no holds, so a hold appears when it is posted (as
    the post's amount) and a void or expiry moves nothing."""
    lines = [
        f"; Books of {books.project.name} ({books.project.slug}), exported from Potluck.",
        f'option "title" {_quote(books.project.name + " books")}',
        "",
    ]
    first_day = min(
        (t.created_at for t in books.transfers), default=books.project.created_at
    ).date()
    commodities = sorted({a.commodity.code for a in books.accounts.values()})
    lines.extend(
        f"{first_day.isoformat()} commodity {beancount_commodity(code)}" for code in commodities
    )
    lines.extend(
        f"{first_day.isoformat()} open {beancount_account(account)} "
        f"{beancount_commodity(account.commodity.code)}"
        for account in sorted(books.accounts.values(), key=lambda a: a.id)
    )
    lines.append("")
    posted: dict[int, int] = {}
    for row in books.transfers:
        if row.kind not in ("transfer", "post"):
            continue
        debit = books.accounts[row.debit_account_id]
        credit = books.accounts[row.credit_account_id]
        number = decimal_text(row.amount, debit.commodity.exponent)
        code = beancount_commodity(row.commodity)
        narration = row.memo or row.kind
        lines.append(f"{row.created_at.date().isoformat()} * {_quote(narration)}")
        lines.append(f"  id: {_quote(row.id)}")
        lines.append(f"  hash: {_quote(row.hash)}")
        lines.append(f"  {beancount_account(debit)}  -{number} {code}")
        lines.append(f"  {beancount_account(credit)}  {number} {code}")
        lines.append("")
        posted[debit.id] = posted.get(debit.id, 0) - row.amount
        posted[credit.id] = posted.get(credit.id, 0) + row.amount
    last_day = max((t.created_at for t in books.transfers), default=books.project.created_at)
    check_day = (last_day + timedelta(days=1)).date().isoformat()
    for account in sorted(books.accounts.values(), key=lambda a: a.id):
        if account.project_id != books.project.id:
            continue
        # Only the project's own accounts are wholly in these books; the sum of their
        # exported postings must equal the balance the instance records.
        lines.append(
            f"{check_day} balance {beancount_account(account)}  "
            f"{decimal_text(account.totals.balance, account.commodity.exponent)} "
            f"{beancount_commodity(account.commodity.code)}"
        )
    return "\n".join(lines) + "\n"


def render(books: Extract, fmt: str) -> str:
    if fmt == "csv":
        return to_csv(books)
    if fmt == "json":
        return to_json(books)
    return to_beancount(books)
