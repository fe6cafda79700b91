"""公示 (public notice), objections, and posting approved items to the ledger.

An approved proposal is shown in public until ``publicity_until`` (the last day of the
window, setting ``publicity_days``; 0 = no window, it posts with the decision). The day
after, with no open objection, it posts — once: the ledger's unique cause
``("proposal", id)`` and the conditional status change make a second attempt a no-op.
Posting runs when relevant pages load (:func:`post_due_if_any`) and from
``python manage.py post-due`` for a daily scheduler.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, cast, func, select, update
from sqlalchemy.orm import Session

from core.platform import settings
from core.platform.access import SYSTEM, Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.platform.masking import mask_name
from core.platform.natural import natural_key
from core.points import posting
from db.enums import ObjectionStatus, ProposalStatus
from db.models import (
    Grid,
    Household,
    LedgerEntry,
    Objection,
    Proposal,
    Resident,
    RuleCategory,
    RuleItem,
    Village,
)

OBJECTION_ROLES = ("committee", "admin", "grid_worker")


def publicity_until(held_on: dt.date, days: int) -> dt.date | None:
    """Last day of the 公示 window; None when there is no window (post at once)."""
    if days <= 0:
        return None
    return held_on + dt.timedelta(days=days - 1)


def enter_publicity(s: Session, actor: Actor, p: Proposal, held_on: dt.date) -> None:
    """After approval: into 公示, or straight to the ledger when the window is 0 days."""
    until = publicity_until(held_on, settings.get(s, p.village_id, "publicity_days"))
    if until is None:
        post_proposal(s, actor, p)
    else:
        p.status, p.publicity_until = ProposalStatus.PUBLICITY, until


def entry_reason(code: str, name: str, note: str | None) -> str:
    """The ledger entry's text for a posted proposal: rule code and name, then the note."""
    return f"{code} {name}{f'：{note}' if note else ''}"[:500]


def post_proposal(s: Session, actor: Actor, p: Proposal) -> LedgerEntry | None:
    """Post one approved proposal in the caller's transaction (idempotent by its cause)."""
    existing = s.execute(select(LedgerEntry).where(LedgerEntry.source_type == "proposal",
                                                   LedgerEntry.source_id == str(p.id))).scalar_one_or_none()
    if existing is None:
        rule = s.get(RuleItem, p.rule_item_id)
        pts = p.decided_points if p.decided_points is not None else p.points
        existing = posting.post(
            s, household_id=p.household_id, kind="earned" if pts > 0 else "deducted", points=pts,
            source_type="proposal", source_id=p.id, occurred_on=p.act_date, actor=actor,
            resident_id=p.resident_id, rule_item_id=rule.id, category_id=rule.category_id,
            reason=entry_reason(rule.code, rule.name, p.note))
    p.status, p.posted_entry_id = ProposalStatus.POSTED, existing.id
    return existing


def approved_rows(s: Session, where) -> list:
    """Approved proposals with what posting needs, locked (FOR UPDATE OF proposal), by id."""
    return list(s.execute(
        select(Proposal.id, Proposal.household_id, Proposal.resident_id, Proposal.points, Proposal.decided_points,
               Proposal.act_date, Proposal.note, Proposal.rule_item_id, RuleItem.code, RuleItem.name,
               RuleItem.category_id)
        .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
        .where(*where).order_by(Proposal.id).with_for_update(of=Proposal)).all())


def post_approved(s: Session, actor: Actor, rows: list) -> int:
    """Post many approved proposals (rows of :func:`approved_rows`) in the caller's
    transaction, set-based: one statement per kind of write, whatever the number. A proposal
    whose cause is somehow in the ledger already is linked to that entry, not posted again."""
    if not rows:
        return 0
    done = posting.posted_causes(s, "proposal", [r.id for r in rows])
    todo = [r for r in rows if str(r.id) not in done]
    postings = []
    for r in todo:
        pts = r.decided_points if r.decided_points is not None else r.points
        postings.append(posting.Posting(
            household_id=r.household_id, kind="earned" if pts > 0 else "deducted", points=pts,
            source_type="proposal", source_id=r.id, occurred_on=r.act_date, resident_id=r.resident_id,
            rule_item_id=r.rule_item_id, category_id=r.category_id, reason=entry_reason(r.code, r.name, r.note)))
    posting.post_many(s, postings, actor, causes_checked=True, return_ids=False)
    # Link each proposal to its entry by the unique cause ("proposal", id), in one statement.
    pt, lt = Proposal.__table__, LedgerEntry.__table__
    entry = (select(lt.c.id).where(lt.c.source_type == "proposal", lt.c.source_id == cast(pt.c.id, String))
             .scalar_subquery())
    ids = [r.id for r in rows]
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        s.execute(update(pt).where(pt.c.id.in_(chunk)).values(status=ProposalStatus.POSTED, posted_entry_id=entry))
    return len(rows)


def due_count(s: Session, village_id: int | None, today: dt.date) -> int:
    q = select(func.count()).select_from(Proposal).where(Proposal.status == ProposalStatus.PUBLICITY,
                                                         Proposal.publicity_until < today)
    if village_id is not None:
        q = q.where(Proposal.village_id == village_id)
    return s.execute(q).scalar_one()


