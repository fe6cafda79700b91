"""History tables: rows that record what happened are never rewritten.

A table is *history* when its model in ``db.models`` carries ``__history__ = Guard...``. The
rule holds in two places that no start-up path can skip:

1. **In the database.** Triggers refuse ``DELETE``, and ``UPDATE`` beyond what the guard allows.
   They are created with the tables (``Base.metadata.create_all``, wired in ``db.models``) and by
   migration 0004 for databases made before it. ``core.maintenance.verify`` reports a history table whose
   trigger is missing or does not match its guard (a later migration that rebuilds a table on
   SQLite drops its triggers: such a migration must call :func:`install` again).
2. **In the ORM.** Listeners registered by ``db.models`` itself — so in every process that can
   touch the database, whatever it imported first — refuse the same changes at flush time and
   refuse UPDATE/DELETE statements on append-only tables before they reach SQL.

Three kinds of guard:

- :meth:`Guard.append_only` — no row is ever changed or deleted (ledger entries, stock moves,
  the audit log, decisions, votes …);
- :meth:`Guard.set_once` — only the named columns may change, each once, from "not yet set"
  (NULL, or one of the values given) to a value: an objection's resolution, a card's revocation,
  a redemption's void. Everything else about the row stays as first written;
- :meth:`Guard.until` — a working row that may change until it is final, then never again
  (an allocation once signed for, a review session once closed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Prefix:
    """In :meth:`Guard.set_once`: a value counts as "not yet set" while it starts with this text
    (a receipt is inserted with a unique placeholder and numbered from its id in the same
    transaction)."""

    text: str


class HistoryViolation(RuntimeError):
    """A change to a history row that its guard does not allow (a bug, never a user error)."""


@dataclass(frozen=True)
class Guard:
    kind: str  # "append" / "once" / "until"
    # set_once: column -> values that count as "not yet set" besides NULL
    once: Mapping[str, tuple] = field(default_factory=dict)
    # until: the row is final once one of these columns is set (not NULL) ...
    final_when_set: tuple[str, ...] = ()
    # ... or once a column holds the given value
    final_when: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def append_only(cls) -> Guard:
        return cls("append")

    @classmethod
    def set_once(cls, **columns: tuple | Prefix) -> Guard:
        """``status=("open",), resolution=("",), resolved_at=()``: these columns may each be set
        once, from NULL or one of the listed values (or a :class:`Prefix`); no other column may change."""
        return cls("once", once={k: tuple(v) if isinstance(v, tuple) else (v,) for k, v in columns.items()})

    @classmethod
    def until(cls, *set_columns: str, **values: object) -> Guard:
        """The row may change until one of ``set_columns`` is set or a column holds the value
        given for it; from then on it is final."""
        return cls("until", final_when_set=tuple(set_columns), final_when=dict(values))

    # ---------------------------------------------------------------- the rule, in Python

    def refusal(self, old: Mapping[str, object], changed: Mapping[str, object]) -> str | None:
        """Why changing ``changed`` (column -> new value) on a row now holding ``old`` is refused,
        or None when the guard allows it. The same rule as the triggers."""
        if not changed:
            return None
        if self.kind == "append":
            return "rows cannot be changed"
        if self.kind == "until":
            if any(old.get(c) is not None for c in self.final_when_set) or any(
                    old.get(c) == v for c, v in self.final_when.items()):
                return "the row is final"
            return None
        for column in changed:
            if column not in self.once:
                return f"column {column} cannot change"
            if not _unset(old.get(column), self.once[column]):
                return f"column {column} is already set"
        return None

    def spec(self) -> str:
        """The guard as JSON: the PostgreSQL trigger's argument."""
        return json.dumps({"kind": self.kind,
                           "once": {k: [x for x in v if not isinstance(x, Prefix)] for k, v in self.once.items()},
                           "once_prefix": {k: x.text for k, v in self.once.items() for x in v if isinstance(x, Prefix)},
                           "final_when_set": list(self.final_when_set), "final_when": dict(self.final_when)},
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _unset(value: object, unset: tuple) -> bool:
    if value is None:
        return True
    return any(value.startswith(u.text) if isinstance(u, Prefix) else value == u
               for u in unset if isinstance(value, str) or not isinstance(u, Prefix))


# ---------------------------------------------------------------- triggers


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _sqlite_update_condition(guard: Guard, columns: list[str]) -> str | None:
    """The WHEN clause of the SQLite update trigger: true when the update breaks the guard."""
    if guard.kind == "append":
        return None
    if guard.kind == "until":
        parts = [f"OLD.{c} IS NOT NULL" for c in guard.final_when_set]
        parts += [f"OLD.{c} IS {_literal(v)}" for c, v in guard.final_when.items()]
        return " OR ".join(parts)
    parts = []
    for c in columns:
        if c not in guard.once:
            parts.append(f"OLD.{c} IS NOT NEW.{c}")
            continue
        values = [v for v in guard.once[c] if not isinstance(v, Prefix)]
        prefixes = [v.text for v in guard.once[c] if isinstance(v, Prefix)]
        still_unset = f"OLD.{c} IS NULL" + (f" OR OLD.{c} IN ({', '.join(_literal(v) for v in values)})"
                                             if values else "")
        still_unset += "".join(f" OR substr(OLD.{c}, 1, {len(p)}) = {_literal(p)}" for p in prefixes)
        parts.append(f"(OLD.{c} IS NOT NEW.{c} AND NOT ({still_unset}))")
    return "\n   OR ".join(parts)


def sqlite_triggers(table: str, guard: Guard, columns: list[str]) -> list[str]:
    """CREATE TRIGGER statements for one history table on SQLite (column names in table order:
    an update trigger compares every column, so it is rebuilt when the table gains one)."""
    cond = _sqlite_update_condition(guard, columns)
    when = f"\nWHEN {cond}" if cond else ""
    return [
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}\n"
        f"BEGIN SELECT RAISE(ABORT, 'history table {table}: rows cannot be deleted'); END",
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}{when}\n"
        f"BEGIN SELECT RAISE(ABORT, 'history table {table}: this change is not allowed'); END",
    ]


