"""A complete archive of one village (村级数据归档): an Excel workbook with one sheet per table the
village owns and a manifest sheet, which imports back into an empty install to the same state.

What a village owns is declared here (``OWNED``), table by table: a table with a ``village_id``
column holds the village's rows by that column; a table without one by its parent's rows (a
vote by its decision, …). ``EXCLUDED`` lists what is not the village's (login sessions, rate
limits, login throttles); a test fails when a table is in neither, so a new table cannot be
left out of the archive unnoticed. Not in the workbook: staff password hashes (a hand-over to
the township must not carry them: imported accounts get an unusable password and must be given
a new one by ``manage.py create-user``/the staff page) and photo files (the backup zip has them).

Cells are written so that they read back exactly: numbers as numbers, text as text (through the
safe export helpers: a text beginning with ``=`` stays text), dates and times as ISO text, empty
for NULL. The manifest gives per table its row count and the SHA-256 of its rows in that
encoding, plus the format, the schema revision and the village; the import recomputes every one
and refuses the whole file — in Chinese, writing nothing — if anything differs.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import io
import json
import secrets
import zipfile
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, Table, Time, func, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

from core.platform.errors import InvalidInput
from db import clock
from db.models import Base, StaffUser, Village

FORMAT = "jifen-village-archive/1"
MANIFEST = "清单"

# table -> (column that names the owner, owning table or None for village_id) — parents first
OWNED: dict[str, tuple[str, str | None]] = {
    "village": ("id", None),
    "setting": ("village_id", None),
    "grid": ("village_id", None),
    "staff_user": ("village_id", None),
    "household": ("village_id", None),
    "resident": ("village_id", None),
    "account": ("village_id", None),
    "household_event": ("village_id", None),
    "audit_log": ("village_id", None),
    "rule_category": ("village_id", None),
    "rule_item": ("village_id", None),
    "ledger_entry": ("village_id", None),
    "household_month": ("village_id", None),
    "category_month": ("village_id", None),
    "review_session": ("village_id", None),
    "proposal": ("village_id", None),
    "proposal_photo": ("proposal_id", "proposal"),
    "session_attendee": ("session_id", "review_session"),
    "session_departure": ("attendee_id", "session_attendee"),
    "decision": ("session_id", "review_session"),
    "vote": ("decision_id", "decision"),
    "objection": ("proposal_id", "proposal"),
    "card": ("village_id", None),
    "product": ("village_id", None),
    "stock_move": ("village_id", None),
    "redemption": ("village_id", None),
    "redemption_line": ("redemption_id", "redemption"),
    "redemption_return": ("village_id", None),
    "redemption_return_line": ("return_id", "redemption_return"),
    "plot": ("village_id", None),
    "plot_member": ("plot_id", "plot"),
    "activity": ("village_id", None),
    "outside_volunteer": ("village_id", None),
    "signup": ("activity_id", "activity"),
    "attendance": ("village_id", None),
    "hours_correction": ("attendance_id", "attendance"),
    "volunteer_total": ("village_id", None),
    "star_level_event": ("resident_id", "resident"),
    "certificate": ("village_id", None),
    "season": ("village_id", None),
    "harvest": ("village_id", None),
    "produce_stock": ("village_id", None),
    "produce_move": ("village_id", None),
    "beneficiary": ("village_id", None),
    "distribution_round": ("village_id", None),
    "allocation": ("round_id", "distribution_round"),
    "fund_entry": ("village_id", None),
    "import_batch": ("village_id", None),
    "period_close": ("village_id", None),
    "honour_list": ("village_id", None),
    "honour_entry": ("list_id", "honour_list"),
}
EXCLUDED = {"auth_session": "登录会话", "rate_limit": "限流计数", "login_throttle": "登录失败计数"}
SECRET_COLUMNS = {"staff_user": ("password_hash",)}
UNUSABLE_PASSWORD = "!archived"  # not an argon2 hash: no password ever matches it


class ArchiveError(InvalidInput):
    """The file is not a village archive this install can take; the message says why, in Chinese."""


@dataclass(frozen=True)
class ImportResult:
    village_id: int
    village_name: str
    rows: dict[str, int]


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def tables() -> list[str]:
    """The village's tables, in an order where every row's parents come first."""
    order = [t.name for t in Base.metadata.sorted_tables]
    return sorted(OWNED, key=order.index)


def _ids(name: str, village_id: int) -> Select:
    """The rows of ``name`` that belong to the village (a select of the whole rows)."""
    t = _table(name)
    col, parent = OWNED[name]
    if parent is None:
        return select(t).where(t.c[col] == village_id)
    p = _table(parent)
    (pk,) = p.primary_key.columns
    return select(t).where(t.c[col].in_(_ids(parent, village_id).with_only_columns(pk)))


def _columns(name: str) -> list[str]:
    secret = SECRET_COLUMNS.get(name, ())
    return [c.name for c in _table(name).columns if c.name not in secret]


def _cell(value: object) -> object:
    """A database value as written to the workbook (and hashed): int, float, bool, str or None."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _digest(rows: list[list[object]]) -> str:
    """SHA-256 of rows as JSON lines; an empty text and an empty cell are the same (a spreadsheet
    does not tell them apart)."""
    h = hashlib.sha256()
    for row in rows:
        row = [None if v == "" else v for v in row]
        h.update(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode())
        h.update(b"\n")
    return h.hexdigest()


