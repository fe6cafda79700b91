"""Append-only guards, in two layers.

1. ORM: a flush that updates or deletes a LedgerEntry, StockMove or ProduceMove raises.
2. Database: triggers refuse UPDATE and DELETE on ledger_entry, so raw SQL and other
   tools cannot rewrite history either. They are created by the migration and by
   ``Base.metadata.create_all`` (tests) alike.
"""

from __future__ import annotations

from sqlalchemy import DDL, event
from sqlalchemy.orm import Session

from db.models import LedgerEntry, ProduceMove, StockMove

APPEND_ONLY = (LedgerEntry, ProduceMove, StockMove)


class AppendOnlyViolation(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_rewrites(session, _ctx, _instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"{type(obj).__name__} is append-only")


SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS ledger_entry_no_update BEFORE UPDATE ON ledger_entry
       BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS ledger_entry_no_delete BEFORE DELETE ON ledger_entry
       BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only'); END""",
]
PG_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION jifen_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql""",
    """DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry""",
    """CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
       FOR EACH ROW EXECUTE FUNCTION jifen_append_only()""",
]


def trigger_statements(dialect: str) -> list[str]:
    return SQLITE_TRIGGERS if dialect == "sqlite" else PG_TRIGGERS if dialect == "postgresql" else []


for _sql in SQLITE_TRIGGERS:
    event.listen(LedgerEntry.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _sql in PG_TRIGGERS:
    event.listen(LedgerEntry.__table__, "after_create", DDL(_sql.replace("%", "%%")).execute_if(dialect="postgresql"))