def post_due(db, actor: Actor = SYSTEM, village_id: int | None = None, today: dt.date | None = None) -> int:
    """Post every item whose 公示 window has ended without an open objection; returns how
    many were posted. Safe to run any number of times, from many processes."""
    today = today or dt.date.today()
    with db.write() as s:
        if village_id is not None:
            require(actor, ("admin", "committee", "grid_worker", "cashier", "volunteer_lead", "field_lead"),
                    village_id)
        where = [Proposal.status == ProposalStatus.PUBLICITY, Proposal.publicity_until < today]
        if village_id is not None:
            where.append(Proposal.village_id == village_id)
        # Set-based: the proposals locked first, then every account they touch in household
        # order (inside post_many), then one statement per kind of write. Posting one by one
        # held some accounts and the shared category_month row while waiting for the next
        # account, and deadlocked with tills and admins; it was also 40× slower.
        n = post_approved(s, actor, approved_rows(s, where))
        if n:
            record(s, actor, "publicity.post_due", "proposal", "", {"posted": n, "today": today},
                   village_id=village_id)
        return n


def post_due_if_any(db, actor: Actor, village_id: int, today: dt.date | None = None) -> int:
    """Cheap on page load: one count query; writes only when something is due."""
    today = today or dt.date.today()
    with db.read() as s:
        if not due_count(s, village_id, today):
            return 0
    return post_due(db, actor, village_id, today)


def log_objection(db, actor: Actor, proposal_id: int, *, raised_by: str, reason: str) -> int:
    """A resident objects to an item in 公示 (staff log who and why); it stops posting
    until a session resolves it."""
    raised_by = (raised_by or "").strip()
    reason = (reason or "").strip()
    if not raised_by:
        raise InvalidInput("请填写提出异议的人。")
    if len(raised_by) > 40:
        raise InvalidInput("提出人不能超过 40 个字。")
    if not reason:
        raise InvalidInput("请填写异议理由。")
    if len(reason) > 500:
        raise InvalidInput("异议理由不能超过 500 字。")
    with db.write() as s:
        return log_objection_in(s, actor, proposal_id, raised_by=raised_by, reason=reason)


def log_objection_in(s: Session, actor: Actor, proposal_id: int, *, raised_by: str, reason: str,
                     today: dt.date | None = None) -> int:
    p = s.execute(select(Proposal).where(Proposal.id == proposal_id).with_for_update()
                  ).scalar_one_or_none() if isinstance(proposal_id, int) else None
    if p is None:
        raise NotFound("找不到该公示事项。")
    require(actor, OBJECTION_ROLES, p.village_id)
    if p.status == ProposalStatus.OBJECTED:
        raise AlreadyDone("该事项已有待处理的异议。")
    if p.status != ProposalStatus.PUBLICITY:
        raise InvalidInput("只有公示中的事项可以提出异议（该事项已记账或不在公示中）。")
    if p.publicity_until is not None and p.publicity_until < (today or dt.date.today()):
        raise InvalidInput(f"公示期已于 {p.publicity_until:%Y-%m-%d} 结束，不能再提出异议；如有错误请申请冲正。")
    ob = Objection(proposal_id=p.id, raised_by=raised_by, reason=reason, logged_by=actor.user_id)
    s.add(ob)
    p.status = ProposalStatus.OBJECTED
    s.flush()
    record(s, actor, "objection.log", "objection", ob.id, {"proposal_id": p.id, "raised_by": raised_by},
           reason, village_id=p.village_id)
    return ob.id


# ---------------------------------------------------------------- reading


def _base_rows(village_id: int):
    return (select(Proposal.id, Proposal.status, Proposal.act_date, Proposal.publicity_until, Proposal.decided_points,
                   Proposal.note, Household.door_no, Household.head_name, Resident.name.label("resident"),
                   Grid.id.label("grid_id"), Grid.name.label("grid"), RuleCategory.name.label("category"),
                   RuleItem.code, RuleItem.name.label("rule"))
            .join(Household, Household.id == Proposal.household_id)
            .outerjoin(Resident, Resident.id == Proposal.resident_id)
            .outerjoin(Grid, Grid.id == Household.grid_id)
            .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
            .join(RuleCategory, RuleCategory.id == RuleItem.category_id)
            .where(Proposal.village_id == village_id))


def in_publicity(s: Session, village_id: int, grid_id: int | None = None) -> list[dict]:
    """Items now in 公示 (and those held by an objection), for the screen and the sheet."""
    q = _base_rows(village_id).where(Proposal.status.in_((ProposalStatus.PUBLICITY, ProposalStatus.OBJECTED)))
    if grid_id is not None:
        q = q.where(Household.grid_id == grid_id)
    rows = [dict(r._mapping) for r in s.execute(q).all()]
    return sorted(rows, key=lambda r: (natural_key(r["grid"]), natural_key(r["door_no"]), r["id"]))


