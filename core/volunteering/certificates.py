"""Volunteer service certificates (志愿服务证明) as PDF.

Issuing records a certificate row with a unique number (ZY-<village code>-<year>-<seq>;
the sequence is one more than the highest issued, taken under a lock on the village row)
and the confirmed total for the period; the PDF is drawn from that row and the confirmed
attendance in the period, so a reprint shows the same number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import InvalidInput, NotFound
from core.platform.pdf import Sheet
from core.volunteering.volunteer import LEAD_ROLES
from db.models import Activity, Attendance, Certificate, OutsideVolunteer, Resident, Village, VolunteerTotal


@dataclass(frozen=True)
class CertificateData:
    number: str
    person: str
    gender: str
    period_from: dt.date
    period_to: dt.date
    rows: list[tuple[dt.date, str, str, int]]  # date, title, organiser, minutes
    total_minutes: int
    star_level: int
    issuer: str
    issued_on: dt.date
    unit: str = ""  # an outside volunteer's unit (no star level: stars are residents')


def _confirmed_rows(s, resident_id: int | None, period_from: dt.date, period_to: dt.date,
                    outsider_id: int | None = None):
    who = (Attendance.resident_id == resident_id) if outsider_id is None else (Attendance.outsider_id == outsider_id)
    return [(d, t, o, m) for d, t, o, m in s.execute(
        select(Activity.date, Activity.title, Activity.organiser, Attendance.minutes)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(who, Attendance.confirmed_at.is_not(None),
               Activity.date >= period_from, Activity.date <= period_to)
        .order_by(Activity.date, Activity.id))]


def _locked_village(s, village_id: int) -> Village:
    """The village row, locked until commit: two certificates issued at the same instant
    take their numbers one after the other. FOR NO KEY UPDATE, so inserts that merely
    reference the village (foreign-key share locks) are not held up; SQLite needs no lock,
    its write transactions already run one at a time (BEGIN IMMEDIATE)."""
    return s.execute(select(Village).where(Village.id == village_id).with_for_update(key_share=True)).scalar_one()


def _last_seq(s, village_id: int, prefix: str) -> int:
    """The highest sequence number issued under ``prefix`` (0 if none). The highest, not the
    count: a gap (a number carried over from a paper register) must not make the next collide.
    Longest first, then highest as text, so that 10000 comes after 9999."""
    last = s.execute(select(Certificate.number).where(
        Certificate.village_id == village_id, Certificate.number.startswith(prefix, autoescape=True))
        .order_by(func.length(Certificate.number).desc(), Certificate.number.desc()).limit(1)).scalar()
    suffix = last[len(prefix):] if last else ""
    return int(suffix) if suffix.isdigit() else 0


def issue(db, actor: Actor, resident_id: int, period_from: dt.date, period_to: dt.date) -> int:
    """Issue a certificate for the confirmed service of ``resident_id`` in the period; returns its id."""
    return _issue(db, actor, Resident, resident_id, period_from, period_to)


def issue_outsider(db, actor: Actor, outsider_id: int, period_from: dt.date, period_to: dt.date) -> int:
    """Issue a certificate for an outside volunteer's confirmed service in the period; returns its id."""
    return _issue(db, actor, OutsideVolunteer, outsider_id, period_from, period_to)


def _issue(db, actor: Actor, model, person_id: int, period_from: dt.date, period_to: dt.date) -> int:
    if not isinstance(period_from, dt.date) or not isinstance(period_to, dt.date):
        raise InvalidInput("请选择证明的起止日期。")
    if period_from > period_to:
        raise InvalidInput("开始日期不能晚于结束日期。")
    outsider = model is OutsideVolunteer
    with db.write() as s:
        person = s.get(model, person_id) if isinstance(person_id, int) and not isinstance(person_id, bool) else None
        if person is None:
            raise NotFound("找不到这位外来志愿者。" if outsider else "找不到这位村民。")
        require(actor, LEAD_ROLES, person.village_id)
        rows = (_confirmed_rows(s, None, period_from, period_to, outsider_id=person.id) if outsider
                else _confirmed_rows(s, person.id, period_from, period_to))
        total = sum(m for *_, m in rows)
        if not rows or total <= 0:
            raise InvalidInput(f"{person.name} 在该时段没有已确认的志愿服务时长，不能开具证明。")
        village = _locked_village(s, person.village_id)
        prefix = f"ZY-{village.code}-{dt.date.today().year}-"
        number = f"{prefix}{_last_seq(s, village.id, prefix) + 1:04d}"
        who = {"outsider_id": person.id} if outsider else {"resident_id": person.id}
        cert = Certificate(number=number, village_id=village.id, period_from=period_from,
                           period_to=period_to, total_minutes=total, issued_by=actor.user_id, **who)
        s.add(cert)
        s.flush()
        record(s, actor, "certificate.issue", "certificate", cert.id,
               {"number": cert.number, **who, "minutes": total}, village_id=village.id)
        return cert.id


