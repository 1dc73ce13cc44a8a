"""Request and response shapes of the books' API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from potluck.ledger import rules
from potluck.ledger.service.books import AccountView
from potluck.money import Commodity, decimal_text


class TransferIn(BaseModel):
    """One transfer to post. ``amount`` is a whole number of the commodity's smallest unit
    (cents for EUR); for a post it may be less than the hold, and left out for all of it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, description="Chosen by you; makes retries safe.")
    kind: Literal["transfer", "hold", "post", "void"] = "transfer"
    debit_account_id: int | None = None
    credit_account_id: int | None = None
    amount: int | None = Field(default=None, gt=0, le=2**63 - 1)
    pending_id: str | None = Field(default=None, description="The hold a post or void ends.")
    timeout_seconds: int | None = Field(default=None, gt=0, description="When a hold expires.")
    reverses_id: str | None = Field(default=None, description="The transfer this corrects.")
    memo: str = Field(default="", max_length=rules.MAX_MEMO_LENGTH)

    def request(self) -> rules.TransferRequest:
        return rules.TransferRequest(
            id=self.id,
            kind=self.kind,
            debit_account_id=self.debit_account_id,
            credit_account_id=self.credit_account_id,
            amount=self.amount,
            pending_id=self.pending_id,
            timeout_seconds=self.timeout_seconds,
            reverses_id=self.reverses_id,
            memo=self.memo,
        )


class BatchIn(BaseModel):
    """Transfers that stand or fall together."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str | None = Field(default=None, max_length=64)
    transfers: list[TransferIn] = Field(min_length=1, max_length=rules.MAX_BATCH)


class TransferOut(BaseModel):
    id: str
    chain: str
    seq: int
    kind: str
    debit_account_id: int
    credit_account_id: int
    commodity: str
    amount: int = Field(description="In the commodity's smallest unit.")
    amount_text: str = Field(description="For people: '12.34 EUR'.")
    pending_id: str | None
    timeout_at: datetime | None
    reverses_id: str | None
    batch_id: str | None
    memo: str
    created_at: datetime
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, row: rules.TransferRow, chain_key: str, exponent: int) -> TransferOut:
        return cls(
            id=row.id,
            chain=chain_key,
            seq=row.seq,
            kind=row.kind,
            debit_account_id=row.debit_account_id,
            credit_account_id=row.credit_account_id,
            commodity=row.commodity,
            amount=row.amount,
            amount_text=f"{decimal_text(row.amount, exponent)} {row.commodity}",
            pending_id=row.pending_id,
            timeout_at=row.timeout_at,
            reverses_id=row.reverses_id,
            batch_id=row.batch_id,
            memo=row.memo,
            created_at=row.created_at,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


class BatchOut(BaseModel):
    batch_id: str | None
    transfers: list[TransferOut]


class CommodityOut(BaseModel):
    code: str
    kind: str
    exponent: int = Field(description="Decimal places of the smallest unit.")
    name: str

    @classmethod
    def of(cls, commodity: Commodity) -> CommodityOut:
        return cls(
            code=commodity.code,
            kind=commodity.kind.value,
            exponent=commodity.exponent,
            name=commodity.name,
        )


class CustodianIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    kind: Literal["fiscal-host", "payment-provider", "bank-account"]


class CustodianOut(BaseModel):
    id: int
    name: str
    kind: str


class AccountIn(BaseModel):
    """A project account: its funds in one commodity at one custodian, or in-kind received."""

    model_config = ConfigDict(extra="forbid")

    purpose: Literal["funds", "in-kind"]
    commodity: str = Field(min_length=1, max_length=23)
    custodian_id: int | None = None
    no_negative: bool | None = Field(
        default=None, description="Defaults to true for funds, false for in-kind."
    )


class AccountOut(BaseModel):
    id: int
    label: str
    owner: str
    purpose: str
    commodity: str
    custodian_id: int | None
    custodian: str | None
    no_negative: bool
    balance: int = Field(description="Credits minus debits posted, in smallest units.")
    balance_text: str
    held: int = Field(description="Reserved by open holds, in smallest units.")
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @classmethod
    def of(cls, view: AccountView) -> AccountOut:
        return cls(
            id=view.id,
            label=view.label,
            owner=view.owner,
            purpose=view.purpose,
            commodity=view.commodity.code,
            custodian_id=view.custodian_id,
            custodian=view.custodian_name,
            no_negative=view.no_negative,
            balance=view.totals.balance,
            balance_text=str(view.balance),
            held=view.totals.debits_pending,
            debits_posted=view.totals.debits_posted,
            credits_posted=view.totals.credits_posted,
            debits_pending=view.totals.debits_pending,
            credits_pending=view.totals.credits_pending,
        )


class BalanceOut(BaseModel):
    """What a project holds in one commodity with one custodian (or in kind)."""

    commodity: str
    custodian: str | None
    balance: int
    balance_text: str


class BooksOut(BaseModel):
    project: str
    chain: str | None
    head_seq: int
    head_hash: str
    balances: list[BalanceOut]
    accounts: list[AccountOut]


class TransferPageOut(BaseModel):
    transfers: list[TransferOut]
    page: int
    per_page: int
    has_more: bool