def objections(s: Session, village_id: int, status: str | None = None, limit: int = 200) -> list[dict]:
    q = (select(Objection.id, Objection.proposal_id, Objection.raised_by, Objection.reason, Objection.status,
                Objection.logged_at, Objection.resolution, Household.door_no, Household.head_name,
                RuleItem.name.label("rule"), Proposal.decided_points)
         .join(Proposal, Proposal.id == Objection.proposal_id)
         .join(Household, Household.id == Proposal.household_id)
         .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
         .where(Proposal.village_id == village_id))
    if status is not None:
        q = q.where(Objection.status == status)
    return [dict(r._mapping) for r in s.execute(q.order_by(Objection.id.desc()).limit(limit)).all()]


@dataclass(frozen=True)
class PublicityScreen:
    """The 公示与异议 page's lists, read in one transaction so its counts agree."""

    items: list[dict]  # in_publicity: in 公示 or held by an objection (the grid's, or the village's)
    open_objections: list[dict]  # waiting for a session
    objections: list[dict]  # all, newest first


def publicity_screen(db, village_id: int, grid_id: int | None = None) -> PublicityScreen:
    with db.read() as s:
        return PublicityScreen(in_publicity(s, village_id, grid_id),
                               objections(s, village_id, status=ObjectionStatus.OPEN),
                               objections(s, village_id))


def is_report(rule_name: str) -> bool:
    """A 举报 item (e.g. 举报违法线索经查属实): who reported whom is not for the notice board."""
    return "举报" in (rule_name or "")


def sheet_row(r: dict) -> list[str]:
    """One 公示 item as the printed sheet shows it. 举报 items and deductions print the household
    head and the person concerned masked (张*明, as on the board, core.platform.masking.mask_name) and no door
    number; a 举报 item prints no 事由 either (it could name the one reported)."""

    report = is_report(r["rule"])
    private = report or (r["decided_points"] or 0) < 0
    head = mask_name(r["head_name"]) if private else r["head_name"]
    resident = (mask_name(r["resident"]) if private else r["resident"]) or ""
    note = "（举报事项，不公示事由）" if report else (r["note"] or "")
    return [r["grid"] or "", "" if private else r["door_no"], head, resident, f"{r['code']} {r['rule']}",
            f"{r['decided_points']:+d}", note, f"{r['publicity_until']:%m-%d}" if r["publicity_until"] else "",
            "有异议" if r["status"] == ProposalStatus.OBJECTED else ""]


def sheet_pdf(s: Session, village_id: int, grid_id: int | None = None, today: dt.date | None = None) -> bytes:
    """The printable 公示 sheet (A4 landscape, 11 pt, text wrapped in its cell): village-wide or one
    grid; names masked where :func:`sheet_row` says."""
    from core.platform.pdf import Sheet

    today = today or dt.date.today()
    village = s.get(Village, village_id)
    rows = in_publicity(s, village_id, grid_id)
    grid_name = s.get(Grid, grid_id).name if grid_id is not None else ""
    title = f"{village.name}{grid_name}积分评议结果公示"
    pdf = Sheet("L", title=title)
    pdf.add_page()
    pdf.set_font_size(18)
    pdf.cell(0, 12, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    starts = [r["publicity_until"] for r in rows if r["publicity_until"]]
    window = f"公示期至 {max(starts):%Y年%m月%d日}" if starts else "目前没有公示中的事项"
    pdf.multi_cell(0, 6, f"经村积分评议小组评议，下列事项拟予加分或扣分，现予公示。{window}。"
                         "如有异议，请在公示期内向村委会或网格员反映（实名，说明理由）。",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    headers = ["网格", "门牌号", "户主", "当事人", "事项", "分值", "事由", "公示至", "备注"]
    widths = (22, 18, 20, 20, 58, 14, 82, 18, 20)  # landscape A4: 277 mm between the margins
    from fpdf.fonts import FontFace

    with pdf.table(col_widths=widths, text_align="LEFT", line_height=5.5, repeat_headings=1,
                   first_row_as_headings=True, headings_style=FontFace(emphasis="", fill_color=(235, 235, 235))) as t:
        t.row(headers)
        for r in rows:
            t.row([str(v) for v in sheet_row(r)])
    pdf.ln(6)
    pdf.set_font_size(11)
    pdf.multi_cell(0, 6, "举报类事项和扣分事项按规定隐去姓名（张*明）和门牌号，举报事项不公示事由。",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, f"{village.name}积分评议小组　　{today:%Y年%m月%d日}", align="R")
    return pdf.output_bytes()


def sheet_pdf_of(db, village_id: int, grid_id: int | None = None) -> bytes:
    """``sheet_pdf`` in a read of its own (the page builds it when 打印公示单 is clicked)."""
    with db.read() as s:
        return sheet_pdf(s, village_id, grid_id)


def grids(s: Session, village_id: int) -> list[Grid]:
    found = s.execute(select(Grid).where(Grid.village_id == village_id)).scalars()
    return sorted(found, key=lambda g: (natural_key(g.name), g.id))


def grid_names(db, village_id: int) -> dict[int, str]:
    """id → name of the village's grids, in ``grids`` order (the 范围 pickers)."""
    with db.read() as s:
        return {g.id: g.name for g in grids(s, village_id)}