def data_for(db, village_id: int, certificate_id: int) -> CertificateData:
    with db.read() as s:
        cert = s.get(Certificate, certificate_id) if isinstance(certificate_id, int) else None
        if cert is None or cert.village_id != village_id:
            raise NotFound("找不到这份证明。")
        village = s.get(Village, cert.village_id)
        issuer = f"{village.county}{village.township}{village.name}村民委员会"
        if cert.outsider_id is not None:
            o = s.get(OutsideVolunteer, cert.outsider_id)
            return CertificateData(
                number=cert.number, person=o.name, gender="", period_from=cert.period_from,
                period_to=cert.period_to,
                rows=_confirmed_rows(s, None, cert.period_from, cert.period_to, outsider_id=o.id),
                total_minutes=cert.total_minutes, star_level=0, issuer=issuer, issued_on=cert.issued_at.date(),
                unit=o.unit or "外来志愿者")
        person = s.get(Resident, cert.resident_id)
        total = s.get(VolunteerTotal, person.id)
        return CertificateData(
            number=cert.number, person=person.name, gender=person.gender, period_from=cert.period_from,
            period_to=cert.period_to, rows=_confirmed_rows(s, person.id, cert.period_from, cert.period_to),
            total_minutes=cert.total_minutes, star_level=total.star_level if total else 0, issuer=issuer,
            issued_on=cert.issued_at.date())


def render(data: CertificateData) -> bytes:
    """Draw the certificate (pure: data in, PDF bytes out)."""
    pdf = Sheet(title=f"志愿服务证明 {data.number}")
    pdf.add_page()
    pdf.set_font_size(22)
    pdf.cell(0, 16, "志愿服务证明", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    pdf.cell(0, 6, f"证明编号：{data.number}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font_size(12)
    hours = data.total_minutes / 60
    gender = f"（{data.gender}）" if data.gender else ""
    stars = f"{data.star_level} 星级志愿者" if data.star_level else "尚未达到星级"
    star_text = "" if data.unit else f"截至开具日，其志愿服务星级为：{stars}。"
    gender = f"（{data.unit}）" if data.unit else gender
    pdf.multi_cell(0, 8, (
        f"    兹证明 {data.person}{gender} 于 {data.period_from:%Y年%m月%d日} 至 {data.period_to:%Y年%m月%d日} 期间，"
        f"参加志愿服务活动 {len(data.rows)} 次，经活动负责人确认的服务时长累计 {hours:.1f} 小时"
        f"（{data.total_minutes} 分钟，不含往返路途时间）。{star_text}"),
        align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font_size(12)
    pdf.cell(0, 8, "服务记录", new_x="LMARGIN", new_y="NEXT")
    rows = [[f"{d:%Y-%m-%d}", t, o, f"{m / 60:.1f}"] for d, t, o, m in data.rows]
    rows.append(["", "合计", "", f"{hours:.1f}"])
    pdf.table_rows(["日期", "活动名称", "组织单位", "时长（小时）"], rows, [30, 85, 45, 30])
    pdf.ln(12)
    pdf.set_font_size(12)
    pdf.cell(0, 8, f"出具单位：{data.issuer}（盖章）", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, f"出具日期：{data.issued_on:%Y年%m月%d日}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font_size(9)
    pdf.multi_cell(0, 5, "说明：星级依据民政部《志愿服务记录办法》按累计服务时长评定；"
                         "本证明所列时长以本村志愿服务记录系统中已确认的记录为准。",
                   align="L", new_x="LMARGIN", new_y="NEXT")
    return pdf.output_bytes()


def pdf_for(db, village_id: int, certificate_id: int) -> bytes:
    return render(data_for(db, village_id, certificate_id))


def issued(db, village_id: int, limit: int = 200) -> list[dict]:
    with db.read() as s:
        return [{"id": c.id, "证明编号": c.number, "姓名": name, "起": c.period_from, "止": c.period_to,
                 "时长（小时）": round(c.total_minutes / 60, 1), "开具时间": c.issued_at}
                for c, name in s.execute(select(Certificate, func.coalesce(Resident.name, OutsideVolunteer.name))
                                         .outerjoin(Resident, Resident.id == Certificate.resident_id)
                                         .outerjoin(OutsideVolunteer, OutsideVolunteer.id == Certificate.outsider_id)
                                         .where(Certificate.village_id == village_id)
                                         .order_by(Certificate.id.desc()).limit(limit))]