PG_FUNCTION = """CREATE OR REPLACE FUNCTION jifen_history_guard() RETURNS trigger AS $$
DECLARE
  spec jsonb := TG_ARGV[0]::jsonb;
  o jsonb;
  n jsonb;
  k text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'history table %: rows cannot be deleted', TG_TABLE_NAME;
  END IF;
  IF spec->>'kind' = 'append' THEN
    RAISE EXCEPTION 'history table %: rows cannot be changed', TG_TABLE_NAME;
  END IF;
  o := to_jsonb(OLD);
  n := to_jsonb(NEW);
  IF spec->>'kind' = 'until' THEN
    IF EXISTS (SELECT 1 FROM jsonb_array_elements_text(spec->'final_when_set') AS c(name)
               WHERE o->c.name <> 'null'::jsonb)
       OR EXISTS (SELECT 1 FROM jsonb_each(spec->'final_when') AS w WHERE o->w.key = w.value) THEN
      RAISE EXCEPTION 'history table %: the row is final', TG_TABLE_NAME;
    END IF;
    RETURN NEW;
  END IF;
  FOR k IN SELECT jsonb_object_keys(n) LOOP
    IF (o->k) IS DISTINCT FROM (n->k) THEN
      IF NOT (spec->'once' ? k) THEN
        RAISE EXCEPTION 'history table %: column % cannot change', TG_TABLE_NAME, k;
      END IF;
      IF NOT ((o->k) = 'null'::jsonb OR (spec->'once'->k) @> jsonb_build_array(o->k)
              OR (spec->'once_prefix' ? k
                  AND left(o->>k, length(spec->'once_prefix'->>k)) = spec->'once_prefix'->>k)) THEN
        RAISE EXCEPTION 'history table %: column % is already set', TG_TABLE_NAME, k;
      END IF;
    END IF;
  END LOOP;
  RETURN NEW;
END $$ LANGUAGE plpgsql"""


def pg_trigger(table: str, guard: Guard) -> str:
    return (f"CREATE TRIGGER {table}_history_guard BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION jifen_history_guard({_literal(guard.spec())})")


def _run(conn: Connection, sql: str) -> None:
    # exec_driver_sql hands '%' to the driver's paramstyle on PostgreSQL: double it.
    conn.exec_driver_sql(sql.replace("%", "%%") if conn.dialect.name == "postgresql" else sql)


