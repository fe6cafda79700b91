"""Minutes of a review session (评议会纪要) as PDF and Excel: date, who attended — committee
members and guests (村民代表, 党员代表, residents), with late arrivals and departures — quorum,
and every decision with the votes recorded for it: the counts and who voted against or
abstained, or 未逐人表决 where none were recorded. Nothing is shown that nobody entered."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.orm import Session

from core.committee.agenda import OUTCOME_NAMES, DecisionRow, VoteRow, session_decisions, session_votes
from core.committee.attendance import CAPACITY_NAMES, DEPARTURE_NAMES, VOTE_NAMES, Attendee, attendance
from core.platform.errors import NotFound
from db.models import ReviewSession, Village

DECISION_COLUMNS = ["申报号", "门牌号", "户主", "事项", "申报分值", "结果", "核定分值", "理由", "表决", "同意", "反对", "弃权"]
VOTE_COLUMNS = ["申报号", "结果", "姓名", "身份", "表决"]
PEOPLE_COLUMNS = ["姓名", "身份", "表决权", "到会", "离开"]


@dataclass
class Minutes:
    village: str
    held_on: str
    status: str
    members: list[str]  # committee members who attended, labelled (late arrival, left early)
    guests: list[str]  # guests, labelled with their capacity and whether they voted
    mistakes: list[str]  # entries withdrawn as recorded by mistake
    members_present: int
    members_total: int
    quorum: int
    note: str
    decisions: list[DecisionRow]
    votes: list[VoteRow] = field(default_factory=list)
    people: list[Attendee] = field(default_factory=list)  # everyone recorded, mistakes included

    @property
    def title(self) -> str:
        return f"{self.village}积分评议会纪要（{self.held_on}）"

    @property
    def attendees(self) -> list[str]:
        return self.members + self.guests


def _times(a: Attendee, opened_at) -> list[str]:
    out = []
    if opened_at is not None and a.arrived_at > opened_at:
        out.append(f"{a.arrived_at:%H:%M} 到")
    if a.left_kind == "left":
        out.append(f"{a.left_at:%H:%M} 离席")
    return out


def _label(a: Attendee, opened_at) -> str:
    notes = _times(a, opened_at)
    if a.member:
        return a.name + (f"（{'，'.join(notes)}）" if notes else "")
    return f"{a.capacity_name} {a.name}（{'，'.join(['参加表决' if a.voting else '不参加表决', *notes])}）"


def _decisions_sheet(rows: list[DecisionRow]) -> pd.DataFrame:
    """The workbook's 评议决定: vote counts stay empty (not 0) where no votes were recorded."""
    df = pd.DataFrame([[d.proposal_id, d.door_no, d.head_name, d.rule, d.proposed, OUTCOME_NAMES.get(d.outcome, d.outcome),
                        "" if d.points is None else d.points, d.reason, d.votes, d.agree, d.disagree, d.abstain]
                       for d in rows], columns=DECISION_COLUMNS)
    for c in ("同意", "反对", "弃权"):
        df[c] = df[c].astype("Int64")
    return df


def _votes_sheet(rows: list[VoteRow]) -> pd.DataFrame:
    return pd.DataFrame([[v.proposal_id, OUTCOME_NAMES.get(v.outcome, v.outcome), v.name,
                          CAPACITY_NAMES.get(v.capacity, v.capacity), VOTE_NAMES[v.vote]] for v in rows],
                        columns=VOTE_COLUMNS)


def _people_sheet(people: list[Attendee]) -> pd.DataFrame:
    return pd.DataFrame([{"姓名": a.name, "身份": a.capacity_name, "表决权": "有" if a.voting else "无",
                          "到会": f"{a.arrived_at:%H:%M}",
                          "离开": (f"{a.left_at:%H:%M} {DEPARTURE_NAMES[a.left_kind]}" if a.left_kind else "")}
                         for a in people], columns=PEOPLE_COLUMNS)


