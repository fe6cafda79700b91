"""期初积分导入: a village's existing points book (Excel) brought into the ledger.

The workbook has a sheet of opening balances — one row per household: 门牌号, optionally 户主
(checked against the roster), 期初积分 (the book's spendable balance) and optionally 累计积分 —
and optionally a sheet of the book's history rows: 门牌号, 日期, 事项 (a rule code or free text),
积分. The households must already be on the roster (roster import first).

What lands in the ledger, through ``posting.post_many`` and nothing else, dated the cut-over day
(期初日期, by default the last day of the previous month, so the opening does not fill the first
month's ranking):

- ``carryover`` (期初结转): the opening balance, spendable and earned alike (0 too: it records
  that the household was carried over);
- ``carryover_earned``: when the book's 累计积分 differs from its balance, the difference, on
  the earned total only;
- ``carryover_record`` (原账本记录): each history row, dated as in the book, for the record:
  it changes no number, because the book's balance already contains it. A household with history
  rows and no balance row opens with the sum of its rows.

The flow is the roster's: :func:`preview` validates every row and writes nothing; :func:`commit`
validates again inside ONE transaction and writes only if nothing is wrong. Importing again is
safe: a household whose opening is already in the ledger is left alone (the same balance) or
refused (a different one: that is a correction, made by an adjustment with a reason).
:func:`core.village.reconciliation.reconciliation` sets the book's totals against what the ledger holds, for the committee
to sign.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select

from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput
from core.platform.validate import door_number, nfkc
from core.points import entry_rules, posting
from core.village.roster import MAX_BYTES, _cell, _decode_csv, _households_by_door
from db.models import ImportBatch, LedgerEntry, RuleItem, Village

BALANCE_COLUMNS = ["门牌号", "户主", "期初积分", "累计积分"]
HISTORY_COLUMNS = ["门牌号", "日期", "事项", "积分"]
MAX_ROWS = 50_000
MAX_BALANCE = 10 * entry_rules.MAX_POINTS
MAX_ITEM = 200
HEADER_SEARCH_ROWS = 6
SOURCES = ("carryover", "carryover_earned", "carryover_record")
_INT = re.compile(r"^[+-]?[0-9]+(\.0+)?$")
_DATE = re.compile(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?$")


@dataclass
class HistoryRow:
    line: int
    door_no: str
    day: dt.date
    item: str
    points: int
    rule_item_id: int | None = None


@dataclass
class Opening:
    """One household's opening as the book gives it."""

    line: int | None  # row of the balance sheet; None when only history rows name the household
    door_no: str
    head_name: str
    balance: int
    earned: int | None
    history: list[HistoryRow] = field(default_factory=list)
    household_id: int | None = None

    @property
    def earned_total(self) -> int:
        return self.balance if self.earned is None else self.earned


@dataclass
class Plan:
    """What an import would do; ``errors`` non-empty means nothing may be written."""

    filename: str
    sha256: str
    cutover: dt.date
    openings: list[Opening] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new: int = 0  # households whose opening is not in the ledger yet
    unchanged: int = 0  # already imported with the same balance
    imported_before: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def book_total(self) -> int:
        return sum(o.balance for o in self.openings)

    @property
    def history_rows(self) -> int:
        return sum(len(o.history) for o in self.openings)


def default_cutover(today: dt.date | None = None) -> dt.date:
    """The last day of the previous month: the book is closed at a month's end."""
    today = today or dt.date.today()
    return today.replace(day=1) - dt.timedelta(days=1)


# ---------------------------------------------------------------- reading the workbook


