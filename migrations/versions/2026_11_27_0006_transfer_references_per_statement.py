"""On PostgreSQL, check what a transfer refers to once per statement instead of once per row.

A foreign key on PostgreSQL is a trigger that runs one lookup, with a row lock, for every row
inserted; the transfers table has five of them, and they took two fifths of the time of posting
a batch. They are replaced, on PostgreSQL only, by one trigger per INSERT statement that checks
all the new rows at once against their accounts (which must exist and be in the transfer's
commodity), their chain, and the hold or transfer they name. What the foreign keys also gave,
that referenced rows never vanish or change their key, is kept by triggers that refuse DELETE
on accounts and chains and any change of an account's id or commodity or a chain's id.
Transfers themselves are append-only already.

SQLite keeps its foreign keys: they cost little there.

Revision ID: 0006
Revises: 0005
Created: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> (columns, referenced table, referenced columns), as created by revision 0002.
FOREIGN_KEYS: dict[str, tuple[list[str], str, list[str]]] = {
    "fk_ledger_transfers_chain_id_ledger_chains": (["chain_id"], "ledger_chains", ["id"]),
    "fk_ledger_transfers_debit_account": (
        ["debit_account_id", "commodity"],
        "ledger_accounts",
        ["id", "commodity"],
    ),
    "fk_ledger_transfers_credit_account": (
        ["credit_account_id", "commodity"],
        "ledger_accounts",
        ["id", "commodity"],
    ),
    "fk_ledger_transfers_pending_id_ledger_transfers": (
        ["pending_id"],
        "ledger_transfers",
        ["id"],
    ),
    "fk_ledger_transfers_reverses_id_ledger_transfers": (
        ["reverses_id"],
        "ledger_transfers",
        ["id"],
    ),
}

CHECK_REFERENCES = """
CREATE FUNCTION ledger_transfers_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT a.id, a.debit_account_id, a.credit_account_id, a.commodity, a.chain_id,
           a.pending_id, a.reverses_id,
           debit.id IS NULL AS no_debit, credit.id IS NULL AS no_credit,
           chain.id IS NULL AS no_chain,
           a.pending_id IS NOT NULL AND hold.id IS NULL AS no_hold,
           a.reverses_id IS NOT NULL AND target.id IS NULL AS no_target
      INTO bad
      FROM added AS a
      LEFT JOIN ledger_accounts AS debit
             ON debit.id = a.debit_account_id AND debit.commodity = a.commodity
      LEFT JOIN ledger_accounts AS credit
             ON credit.id = a.credit_account_id AND credit.commodity = a.commodity
      LEFT JOIN ledger_chains AS chain ON chain.id = a.chain_id
      LEFT JOIN ledger_transfers AS hold ON hold.id = a.pending_id
      LEFT JOIN ledger_transfers AS target ON target.id = a.reverses_id
     WHERE debit.id IS NULL OR credit.id IS NULL OR chain.id IS NULL
        OR (a.pending_id IS NOT NULL AND hold.id IS NULL)
        OR (a.reverses_id IS NOT NULL AND target.id IS NULL)
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF bad.no_debit THEN
        RAISE EXCEPTION 'transfer %: debit account % does not exist or is not in %',
            bad.id, bad.debit_account_id, bad.commodity USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.no_credit THEN
        RAISE EXCEPTION 'transfer %: credit account % does not exist or is not in %',
            bad.id, bad.credit_account_id, bad.commodity USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.no_chain THEN
        RAISE EXCEPTION 'transfer %: chain % does not exist', bad.id, bad.chain_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.no_hold THEN
        RAISE EXCEPTION 'transfer %: hold % does not exist', bad.id, bad.pending_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RAISE EXCEPTION 'transfer %: reversed transfer % does not exist', bad.id, bad.reverses_id
        USING ERRCODE = 'foreign_key_violation';
END $$
"""


def _keep(table: str, key: str) -> str:
    """A function refusing to delete a row of ``table`` or to change its ``key`` columns."""
    named = key.replace(" ", " and ")
    changed = " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in key.split())
    return f"""
CREATE FUNCTION {table}_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '{table} rows are referred to by the books: DELETE refused'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF {changed} THEN
        RAISE EXCEPTION '{table} rows are referred to by the books: their {named} cannot change'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$
"""


POSTGRESQL_UP = [
    CHECK_REFERENCES,
    (
        "CREATE TRIGGER ledger_transfers_references AFTER INSERT ON ledger_transfers "
        "REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
        "EXECUTE FUNCTION ledger_transfers_references()"
    ),
    _keep("ledger_accounts", "id commodity"),
    (
        "CREATE TRIGGER ledger_accounts_kept BEFORE DELETE OR UPDATE OF id, commodity "
        "ON ledger_accounts FOR EACH ROW EXECUTE FUNCTION ledger_accounts_kept()"
    ),
    _keep("ledger_chains", "id"),
    (
        "CREATE TRIGGER ledger_chains_kept BEFORE DELETE OR UPDATE OF id "
        "ON ledger_chains FOR EACH ROW EXECUTE FUNCTION ledger_chains_kept()"
    ),
]

POSTGRESQL_DOWN = [
    "DROP TRIGGER IF EXISTS ledger_chains_kept ON ledger_chains",
    "DROP TRIGGER IF EXISTS ledger_accounts_kept ON ledger_accounts",
    "DROP FUNCTION IF EXISTS ledger_chains_kept()",
    "DROP FUNCTION IF EXISTS ledger_accounts_kept()",
    "DROP TRIGGER IF EXISTS ledger_transfers_references ON ledger_transfers",
    "DROP FUNCTION IF EXISTS ledger_transfers_references()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in FOREIGN_KEYS:
        op.drop_constraint(name, "ledger_transfers", type_="foreignkey")
    for statement in POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in POSTGRESQL_DOWN:
        op.execute(statement)
    for name, (columns, table, referred) in FOREIGN_KEYS.items():
        op.create_foreign_key(name, "ledger_transfers", table, columns, referred)