def minutes_of(db, session_id: int, *, people: list[Attendee] | None = None,
               decisions: list[DecisionRow] | None = None) -> Minutes:
    """:func:`minutes` in a read transaction of its own (for the pages)."""
    with db.read() as s:
        return minutes(s, session_id, people=people, decisions=decisions)


def minutes(s: Session, session_id: int, *, people: list[Attendee] | None = None,
            decisions: list[DecisionRow] | None = None) -> Minutes:
    """The minutes of a session. ``people`` (its :func:`core.committee.attendance.attendance`) and
    ``decisions`` (its :func:`core.committee.agenda.session_decisions`) may be passed when the caller
    has just read them. The minutes are a document: the PDF and the workbook label these typed rows
    themselves, the pages show the decisions through ui.tables."""
    rs = s.get(ReviewSession, session_id) if isinstance(session_id, int) else None
    if rs is None:
        raise NotFound("找不到该评议会。")
    village = s.get(Village, rs.village_id)
    people = attendance(s, rs.id) if people is None else people
    kept = [a for a in people if a.left_kind != "mistake"]
    members = [a for a in kept if a.member]
    decided = session_decisions(s, rs.id) if decisions is None else decisions
    return Minutes(
        village.name, f"{rs.held_on:%Y-%m-%d}", "已结束" if rs.closed_at else "进行中",
        [_label(a, rs.opened_at) for a in members], [_label(a, rs.opened_at) for a in kept if not a.member],
        [f"{a.name}（{a.capacity_name}）" for a in people if a.left_kind == "mistake"],
        len({a.user_id for a in members}), rs.members_total, rs.quorum_required, rs.note, list(decided),
        session_votes(s, rs.id), list(people))


def summary_rows(m: Minutes) -> list[tuple[str, str]]:
    counts = Counter(OUTCOME_NAMES.get(d.outcome, d.outcome) for d in m.decisions)
    unvoted = sum(1 for d in m.decisions if not d.voted)
    rows = [("日期", m.held_on), ("状态", m.status),
            ("出席", f"评议小组成员 {m.members_present} / {m.members_total} 人（法定人数 {m.quorum} 人）："
                   f"{'、'.join(m.members)}"),
            ("列席", "、".join(m.guests) or "无")]
    if m.mistakes:
        rows.append(("登记有误", "、".join(m.mistakes) + "（已撤销登记）"))
    rows += [("决定", "，".join(f"{k} {v} 项" for k, v in counts.most_common()) or "无"),
             ("表决", f"逐人表决 {len(m.decisions) - unvoted} 项，未逐人表决 {unvoted} 项" if len(m.decisions) else "无"),
             ("备注", m.note or "")]
    return rows


def minutes_excel(m: Minutes) -> bytes:
    """The minutes as a workbook: a document whose sheets and Chinese headers are its layout, built
    from the typed rows."""
    from core.platform.exports import excel_bytes

    return excel_bytes({"会议概况": pd.DataFrame(summary_rows(m), columns=["项目", "内容"]),
                        "出席人员": _people_sheet(m.people), "评议决定": _decisions_sheet(m.decisions),
                        "表决明细": _votes_sheet(m.votes)})


def minutes_pdf(m: Minutes) -> bytes:
    from core.platform.pdf import Sheet

    pdf = Sheet(orientation="L", title=m.title)
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(0, 10, m.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    for label, value in summary_rows(m):
        pdf.multi_cell(0, 6, f"{label}：{value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    rows = [[d.proposal_id, d.door_no, d.head_name, d.rule, d.proposed, OUTCOME_NAMES.get(d.outcome, d.outcome),
             "" if d.points is None else d.points, d.reason, d.votes] for d in m.decisions]
    pdf.table_rows(["申报号", "门牌号", "户主", "事项", "申报分", "结果", "核定分", "理由", "表决"], rows,
                   [14, 16, 18, 54, 12, 28, 12, 61, 62], font_size=8)
    pdf.ln(8)
    pdf.cell(0, 8, "出席人员签字：" + "　" * 30)
    return pdf.output_bytes()
