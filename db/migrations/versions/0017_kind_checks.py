"""kind values held by CHECK constraints: ledger_entry, household_event, period_close, honour_entry,
produce_move, product and stock_move kinds and decision.outcome refuse a value their enum (db.enums)
does not list

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 19:00:00

The same way as 0016 (whose helpers are copied here, as they were then: a revision does not change
when a later one does). Rows holding a value outside the lists stop the upgrade before anything is
changed, with a message naming the table, the column and the values.

On PostgreSQL each CHECK is added in place. On SQLite each table is rebuilt under its own name: its
rows are carried into a scratch table, the table is dropped and created again from its own CREATE
TABLE text plus the CHECK, the rows go back (ids and all), and every index and trigger it had (the
history guards among them) is created again from the text SQLite kept of it, after the rows are
back. Foreign keys stay on (``defer_foreign_keys``; SQLite checks every reference again at commit);
scratch indexes on the columns that refer to a rebuilt table keep each check a look-up (without
them a bulk database's ledger took hours).

fund_entry.kind, session_departure.kind and vote.vote had their CHECKs from the start (0012, 0003);
they now come from db.enums too, with the same names and text, so there is nothing to do for them.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as this revision allows them (frozen here: db.enums may grow, this revision does not).
CHECKS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ledger_entry", "kind"): ("earned", "deducted", "base", "base_locked", "redeemed", "redeem_void",
                               "redeem_return", "reversal", "clearing", "adjustment", "volunteer", "settlement",
                               "backfill", "carryover", "carryover_earned", "carryover_record", "transfer"),
    ("household_event", "kind"): ("close", "reopen", "resident_leave", "resident_return", "split_out", "split_in",
                                  "merge_out", "merge_in", "head_change"),
    ("period_close", "kind"): ("month", "year"),
    ("honour_entry", "kind"): ("household", "volunteer"),
    ("produce_move", "kind"): ("harvest", "deliver", "to_shop", "sale", "adjust", "return"),
    ("product", "kind"): ("goods", "service"),
    ("stock_move", "kind"): ("purchase", "donation", "harvest", "redeem", "void", "return", "count"),
    ("decision", "outcome"): ("approved", "rejected", "deferred", "upheld", "overturned"),
}
# References to a rebuilt table from a column without an index: while the table is dropped and
# filled again SQLite looks up the referring rows of each of its rows, twice; without these scratch
# indexes each look-up reads the whole referring table (proposal for every ledger entry).
SCRATCH_INDEXES = {
    "tmp_ix_proposal_posted_entry_id": ("proposal", "posted_entry_id"),
    "tmp_ix_redemption_line_product_id": ("redemption_line", "product_id"),
    "tmp_ix_redemption_return_line_product_id": ("redemption_return_line", "product_id"),
}
# A table that refers to itself (a reversal names its entry) is its own referring table: while its
# rows go back, the table's own indexes are not there yet (they are made after the rows, in one go),
# and each row would read the whole new table for rows naming it. A small partial index on the
# column, there only while the rows go back, keeps that a look-up.
SELF_REFERENCES = {"ledger_entry": "reverses_id"}


def _name(table: str, column: str) -> str:
    return f"ck_{table}_{column}_known"


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _tables() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, column in CHECKS:
        out.setdefault(table, []).append(column)
    return out


def _refuse_unknown(bind) -> None:
    """Stop before changing anything if a row holds a value the CHECK would refuse."""
    problems = []
    for (table, column), values in CHECKS.items():
        rows = bind.execute(sa.text(
            f"SELECT {column}, COUNT(*) FROM {table} WHERE {column} IS NULL OR NOT ({_condition(column, values)}) "
            f"GROUP BY {column} ORDER BY {column}")).all()
        if rows:
            found = "、".join(f"{v!r} {n} 行" for v, n in rows)
            problems.append(f"{table}.{column}：{found}（允许：{', '.join(values)}）")
    if problems:
        raise RuntimeError("数据库中有未知的类型值，不能升级到 0017；请先更正这些记录或从备份恢复：\n"
                           + "\n".join(problems))


def _rebuild_sqlite(bind, table: str, change) -> None:
    """Drop and create ``table`` again from its CREATE TABLE text as ``change`` rewrites it,
    keeping its rows, indexes and triggers."""
    create = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                          {"t": table}).scalar_one()
    # indexes and triggers as SQLite stored them (automatic indexes of UNIQUE constraints have no
    # text: they come back with the CREATE TABLE)
    others = bind.execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE tbl_name = :t AND type IN ('index', 'trigger') AND sql IS NOT NULL "
        "ORDER BY type, name"), {"t": table}).scalars().all()
    op.execute(f"CREATE TEMP TABLE carry_{table} AS SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(change(create))
    column = SELF_REFERENCES.get(table)
    if column:
        op.execute(f"CREATE INDEX tmp_ix_{table}_{column} ON {table} ({column}) WHERE {column} IS NOT NULL")
    op.execute(f"INSERT INTO {table} SELECT * FROM carry_{table}")
    op.execute(f"DROP TABLE carry_{table}")
    if column:
        op.execute(f"DROP INDEX tmp_ix_{table}_{column}")
    for sql in others:
        op.execute(sql)


def _add_checks(create: str, table: str) -> str:
    end = create.rstrip().rindex(")")
    clauses = "".join(f", \n\tCONSTRAINT {_name(table, column)} CHECK ({_condition(column, CHECKS[table, column])})"
                      for column in _tables()[table])
    return create[:end].rstrip() + clauses + "\n)"


def _drop_checks(create: str, table: str) -> str:
    for column in _tables()[table]:
        # the CHECK as _add_checks (or SQLAlchemy's create_all) wrote it: one level of parentheses inside
        create, found = re.subn(rf",\s*CONSTRAINT\s+\"?{_name(table, column)}\"?\s+CHECK\s*\((?:[^()]|\([^()]*\))*\)",
                                "", create)
        if found != 1:
            raise RuntimeError(f"{table} 的表定义中找不到约束 {_name(table, column)}，不能降级。")
    return create


def _sqlite(bind, change) -> None:
    op.execute("PRAGMA defer_foreign_keys = ON")  # back to OFF by itself at commit
    for name, (table, column) in SCRATCH_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} ({column})")
    for table in _tables():
        _rebuild_sqlite(bind, table, lambda sql, t=table: change(sql, t))
    for name in SCRATCH_INDEXES:
        op.execute(f"DROP INDEX {name}")


def upgrade() -> None:
    bind = op.get_bind()
    _refuse_unknown(bind)
    if bind.dialect.name == "sqlite":
        _sqlite(bind, _add_checks)
    else:
        for (table, column), values in CHECKS.items():
            op.create_check_constraint(op.f(_name(table, column)), table, _condition(column, values))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite(bind, _drop_checks)
    else:
        for table, column in reversed(CHECKS):
            op.drop_constraint(op.f(_name(table, column)), table, type_="check")
