"""Minutes of a review session (评议会纪要) as PDF and Excel: date, attendees, quorum and
every decision with its votes and reason."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.review import attendees, session_decisions
from db.models import ReviewSession, Village


@dataclass
class Minutes:
    village: str
    held_on: str
    status: str
    attendees: list[str]
    members_total: int
    quorum: int
    note: str
    decisions: pd.DataFrame

    @property
    def title(self) -> str:
        return f"{self.village}积分评议会纪要（{self.held_on}）"


def minutes(s: Session, session_id: int, *, people: list | None = None, decisions: list[dict] | None = None
            ) -> Minutes:
    """The minutes of a session. ``people`` (its attendees) and ``decisions`` (its
    :func:`session_decisions`) may be passed when the caller has just read them."""
    rs = s.get(ReviewSession, session_id) if isinstance(session_id, int) else None
    if rs is None:
        raise NotFound("找不到该评议会。")
    village = s.get(Village, rs.village_id)
    names = [u.display_name for u in (attendees(s, rs.id) if people is None else people)]
    df = pd.DataFrame(session_decisions(s, rs.id) if decisions is None else decisions,
                      columns=["申报号", "门牌号", "户主", "事项", "申报分值", "结果", "核定分值", "理由", "同意", "反对", "弃权"])
    return Minutes(village.name, f"{rs.held_on:%Y-%m-%d}", "已结束" if rs.closed_at else "进行中", names,
                   rs.members_total, rs.quorum_required, rs.note, df)


def summary_rows(m: Minutes) -> list[tuple[str, str]]:
    counts = m.decisions["结果"].value_counts().to_dict() if len(m.decisions) else {}
    return [("日期", m.held_on), ("状态", m.status),
            ("出席", f"{len(m.attendees)} / {m.members_total} 人（法定人数 {m.quorum} 人）：{'、'.join(m.attendees)}"),
            ("决定", "，".join(f"{k} {v} 项" for k, v in counts.items()) or "无"),
            ("备注", m.note or "")]


def minutes_excel(m: Minutes) -> bytes:
    from core.exports import excel_bytes

    return excel_bytes({"会议概况": pd.DataFrame(summary_rows(m), columns=["项目", "内容"]), "评议决定": m.decisions})


def minutes_pdf(m: Minutes) -> bytes:
    from core.pdf import Sheet

    pdf = Sheet(orientation="L", title=m.title)
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(0, 10, m.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    for label, value in summary_rows(m):
        pdf.multi_cell(0, 6, f"{label}：{value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    rows = [[r["申报号"], r["门牌号"], r["户主"], r["事项"], r["申报分值"], r["结果"], r["核定分值"], r["理由"],
             r["同意"], r["反对"], r["弃权"]] for r in m.decisions.to_dict("records")]
    pdf.table_rows(["申报号", "门牌号", "户主", "事项", "申报分", "结果", "核定分", "理由", "同意", "反对", "弃权"], rows,
                   [16, 18, 20, 62, 14, 30, 14, 73, 10, 10, 10], font_size=8)
    pdf.ln(8)
    pdf.cell(0, 8, "出席成员签字：" + "　" * 30)
    return pdf.output_bytes()
