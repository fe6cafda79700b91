"""对账表: a village's points book (the workbook of :mod:`core.village.opening`) set against what the
ledger holds after the opening import, household by household, for the committee to sign — on screen,
in Excel and as a PDF. It reads only; a difference is corrected by an adjustment with a reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select

from core.platform.access import Actor, require
from core.platform.errors import InvalidInput
from core.village.opening import (
    Plan,
    _imported,
    _plan,
    default_cutover,
)
from db.models import LedgerEntry, Village

# ---------------------------------------------------------------- reconciliation (对账表)


@dataclass(frozen=True)
class ReconRow:
    door_no: str
    head_name: str
    book_balance: int
    book_earned: int
    ledger_balance: int | None  # None: not imported yet
    ledger_earned: int | None
    history_rows: int

    @property
    def matches(self) -> bool:
        return (self.book_balance, self.book_earned) == (self.ledger_balance, self.ledger_earned)


@dataclass(frozen=True)
class Reconciliation:
    village: str
    cutover: dt.date
    rows: list[ReconRow]
    ledger_total: int  # every opening balance of the village in the ledger (also those not in this file)
    ledger_households: int

    @property
    def book_total(self) -> int:
        return sum(r.book_balance for r in self.rows)

    @property
    def imported_total(self) -> int:
        return sum(r.ledger_balance or 0 for r in self.rows)

    @property
    def mismatches(self) -> int:
        return sum(not r.matches for r in self.rows)


def reconciliation(db, actor: Actor, village_id: int, filename: str, data: bytes,
                   cutover: dt.date | None = None, *, plan: Plan | None = None) -> Reconciliation:
    """The book's figures household by household against what the ledger holds as their opening.
    ``plan``: the preview of this very file just made (the page has it), so the workbook is not
    read a second time."""
    require(actor, "admin", village_id)
    with db.read() as s:
        if plan is None or plan.sha256 != hashlib.sha256(data).hexdigest():
            plan = _plan(s, village_id, filename, data, cutover or default_cutover())
        if not plan.openings or any(o.household_id is None for o in plan.openings):
            raise InvalidInput("期初积分表有错误，无法对账：请先按预览中的提示改正。")
        done = _imported(s, [o.household_id for o in plan.openings])
        total, n = s.execute(select(func.coalesce(func.sum(LedgerEntry.delta_balance), 0),
                                    func.count(func.distinct(LedgerEntry.household_id)))
                             .where(LedgerEntry.village_id == village_id,
                                    LedgerEntry.source_type == "carryover")).one()
        village = s.get(Village, village_id).name
    rows = [ReconRow(o.door_no, o.head_name, o.balance, o.earned_total, *(done.get(o.household_id) or (None, None)),
                     len(o.history)) for o in plan.openings]
    return Reconciliation(village, plan.cutover, rows, int(total), int(n))


def reconciliation_xlsx(r: Reconciliation) -> bytes:
    """The reconciliation workbook for the committee to sign: a summary sheet with the signature lines
    and a sheet of every household. A document: its Chinese headers are its layout, built here from the
    typed rows (:class:`ReconRow`)."""
    import pandas as pd

    from core.platform.exports import excel_bytes

    detail = pd.DataFrame([{"门牌号": x.door_no, "户主": x.head_name, "账本期初积分": x.book_balance,
                            "系统期初积分": x.ledger_balance if x.ledger_balance is not None else "未导入",
                            "账本累计积分": x.book_earned,
                            "系统累计积分": x.ledger_earned if x.ledger_earned is not None else "未导入",
                            "历史明细条数": x.history_rows, "核对": "一致" if x.matches else "不一致"} for x in r.rows],
                          columns=["门牌号", "户主", "账本期初积分", "系统期初积分", "账本累计积分", "系统累计积分",
                                   "历史明细条数", "核对"])
    summary = pd.DataFrame([
        {"项目": "村", "内容": r.village},
        {"项目": "期初日期", "内容": r.cutover.isoformat()},
        {"项目": "账本户数", "内容": str(len(r.rows))},
        {"项目": "账本期初积分合计", "内容": str(r.book_total)},
        {"项目": "系统已导入期初积分合计（本表各户）", "内容": str(r.imported_total)},
        {"项目": "差额", "内容": str(r.book_total - r.imported_total)},
        {"项目": "不一致户数", "内容": str(r.mismatches)},
        {"项目": "系统全村期初积分合计", "内容": f"{r.ledger_total}（{r.ledger_households} 户）"},
        {"项目": "村委会主任签字", "内容": ""},
        {"项目": "会计（报账员）签字", "内容": ""},
        {"项目": "积分评议小组签字", "内容": ""},
        {"项目": "村务监督委员会签字", "内容": ""},
        {"项目": "日期", "内容": ""},
    ])
    return excel_bytes({"对账汇总": summary, "逐户核对": detail})


def reconciliation_pdf(r: Reconciliation) -> bytes:
    """A printable A4 sheet: totals, every household, and lines for the committee's signatures."""
    from core.platform.pdf import Sheet

    pdf = Sheet(title="期初积分对账表")
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(0, 10, f"{r.village} 期初积分对账表", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    diff = r.book_total - r.imported_total
    for line in (f"期初日期：{r.cutover.isoformat()}    账本户数：{len(r.rows)}",
                 f"账本期初积分合计：{r.book_total}    系统已导入合计：{r.imported_total}    差额：{diff}",
                 f"不一致户数：{r.mismatches}    系统全村期初积分合计：{r.ledger_total}（{r.ledger_households} 户）"):
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    rows = [[x.door_no, x.head_name, x.book_balance, "未导入" if x.ledger_balance is None else x.ledger_balance,
             x.book_earned, "未导入" if x.ledger_earned is None else x.ledger_earned, x.history_rows,
             "一致" if x.matches else "不一致"] for x in r.rows]
    pdf.table_rows(["门牌号", "户主", "账本期初", "系统期初", "账本累计", "系统累计", "明细", "核对"], rows,
                   [24, 30, 22, 22, 22, 22, 16, 20], font_size=9)
    pdf.ln(8)
    pdf.set_font_size(11)
    for who in ("村委会主任", "会计（报账员）", "积分评议小组", "村务监督委员会"):
        if pdf.get_y() + 12 > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.cell(0, 12, f"{who}签字：______________________    日期：____年____月____日",
                 new_x="LMARGIN", new_y="NEXT")
    return pdf.output_bytes()
