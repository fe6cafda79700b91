"""Start the app's database the way production does, then try to rewrite every history table.

Run as its own process (``python -m tests.probes.history_probe``) with JIFEN_DATA_DIR /
JIFEN_DATABASE_URL set, *after* a first start has brought the schema to the newest revision:
so nothing the tests import (no conftest, no fixture) can have registered a guard. Prints one
JSON object: whether Alembic was loaded, and for each history table what each attempt did.

Each table gets one row (and its parents one each), inserted through the tables (inserts are
what history allows). Then, per table:
- ``orm_update``: load the row with the ORM, change a column the guard does not let change, flush;
- ``orm_delete``: delete it with the ORM;
- ``sql_update`` / ``sql_delete``: the same with plain SQL on a raw connection;
- for set-once tables, ``set_once_first`` (the allowed change, once) and ``set_once_again``;
- for until tables, ``until_final`` (the change that makes the row final) and ``until_after``.
An attempt reports "refused:<ExceptionClass>" or "allowed".
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, Integer, Numeric, Time, insert, inspect, text

from core.platform import config
from db.history import Prefix
from db.models import HISTORY, Base
from startup.prepare import prepare


def _allowed(table) -> dict[str, list[str]]:
    """Values that the table's CHECK constraints allow, for ``column IN ('a', 'b')`` checks."""
    out: dict[str, list[str]] = {}
    for c in table.constraints:
        if isinstance(c, CheckConstraint):
            for col, values in re.findall(r"(\w+) IN \(([^)]*)\)", str(c.sqltext)):
                out[col] = re.findall(r"'([^']*)'", values)
    return out


def _value(column, guard, table_name: str):
    """A valid first value for ``column`` of a fresh row."""
    once = guard.once.get(column.name) if guard is not None and guard.kind == "once" else None
    if once is not None:
        for unset in once:
            return unset.text + "probe" if isinstance(unset, Prefix) else unset
        return None  # set once from NULL
    if guard is not None and guard.kind == "until" and column.name in guard.final_when_set:
        return None
    if column.nullable and not column.primary_key:
        return None
    t = column.type
    if isinstance(t, Boolean):
        return False
    if isinstance(t, DateTime):
        return dt.datetime(2026, 1, 2, 3, 4, 5)
    if isinstance(t, Date):
        return dt.date(2026, 1, 2)
    if isinstance(t, Time):
        return dt.time(8, 0)
    if isinstance(t, Integer | Numeric):
        return 1
    return "ab"[: getattr(t, "length", None) or 2]


def seed(conn) -> dict[str, dict]:
    """One row per table, parents first; returns each table's primary key values."""
    keys: dict[str, dict] = {}
    for table in Base.metadata.sorted_tables:
        guard = HISTORY.get(table.name)
        allowed = _allowed(table)
        row = {}
        for column in table.columns:
            if column.primary_key and column.autoincrement is not False and isinstance(column.type, Integer) \
                    and not column.foreign_keys and len(table.primary_key.columns) == 1:
                continue  # let the database number it
            fks = list(column.foreign_keys)
            if fks:
                # a row naming a resident or an outside volunteer (CHECK one_person) names the
                # resident and their household
                person = "outsider_id" in table.c and column.name in ("resident_id", "household_id")
                if column.nullable and not column.primary_key and not person:
                    continue  # left empty (a set-once reference is set later)
                parent = keys[fks[0].column.table.name]
                row[column.name] = parent[fks[0].column.name]
                continue
            once = guard is not None and column.name in guard.once  # starts "not yet set", as the guard has it
            row[column.name] = (allowed[column.name][0] if column.name in allowed and not once
                                else _value(column, guard, table.name))
        result = conn.execute(insert(table).values(row))
        pk = dict(zip([c.name for c in table.primary_key.columns], result.inserted_primary_key, strict=True))
        keys[table.name] = {**row, **pk}
    return keys