def install(conn: Connection, guards: Mapping[str, Guard]) -> None:
    """(Re)create the triggers of the given history tables, in the caller's transaction."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _run(conn, PG_FUNCTION)
    for table, guard in guards.items():
        if dialect == "sqlite":
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            _run(conn, f"DROP TRIGGER IF EXISTS {table}_no_delete")
            _run(conn, f"DROP TRIGGER IF EXISTS {table}_no_update")
            for sql in sqlite_triggers(table, guard, columns):
                _run(conn, sql)
        elif dialect == "postgresql":
            _run(conn, f"DROP TRIGGER IF EXISTS {table}_history_guard ON {table}")
            _run(conn, pg_trigger(table, guard))


def _squash(sql: str) -> str:
    return " ".join(sql.split())


def guard_problems(conn: Connection, guards: Mapping[str, Guard]) -> list[str]:
    """History tables whose triggers are missing or do not match their guard (in Chinese, for verify)."""
    dialect = conn.dialect.name
    problems: list[str] = []
    for table, guard in guards.items():
        if dialect == "sqlite":
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            found = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                           "AND tbl_name = :t"), {"t": table}).all())
            for sql in sqlite_triggers(table, guard, columns):
                name = sql.split()[2]
                if name not in found:
                    problems.append(f"历史表 {table} 缺少保护触发器 {name}：其记录可被修改或删除")
                elif _squash(found[name]) != _squash(sql):
                    problems.append(f"历史表 {table} 的保护触发器 {name} 与当前规则不一致")
        elif dialect == "postgresql":
            row = conn.execute(text(
                "SELECT pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relname = :t AND t.tgname = :n AND c.relnamespace = to_regnamespace(current_schema())"),
                {"t": table, "n": f"{table}_history_guard"}).first()
            if row is None:
                problems.append(f"历史表 {table} 缺少保护触发器：其记录可被修改或删除")
            elif row[1] == "D" or guard.spec().replace("'", "''") not in row[0]:
                problems.append(f"历史表 {table} 的保护触发器已停用或与当前规则不一致")
    return problems


# ---------------------------------------------------------------- the ORM side


def _row_change(target) -> tuple[dict, dict]:
    """(old values, new values) of the columns changed on an ORM object since it was loaded."""
    state = inspect(target)
    old: dict = {}
    new: dict = {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        column = attr.columns[0].name
        new[column] = hist.added[0] if hist.added else None
        # Unloaded before the change: the old value is unknown, so nothing is assumed unset.
        old[column] = hist.deleted[0] if hist.deleted else _UNKNOWN
    for attr in state.mapper.column_attrs:  # the rest of the row as loaded (for 'until' guards)
        column = attr.columns[0].name
        if column not in old and attr.key in state.dict:
            old[column] = state.dict[attr.key]
    return old, new


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN = _Unknown()


def register(mappers, guards_by_table: Mapping[str, Guard]) -> None:
    """Attach the ORM side of the guards (called once, by db.models, when the models are defined)."""

    def before_update(mapper, _connection, target) -> None:
        guard = guards_by_table[mapper.local_table.name]
        old, new = _row_change(target)
        why = guard.refusal(old, new)
        if why:
            raise HistoryViolation(f"history table {mapper.local_table.name}: {why}")

    def before_delete(mapper, _connection, _target) -> None:
        raise HistoryViolation(f"history table {mapper.local_table.name}: rows cannot be deleted")

    for mapper in mappers:
        if mapper.local_table.name in guards_by_table:
            event.listen(mapper, "before_update", before_update)
            event.listen(mapper, "before_delete", before_delete)

    @event.listens_for(Session, "do_orm_execute")
    def _statements(state) -> None:
        if not (state.is_update or state.is_delete):
            return
        table = getattr(getattr(state.statement, "table", None), "name", None)
        guard = guards_by_table.get(table)
        if guard is None:
            return
        if state.is_delete:
            raise HistoryViolation(f"history table {table}: rows cannot be deleted")
        if guard.kind == "append":
            raise HistoryViolation(f"history table {table}: rows cannot be changed")
        # set-once and until tables are changed by conditional UPDATE statements
        # (``WHERE status = 'done'``); the triggers hold the rule for those.