def read_tables(filename: str, data: bytes) -> tuple[list[list[str]] | None, list[list[str]] | None]:
    """(balance table, history table) of the file, each None when absent. An .xlsx file is
    searched sheet by sheet (an instructions sheet is common); a CSV file is one of the two."""
    if not data:
        raise InvalidInput("文件是空的。")
    if len(data) > MAX_BYTES:
        raise InvalidInput("文件太大（超过 5 MB）：请分网格导入。")
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        tables = _read_xlsx(data)
    elif name.endswith(".xls"):
        raise InvalidInput("不支持旧版 .xls 文件：请在 Excel 中另存为 .xlsx。")
    else:
        text = _decode_csv(data)
        if "\x00" in text:
            raise InvalidInput("文件内容无法读取：请上传 Excel（.xlsx）或 CSV 文件。")
        try:
            tables = [[[_cell(c) for c in row] for row in csv.reader(io.StringIO(text, newline=""))]]
        except csv.Error:
            raise InvalidInput("CSV 格式错误（引号不成对或有无法识别的内容），请直接上传 Excel 文件。") from None
    balances = next((t for t in tables if _header_at(t, "期初积分") is not None), None)
    history = next((t for t in tables if _header_at(t, "日期") is not None), None)
    if balances is None and history is None:
        raise InvalidInput("找不到表头：期初余额表应有“门牌号、期初积分”列，历史明细表应有“门牌号、日期、事项、积分”列。"
                           "可以下载模板对照填写。")
    return balances, history


