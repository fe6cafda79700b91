"""Exports a township can use (报镇街): the village ledger of a period and the balance list of all
households, as Excel through the safe export helpers (core.platform.exports), and the village archive
(core.maintenance.archive). Reads only. :func:`ledger_entries` and :func:`balance_rows` return typed
rows; the workbooks label them (their headers are the document's).

The ledger export has every entry of the period with who it concerns (household, resident), what
(rule item and category, or the redemption's items in the reason), why (the reason), where it came
from (source) and who decided: the review session and the committee member who recorded the decision
for a proposal, otherwise the staff member who entered it (an admin's adjustment, a cashier's sale).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import aliased

from core.committee.proposals import SOURCE_NAMES
from core.platform import exports
from core.points import entry_rules
from core.village.households import BalanceRow, balances
from db.models import (
    Decision,
    Grid,
    Household,
    LedgerEntry,
    Proposal,
    Resident,
    ReviewSession,
    RuleCategory,
    RuleItem,
    StaffUser,
    Village,
)

SOURCE_TYPE_NAMES = {
    "proposal": "积分申报（评议会）", "redemption": "积分超市兑换", "redemption_void": "撤销兑换",
    "redemption_return": "兑换退货", "adjustment": "管理员调整", "reversal": "冲正", "clearing": "年终清零",
    "base": "底分", "attendance": "志愿服务时长", "hours_correction": "志愿时长更正", "settlement": "待扣抵扣",
    "backfill": "待扣补记",
}
LEDGER_COLUMNS = ["流水号", "日期", "记账时间", "门牌号", "户主", "网格", "村民", "类型", "积分类别", "积分细则",
                  "可用积分变动", "累计积分变动", "待扣变动", "事由", "来源", "申报方式", "评议会", "决定人", "经办人",
                  "冲正流水号"]
MAX_ROWS = 1_000_000  # an .xlsx sheet holds 1,048,576 rows


@dataclass(frozen=True)
class LedgerExportRow:
    """One ledger entry as the township export lists it: codes as stored (kind: KIND_NAMES,
    source_type: SOURCE_TYPE_NAMES, proposal_source: SOURCE_NAMES), names of who it concerns and who decided."""

    id: int
    occurred_on: dt.date
    created_at: dt.datetime
    door_no: str
    head_name: str
    grid: str | None
    resident: str | None
    kind: str
    category: str | None
    rule_code: str | None
    rule_item: str | None
    delta_balance: int
    delta_earned: int
    delta_outstanding: int
    reason: str
    source_type: str
    proposal_source: str | None  # how the proposal came in, for an entry posted from one
    session_day: dt.date | None  # the review session that approved the proposal
    decided_by: str | None  # the committee member who recorded that decision
    entered_by: str | None  # the staff member who made the entry; None for the system or a removed account
    by_system: bool  # made by the system (no staff member)
    reverses_id: int | None


def ledger_entries(db, village_id: int, since: dt.date, until: dt.date) -> list[LedgerExportRow]:
    """Every ledger entry of the village dated in [since, until], oldest first (at most MAX_ROWS)."""
    if since > until:
        from core.platform.errors import InvalidInput

        raise InvalidInput("开始日期不能晚于结束日期。")
    creator, decider = aliased(StaffUser), aliased(StaffUser)
    with db.read() as s:
        rows = s.execute(
            select(LedgerEntry.id, LedgerEntry.occurred_on, LedgerEntry.created_at, Household.door_no,
                   Household.head_name, Grid.name, Resident.name, LedgerEntry.kind, RuleCategory.name, RuleItem.code,
                   RuleItem.name, LedgerEntry.delta_balance, LedgerEntry.delta_earned, LedgerEntry.delta_outstanding,
                   LedgerEntry.reason, LedgerEntry.source_type, Proposal.source, LedgerEntry.source_id,
                   creator.display_name, LedgerEntry.created_by, LedgerEntry.reverses_id)
            .join(Household, Household.id == LedgerEntry.household_id)
            .outerjoin(Grid, Grid.id == Household.grid_id)
            .outerjoin(Resident, Resident.id == LedgerEntry.resident_id)
            .outerjoin(RuleItem, RuleItem.id == LedgerEntry.rule_item_id)
            .outerjoin(RuleCategory, RuleCategory.id == LedgerEntry.category_id)
            .outerjoin(creator, creator.id == LedgerEntry.created_by)
            .outerjoin(Proposal, Proposal.posted_entry_id == LedgerEntry.id)
            .where(LedgerEntry.village_id == village_id, LedgerEntry.occurred_on >= since,
                   LedgerEntry.occurred_on <= until)
            .order_by(LedgerEntry.occurred_on, LedgerEntry.id).limit(MAX_ROWS)
        ).all()
        # who decided each posted proposal: its latest approving decision (approved, or upheld after an objection)
        proposal_ids = [int(r[17]) for r in rows if r[15] == "proposal"]
        decided: dict[int, tuple[dt.date, str | None]] = {}
        for chunk in _chunks(proposal_ids):
            for pid, held_on, name in s.execute(
                select(Decision.proposal_id, ReviewSession.held_on, decider.display_name)
                .join(ReviewSession, ReviewSession.id == Decision.session_id)
                .outerjoin(decider, decider.id == Decision.decided_by)
                .where(Decision.proposal_id.in_(chunk), Decision.outcome.in_(("approved", "upheld")))
                .order_by(Decision.id)
            ):
                decided[pid] = (held_on, name)
    none = (None, None)
    return [LedgerExportRow(eid, on, at, door, head, grid, resident, kind, cat, code, item, bal, earned, owed, reason,
                            stype, psource, *(decided.get(int(sid), none) if stype == "proposal" else none),
                            who, created_by is None, reverses)
            for (eid, on, at, door, head, grid, resident, kind, cat, code, item, bal, earned, owed, reason, stype,
                 psource, sid, who, created_by, reverses) in rows]


def _ledger_sheet(rows: list[LedgerExportRow]) -> pd.DataFrame:
    """The 积分流水 sheet of the township workbook: the rows under the document's headers."""
    return pd.DataFrame([{
        "流水号": r.id, "日期": r.occurred_on, "记账时间": r.created_at, "门牌号": r.door_no, "户主": r.head_name,
        "网格": r.grid or "", "村民": r.resident or "", "类型": entry_rules.KIND_NAMES.get(r.kind, r.kind),
        "积分类别": r.category or "", "积分细则": f"{r.rule_code} {r.rule_item}" if r.rule_item else "",
        "可用积分变动": r.delta_balance, "累计积分变动": r.delta_earned, "待扣变动": r.delta_outstanding,
        "事由": r.reason, "来源": SOURCE_TYPE_NAMES.get(r.source_type, r.source_type),
        "申报方式": SOURCE_NAMES.get(r.proposal_source, r.proposal_source or ""),
        "评议会": f"{r.session_day:%Y-%m-%d} 评议会" if r.session_day else "", "决定人": r.decided_by or "",
        "经办人": r.entered_by or ("系统" if r.by_system else ""), "冲正流水号": r.reverses_id,
    } for r in rows], columns=LEDGER_COLUMNS)


