"""On PostgreSQL, check a statement's new transfers against what they refer to by index lookups.

Revision 0006 checked them with outer joins against the statement's transition table. A
transition table has no statistics, so the planner may join it by hashing, which reads the
whole of ``ledger_transfers`` (for the holds and reversed transfers named) and of
``ledger_accounts`` on every INSERT: a cost that grows with the books. Written as NOT EXISTS
tests inside one OR, the checks cannot be turned into joins; each new row is checked by
lookups in the referenced tables' primary keys, and the hold and reversal lookups run only for
rows that name one.

Revision ID: 0008
Revises: 0007
Created: 2026-11-27
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_INDEX = """
CREATE OR REPLACE FUNCTION ledger_transfers_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT checked.*
      INTO bad
      FROM (
        SELECT a.id, a.debit_account_id, a.credit_account_id, a.commodity, a.chain_id,
               a.pending_id, a.reverses_id,
               NOT EXISTS (SELECT 1 FROM ledger_accounts AS d
                            WHERE d.id = a.debit_account_id AND d.commodity = a.commodity)
                   AS no_debit,
               NOT EXISTS (SELECT 1 FROM ledger_accounts AS c
                            WHERE c.id = a.credit_account_id AND c.commodity = a.commodity)
                   AS no_credit,
               NOT EXISTS (SELECT 1 FROM ledger_chains AS ch WHERE ch.id = a.chain_id)
                   AS no_chain,
               a.pending_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM ledger_transfers AS h WHERE h.id = a.pending_id)
                   AS no_hold,
               a.reverses_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM ledger_transfers AS t WHERE t.id = a.reverses_id)
                   AS no_target
          FROM added AS a
      ) AS checked
     WHERE checked.no_debit OR checked.no_credit OR checked.no_chain OR checked.no_hold
        OR checked.no_target
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BY_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Back to revision 0006's own function, read from that revision's file.
    path = Path(__file__).with_name("2026_11_27_0006_transfer_references_per_statement.py")
    spec = importlib.util.spec_from_file_location("revision_0006", path)
    assert spec is not None
    assert spec.loader is not None
    earlier = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(earlier)
    op.execute(earlier.CHECK_REFERENCES.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
