"""books

Revision ID: 0002
Revises: 0001
Created: 2026-11-27 08:36:33.120381
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import potluck.db
from potluck.db import append_only_ddl, drop_append_only_ddl

# The commodities as they stood when this revision was written: ISO 4217 currencies with their
# minor units, and the built-in resource units. Later changes come in later revisions.
_SEED: tuple[tuple[str, str, int, str], ...] = (
    ("AED", "currency", 2, "UAE Dirham"),
    ("AFN", "currency", 2, "Afghani"),
    ("ALL", "currency", 2, "Lek"),
    ("AMD", "currency", 2, "Armenian Dram"),
    ("AOA", "currency", 2, "Kwanza"),
    ("ARS", "currency", 2, "Argentine Peso"),
    ("AUD", "currency", 2, "Australian Dollar"),
    ("AWG", "currency", 2, "Aruban Florin"),
    ("AZN", "currency", 2, "Azerbaijan Manat"),
    ("BAM", "currency", 2, "Convertible Mark"),
    ("BBD", "currency", 2, "Barbados Dollar"),
    ("BDT", "currency", 2, "Taka"),
    ("BGN", "currency", 2, "Bulgarian Lev"),
    ("BHD", "currency", 3, "Bahraini Dinar"),
    ("BIF", "currency", 0, "Burundi Franc"),
    ("BMD", "currency", 2, "Bermudian Dollar"),
    ("BND", "currency", 2, "Brunei Dollar"),
    ("BOB", "currency", 2, "Boliviano"),
    ("BOV", "currency", 2, "Mvdol"),
    ("BRL", "currency", 2, "Brazilian Real"),
    ("BSD", "currency", 2, "Bahamian Dollar"),
    ("BTN", "currency", 2, "Ngultrum"),
    ("BWP", "currency", 2, "Pula"),
    ("BYN", "currency", 2, "Belarusian Ruble"),
    ("BZD", "currency", 2, "Belize Dollar"),
    ("CAD", "currency", 2, "Canadian Dollar"),
    ("CDF", "currency", 2, "Congolese Franc"),
    ("CHE", "currency", 2, "WIR Euro"),
    ("CHF", "currency", 2, "Swiss Franc"),
    ("CHW", "currency", 2, "WIR Franc"),
    ("CLF", "currency", 4, "Unidad de Fomento"),
    ("CLP", "currency", 0, "Chilean Peso"),
    ("CNY", "currency", 2, "Yuan Renminbi"),
    ("COP", "currency", 2, "Colombian Peso"),
    ("COU", "currency", 2, "Unidad de Valor Real"),
    ("CRC", "currency", 2, "Costa Rican Colon"),
    ("CUP", "currency", 2, "Cuban Peso"),
    ("CVE", "currency", 2, "Cabo Verde Escudo"),
    ("CZK", "currency", 2, "Czech Koruna"),
    ("DJF", "currency", 0, "Djibouti Franc"),
    ("DKK", "currency", 2, "Danish Krone"),
    ("DOP", "currency", 2, "Dominican Peso"),
    ("DZD", "currency", 2, "Algerian Dinar"),
    ("EGP", "currency", 2, "Egyptian Pound"),
    ("ERN", "currency", 2, "Nakfa"),
    ("ETB", "currency", 2, "Ethiopian Birr"),
    ("EUR", "currency", 2, "Euro"),
    ("FJD", "currency", 2, "Fiji Dollar"),
    ("FKP", "currency", 2, "Falkland Islands Pound"),
    ("GBP", "currency", 2, "Pound Sterling"),
    ("GEL", "currency", 2, "Lari"),
    ("GHS", "currency", 2, "Ghana Cedi"),
    ("GIP", "currency", 2, "Gibraltar Pound"),
    ("GMD", "currency", 2, "Dalasi"),
    ("GNF", "currency", 0, "Guinean Franc"),
    ("GTQ", "currency", 2, "Quetzal"),
    ("GYD", "currency", 2, "Guyana Dollar"),
    ("HKD", "currency", 2, "Hong Kong Dollar"),
    ("HNL", "currency", 2, "Lempira"),
    ("HTG", "currency", 2, "Gourde"),
    ("HUF", "currency", 2, "Forint"),
    ("IDR", "currency", 2, "Rupiah"),
    ("ILS", "currency", 2, "New Israeli Sheqel"),
    ("INR", "currency", 2, "Indian Rupee"),
    ("IQD", "currency", 3, "Iraqi Dinar"),
    ("IRR", "currency", 2, "Iranian Rial"),
    ("ISK", "currency", 0, "Iceland Krona"),
    ("JMD", "currency", 2, "Jamaican Dollar"),
    ("JOD", "currency", 3, "Jordanian Dinar"),
    ("JPY", "currency", 0, "Yen"),
    ("KES", "currency", 2, "Kenyan Shilling"),
    ("KGS", "currency", 2, "Som"),
    ("KHR", "currency", 2, "Riel"),
    ("KMF", "currency", 0, "Comorian Franc"),
    ("KPW", "currency", 2, "North Korean Won"),
    ("KRW", "currency", 0, "Won"),
    ("KWD", "currency", 3, "Kuwaiti Dinar"),
    ("KYD", "currency", 2, "Cayman Islands Dollar"),
    ("KZT", "currency", 2, "Tenge"),
    ("LAK", "currency", 2, "Lao Kip"),
    ("LBP", "currency", 2, "Lebanese Pound"),
    ("LKR", "currency", 2, "Sri Lanka Rupee"),
    ("LRD", "currency", 2, "Liberian Dollar"),
    ("LSL", "currency", 2, "Loti"),
    ("LYD", "currency", 3, "Libyan Dinar"),
    ("MAD", "currency", 2, "Moroccan Dirham"),
    ("MDL", "currency", 2, "Moldovan Leu"),
    ("MGA", "currency", 2, "Malagasy Ariary"),
    ("MKD", "currency", 2, "Denar"),
    ("MMK", "currency", 2, "Kyat"),
    ("MNT", "currency", 2, "Tugrik"),
    ("MOP", "currency", 2, "Pataca"),
    ("MRU", "currency", 2, "Ouguiya"),
    ("MUR", "currency", 2, "Mauritius Rupee"),
    ("MVR", "currency", 2, "Rufiyaa"),
    ("MWK", "currency", 2, "Malawi Kwacha"),
    ("MXN", "currency", 2, "Mexican Peso"),
    ("MXV", "currency", 2, "Mexican Unidad de Inversion (UDI)"),
    ("MYR", "currency", 2, "Malaysian Ringgit"),
    ("MZN", "currency", 2, "Mozambique Metical"),
    ("NAD", "currency", 2, "Namibia Dollar"),
    ("NGN", "currency", 2, "Naira"),
    ("NIO", "currency", 2, "Cordoba Oro"),
    ("NOK", "currency", 2, "Norwegian Krone"),
    ("NPR", "currency", 2, "Nepalese Rupee"),
    ("NZD", "currency", 2, "New Zealand Dollar"),
    ("OMR", "currency", 3, "Rial Omani"),
    ("PAB", "currency", 2, "Balboa"),
    ("PEN", "currency", 2, "Sol"),
    ("PGK", "currency", 2, "Kina"),
    ("PHP", "currency", 2, "Philippine Peso"),
    ("PKR", "currency", 2, "Pakistan Rupee"),
    ("PLN", "currency", 2, "Zloty"),
    ("PYG", "currency", 0, "Guarani"),
    ("QAR", "currency", 2, "Qatari Rial"),
    ("RON", "currency", 2, "Romanian Leu"),
    ("RSD", "currency", 2, "Serbian Dinar"),
    ("RUB", "currency", 2, "Russian Ruble"),
    ("RWF", "currency", 0, "Rwanda Franc"),
    ("SAR", "currency", 2, "Saudi Riyal"),
    ("SBD", "currency", 2, "Solomon Islands Dollar"),
    ("SCR", "currency", 2, "Seychelles Rupee"),
    ("SDG", "currency", 2, "Sudanese Pound"),
    ("SEK", "currency", 2, "Swedish Krona"),
    ("SGD", "currency", 2, "Singapore Dollar"),
    ("SHP", "currency", 2, "Saint Helena Pound"),
    ("SLE", "currency", 2, "Leone"),
    ("SOS", "currency", 2, "Somali Shilling"),
    ("SRD", "currency", 2, "Surinam Dollar"),
    ("SSP", "currency", 2, "South Sudanese Pound"),
    ("STN", "currency", 2, "Dobra"),
    ("SVC", "currency", 2, "El Salvador Colon"),
    ("SYP", "currency", 2, "Syrian Pound"),
    ("SZL", "currency", 2, "Lilangeni"),
    ("THB", "currency", 2, "Baht"),
    ("TJS", "currency", 2, "Somoni"),
    ("TMT", "currency", 2, "Turkmenistan New Manat"),
    ("TND", "currency", 3, "Tunisian Dinar"),
    ("TOP", "currency", 2, "Pa'anga"),
    ("TRY", "currency", 2, "Turkish Lira"),
    ("TTD", "currency", 2, "Trinidad and Tobago Dollar"),
    ("TWD", "currency", 2, "New Taiwan Dollar"),
    ("TZS", "currency", 2, "Tanzanian Shilling"),
    ("UAH", "currency", 2, "Hryvnia"),
    ("UGX", "currency", 0, "Uganda Shilling"),
    ("USD", "currency", 2, "US Dollar"),
    ("USN", "currency", 2, "US Dollar (Next day)"),
    ("UYI", "currency", 0, "Uruguay Peso en Unidades Indexadas (UI)"),
    ("UYU", "currency", 2, "Peso Uruguayo"),
    ("UYW", "currency", 4, "Unidad Previsional"),
    ("UZS", "currency", 2, "Uzbekistan Sum"),
    ("VED", "currency", 2, "Bolivar Soberano"),
    ("VES", "currency", 2, "Bolivar Soberano"),
    ("VND", "currency", 0, "Dong"),
    ("VUV", "currency", 0, "Vatu"),
    ("WST", "currency", 2, "Tala"),
    ("XAF", "currency", 0, "CFA Franc BEAC"),
    ("XCD", "currency", 2, "East Caribbean Dollar"),
    ("XCG", "currency", 2, "Caribbean Guilder"),
    ("XOF", "currency", 0, "CFA Franc BCEAO"),
    ("XPF", "currency", 0, "CFP Franc"),
    ("YER", "currency", 2, "Yemeni Rial"),
    ("ZAR", "currency", 2, "Rand"),
    ("ZMW", "currency", 2, "Zambian Kwacha"),
    ("ZWG", "currency", 2, "Zimbabwe Gold"),
    ("cpu-hour", "resource", 3, "CPU hour"),
    ("gb-month", "resource", 3, "Gigabyte-month of storage"),
    ("room-hour", "resource", 2, "Hour of a room"),
    ("seat-month", "resource", 2, "Month of a software seat"),
)


revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "commodities",
        sa.Column("code", sa.String(length=23), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("exponent", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "kind IN ('currency', 'resource')", name=op.f("ck_commodities_kind_known")
        ),
        sa.CheckConstraint(
            "exponent >= 0 AND exponent <= 18", name=op.f("ck_commodities_exponent_range")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_commodities")),
    )
    op.create_table(
        "custodians",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('fiscal-host', 'payment-provider', 'bank-account')",
            name=op.f("ck_custodians_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custodians")),
        sa.UniqueConstraint("name", name=op.f("uq_custodians_name")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("caller", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("work_committed", sa.Boolean(), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=False),
        sa.Column("lease_until", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('started', 'done')", name=op.f("ck_idempotency_keys_state_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "ledger_chains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("head_seq >= 0", name=op.f("ck_ledger_chains_head_seq_natural")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_ledger_chains_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_chains")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_chains_key")),
        sa.UniqueConstraint("project_id", name=op.f("uq_ledger_chains_project_id")),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("owner", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("peer_id", sa.Integer(), nullable=True),
        sa.Column("custodian_id", sa.Integer(), nullable=True),
        sa.Column("commodity", sa.String(length=23), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("no_negative", sa.Boolean(), nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(peer_id IS NOT NULL) = (owner = 'peer')", name=op.f("ck_ledger_accounts_peer_owner")
        ),
        sa.CheckConstraint(
            "(project_id IS NOT NULL) = (owner = 'project')",
            name=op.f("ck_ledger_accounts_project_owner"),
        ),
        sa.CheckConstraint(
            "owner <> 'custodian' OR custodian_id IS NOT NULL",
            name=op.f("ck_ledger_accounts_custodian_owner"),
        ),
        sa.CheckConstraint(
            "owner IN ('project', 'peer', 'custodian', 'world')",
            name=op.f("ck_ledger_accounts_owner_known"),
        ),
        sa.CheckConstraint(
            "NOT no_negative OR debits_posted + debits_pending <= credits_posted",
            name=op.f("ck_ledger_accounts_no_negative_balance"),
        ),
        sa.CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 "
            "AND credits_pending >= 0 AND credits_posted >= 0",
            name=op.f("ck_ledger_accounts_totals_natural"),
        ),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["ledger_chains.id"],
            name=op.f("fk_ledger_accounts_chain_id_ledger_chains"),
        ),
        sa.ForeignKeyConstraint(
            ["commodity"],
            ["commodities.code"],
            name=op.f("fk_ledger_accounts_commodity_commodities"),
        ),
        sa.ForeignKeyConstraint(
            ["custodian_id"],
            ["custodians.id"],
            name=op.f("fk_ledger_accounts_custodian_id_custodians"),
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], name=op.f("fk_ledger_accounts_peer_id_peers")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_ledger_accounts_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("id", "commodity", name="uq_ledger_accounts_id_commodity"),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_accounts_key")),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_accounts_peer_id"), ["peer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_accounts_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), nullable=False),
        sa.Column("commodity", sa.String(length=23), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("pending_id", sa.String(length=64), nullable=True),
        sa.Column("timeout_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reverses_id", sa.String(length=64), nullable=True),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "(pending_id IS NOT NULL) = (kind IN ('post', 'void', 'expire'))",
            name=op.f("ck_ledger_transfers_resolution_names_hold"),
        ),
        sa.CheckConstraint(
            "kind IN ('transfer', 'hold', 'post', 'void', 'expire')",
            name=op.f("ck_ledger_transfers_kind_known"),
        ),
        sa.CheckConstraint(
            "reverses_id IS NULL OR kind = 'transfer'",
            name=op.f("ck_ledger_transfers_reversal_kind"),
        ),
        sa.CheckConstraint(
            "timeout_at IS NULL OR kind = 'hold'", name=op.f("ck_ledger_transfers_timeout_on_hold")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfers_amount_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name=op.f("ck_ledger_transfers_two_accounts")
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_ledger_transfers_seq_positive")),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["ledger_chains.id"],
            name=op.f("fk_ledger_transfers_chain_id_ledger_chains"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id", "commodity"],
            ["ledger_accounts.id", "ledger_accounts.commodity"],
            name="fk_ledger_transfers_credit_account",
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id", "commodity"],
            ["ledger_accounts.id", "ledger_accounts.commodity"],
            name="fk_ledger_transfers_debit_account",
        ),
        sa.ForeignKeyConstraint(
            ["pending_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_transfers_pending_id_ledger_transfers"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_transfers_reverses_id_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfers")),
        sa.UniqueConstraint("chain_id", "seq", name="uq_ledger_transfers_chain_id_seq"),
    )
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_transfers_chain_id_created_at", ["chain_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_ledger_transfers_pending_id",
            ["pending_id"],
            unique=True,
            sqlite_where=sa.text("pending_id IS NOT NULL"),
            postgresql_where=sa.text("pending_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_ledger_transfers_reverses_id",
            ["reverses_id"],
            unique=True,
            sqlite_where=sa.text("reverses_id IS NOT NULL"),
            postgresql_where=sa.text("reverses_id IS NOT NULL"),
        )

    op.create_table(
        "ledger_open_holds",
        sa.Column("transfer_id", sa.String(length=64), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("timeout_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_open_holds_debit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_open_holds_transfer_id_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_ledger_open_holds")),
    )
    with op.batch_alter_table("ledger_open_holds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_open_holds_debit_account_id"), ["debit_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_open_holds_timeout_at"), ["timeout_at"], unique=False
        )

    # ### end Alembic commands ###
    commodities = sa.table(
        "commodities",
        sa.column("code", sa.String),
        sa.column("kind", sa.String),
        sa.column("exponent", sa.Integer),
        sa.column("name", sa.String),
    )
    op.bulk_insert(
        commodities,
        [
            {"code": code, "kind": kind, "exponent": exponent, "name": name}
            for code, kind, exponent, name in _SEED
        ],
    )
    # Transfers are never changed or deleted: corrections are new, reversing transfers.
    for statement in append_only_ddl(op.get_bind().dialect.name, "ledger_transfers"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_ddl(op.get_bind().dialect.name, "ledger_transfers"):
        op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("ledger_open_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_open_holds_timeout_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_open_holds_debit_account_id"))

    op.drop_table("ledger_open_holds")
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index("uq_ledger_transfers_reverses_id")
        batch_op.drop_index("uq_ledger_transfers_pending_id")
        batch_op.drop_index("ix_ledger_transfers_chain_id_created_at")

    op.drop_table("ledger_transfers")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_project_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_peer_id"))

    op.drop_table("ledger_accounts")
    op.drop_table("ledger_chains")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    op.drop_table("custodians")
    op.drop_table("commodities")
    # ### end Alembic commands ###