def _victim(table, guard) -> str:
    """A column the guard never lets change, that is neither a key nor a foreign key if possible."""
    names = [c.name for c in table.columns]
    plain = [c.name for c in table.columns if not c.primary_key and not c.foreign_keys
             and c.name not in guard.once and c.name not in guard.final_when_set and c.name not in guard.final_when]
    return (plain or names)[0]


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, dt.datetime):
        return value + dt.timedelta(days=1)
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=1)
    if isinstance(value, int):
        return value + 1
    return "zz" if value != "zz" else "yy"  # short: fits any column, so only a guard can refuse it


def attempt(fn) -> str:
    try:
        fn()
    except Exception as e:  # the point is to see which layer refused, and how
        return f"refused:{type(e).__name__}"
    return "allowed"


def probe_table(db, name: str, guard, keys: dict, cls) -> dict[str, object]:
    table = Base.metadata.tables[name]
    pk = {c.name: keys[name][c.name] for c in table.primary_key.columns}
    ident = tuple(pk.values()) if len(pk) > 1 else next(iter(pk.values()))
    where = " AND ".join(f"{c} = :{c}" for c in pk)
    victim = _victim(table, guard)
    attr = inspect(cls).get_property_by_column(table.c[victim]).key
    res: dict[str, object] = {"victim": victim}

    def orm_set(key: str, value) -> None:
        with db.write() as s:
            setattr(s.get(cls, ident), key, value)

    def orm_update():
        with db.write() as s:
            obj = s.get(cls, ident)
            setattr(obj, attr, _changed(getattr(obj, attr)))

    def orm_delete():
        with db.write() as s:
            s.delete(s.get(cls, ident))

    def sql(statement: str, params: dict):
        with db.engine.begin() as conn:
            conn.execute(text(statement), {**params, **pk})

    if guard.kind == "once":
        column = next(iter(guard.once))
        attr_once = inspect(cls).get_property_by_column(table.c[column]).key
        value = dt.datetime(2026, 2, 3) if isinstance(table.c[column].type, DateTime) else "set"
        again = _changed(value)
        if column in (allowed := _allowed(table)):
            # a status held by a CHECK: both values are ones the CHECK lets through, so what refuses
            # the second change is the guard
            value = next(v for v in allowed[column] if v not in guard.once[column])
            again = next(v for v in allowed[column] if v != value)
        res["set_once_first"] = attempt(lambda: orm_set(attr_once, value))
        res["set_once_again"] = attempt(lambda: sql(f"UPDATE {name} SET {column} = :v WHERE {where}", {"v": again}))
    elif guard.kind == "until":
        if guard.final_when_set:
            column = guard.final_when_set[0]
            value = dt.datetime(2026, 2, 3) if isinstance(table.c[column].type, DateTime) else 1
        else:
            column, value = next(iter(guard.final_when.items()))
        res["until_final"] = attempt(lambda: sql(f"UPDATE {name} SET {column} = :v WHERE {where}", {"v": value}))
    res["orm_update"] = attempt(orm_update)
    res["orm_delete"] = attempt(orm_delete)
    with db.read() as s:
        current = s.execute(text(f"SELECT {victim} FROM {name} WHERE {where}"), pk).scalar_one()
    res["sql_update"] = attempt(lambda: sql(f"UPDATE {name} SET {victim} = :v WHERE {where}", {"v": _changed(current)}))
    res["sql_delete"] = attempt(lambda: sql(f"DELETE FROM {name} WHERE {where}", {}))
    with db.read() as s:
        res["row_still_there"] = s.execute(text(f"SELECT COUNT(*) FROM {name} WHERE {where}"), pk).scalar_one()
    return res


def main() -> None:
    cfg = config.load()
    db = prepare(cfg, create_demo=False)
    out: dict = {"alembic_loaded": "alembic" in sys.modules, "tables": {}}
    with db.engine.begin() as conn:
        keys = seed(conn)
    classes = {m.local_table.name: m.class_ for m in Base.registry.mappers}
    for name, guard in HISTORY.items():
        out["tables"][name] = probe_table(db, name, guard, keys, classes[name])
    print(json.dumps(out, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
