"""Roster import (村民花名册导入): households, residents and their accounts from Excel or CSV.

One row is one resident; rows with the same door number (门牌号) form a household whose
head (户主) gives it its name. The flow is preview → commit:

- :func:`preview` parses and validates every row and says what a commit would do;
  nothing is written;
- :func:`commit` does the same again inside ONE transaction and writes only if there is no
  error at all, so a roster is never half-imported.

Re-importing the same file changes nothing: households match on door number, residents
on door number + name, and unchanged rows are left alone. Each import that changes
something records an ``import_batch`` with the file's sha256.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import InvalidInput
from core.platform.validate import door_number, nfkc
from core.points import posting
from db.models import Grid, Household, ImportBatch, Resident, Village

COLUMNS = ["门牌号", "网格", "姓名", "性别", "出生年份", "与户主关系", "党员", "电话"]
REQUIRED = ["门牌号", "网格", "姓名", "与户主关系"]
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_CELL = 200  # characters in one cell of a known column (names are at most 40, addresses 120)
HEADER_SEARCH_ROWS = 6
HEAD = "户主"
RELATIONS = ("户主", "配偶", "子女", "儿子", "女儿", "儿媳", "女婿", "父亲", "母亲", "父母", "孙子", "孙女",
             "孙子女", "兄弟", "姐妹", "兄弟姐妹", "祖父母", "外孙子女", "其他")
_PHONE = re.compile(r"^(1[0-9]{10}|0[0-9]{2,3}-?[0-9]{7,8})$")
_YES = {"是", "党员", "中共党员", "y", "yes", "1", "√", "true"}
_NO = {"", "否", "群众", "n", "no", "0", "×", "false"}


@dataclass
class RosterRow:
    line: int  # row number as the user sees it in Excel (header = 1)
    door_no: str
    grid: str
    name: str
    gender: str
    birth_year: int | None
    relation: str
    party_member: bool
    phone: str


@dataclass
class Plan:
    """What an import would do; ``errors`` non-empty means nothing may be written."""

    filename: str
    sha256: str
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    new_households: int = 0
    new_residents: int = 0
    updated: int = 0
    unchanged: int = 0
    imported_before: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changes(self) -> int:
        return self.new_households + self.new_residents + self.updated


# ---------------------------------------------------------------- reading the file


def _decode_csv(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或直接上传 Excel 文件。")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """The file's rows as lists of stripped strings (first row = header)."""
    if not data:
        raise InvalidInput("文件是空的。")
    if len(data) > MAX_BYTES:
        raise InvalidInput("文件太大（超过 5 MB）：请分村、分网格导入。")
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if name.endswith(".xls"):
        raise InvalidInput("不支持旧版 .xls 文件：请在 Excel 中另存为 .xlsx 或 CSV。")
    text = _decode_csv(data)
    if "\x00" in text:
        raise InvalidInput("文件内容无法读取：请上传 Excel（.xlsx）或 CSV 文件。")
    try:
        sample = text[:4096]
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;，") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    # The csv module refuses a field over 128 KB with an English error and no row; every field of
    # a file within MAX_BYTES is read instead, and parse_rows names the cell that is too long.
    if csv.field_size_limit() < MAX_BYTES:
        csv.field_size_limit(MAX_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        return [[_cell(c) for c in row] for row in reader]
    except csv.Error:
        raise InvalidInput(f"第 {reader.line_num} 行：CSV 格式错误（引号不成对或有无法识别的内容），"
                           "请在 Excel 中另存为 CSV 或直接上传 Excel 文件。") from None


def _read_xlsx(data: bytes) -> list[list[str]]:
    """The rows of the first sheet that has the header (a workbook often opens with a sheet of
    instructions); of the first sheet when none has it, so that parse_rows explains."""
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as e:
        raise InvalidInput("Excel 文件已损坏或不是 .xlsx 格式，请重新保存后再上传。") from e
    try:
        for ws in wb.worksheets:
            rows = []
            for row in ws.iter_rows(values_only=True):
                rows.append([_cell(c) for c in row])
                if len(rows) > MAX_ROWS + 1:
                    break
            if _header_at(rows) is not None:
                return rows
        raise InvalidInput(f"找不到表头：工作表{'、'.join(f'“{ws.title}”' for ws in wb.worksheets)}的前 "
                           f"{HEADER_SEARCH_ROWS} 行都没有“门牌号”等列名。第一行应包含这些列：{'、'.join(COLUMNS)}。")
    finally:
        wb.close()


# ---------------------------------------------------------------- validating rows (pure)


def _header_at(table: list[list[str]]) -> int | None:
    """Index of the header row among the first rows (a title row is common: “XX村村民花名册”)."""
    for i, row in enumerate(table[:HEADER_SEARCH_ROWS]):
        if "门牌号" in (nfkc(c) for c in row):
            return i
    return None


def parse_rows(table: list[list[str]]) -> tuple[list[RosterRow], list[str]]:
    """Validate every row; return the clean rows and Chinese errors naming row and column.

    Digits, dashes and spaces are normalised (NFKC) before anything is matched: a door number
    typed ``１－０００１`` is the household ``1-0001``."""
    errors: list[str] = []
    start = _header_at(table)
    if start is None:
        return [], [f"找不到表头：第一行应包含这些列：{'、'.join(COLUMNS)}。"]
    header = [nfkc(c) for c in table[start]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [f"表头缺少这些列：{'、'.join(missing)}。"]
    dup = sorted({c for c in header if c and header.count(c) > 1})
    if dup:
        return [], [f"表头有重复的列：{'、'.join(dup)}。"]
    idx = {c: header.index(c) for c in COLUMNS if c in header}
    body = table[start + 1:]
    if len(body) > MAX_ROWS:
        return [], [f"行数太多（超过 {MAX_ROWS} 行）：请分批导入。"]
    this_year = dt.date.today().year
    out: list[RosterRow] = []
    for offset, raw in enumerate(body):
        line = start + offset + 2
        if not any(raw):
            continue

        def get(col: str, raw=raw) -> str:
            i = idx.get(col)
            return raw[i] if i is not None and i < len(raw) else ""

        row_errors: list[str] = []

        def err(col: str, msg: str, line=line, row_errors=row_errors) -> None:
            row_errors.append(f"第 {line} 行“{col}”列：{msg}")

        too_long = [c for c in COLUMNS if len(get(c)) > MAX_CELL]
        for col in too_long:
            err(col, f"内容太长（{len(get(col))} 个字），请检查是否粘贴错了。")
        if too_long:
            errors.extend(row_errors)
            continue
        door, grid, name = door_number(get("门牌号")), nfkc(get("网格")), get("姓名")
        if not door:
            err("门牌号", "不能为空。")
        elif len(door) > 30:
            err("门牌号", "不能超过 30 个字。")
        if not grid:
            err("网格", "不能为空。")
        if not name:
            err("姓名", "不能为空。")
        elif len(name) > 40 or any(not ch.isprintable() for ch in name):
            err("姓名", "过长或含有无法显示的字符。")
        gender = nfkc(get("性别"))
        if gender in ("男性", "M", "m"):
            gender = "男"
        elif gender in ("女性", "F", "f"):
            gender = "女"
        if gender not in ("", "男", "女"):
            err("性别", f"只能填“男”或“女”，不能是“{gender[:10]}”。")
        birth_year = None
        by = get("出生年份")
        if by:
            year = nfkc(by)
            if re.fullmatch(r"[0-9]{4}(\.0)?", year) and 1900 <= int(year[:4]) <= this_year:
                birth_year = int(year[:4])
            else:
                err("出生年份", f"应为 1900 到 {this_year} 之间的四位年份，不能是“{by[:20]}”。")
        relation = nfkc(get("与户主关系"))
        if not relation:
            err("与户主关系", "不能为空（户主本人填“户主”）。")
        elif relation == "本人":
            relation = HEAD
        elif relation not in RELATIONS:
            err("与户主关系", f"“{relation[:10]}”不认识，可填：{'、'.join(RELATIONS)}。")
        party = nfkc(get("党员")).lower()
        if party in _YES:
            party_member = True
        elif party in _NO:
            party_member = False
        else:
            party_member = False
            err("党员", f"只能填“是”或“否”，不能是“{party[:10]}”。")
        phone = re.sub(r"\s", "", nfkc(get("电话")))
        if phone and not _PHONE.match(phone):
            err("电话", f"“{phone[:20]}”不是有效的手机号（11 位）或座机号。")
        if row_errors:
            errors.extend(row_errors)
            continue
        out.append(RosterRow(line, door, grid, name, gender, birth_year, relation, party_member, phone))
    errors.extend(_household_errors(out))
    if not out and not errors:
        errors.append("文件里没有村民数据。")
    return out, errors


def _household_errors(rows: list[RosterRow]) -> list[str]:
    errors: list[str] = []
    by_door: dict[str, list[RosterRow]] = {}
    for r in rows:
        by_door.setdefault(r.door_no, []).append(r)
    for door, members in by_door.items():
        heads = [r for r in members if r.relation == HEAD]
        if not heads:
            errors.append(f"门牌号“{door}”（第 {members[0].line} 行起）：这一户没有户主，请把户主的“与户主关系”填为“户主”。")
        elif len(heads) > 1:
            errors.append(f"门牌号“{door}”：有 {len(heads)} 位户主（第 {'、'.join(str(r.line) for r in heads)} 行），"
                          "门牌号可能重复了。")
        grids = {r.grid for r in members}
        if len(grids) > 1:
            errors.append(f"门牌号“{door}”：同一户填了不同的网格（{'、'.join(sorted(grids))}）。")
        seen: dict[str, int] = {}
        for r in members:
            if r.name in seen:
                errors.append(f"第 {r.line} 行“姓名”列：门牌号“{door}”的“{r.name}”与第 {seen[r.name]} 行重复。")
            else:
                seen[r.name] = r.line
    return errors


# ---------------------------------------------------------------- against the database


def _plan(s, village_id: int, filename: str, data: bytes) -> Plan:
    plan = Plan(filename=filename, sha256=hashlib.sha256(data).hexdigest())
    try:
        table = read_table(filename, data)
    except InvalidInput as e:
        plan.errors.append(str(e))
        return plan
    plan.rows, plan.errors = parse_rows(table)
    grids = dict(s.execute(select(Grid.name, Grid.id).where(Grid.village_id == village_id)).all())
    unknown: dict[str, int] = {}
    for r in plan.rows:
        if r.grid not in grids:
            unknown.setdefault(r.grid, r.line)
    for g, line in unknown.items():
        plan.errors.append(f"第 {line} 行“网格”列：本村没有“{g}”这个网格（现有：{'、'.join(grids) or '无'}）。")
    plan.imported_before = s.execute(select(ImportBatch.id).where(
        ImportBatch.village_id == village_id, ImportBatch.sha256 == plan.sha256)).first() is not None
    if plan.errors:
        return plan
    households = _households_by_door(s, village_id)
    residents = {(r.household_id, r.name): r for r in s.execute(
        select(Resident).where(Resident.village_id == village_id)).scalars()}
    # Closing a household or recording a resident as gone is a step of its own (户积分查询 →
    # 户籍变动), undone by another step: an old roster file must not silently bring them back.
    for r in plan.rows:
        hh = households.get(r.door_no)
        if hh is not None and not hh.active:
            plan.errors.append(f"第 {r.line} 行“门牌号”列：“{r.door_no}”这一户已注销；如需恢复，请在“户积分查询”中办理，"
                               "或从花名册中删去这一行。")
        elif hh is not None and (hh.id, r.name) in residents and not residents[(hh.id, r.name)].active:
            plan.errors.append(f"第 {r.line} 行“姓名”列：“{r.name}”已登记迁出或去世；如需恢复，请在“户积分查询”中办理，"
                               "或从花名册中删去这一行。")
    if plan.errors:
        return plan
    heads = {}
    for r in plan.rows:
        if r.relation == HEAD:
            heads[r.door_no] = r
    for door, head in heads.items():
        hh = households.get(door)
        if hh is None:
            plan.new_households += 1
        elif (hh.head_name, hh.grid_id, hh.phone, hh.active) != (head.name, grids[head.grid], head.phone or hh.phone,
                                                                 True):
            plan.updated += 1
    for r in plan.rows:
        hh = households.get(r.door_no)
        res = residents.get((hh.id, r.name)) if hh else None
        if res is None:
            plan.new_residents += 1
        elif _resident_values(res) != _row_values(r):
            plan.updated += 1
        else:
            plan.unchanged += 1
    return plan


def _households_by_door(s, village_id: int) -> dict[str, Household]:
    """The village's households by normalised door number. A household stored before door numbers
    were normalised (``1－0001``) is found by its plain form, unless a plain one exists too."""
    out: dict[str, Household] = {}
    for h in s.execute(select(Household).where(Household.village_id == village_id).order_by(Household.id)).scalars():
        key = door_number(h.door_no)
        if key not in out or h.door_no == key:
            out[key] = h
    return out


def _row_values(r: RosterRow) -> tuple:
    return (r.gender, r.birth_year, r.relation, r.party_member, r.phone, True)


def _resident_values(res: Resident) -> tuple:
    return (res.gender, res.birth_year, res.relation, res.party_member, res.phone, res.active)


def preview(db, actor: Actor, village_id: int, filename: str, data: bytes) -> Plan:
    """Validate the whole file and count what a commit would do; writes nothing."""
    require(actor, "admin", village_id)
    with db.read() as s:
        return _plan(s, village_id, filename, data)


def commit(db, actor: Actor, village_id: int, filename: str, data: bytes) -> Plan:
    """Import the file in one transaction, or nothing at all if any row is wrong.

    People missing from the file are left as they are (never deleted): a roster adds and
    updates; moving out is recorded on the households page."""
    from sqlalchemy.exc import IntegrityError

    from core.platform.errors import AlreadyDone

    try:
        return _commit(db, actor, village_id, filename, data)
    except IntegrityError as e:  # another admin imported the same households at the same moment
        raise AlreadyDone("刚才有人同时导入了花名册，本次没有导入任何数据，请重新预览后再导入。") from e


def _commit(db, actor: Actor, village_id: int, filename: str, data: bytes) -> Plan:
    with db.write() as s:
        require(actor, "admin", village_id)
        # One import per village at a time (PostgreSQL; SQLite writers are already serialised):
        # a second admin's import then plans against what the first one committed and finds
        # nothing left to do, instead of recording a second batch of the same changes.
        s.execute(select(Village.id).where(Village.id == village_id).with_for_update(key_share=True))
        plan = _plan(s, village_id, filename, data)
        if plan.errors:
            shown = "；".join(plan.errors[:5])
            more = f"……共 {len(plan.errors)} 处错误" if len(plan.errors) > 5 else ""
            raise InvalidInput(f"花名册有错误，没有导入任何数据：{shown}{more}")
        if plan.changes == 0:
            return plan
        _apply(s, village_id, plan)
        s.add(ImportBatch(village_id=village_id, filename=(filename or "")[:200], sha256=plan.sha256,
                          rows=len(plan.rows), created_by=actor.user_id))
        record(s, actor, "roster.import", "village", village_id,
               {"file": filename, "sha256": plan.sha256, "rows": len(plan.rows),
                "new_households": plan.new_households, "new_residents": plan.new_residents,
                "updated": plan.updated}, village_id=village_id)
        return plan


def _apply(s, village_id: int, plan: Plan) -> None:
    grids = dict(s.execute(select(Grid.name, Grid.id).where(Grid.village_id == village_id)).all())
    households = _households_by_door(s, village_id)
    for r in plan.rows:
        if r.relation != HEAD:
            continue
        hh = households.get(r.door_no)
        if hh is None:
            hh = Household(village_id=village_id, door_no=r.door_no, grid_id=grids[r.grid], head_name=r.name,
                           phone=r.phone)
            s.add(hh)
            s.flush()
            posting.open_account(s, hh)
            households[r.door_no] = hh
        else:
            hh.head_name, hh.grid_id, hh.active = r.name, grids[r.grid], True
            if r.phone:
                hh.phone = r.phone
    residents = {(x.household_id, x.name): x for x in s.execute(
        select(Resident).where(Resident.village_id == village_id)).scalars()}
    for r in plan.rows:
        hh = households[r.door_no]
        res = residents.get((hh.id, r.name))
        if res is None:
            s.add(Resident(village_id=village_id, household_id=hh.id, name=r.name, gender=r.gender,
                           birth_year=r.birth_year, relation=r.relation, party_member=r.party_member, phone=r.phone))
        elif _resident_values(res) != _row_values(r):
            res.gender, res.birth_year, res.relation = r.gender, r.birth_year, r.relation
            res.party_member, res.phone, res.active = r.party_member, r.phone, True
    s.flush()


def template_csv() -> bytes:
    """An example roster to download and fill in (UTF-8 with BOM, opens in Excel)."""
    rows = [COLUMNS,
            ["1-001", "第一网格", "张三", "男", "1965", "户主", "是", "13800000001"],
            ["1-001", "第一网格", "李四", "女", "1968", "配偶", "否", ""],
            ["1-002", "第一网格", "王五", "男", "1950", "户主", "否", "0531-1234567"]]
    from core.platform.exports import csv_rows_bytes

    return csv_rows_bytes(rows)
