"""Exports a township can use (报镇街): the village ledger of a period and the balance list of all
households, as Excel through the safe export helpers (core.platform.exports), and the village archive
(core.maintenance.archive). Reads only.

The ledger export has every entry of the period with who it concerns (household, resident), what
(rule item and category, or the redemption's items in the reason), why (the reason), where it came
from (source) and who decided: the review session and the committee member who recorded the decision
for a proposal, otherwise the staff member who entered it (an admin's adjustment, a cashier's sale).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import aliased

from core.committee.proposals import SOURCE_NAMES
from core.platform import exports
from core.points import entry_rules
from core.village.households import balances
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


def ledger_frame(db, village_id: int, since: dt.date, until: dt.date) -> pd.DataFrame:
    """Every ledger entry of the village dated in [since, until], oldest first."""
    if since > until:
        from core.platform.errors import InvalidInput

        raise InvalidInput("开始日期不能晚于结束日期。")
    creator, decider = aliased(StaffUser), aliased(StaffUser)
    with db.read() as s:
        rows = s.execute(
            select(LedgerEntry, Household.door_no, Household.head_name, Grid.name, Resident.name, RuleCategory.name,
                   RuleItem.code, RuleItem.name, creator.display_name, Proposal.source, Proposal.session_id)
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
        proposal_ids = [int(e.source_id) for e, *_ in rows if e.source_type == "proposal"]
        decided: dict[int, tuple[dt.date, str]] = {}
        for chunk in _chunks(proposal_ids):
            for pid, held_on, name in s.execute(
                select(Decision.proposal_id, ReviewSession.held_on, decider.display_name)
                .join(ReviewSession, ReviewSession.id == Decision.session_id)
                .outerjoin(decider, decider.id == Decision.decided_by)
                .where(Decision.proposal_id.in_(chunk), Decision.outcome.in_(("approved", "upheld")))
                .order_by(Decision.id)
            ):
                decided[pid] = (held_on, name or "")
    out = []
    for e, door, head, grid, resident, cat, code, item, who, psource, _session in rows:
        session_day, decider_name = decided.get(int(e.source_id), (None, "")) if e.source_type == "proposal" \
            else (None, "")
        out.append({
            "流水号": e.id, "日期": e.occurred_on, "记账时间": e.created_at, "门牌号": door, "户主": head,
            "网格": grid or "", "村民": resident or "", "类型": entry_rules.KIND_NAMES.get(e.kind, e.kind),
            "积分类别": cat or "", "积分细则": f"{code} {item}" if item else "",
            "可用积分变动": e.delta_balance, "累计积分变动": e.delta_earned, "待扣变动": e.delta_outstanding,
            "事由": e.reason, "来源": SOURCE_TYPE_NAMES.get(e.source_type, e.source_type),
            "申报方式": SOURCE_NAMES.get(psource, psource or ""),
            "评议会": f"{session_day:%Y-%m-%d} 评议会" if session_day else "", "决定人": decider_name,
            "经办人": who or ("系统" if e.created_by is None else ""), "冲正流水号": e.reverses_id,
        })
    return pd.DataFrame(out, columns=LEDGER_COLUMNS)


def _chunks(seq: list, n: int = 500):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


BALANCE_COLUMNS = ["门牌号", "户主", "网格", "可用积分", "公示中扣分冻结", "可兑换积分", "待扣积分", "累计积分"]


def balance_frame(db, village_id: int) -> pd.DataFrame:
    """全村积分余额表: every active household's spendable, held, outstanding and earned points."""
    with db.read() as s:
        rows = balances(s, village_id)
    return pd.DataFrame([{"门牌号": r.door_no, "户主": r.head_name, "网格": r.grid, "可用积分": r.balance,
                          "公示中扣分冻结": r.held, "可兑换积分": r.spendable, "待扣积分": r.outstanding,
                          "累计积分": r.earned_total} for r in rows], columns=BALANCE_COLUMNS)


def _title(db, village_id: int) -> str:
    with db.read() as s:
        v = s.get(Village, village_id)
        return f"{v.township}{v.name}" if v else ""


def ledger_workbook(db, village_id: int, since: dt.date, until: dt.date) -> bytes:
    """The ledger of a period as an Excel file, with a summary sheet (totals per kind)."""
    df = ledger_frame(db, village_id, since, until)
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
    df = balance_frame(db, village_id)
    totals = pd.DataFrame([{"项目": "村", "内容": _title(db, village_id)}, {"项目": "户数", "内容": len(df)}]
                          + [{"项目": f"合计{c}", "内容": int(df[c].sum())} for c in BALANCE_COLUMNS[3:]])
    return exports.excel_bytes({"全村积分余额表": df, "合计": totals})
