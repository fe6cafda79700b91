"""The village fund (村集体资金): money in and out, for 五公开 and the public board.

An append-only ledger per village (``fund_entry``, a history table): opening balance (期初余额),
cash donations (现金捐赠, with the donor), other income (其他收入, with its source), sales of
field produce (义田出售, written by ``core.charity.field.sell_surplus``), purchases for the
supermarket (超市采购, with supplier and items) and other spending (其他支出, with its purpose).
Amounts are whole fen (分), signed: income > 0, spending < 0.

- **A numbered chain.** Each entry has ``seq`` 1, 2, 3 … per village, ``balance_after`` (the
  previous balance plus this amount) and ``digest`` (a hash of the entry and the previous
  digest). ``verify`` recomputes all three, so a missing, inserted or edited row shows.
- **Corrections are new entries.** A reversal (冲正) names the entry it corrects and moves the
  opposite amount; an entry is reversed at most once and a reversal is never reversed.
- **One submit, one entry.** The form's ``entry_key`` is unique: a repeated submit finds the
  first entry.
- **No overdraft.** An entry that would take the balance below zero is refused, unless the
  village setting ``fund_allow_negative`` allows it.
- Writes are serialised per village (the village row is locked on PostgreSQL; SQLite's writes
  queue at ``BEGIN IMMEDIATE``), and (village, seq) is unique as a backstop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core.platform import settings, validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.platform.validate import submit_key
from db import clock
from db.models import FundEntry, StaffUser, Village

KIND_NAMES: dict[str, str] = {
    "opening": "期初余额",
    "donation": "现金捐赠",
    "other_income": "其他收入",
    "field_sale": "义田出售",
    "purchase": "超市采购",
    "other_spending": "其他支出",
    "reversal": "冲正",
}
INCOME = ("opening", "donation", "other_income", "field_sale")
SPENDING = ("purchase", "other_spending")
# what a person records on the fund page (义田出售 comes from the field page, 冲正 from reverse_entry)
RECORDABLE = ("opening", "donation", "other_income", "purchase", "other_spending")
FUND_ROLES = ("admin",)
PURCHASE_ROLES = ("admin", "cashier")
MAX_FEN = 1_000_000_000  # ten million yuan in one entry


# ---------------------------------------------------------------- money as text


def yuan_to_fen(value: object, label: str = "金额") -> int:
    """``"12.5"`` yuan → 1250 fen; a positive amount with at most two decimals."""
    text = validate.nfkc(value).replace(",", "").replace("，", "").strip()
    text = text.removesuffix("元").strip()
    try:
        yuan = Decimal(text)
    except InvalidOperation as e:
        raise InvalidInput(f"{label}必须是数字（元），例如 1200 或 35.50。") from e
    if not yuan.is_finite() or yuan <= 0:
        raise InvalidInput(f"{label}必须大于 0 元。")
    if yuan != yuan.quantize(Decimal("0.01")):
        raise InvalidInput(f"{label}最多精确到分（0.01 元）。")
    fen = int(yuan * 100)
    if fen > MAX_FEN:
        raise InvalidInput(f"{label}不能超过一千万元。")
    return fen


def fmt_yuan(fen: int, sign: bool = False) -> str:
    """1234567 → ``12,345.67``（``+`` / ``-`` in front when ``sign``)."""
    text = f"{abs(fen) / 100:,.2f}"
    if fen < 0:
        return "-" + text
    return ("+" + text) if sign and fen > 0 else text


# ---------------------------------------------------------------- the chain


def digest(prev: str, e: FundEntry) -> str:
    """The entry's hash over its own fields and the previous entry's digest (migration 0012 keeps a
    frozen copy: change both or neither)."""
    parts = [prev, str(e.village_id), str(e.seq), e.kind, e.date.isoformat(), str(e.amount_fen),
             str(e.balance_after), e.source, e.counterparty, e.purpose, e.items, e.note,
             "" if e.reverses_id is None else str(e.reverses_id), e.entry_key,
             "" if e.created_by is None else str(e.created_by), e.created_at.isoformat(sep=" ")]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def lock(s: Session, village_id: int) -> None:
    """Serialise the village's fund writes (the village row FOR UPDATE on PostgreSQL; SQLite's writes
    already queue at BEGIN IMMEDIATE). Taken again by :func:`append`, which is harmless."""
    s.execute(select(Village.id).where(Village.id == village_id).with_for_update()).scalar_one()


def append(s: Session, actor: Actor, village_id: int, *, kind: str, date: dt.date, amount_fen: int,
           entry_key: str, source: str = "", counterparty: str = "", purpose: str = "", items: str = "",
           note: str = "", reverses_id: int | None = None) -> FundEntry:
    """Append one entry in the caller's transaction (which has checked the actor's role). Refuses an
    overdraft unless the village allows it."""
    lock(s, village_id)
    last = s.execute(select(FundEntry).where(FundEntry.village_id == village_id)
                     .order_by(FundEntry.seq.desc()).limit(1)).scalar_one_or_none()
    before = last.balance_after if last else 0
    after = before + amount_fen
    if after < 0 and not settings.get(s, village_id, "fund_allow_negative"):
        raise InvalidInput(f"村集体资金余额不足：当前余额 {fmt_yuan(before)} 元，本笔 {fmt_yuan(-amount_fen)} 元。"
                           "如村里允许透支，请管理员在“系统设置”中开启“村集体资金允许透支”。")
    entry = FundEntry(village_id=village_id, seq=(last.seq if last else 0) + 1, kind=kind, date=date,
                      amount_fen=amount_fen, balance_after=after, source=source, counterparty=counterparty,
                      purpose=purpose, items=items, note=note, reverses_id=reverses_id, entry_key=entry_key,
                      created_by=actor.user_id, created_at=clock.now())
    entry.digest = digest(last.digest if last else "", entry)
    s.add(entry)
    s.flush()
    return entry


def _date(value: object, label: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(f"请选择{label}。")
    if value > clock.now().date():
        raise InvalidInput(f"{label}不能晚于今天。")
    return value


def _existing(s: Session, key: str) -> int | None:
    return s.execute(select(FundEntry.id).where(FundEntry.entry_key == key)).scalar()


def record_entry(db, actor: Actor, village_id: int, *, kind: str, date: dt.date, amount_yuan: object,
                 entry_key: str, source: str = "", counterparty: str = "", purpose: str = "", items: str = "",
                 note: str = "") -> int:
    """Record income or spending; returns the entry's id. The same ``entry_key`` again (a double
    click, a second tab) returns the first entry and posts nothing."""
    if kind not in RECORDABLE:
        raise InvalidInput("资金类型无效。")
    require(actor, PURCHASE_ROLES if kind == "purchase" else FUND_ROLES, village_id)
    key = submit_key(entry_key)
    date = _date(date, "日期")
    fen = yuan_to_fen(amount_yuan)
    source = validate.text(source, "收入来源", 40, required=kind == "other_income")
    who = {"donation": "捐赠人", "purchase": "供应商"}.get(kind, "对方单位或个人")
    counterparty = validate.text(counterparty, who, 60, required=kind in ("donation", "purchase"))
    purpose = validate.text(purpose, "用途", 200, required=kind == "other_spending")
    items = validate.text(items, "采购物品", 500, required=kind == "purchase")
    note = validate.text(note, "备注", 500)
    if kind == "donation" and not source:
        source = "现金捐赠"
    amount = -fen if kind in SPENDING else fen
    try:
        with db.write() as s:
            lock(s, village_id)  # before the checks: a second tab with the same key waits here, then finds it
            done = _existing(s, key)
            if done is not None:
                return done
            if kind == "opening" and s.execute(select(FundEntry.id).where(FundEntry.village_id == village_id)
                                               .limit(1)).first() is not None:
                raise InvalidInput("期初余额只能作为第一笔记录；已有记录后请用“其他收入”或“其他支出”调整。")
            e = append(s, actor, village_id, kind=kind, date=date, amount_fen=amount, entry_key=key, source=source,
                       counterparty=counterparty, purpose=purpose, items=items, note=note)
            record(s, actor, "fund.record", "fund_entry", e.id,
                   {"kind": kind, "fen": amount, "seq": e.seq, "balance_after": e.balance_after,
                    "counterparty": counterparty, "source": source, "purpose": purpose},
                   village_id=village_id)
            return e.id
    except IntegrityError:
        with db.read() as s:  # another tab committed this very entry between our check and insert
            done = _existing(s, key)
            if done is None:
                raise
            return done


def reverse_entry(db, actor: Actor, entry_id: int, reason: str) -> int:
    """Correct an entry by a reversal (冲正) with the opposite amount, dated today; returns its id.
    An entry is reversed at most once; a reversal is not reversed (record the entry again)."""
    reason = validate.text(reason, "冲正原因", 200, required=True)
    try:
        with db.write() as s:
            e = s.get(FundEntry, entry_id) if isinstance(entry_id, int) else None
            if e is None:
                raise NotFound("找不到这笔资金记录。")
            require(actor, FUND_ROLES, e.village_id)
            lock(s, e.village_id)
            if e.kind == "reversal":
                raise InvalidInput("冲正记录不能再冲正；如有错误，请重新登记一笔正确的收支。")
            done = s.execute(select(FundEntry.seq).where(FundEntry.reverses_id == e.id)).scalar()
            if done is not None:
                raise AlreadyDone(f"第 {e.seq} 号记录已经冲正过（第 {done} 号），不能重复冲正。")
            r = append(s, actor, e.village_id, kind="reversal", date=clock.now().date(), amount_fen=-e.amount_fen,
                       entry_key=f"reversal:{e.id}", source=KIND_NAMES.get(e.kind, e.kind),
                       counterparty=e.counterparty, purpose=f"冲正第 {e.seq} 号：{reason}", reverses_id=e.id)
            record(s, actor, "fund.reverse", "fund_entry", r.id,
                   {"reverses": e.id, "seq": r.seq, "fen": r.amount_fen, "balance_after": r.balance_after},
                   reason=reason, village_id=e.village_id)
            return r.id
    except IntegrityError as err:
        with db.read() as s:
            if s.execute(select(FundEntry.id).where(FundEntry.reverses_id == entry_id)).scalar() is None:
                raise
        raise AlreadyDone("这笔记录已经冲正过，不能重复冲正。") from err


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class FundRow:
    """One fund entry with the numbers of the entries it reverses or is reversed by; ``kind`` is the
    stored code (KIND_NAMES), amounts are signed fen."""

    id: int
    seq: int
    kind: str
    date: dt.date
    amount_fen: int
    balance_after: int
    source: str
    counterparty: str
    purpose: str
    items: str
    note: str
    reverses_seq: int | None
    reversed_by_seq: int | None
    created_by: str
    created_at: dt.datetime

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)

    @property
    def reversible(self) -> bool:
        return self.kind != "reversal" and self.reversed_by_seq is None

    @property
    def source_or_purpose(self) -> str:
        """Where income came from, or what spending (and a reversal) was for."""
        return self.purpose if self.amount_fen < 0 or self.kind == "reversal" else self.source


def balance(db, village_id: int) -> int:
    """The fund's balance now, in fen (the last entry's balance_after)."""
    with db.read() as s:
        return balance_in(s, village_id)


def balance_in(s: Session, village_id: int) -> int:
    return int(s.execute(select(FundEntry.balance_after).where(FundEntry.village_id == village_id)
                         .order_by(FundEntry.seq.desc()).limit(1)).scalar() or 0)


def entries(db, village_id: int, *, date_from: dt.date | None = None, date_to: dt.date | None = None,
            kinds: tuple[str, ...] | list[str] | None = None, text: str = "") -> list[FundRow]:
    """The village's entries, newest first, filtered by date (the date of the act), kind and a word
    found in source, counterparty, purpose, items or note."""
    orig, rev = aliased(FundEntry), aliased(FundEntry)
    q = (select(FundEntry, orig.seq, rev.seq, StaffUser.display_name)
         .outerjoin(orig, orig.id == FundEntry.reverses_id)
         .outerjoin(rev, rev.reverses_id == FundEntry.id)
         .outerjoin(StaffUser, StaffUser.id == FundEntry.created_by)
         .where(FundEntry.village_id == village_id))
    if date_from is not None:
        q = q.where(FundEntry.date >= date_from)
    if date_to is not None:
        q = q.where(FundEntry.date <= date_to)
    if kinds:
        q = q.where(FundEntry.kind.in_(list(kinds)))
    word = validate.nfkc(text).strip()[:40]
    if word:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(FundEntry.source.like(pattern, escape="\\") | FundEntry.counterparty.like(pattern, escape="\\")
                    | FundEntry.purpose.like(pattern, escape="\\") | FundEntry.items.like(pattern, escape="\\")
                    | FundEntry.note.like(pattern, escape="\\"))
    with db.read() as s:
        rows = s.execute(q.order_by(FundEntry.seq.desc())).all()
    return [FundRow(id=e.id, seq=e.seq, kind=e.kind, date=e.date, amount_fen=e.amount_fen,
                    balance_after=e.balance_after, source=e.source, counterparty=e.counterparty, purpose=e.purpose,
                    items=e.items, note=e.note, reverses_seq=oseq, reversed_by_seq=rseq, created_by=who or "",
                    created_at=e.created_at) for e, oseq, rseq, who in rows]


@dataclass(frozen=True)
class MonthSummary:
    """One month of the fund by the entries' dates: opening and closing balance, income and spending
    by kind (a reversal counts under the kind it corrects, so totals are net of corrections)."""

    opening: int
    income: dict[str, int] = field(default_factory=dict)  # kind name -> fen (≥ 0 normally)
    spending: dict[str, int] = field(default_factory=dict)  # kind name -> fen, as a positive amount
    entries: list[FundRow] = field(default_factory=list)  # the month's entries, oldest first

    @property
    def income_total(self) -> int:
        return sum(self.income.values())

    @property
    def spending_total(self) -> int:
        return sum(self.spending.values())

    @property
    def closing(self) -> int:
        return self.opening + self.income_total - self.spending_total

    @property
    def empty(self) -> bool:
        return not self.entries and self.opening == 0


def month_summary(db, village_id: int, start: dt.date, end: dt.date) -> MonthSummary:
    """The fund for the dates ``start`` ≤ date < ``end``."""
    with db.read() as s:
        opening, by_kind = month_totals(s, village_id, start, end)
    rows = entries(db, village_id, date_from=start, date_to=end - dt.timedelta(days=1))
    income = {KIND_NAMES[k]: v for k, v in by_kind.items() if k in INCOME}
    spending = {KIND_NAMES[k]: -v for k, v in by_kind.items() if k in SPENDING}
    return MonthSummary(opening=opening, income=income, spending=spending, entries=list(reversed(rows)))


def month_totals(s: Session, village_id: int, start: dt.date, end: dt.date) -> tuple[int, dict[str, int]]:
    """(balance before ``start``, {kind: net fen in [start, end)}) — reversals under the original's kind."""
    orig = aliased(FundEntry)
    opening = s.execute(select(func.coalesce(func.sum(FundEntry.amount_fen), 0))
                        .where(FundEntry.village_id == village_id, FundEntry.date < start)).scalar_one()
    kind = case((FundEntry.kind == "reversal", orig.kind), else_=FundEntry.kind)
    rows = s.execute(select(kind, func.sum(FundEntry.amount_fen))
                     .outerjoin(orig, orig.id == FundEntry.reverses_id)
                     .where(FundEntry.village_id == village_id, FundEntry.date >= start, FundEntry.date < end)
                     .group_by(kind)).all()
    order = {k: i for i, k in enumerate(KIND_NAMES)}
    return int(opening), {k: int(v) for k, v in sorted(rows, key=lambda r: order.get(r[0], 99)) if v}