def _schema_revision(s) -> str:
    if not inspect(s.connection()).has_table("alembic_version"):  # built by create_all (tests)
        return ""
    return s.execute(text("SELECT version_num FROM alembic_version")).scalar() or ""


def village_rows(s, village_id: int) -> dict[str, list[list[object]]]:
    """Every row the village owns, per table, in primary-key order, encoded as archive cells."""
    out = {}
    for name in tables():
        t = _table(name)
        cols = _columns(name)
        q = _ids(name, village_id).with_only_columns(*[t.c[c] for c in cols]).order_by(*t.primary_key.columns)
        out[name] = [[_cell(v) for v in row] for row in s.execute(q)]
    return out


def export_archive(db, village_id: int) -> bytes:
    """The village's archive workbook (.xlsx)."""
    with db.read() as s:
        village = s.get(Village, village_id)
        if village is None:
            raise InvalidInput("找不到这个村。")
        revision = _schema_revision(s)
        rows = village_rows(s, village_id)
        name, code = village.name, village.code
    manifest = [{"表": t, "行数": len(r), "SHA-256": _digest(r)} for t, r in rows.items()]
    head = pd.DataFrame([
        {"项目": "格式", "值": FORMAT}, {"项目": "数据库版本", "值": revision},
        {"项目": "村", "值": name}, {"项目": "村代码", "值": code},
        {"项目": "导出时间", "值": clock.now().replace(microsecond=0).isoformat()},
        {"项目": "清单校验", "值": _digest([[m["表"], m["行数"], m["SHA-256"]] for m in manifest])},
    ])
    from core.platform.exports import excel_bytes

    frames = {MANIFEST: pd.concat([head, pd.DataFrame(manifest)], axis=1)}
    for t, r in rows.items():
        frames[t] = pd.DataFrame(r, columns=_columns(t), dtype=object)
    return excel_bytes(frames)


# ---------------------------------------------------------------- import


