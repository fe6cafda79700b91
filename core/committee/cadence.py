"""The review cadence that reminds (评议提醒): what the committee should know each morning.

From the village's ``review_cadence`` setting (daily / weekly / monthly) and what is recorded:

- **a session is due** when the cadence's next date (core.committee.review.next_session_due) is today or past
  and no session is open;
- **items wait past the cadence** when a proposal has been waiting for a decision (submitted or
  deferred) longer than one cadence interval (1, 7 or 30 days) since it was submitted;
- **a 公示 window ended with objections open**: an item whose 公示 ended before today with an
  objection nobody has resolved — it cannot be posted until a session upholds or overturns it.

The workbench shows these (core.reporting.reports.today_summary links to them) and the admin prints or
exports the same as a daily summary (:func:`summary_rows`, :func:`summary_pdf`). Reads only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.committee.sessions import CADENCE_DAYS, next_session_due
from core.platform import settings
from db.enums import ObjectionStatus, ProposalStatus
from db.models import Household, Objection, Proposal, ReviewSession, RuleItem, Village

CADENCE_NAMES = {"daily": "每天", "weekly": "每周", "monthly": "每月"}
WAITING = ("submitted", "deferred")
LISTED = 50  # items named in the summary; the counts are always complete


@dataclass(frozen=True)
class Item:
    """One proposal named in a reminder."""

    proposal_id: int
    door_no: str
    head_name: str
    rule: str
    since: dt.date  # submitted (waiting) or the end of its 公示 (objections)
    days: int  # how long past
    note: str = ""


@dataclass(frozen=True)
class Reminders:
    cadence: str
    last_held: dt.date | None
    due: dt.date
    session_open: bool
    waiting_total: int
    overdue: list[Item] = field(default_factory=list)  # waiting longer than the cadence
    overdue_count: int = 0
    blocked: list[Item] = field(default_factory=list)  # 公示 ended, objections open
    blocked_count: int = 0

    def session_due(self, today: dt.date) -> bool:
        return not self.session_open and self.due <= today

    def days_late(self, today: dt.date) -> int:
        return max((today - self.due).days, 0)


def interval_days(cadence: str) -> int:
    return CADENCE_DAYS.get(cadence, 1)


def reminders(s: Session, village_id: int, today: dt.date) -> Reminders:
    """What the committee should be told today (a few indexed counts and at most LISTED rows each)."""
    cadence = settings.get(s, village_id, "review_cadence")
    last = s.execute(select(func.max(ReviewSession.held_on)).where(ReviewSession.village_id == village_id)).scalar()
    session_open = s.execute(select(ReviewSession.id).where(ReviewSession.village_id == village_id,
                                                            ReviewSession.closed_at.is_(None)).limit(1)).scalar()
    waiting_total = s.execute(select(func.count()).select_from(Proposal).where(
        Proposal.village_id == village_id, Proposal.status.in_(WAITING))).scalar_one()
    cutoff = dt.datetime.combine(today - dt.timedelta(days=interval_days(cadence)), dt.time.min)
    late = (Proposal.village_id == village_id, Proposal.status.in_(WAITING), Proposal.submitted_at < cutoff)
    overdue_count = s.execute(select(func.count()).select_from(Proposal).where(*late)).scalar_one()
    overdue = [Item(pid, door, head, f"{code} {name}", at.date(), (today - at.date()).days,
                    "暂缓" if status == ProposalStatus.DEFERRED else "")
               for pid, door, head, code, name, at, status in s.execute(
                   select(Proposal.id, Household.door_no, Household.head_name, RuleItem.code, RuleItem.name,
                          Proposal.submitted_at, Proposal.status)
                   .join(Household, Household.id == Proposal.household_id)
                   .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
                   .where(*late).order_by(Proposal.submitted_at, Proposal.id).limit(LISTED))]
    open_objections = (select(Objection.proposal_id, func.count().label("n"))
                       .where(Objection.status == ObjectionStatus.OPEN).group_by(Objection.proposal_id).subquery())
    ended = (Proposal.village_id == village_id,
             Proposal.status.in_((ProposalStatus.PUBLICITY, ProposalStatus.OBJECTED)),
             Proposal.publicity_until < today)
    blocked_count = s.execute(select(func.count()).select_from(Proposal)
                              .join(open_objections, open_objections.c.proposal_id == Proposal.id)
                              .where(*ended)).scalar_one()
    blocked = [Item(pid, door, head, f"{code} {name}", until, (today - until).days, f"未处理异议 {n} 件")
               for pid, door, head, code, name, until, n in s.execute(
                   select(Proposal.id, Household.door_no, Household.head_name, RuleItem.code, RuleItem.name,
                          Proposal.publicity_until, open_objections.c.n)
                   .join(open_objections, open_objections.c.proposal_id == Proposal.id)
                   .join(Household, Household.id == Proposal.household_id)
                   .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
                   .where(*ended).order_by(Proposal.publicity_until, Proposal.id).limit(LISTED))]
    return Reminders(cadence, last, next_session_due(cadence, last, today), session_open is not None,
                     waiting_total, overdue, overdue_count, blocked, blocked_count)


def reminders_of(db, village_id: int, today: dt.date) -> Reminders:
    """``reminders`` in a read of its own (the workbench's 评议提醒)."""
    with db.read() as s:
        return reminders(s, village_id, today)


def messages(r: Reminders, today: dt.date) -> list[str]:
    """The reminders in one sentence each (the workbench's banner, the summary's head)."""
    out = []
    name = CADENCE_NAMES.get(r.cadence, r.cadence)
    if r.session_due(today):
        late = r.days_late(today)
        out.append(f"按本村评议周期（{name}），评议会应于 {r.due:%m月%d日} 召开"
                   + (f"，已过 {late} 天" if late else "，就是今天") + f"；待评议 {r.waiting_total} 件。")
    if r.overdue_count:
        oldest = r.overdue[0].days if r.overdue else 0
        out.append(f"有 {r.overdue_count} 件申报等待评议已超过评议周期（{interval_days(r.cadence)} 天），"
                   f"最久的已等 {oldest} 天。")
    if r.blocked_count:
        out.append(f"有 {r.blocked_count} 件事项公示期已满但异议未处理，不能记入积分：请在评议会上处理异议。")
    return out


SUMMARY_KINDS = {"overdue": "等待超过评议周期", "blocked": "公示期满、异议未处理"}
NOTHING_DUE = "今天没有逾期的评议事项。"


@dataclass(frozen=True)
class SummaryRow:
    """One line of the daily summary: a reminder's sentence (``kind`` "message", in ``text``) or an
    item a reminder names (``kind`` a SUMMARY_KINDS code, with the item's fields)."""

    kind: str
    text: str = ""
    proposal_id: int | None = None
    door_no: str | None = None
    head_name: str | None = None
    rule: str | None = None
    since: dt.date | None = None
    days: int | None = None
    note: str | None = None


def summary_rows(r: Reminders, today: dt.date) -> list[SummaryRow]:
    """The daily summary as one table: the reminders, then each item they name."""
    rows = [SummaryRow("message", m) for m in messages(r, today) or [NOTHING_DUE]]
    for kind, items in (("overdue", r.overdue), ("blocked", r.blocked)):
        rows += [SummaryRow(kind, "", i.proposal_id, i.door_no, i.head_name, i.rule, i.since, i.days, i.note)
                 for i in items]
    return rows


def summary_pdf(db, village_id: int, today: dt.date) -> bytes:
    """评议提醒日报, printable: the reminders and the items they name."""
    from core.platform.pdf import Sheet

    with db.read() as s:
        r = reminders(s, village_id, today)
        village = s.get(Village, village_id)
    pdf = Sheet(title=f"评议提醒 {today:%Y-%m-%d}")
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(0, 10, f"{village.name} 评议提醒（{today:%Y年%m月%d日}）", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    for m in messages(r, today) or [NOTHING_DUE]:
        pdf.multi_cell(0, 7, f"· {m}", new_x="LMARGIN", new_y="NEXT")
    for kind, items in (("overdue", r.overdue), ("blocked", r.blocked)):
        if items:
            pdf.ln(3)
            pdf.cell(0, 8, SUMMARY_KINDS[kind], new_x="LMARGIN", new_y="NEXT")
            pdf.table_rows(["编号", "门牌号", "户主", "积分细则", "日期", "天数", "说明"],
                           [[i.proposal_id, i.door_no, i.head_name, i.rule, f"{i.since:%m-%d}", i.days, i.note]
                            for i in items], [16, 22, 24, 60, 18, 14, 36])
    return pdf.output_bytes()