@dataclass(frozen=True)
class SummaryLine:
    """One line of the month's money for 五公开: its item (月初余额, 收入：现金捐赠 …) and fen."""

    item: str
    amount_fen: int


def summary_lines(m: MonthSummary) -> list[SummaryLine]:
    """The month as lines for 五公开: opening, income by kind, spending by kind, closing."""
    lines = [("月初余额", m.opening)]
    lines += [(f"收入：{k}", v) for k, v in m.income.items()]
    lines.append(("收入合计", m.income_total))
    lines += [(f"支出：{k}", v) for k, v in m.spending.items()]
    lines.append(("支出合计", m.spending_total))
    lines.append(("月末余额", m.closing))
    return [SummaryLine(k, v) for k, v in lines]


# ---------------------------------------------------------------- verify


def chain_problems(s: Session, village_id: int | None = None) -> list[str]:
    """Gaps, edits and broken balances in the fund chain of one village (or all), in Chinese."""
    q = select(FundEntry).order_by(FundEntry.village_id, FundEntry.seq)
    if village_id is not None:
        q = q.where(FundEntry.village_id == village_id)
    problems: list[str] = []
    state: dict[int, tuple[int, int, str]] = {}
    amounts: dict[int, tuple[int, int, int]] = {}  # id -> (village, seq, amount)
    reversals: list[FundEntry] = []
    for e in s.execute(q).scalars():
        seq, bal, prev = state.get(e.village_id, (0, 0, ""))
        where = f"村 {e.village_id} 村集体资金第 {e.seq} 号"
        if e.seq != seq + 1:
            problems.append(f"{where}：编号不连续（上一号是 {seq}），有记录缺失或被插入")
        if e.balance_after != bal + e.amount_fen:
            problems.append(f"{where}：余额 {fmt_yuan(e.balance_after)} 元，应为 {fmt_yuan(bal + e.amount_fen)} 元")
        if e.digest != digest(prev, e):
            problems.append(f"{where}：内容与登记时不一致（校验码不符），记录可能被改动")
        if e.kind == "reversal":
            reversals.append(e)
        amounts[e.id] = (e.village_id, e.seq, e.amount_fen)
        state[e.village_id] = (e.seq, e.balance_after, e.digest)
    for r in reversals:
        o = amounts.get(r.reverses_id) if r.reverses_id is not None else None
        if o is None or o[0] != r.village_id or o[2] != -r.amount_fen:
            problems.append(f"村 {r.village_id} 村集体资金第 {r.seq} 号：冲正金额与被冲正的记录不符")
    return problems
