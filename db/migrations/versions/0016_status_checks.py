"""status values held by CHECK constraints: proposal, objection, card, redemption (status and
delivery), activity, signup, hours_correction and distribution_round refuse a status their enum
(db.enums) does not list

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:00:00

Rows holding a value outside the lists stop the upgrade before anything is changed, with a message
naming the table, the column and the values (fix or restore them, then upgrade again).

On PostgreSQL each CHECK is added in place. SQLite cannot add a CHECK to an existing table, so
there each table is rebuilt under its own name: its rows are carried into a scratch table, the
table is dropped and created again from its own CREATE TABLE text plus the CHECK, the rows go back
(ids and all), and every index and trigger the table had (the history guards among them) is
created again from the text SQLite kept of it. Foreign keys stay on: ``defer_foreign_keys`` lets
rows of other tables refer to the table while it is briefly empty, and SQLite checks every such
reference again at commit. Nothing here updates or deletes a history row.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as this revision allows them (frozen here: db.enums may grow, this revision does not).
CHECKS: dict[tuple[str, str], tuple[str, ...]] = {
    ("proposal", "status"): ("submitted", "deferred", "rejected", "publicity", "objected", "posted", "overturned"),
    ("objection", "status"): ("open", "upheld", "overturned"),
    ("card", "status"): ("active", "revoked"),
    ("redemption", "status"): ("done", "voided"),
    ("redemption", "delivery"): ("none", "pending", "delivered"),
    ("activity", "status"): ("planned", "open", "done", "cancelled"),
    ("signup", "status"): ("signed", "waitlist", "cancelled"),
    ("hours_correction", "status"): ("open", "accepted", "refused"),
    ("distribution_round", "status"): ("draft", "confirmed", "closed", "cancelled"),
}
# redemption.card_id has no index: while ``card`` is rebuilt SQLite looks up the redemptions of
# every card row, twice; without this scratch index each look-up reads every redemption.
SCRATCH_INDEXES = {"tmp_ix_redemption_card_id": ("redemption", "card_id")}


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
        raise RuntimeError("数据库中有未知的状态值，不能升级到 0016；请先更正这些记录或从备份恢复：\n"
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
    op.execute(f"INSERT INTO {table} SELECT * FROM carry_{table}")
    op.execute(f"DROP TABLE carry_{table}")
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