def _read_workbook(data: bytes) -> dict[str, list[list[object]]]:
    if not data or not zipfile.is_zipfile(io.BytesIO(data)):
        raise ArchiveError("这不是村级数据归档文件（应为本系统导出的 .xlsx 工作簿）。")
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as e:  # any unreadable workbook is refused in Chinese
        raise ArchiveError("归档文件无法读取（文件已损坏或不是 Excel 工作簿）。") from e
    sheets = {}
    for ws in wb.worksheets:
        sheets[ws.title] = [list(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    return sheets


def _manifest(sheets: dict) -> tuple[dict[str, str], dict[str, tuple[int, str]]]:
    rows = sheets.get(MANIFEST)
    if not rows or rows[0][:5] != ["项目", "值", "表", "行数", "SHA-256"]:
        raise ArchiveError("归档文件缺少清单页（“清单”），或清单格式不对。")
    head = {r[0]: r[1] for r in rows[1:] if r[0]}
    tables_ = {}
    for r in rows[1:]:
        if r[2]:
            if not isinstance(r[3], int) or not isinstance(r[4], str):
                raise ArchiveError(f"清单中表“{r[2]}”的行数或校验和无效。")
            tables_[r[2]] = (r[3], r[4])
    return head, tables_


def _value(column, raw: object) -> object:
    """A workbook cell back to the column's Python value (empty: NULL, or "" for a text that
    cannot be NULL)."""
    if raw is None or raw == "":
        return None if column.nullable or not _is_text(column) else ""
    kind = column.type
    if isinstance(kind, Boolean):
        return bool(raw)
    if isinstance(kind, Integer):
        return int(raw)
    if isinstance(kind, DateTime):
        return dt.datetime.fromisoformat(raw)
    if isinstance(kind, Date):
        return dt.date.fromisoformat(raw)
    if isinstance(kind, Time):
        return dt.time.fromisoformat(raw)
    if isinstance(kind, Numeric):
        return decimal.Decimal(str(raw))
    return raw


def _is_text(column) -> bool:
    try:
        return column.type.python_type is str
    except NotImplementedError:
        return False


def _check(sheets: dict) -> tuple[dict[str, str], dict[str, list[list[object]]]]:
    """The manifest's head and every table's rows, after every check; raises ArchiveError."""
    head, listed = _manifest(sheets)
    if head.get("格式") != FORMAT:
        raise ArchiveError(f"归档格式“{head.get('格式')}”不是本系统能导入的格式（{FORMAT}）。")
    if head.get("清单校验") != _digest([[t, n, d] for t, (n, d) in listed.items()]):
        raise ArchiveError("归档清单已被改动（清单校验不符），拒绝导入。")
    if set(listed) != set(OWNED):
        missing = sorted(set(OWNED) - set(listed))
        extra = sorted(set(listed) - set(OWNED))
        raise ArchiveError("归档中的表与本系统不符" + (f"，缺少：{'、'.join(missing)}" if missing else "")
                           + (f"，多出：{'、'.join(extra)}" if extra else "") + "。")
    out = {}
    for name in tables():
        rows = sheets.get(name)
        if rows is None:
            raise ArchiveError(f"归档缺少表“{name}”的工作表。")
        cols = _columns(name)
        if not rows or [c for c in rows[0] if c is not None] != cols:
            raise ArchiveError(f"表“{name}”的列与本系统不符（可能来自其他版本，或被改动过）。")
        body = [r[:len(cols)] + [None] * (len(cols) - len(r)) for r in rows[1:] if any(v is not None for v in r)]
        # openpyxl reads an integral float cell as int already; anything else is as written
        count, digest = listed[name]
        if len(body) != count:
            raise ArchiveError(f"表“{name}”应有 {count} 行，文件中有 {len(body)} 行：归档不完整或被改动，拒绝导入。")
        if _digest(body) != digest:
            raise ArchiveError(f"表“{name}”的内容与清单的校验和不符：归档已被改动或损坏，拒绝导入。")
        out[name] = body
    if len(out["village"]) != 1:
        raise ArchiveError("归档中应恰好有一个村。")
    return head, out


def check_archive(data: bytes) -> dict[str, int]:
    """Every check of the import, writing nothing: row counts per table."""
    _, rows = _check(_read_workbook(data))
    return {t: len(r) for t, r in rows.items()}


def import_archive(db, data: bytes) -> ImportResult:
    """Load a village archive into an empty install (no village yet), all or nothing."""
    _, rows = _check(_read_workbook(data))
    try:
        return _import(db, rows)
    except (ValueError, TypeError, DBAPIError) as e:
        raise ArchiveError(f"归档中的数据无法写入本系统（{type(e).__name__}），未导入任何内容。") from e


def _import(db, rows: dict[str, list[list[object]]]) -> ImportResult:
    with db.write() as s:
        if s.execute(select(func.count()).select_from(Village)).scalar():
            raise ArchiveError("只能导入到空的系统（还没有任何村）。当前系统已有村的数据，未导入任何内容。")
        for name in tables():
            t = _table(name)
            cols = _columns(name)
            values = [{c: _value(t.c[c], v) for c, v in zip(cols, row, strict=True)} for row in rows[name]]
            if name == "staff_user":
                for v in values:
                    v["password_hash"] = f"{UNUSABLE_PASSWORD}-{secrets.token_hex(8)}"
            for i in range(0, len(values), 1000):
                s.execute(insert(t), values[i:i + 1000])
        _reset_sequences(s)
        village = rows["village"][0]
        vcols = _columns("village")
        return ImportResult(village[vcols.index("id")], village[vcols.index("name")],
                            {t: len(r) for t, r in rows.items()})


def _reset_sequences(s) -> None:
    """PostgreSQL: move each id sequence past the ids just inserted (SQLite needs nothing)."""
    if s.get_bind().dialect.name != "postgresql":
        return
    for name in tables():
        t = _table(name)
        pk = list(t.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement in (True, "auto") \
                and not pk[0].foreign_keys:
            seq = s.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": name, "c": pk[0].name}).scalar()
            if seq:
                s.execute(text(f"SELECT setval('{seq}', GREATEST((SELECT COALESCE(MAX({pk[0].name}), 0) FROM "
                               f'"{name}"), 1))'))


def staff_must_reset(s) -> list[str]:
    """Usernames whose password came from an archive (unusable until reset)."""
    return list(s.execute(select(StaffUser.username).where(StaffUser.password_hash.like(f"{UNUSABLE_PASSWORD}%"))
                          ).scalars())