def _chunks(seq: list, n: int = 500):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


BALANCE_COLUMNS = ["门牌号", "户主", "网格", "可用积分", "公示中扣分冻结", "可兑换积分", "待扣积分", "累计积分"]


def balance_rows(db, village_id: int) -> list[BalanceRow]:
    """全村积分余额表: every active household's spendable, held, outstanding and earned points."""
    with db.read() as s:
        return balances(s, village_id)


def _balance_sheet(rows: list[BalanceRow]) -> pd.DataFrame:
    """The 全村积分余额表 sheet: the rows under the document's headers."""
    return pd.DataFrame([(r.door_no, r.head_name, r.grid, r.balance, r.held, r.spendable, r.outstanding,
                          r.earned_total) for r in rows], columns=BALANCE_COLUMNS)


def _title(db, village_id: int) -> str:
    with db.read() as s:
        v = s.get(Village, village_id)
        return f"{v.township}{v.name}" if v else ""


def ledger_workbook(db, village_id: int, since: dt.date, until: dt.date) -> bytes:
    """The ledger of a period as an Excel file, with a summary sheet (totals per kind): a document,
    labelled here from :func:`ledger_entries`."""
    df = _ledger_sheet(ledger_entries(db, village_id, since, until))
    summary = (df.groupby("类型", sort=False)[["可用积分变动", "累计积分变动", "待扣变动"]].sum()
               .reset_index() if len(df) else pd.DataFrame(columns=["类型", "可用积分变动", "累计积分变动", "待扣变动"]))
    counts = df.groupby("类型", sort=False).size().rename("笔数").reset_index() if len(df) else None
    if counts is not None:
        summary = summary.merge(counts, on="类型")
    head = pd.DataFrame([{"项目": "村", "内容": _title(db, village_id)},
                         {"项目": "期间", "内容": f"{since:%Y-%m-%d} 至 {until:%Y-%m-%d}"},
                         {"项目": "流水笔数", "内容": len(df)}])
    return exports.excel_bytes({"说明": head, "汇总": summary, "积分流水": df})


def balance_workbook(db, village_id: int) -> bytes:
    """全村积分余额表 with a totals sheet as an Excel file: a document, labelled here from :func:`balance_rows`."""
    df = _balance_sheet(balance_rows(db, village_id))
    totals = pd.DataFrame([{"项目": "村", "内容": _title(db, village_id)}, {"项目": "户数", "内容": len(df)}]
                          + [{"项目": f"合计{c}", "内容": int(df[c].sum())} for c in BALANCE_COLUMNS[3:]])
    return exports.excel_bytes({"全村积分余额表": df, "合计": totals})