def _read_xlsx(data: bytes) -> list[list[list[str]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as e:
        raise InvalidInput("Excel 文件已损坏或不是 .xlsx 格式，请重新保存后再上传。") from e
    try:
        tables = []
        for ws in wb.worksheets:
            rows = []
            for row in ws.iter_rows(values_only=True):
                rows.append([_date_cell(c) for c in row])
                if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                    raise InvalidInput(f"工作表“{ws.title}”行数太多（超过 {MAX_ROWS} 行）：请分批导入。")
            tables.append(rows)
        return tables
    finally:
        wb.close()


def _date_cell(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _cell(value)


def _header_at(table: list[list[str]], needed: str) -> int | None:
    for i, row in enumerate(table[:HEADER_SEARCH_ROWS]):
        cells = [nfkc(c) for c in row]
        if "门牌号" in cells and needed in cells:
            return i
    return None


# ---------------------------------------------------------------- validating rows (pure)


def read_int(text: str) -> int | None:
    """A whole number as typed in a book (full-width digits, 1,200, 12.0), else None."""
    t = nfkc(text).replace(",", "").replace("，", "").replace(" ", "")
    if not _INT.match(t):
        return None
    return int(float(t)) if "." in t else int(t)


def read_date(text: str) -> dt.date | None:
    t = nfkc(text)
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", t):
        try:
            return dt.date.fromisoformat(t)
        except ValueError:
            return None
    m = _DATE.match(t)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _columns(table: list[list[str]], needed: str, columns: list[str], required: list[str]
             ) -> tuple[int, dict[str, int], list[str]]:
    start = _header_at(table, needed)
    header = [nfkc(c) for c in table[start]]
    missing = [c for c in required if c not in header]
    dup = sorted({c for c in header if c in columns and header.count(c) > 1})
    errors = [f"表头缺少这些列：{'、'.join(missing)}。"] if missing else []
    errors += [f"表头有重复的列：{'、'.join(dup)}。"] if dup else []
    return start, {c: header.index(c) for c in columns if c in header}, errors


def parse(balances: list[list[str]] | None, history: list[list[str]] | None, cutover: dt.date
          ) -> tuple[list[Opening], list[str], list[str]]:
    """Validate both tables; return the openings (one per household), Chinese errors naming
    sheet, row and column, and warnings (probable duplicates the committee should look at)."""
    errors: list[str] = []
    warnings: list[str] = []
    openings: dict[str, Opening] = {}
    if balances is not None:
        start, idx, errs = _columns(balances, "期初积分", BALANCE_COLUMNS, ["门牌号", "期初积分"])
        errors += [f"期初余额表：{e}" for e in errs]
        if not errs:
            for offset, raw in enumerate(balances[start + 1:]):
                line = start + offset + 2
                if not any(raw):
                    continue
                get = _getter(raw, idx)
                row_errors = []
                door = door_number(get("门牌号"))
                if not door:
                    row_errors.append(f"期初余额表第 {line} 行“门牌号”列：不能为空。")
                balance = read_int(get("期初积分"))
                if balance is None or balance < 0 or balance > MAX_BALANCE:
                    row_errors.append(f"期初余额表第 {line} 行“期初积分”列：应为 0 到 {MAX_BALANCE} 之间的整数，"
                                      f"不能是“{get('期初积分')[:20]}”。")
                earned = None
                if get("累计积分"):
                    earned = read_int(get("累计积分"))
                    if earned is None or abs(earned) > MAX_BALANCE:
                        row_errors.append(f"期初余额表第 {line} 行“累计积分”列：应为整数，不能是“{get('累计积分')[:20]}”。")
                head = get("户主")[:MAX_ITEM]
                if door in openings and not row_errors:
                    row_errors.append(f"期初余额表第 {line} 行“门牌号”列：“{door}”与第 {openings[door].line} 行重复，"
                                      "一户只能有一行期初积分。")
                if row_errors:
                    errors += row_errors
                    continue
                openings[door] = Opening(line, door, head, balance, earned)
    if history is not None:
        start, idx, errs = _columns(history, "日期", HISTORY_COLUMNS, HISTORY_COLUMNS)
        errors += [f"历史明细表：{e}" for e in errs]
        seen: dict[tuple, int] = {}
        from_history: dict[str, int] = {}
        if not errs:
            for offset, raw in enumerate(history[start + 1:]):
                line = start + offset + 2
                if not any(raw):
                    continue
                get = _getter(raw, idx)
                row_errors = []
                door = door_number(get("门牌号"))
                if not door:
                    row_errors.append(f"历史明细表第 {line} 行“门牌号”列：不能为空。")
                day = read_date(get("日期"))
                if day is None:
                    row_errors.append(f"历史明细表第 {line} 行“日期”列：“{get('日期')[:20]}”不是日期，"
                                      "请写成 2025-03-01 这样的格式。")
                elif day > cutover:
                    row_errors.append(f"历史明细表第 {line} 行“日期”列：{day} 晚于期初日期 {cutover}，"
                                      "期初之后的积分请在系统里申报。")
                item = get("事项")
                if not item:
                    row_errors.append(f"历史明细表第 {line} 行“事项”列：不能为空（填细则编号或事由）。")
                elif len(item) > MAX_ITEM or any(not ch.isprintable() for ch in item):
                    row_errors.append(f"历史明细表第 {line} 行“事项”列：过长或含有无法显示的字符。")
                points = read_int(get("积分"))
                if points is None or points == 0 or abs(points) > entry_rules.MAX_POINTS:
                    row_errors.append(f"历史明细表第 {line} 行“积分”列：应为不为 0 的整数（扣分写负数），"
                                      f"不能是“{get('积分')[:20]}”。")
                if row_errors:
                    errors += row_errors
                    continue
                key = (door, day, item, points)
                if key in seen:
                    warnings.append(f"历史明细表第 {line} 行与第 {seen[key]} 行完全相同（{door} {day} {item} {points:+d}），"
                                    "请确认不是重复录入。")
                seen.setdefault(key, line)
                if door not in openings:
                    openings[door] = Opening(None, door, "", 0, None)
                    from_history[door] = line
                openings[door].history.append(HistoryRow(line, door, day, item, points))
        for door, line in from_history.items():
            o = openings[door]
            o.balance = sum(h.points for h in o.history)
            if o.balance < 0:
                errors.append(f"历史明细表第 {line} 行起：门牌号“{door}”不在期初余额表里，明细合计 {o.balance} 分为负数，"
                              "请在期初余额表里写明这一户的期初积分。")
    if not openings and not errors:
        errors.append("文件里没有期初积分数据。")
    return list(openings.values()), errors, warnings


def _getter(raw: list[str], idx: dict[str, int]):
    def get(col: str) -> str:
        i = idx.get(col)
        return raw[i].strip() if i is not None and i < len(raw) else ""

    return get


# ---------------------------------------------------------------- against the database


def _plan(s, village_id: int, filename: str, data: bytes, cutover: dt.date) -> Plan:
    plan = Plan(filename=filename, sha256=hashlib.sha256(data).hexdigest(), cutover=cutover)
    if cutover > dt.date.today():
        plan.errors.append(f"期初日期 {cutover} 晚于今天。")
        return plan
    try:
        balances, history = read_tables(filename, data)
    except InvalidInput as e:
        plan.errors.append(str(e))
        return plan
    plan.openings, plan.errors, plan.warnings = parse(balances, history, cutover)
    plan.imported_before = s.execute(select(ImportBatch.id).where(
        ImportBatch.village_id == village_id, ImportBatch.sha256 == plan.sha256)).first() is not None
    households = _households_by_door(s, village_id)
    rules = {code: rid for code, rid in s.execute(
        select(RuleItem.code, func.max(RuleItem.id)).where(RuleItem.village_id == village_id)
        .group_by(RuleItem.code)).all()}
    for o in plan.openings:
        where = f"期初余额表第 {o.line} 行" if o.line else f"历史明细表第 {o.history[0].line} 行"
        hh = households.get(o.door_no)
        if hh is None:
            plan.errors.append(f"{where}“门牌号”列：本村花名册里没有“{o.door_no}”这一户，请先导入花名册。")
            continue
        if not hh.active:
            plan.errors.append(f"{where}“门牌号”列：“{o.door_no}”这一户已注销，不能导入期初积分。")
            continue
        if o.head_name and o.head_name != hh.head_name:
            plan.errors.append(f"{where}“户主”列：“{o.door_no}”的户主在花名册里是“{hh.head_name}”，"
                               f"不是“{o.head_name}”，请检查是否错行。")
            continue
        o.household_id = hh.id
        o.head_name = hh.head_name
        for h in o.history:
            h.rule_item_id = rules.get(nfkc(h.item).upper())
    if plan.errors:
        return plan
    done = _imported(s, [o.household_id for o in plan.openings])
    for o in plan.openings:
        before = done.get(o.household_id)
        if before is None:
            plan.new += 1
        elif before == (o.balance, o.earned_total):
            plan.unchanged += 1
        else:
            where = f"期初余额表第 {o.line} 行" if o.line else f"历史明细表第 {o.history[0].line} 行"
            plan.errors.append(f"{where}：“{o.door_no}”已导入过期初积分 {before[0]} 分（累计 {before[1]} 分），"
                               f"与本次的 {o.balance} 分（累计 {o.earned_total} 分）不同。期初积分只导入一次；"
                               "如需更正，请在“户积分查询”中手工调整并写明原因。")
    return plan


def _imported(s, household_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(balance, earned) the ledger already holds as each household's opening."""
    out: dict[int, tuple[int, int]] = {}
    for i in range(0, len(household_ids), 500):
        chunk = household_ids[i:i + 500]
        rows = s.execute(select(LedgerEntry.household_id, func.sum(LedgerEntry.delta_balance),
                                func.sum(LedgerEntry.delta_earned))
                         .where(LedgerEntry.household_id.in_(chunk),
                                LedgerEntry.source_type.in_(("carryover", "carryover_earned")))
                         .group_by(LedgerEntry.household_id)).all()
        out.update({hid: (int(b), int(e)) for hid, b, e in rows})
    return out


def preview(db, actor: Actor, village_id: int, filename: str, data: bytes, cutover: dt.date | None = None) -> Plan:
    """Validate the whole workbook and count what a commit would do; writes nothing."""
    require(actor, "admin", village_id)
    with db.read() as s:
        return _plan(s, village_id, filename, data, cutover or default_cutover())


def commit(db, actor: Actor, village_id: int, filename: str, data: bytes, cutover: dt.date | None = None) -> Plan:
    """Post every household's opening in one transaction, or nothing at all if any row is wrong."""
    from sqlalchemy.exc import IntegrityError

    cutover = cutover or default_cutover()
    try:
        with db.write() as s:
            require(actor, "admin", village_id)
            # One opening import per village at a time (PostgreSQL; SQLite writers queue already).
            s.execute(select(Village.id).where(Village.id == village_id).with_for_update(key_share=True))
            plan = _plan(s, village_id, filename, data, cutover)
            if plan.errors:
                shown = "；".join(plan.errors[:5])
                more = f"……共 {len(plan.errors)} 处错误" if len(plan.errors) > 5 else ""
                raise InvalidInput(f"期初积分表有错误，没有导入任何数据：{shown}{more}")
            if plan.new == 0:
                return plan
            done = _imported(s, [o.household_id for o in plan.openings])
            posting.post_many(s, postings(plan, done), actor, return_ids=False)
            s.add(ImportBatch(village_id=village_id, filename=(filename or "")[:200], sha256=plan.sha256,
                              rows=plan.new + plan.history_rows, created_by=actor.user_id))
            record(s, actor, "opening.import", "village", village_id,
                   {"file": filename, "sha256": plan.sha256, "cutover": cutover.isoformat(), "households": plan.new,
                    "history_rows": plan.history_rows, "book_total": plan.book_total}, village_id=village_id)
            return plan
    except (IntegrityError, AlreadyDone) as e:  # another admin imported the same openings at the same moment
        raise AlreadyDone("刚才有人同时导入了期初积分，本次没有导入任何数据，请重新预览后再导入。") from e


def postings(plan: Plan, done: dict[int, tuple[int, int]]) -> list[posting.Posting]:
    """The ledger entries of the households not yet carried over (pure)."""
    out: list[posting.Posting] = []
    for o in plan.openings:
        if o.household_id in done:
            continue
        hid = o.household_id
        for n, h in enumerate(sorted(o.history, key=lambda h: (h.day, h.line))):
            out.append(posting.Posting(hid, "carryover_record", 0, "carryover_record", f"{hid}:{n}", occurred_on=h.day,
                                       rule_item_id=h.rule_item_id,
                                       reason=f"原账本：{h.item}（{h.points:+d} 分，已含在期初积分中）"))
        out.append(posting.Posting(hid, "carryover", o.balance, "carryover", hid, occurred_on=plan.cutover,
                                   reason=f"原积分账本期初余额 {o.balance} 分"))
        if o.earned_total != o.balance:
            out.append(posting.Posting(hid, "carryover_earned", o.earned_total - o.balance, "carryover_earned", hid,
                                       occurred_on=plan.cutover,
                                       reason=f"原积分账本累计积分 {o.earned_total} 分（已兑换等不计入可用积分）"))
    return out


def template_xlsx() -> bytes:
    """A workbook to fill in: instructions, the balance sheet and the history sheet, with examples."""
    import pandas as pd

    from core.platform.exports import excel_bytes

    notes = pd.DataFrame({"填写说明": [
        "“期初余额”表：每户一行。门牌号、期初积分必填；户主可填，用来核对是否错行；累计积分可不填（默认等于期初积分）。",
        "“历史明细”表（可不填）：原账本的每一笔记录，日期、事项（细则编号或文字）、积分（扣分写负数）。",
        "历史明细只作存档，不再另外加减积分：期初积分已经包含了它们。只有明细、没有期初余额行的户，以明细合计作为期初积分。",
        "门牌号必须与花名册一致（请先导入花名册）。",
        "同一户的期初积分只导入一次；再次导入同一文件不会重复记账。",
    ]})
    balances = pd.DataFrame([["1-001", "张三", 120, 150], ["1-002", "王五", 35, None]], columns=BALANCE_COLUMNS)
    history = pd.DataFrame([["1-001", "2025-03-12", "HJ01", 5], ["1-001", "2025-06-01", "兑换洗衣粉", -30],
                            ["1-002", "2025-05-20", "参加义务劳动", 10]], columns=HISTORY_COLUMNS)
    return excel_bytes({"填写说明": notes, "期初余额": balances, "历史明细": history})
