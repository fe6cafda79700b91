"""Proposals (积分申报): what grid workers, residents (self-report), staff on someone's
behalf (proxy) and volunteer-hour conversion put in front of the review committee.

A proposal never changes points by itself; only the review → 公示 → posting path does.
Caps (at most N times per household per month/year for a rule code) are not enforced
here but flagged: ``over_cap`` is set and the committee decides.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.committee import photos as photos_mod
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound
from core.points.entry_rules import MAX_POINTS
from db.enums import ProposalStatus
from db.models import Household, Proposal, ProposalPhoto, Resident, RuleItem

SOURCE_NAMES = {"grid": "网格员发现", "self": "村民自报", "proxy": "工作人员代报", "volunteer": "志愿服务折算"}
SUBMIT_ROLES = ("grid_worker", "committee", "admin")
VOLUNTEER_ROLES = ("volunteer_lead", "field_lead", "admin")
RESIDENT_ROLE = "resident"
# Statuses that still count towards a cap (not rejected / overturned).
LIVE_STATUSES = (ProposalStatus.SUBMITTED, ProposalStatus.DEFERRED, ProposalStatus.PUBLICITY, ProposalStatus.OBJECTED,
                 ProposalStatus.POSTED)
MAX_NOTE = 500
MAX_AGE_DAYS = 366


def resident_actor(village_id: int) -> Actor:
    """The actor for a resident self-reporting through their card link (no staff login)."""
    return Actor(user_id=None, name="村民自报", roles=frozenset({RESIDENT_ROLE}), village_id=village_id)


def cap_window(period: str | None, day: dt.date) -> tuple[dt.date, dt.date] | None:
    """The [start, end) window a cap counts in, or None when the rule has no cap."""
    if period == "month":
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
        return start, end
    if period == "year":
        return day.replace(month=1, day=1), day.replace(year=day.year + 1, month=1, day=1)
    return None


def is_over_cap(already: int, cap_count: int | None) -> bool:
    """Pure rule: would one more make it more than the cap allows?"""
    return cap_count is not None and cap_count > 0 and already >= cap_count


def count_in_window(s: Session, household_id: int, rule: RuleItem, day: dt.date,
                    exclude_id: int | None = None) -> int:
    window = cap_window(rule.cap_period, day)
    if window is None:
        return 0
    q = (select(func.count()).select_from(Proposal).join(RuleItem, RuleItem.id == Proposal.rule_item_id)
         .where(Proposal.household_id == household_id, RuleItem.village_id == rule.village_id,
                RuleItem.code == rule.code, Proposal.status.in_(LIVE_STATUSES),
                Proposal.act_date >= window[0], Proposal.act_date < window[1]))
    if exclude_id is not None:
        q = q.where(Proposal.id != exclude_id)
    return s.execute(q).scalar_one()


def check_points_for_rule(points: object, rule: RuleItem, source: str = "grid", what: str = "分值") -> int:
    """Points must be a whole number inside the rule's range (volunteer conversion may exceed
    the max: the volunteer rate and cap govern it, but never change the sign). Refused, never
    replaced: the message names the range; ``what`` names the number (分值, 核定分值)."""
    if isinstance(points, bool) or not isinstance(points, int):
        if isinstance(points, float) and points.is_integer():
            points = int(points)
        else:
            raise InvalidInput(f"{what}必须是整数。")
    if source == "volunteer":
        if not 0 < points <= MAX_POINTS:
            raise InvalidInput("志愿服务折算积分必须是正数。")
        return points
    if not rule.min_points <= points <= rule.max_points:
        raise InvalidInput(f"{what} {points} 超出该细则的范围 {rule.min_points}～{rule.max_points} 分。")
    return points


def _clean_date(act_date: object, today: dt.date | None = None) -> dt.date:
    if isinstance(act_date, dt.datetime):
        act_date = act_date.date()
    if not isinstance(act_date, dt.date):
        raise InvalidInput("请选择事项发生的日期。")
    today = today or dt.date.today()
    if act_date > today:
        raise InvalidInput("事项日期不能晚于今天。")
    if (today - act_date).days > MAX_AGE_DAYS:
        raise InvalidInput("事项日期太早（超过一年），请核对。")
    return act_date


def _check_grid_scope(s: Session, actor: Actor, hh: Household) -> None:
    """Setting ``grid_scope_own``: a grid worker (who is not also on the committee or an admin)
    proposes only for households of the grids they are responsible for (``grid.worker_user_id``);
    a grid nobody is responsible for is open to every grid worker."""
    if actor.has("admin") or actor.has("committee") or not actor.has("grid_worker"):
        return
    from core.platform import settings
    from db.models import Grid

    if not settings.get(s, hh.village_id, "grid_scope_own"):
        return
    grid = s.get(Grid, hh.grid_id) if hh.grid_id is not None else None
    if grid is not None and grid.worker_user_id is not None and grid.worker_user_id != actor.user_id:
        raise NotAllowed(f"{hh.door_no} 属于“{grid.name}”，由该网格的网格员申报；本村设置为网格员只为本网格申报。")


def submit_in(s: Session, actor: Actor, *, household_id: int, rule_item_id: int, act_date: dt.date,
              points: int | None = None, resident_id: int | None = None, note: str = "", source: str = "grid",
              source_ref: str | None = None) -> int:
    """Record one proposal in the caller's transaction; returns its id. Photos are added by
    :func:`submit` (they need the commit to be finalised)."""
    if source not in SOURCE_NAMES:
        raise InvalidInput("未知的申报来源。")
    if not isinstance(household_id, int) or isinstance(household_id, bool):
        raise NotFound("找不到该户。")
    hh = s.get(Household, household_id)
    if hh is None:
        raise NotFound("找不到该户，请重新查找。")
    roles = {"volunteer": VOLUNTEER_ROLES, "self": (RESIDENT_ROLE, *SUBMIT_ROLES)}.get(source, SUBMIT_ROLES)
    require(actor, roles, hh.village_id)
    if not hh.active:
        raise InvalidInput("该户已注销，不能申报。")
    if source in ("grid", "proxy"):
        _check_grid_scope(s, actor, hh)
    rule = s.get(RuleItem, rule_item_id) if isinstance(rule_item_id, int) else None
    if rule is None or rule.village_id != hh.village_id:
        raise NotFound("找不到该积分事项。")
    if not rule.active:
        raise InvalidInput("该积分事项已停用或已修订，请选择现行事项。")
    if resident_id is not None:
        person = s.get(Resident, resident_id) if isinstance(resident_id, int) else None
        if person is None or person.household_id != hh.id:
            raise InvalidInput("所选村民不是该户成员。")
    day = _clean_date(act_date)
    pts = check_points_for_rule(rule.points if points is None else points, rule, source)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"说明不能超过 {MAX_NOTE} 字。")
    if source in ("self", "proxy") and not note:
        raise InvalidInput("村民自报或代报须填写情况说明。")
    if source_ref is not None and s.execute(select(Proposal.id).where(Proposal.source_ref == source_ref)).first():
        raise AlreadyDone("该事项已经申报过，不会重复申报。")
    over = is_over_cap(count_in_window(s, hh.id, rule, day), rule.cap_count)
    p = Proposal(village_id=hh.village_id, household_id=hh.id, resident_id=resident_id, rule_item_id=rule.id,
                 points=pts, act_date=day, note=note, source=source, source_ref=source_ref,
                 submitted_by=actor.user_id, status=ProposalStatus.SUBMITTED, over_cap=over)
    s.add(p)
    s.flush()
    record(s, actor, "proposal.submit", "proposal", p.id,
           {"household_id": hh.id, "rule": rule.code, "points": pts, "source": source, "over_cap": over},
           village_id=hh.village_id)
    return p.id


def submit(db, actor: Actor, *, household_id: int, rule_item_id: int, act_date: dt.date, points: int | None = None,
           resident_id: int | None = None, note: str = "", source: str = "grid", source_ref: str | None = None,
           photos=(), data_dir: Path | None = None) -> int:
    """Submit a proposal with up to 4 photos ((filename, bytes) pairs), in one transaction.

    Photos are checked first, written as ``.part`` files, and renamed after the commit;
    a failed transaction deletes them (see core.committee.photos)."""
    checked = photos_mod.check_all(photos)
    village_id = _village_of(db, household_id)
    staged = photos_mod.stage(checked, village_id, data_dir) if checked else []
    try:
        with db.write() as s:
            pid = submit_in(s, actor, household_id=household_id, rule_item_id=rule_item_id, act_date=act_date,
                            points=points, resident_id=resident_id, note=note, source=source,
                            source_ref=source_ref)
            for p in staged:
                s.add(ProposalPhoto(proposal_id=pid, path=p.rel_path, mime=p.mime, size=p.size, sha256=p.sha256))
            s.flush()
    except BaseException:
        photos_mod.discard(staged)
        raise
    photos_mod.finalise(staged)
    return pid


def _village_of(db, household_id: object) -> int:
    if not isinstance(household_id, int) or isinstance(household_id, bool):
        raise NotFound("找不到该户，请重新查找。")
    with db.read() as s:
        vid = s.execute(select(Household.village_id).where(Household.id == household_id)).scalar()
    if vid is None:
        raise NotFound("找不到该户，请重新查找。")
    return vid


def submit_self_report(db, village_id: int, card_scanned: str, *, rule_item_id: int, act_date: dt.date,
                       note: str, resident_id: int | None = None, photos=(),
                       data_dir: Path | None = None) -> int:
    """A resident reports a good deed through their card link: the card names the household,
    the points are the rule's default, and the committee reviews it like any other."""
    from core.village.cards import resolve

    with db.read() as s:
        _card, hh = resolve(s, village_id, card_scanned)
    return submit(db, resident_actor(village_id), household_id=hh.id, rule_item_id=rule_item_id,
                  act_date=act_date, points=None, resident_id=resident_id, note=note, source="self",
                  photos=photos, data_dir=data_dir)


# ---------------------------------------------------------------- look-ups for the entry form


def find_households(s: Session, village_id: int, text: str, limit: int = 20, include_closed: bool = False
                    ) -> list[dict]:
    """Households matching a head or member name, a door number or a card number, as dicts
    (core.village.households.find_choices_in, which the household picker reads, does the search)."""
    from core.village.households import find_choices_in

    return [{"id": c.id, "door_no": c.door_no, "head_name": c.head_name, "label": c.label}
            for c in find_choices_in(s, village_id, text, limit=limit, include_closed=include_closed)]


def photos_of(s: Session, proposal_ids: list[int]) -> dict[int, list[ProposalPhoto]]:
    out: dict[int, list[ProposalPhoto]] = {}
    if not proposal_ids:
        return out
    for ph in s.execute(select(ProposalPhoto).where(ProposalPhoto.proposal_id.in_(proposal_ids))
                        .order_by(ProposalPhoto.id)).scalars():
        out.setdefault(ph.proposal_id, []).append(ph)
    return out


def recent_by(s: Session, user_id: int | None, village_id: int, limit: int = 20) -> list[dict]:
    """What this user submitted lately (so a grid worker sees that it went in)."""
    rows = s.execute(
        select(Proposal.id, Proposal.act_date, Proposal.points, Proposal.status, Household.door_no,
               Household.head_name, RuleItem.name)
        .join(Household, Household.id == Proposal.household_id).join(RuleItem, RuleItem.id == Proposal.rule_item_id)
        .where(Proposal.village_id == village_id, Proposal.submitted_by == user_id)
        .order_by(Proposal.id.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def submitted_lately(db, user_id: int | None, village_id: int) -> list[dict]:
    """``recent_by`` in a read of its own (我最近的申报 under the form)."""
    with db.read() as s:
        return recent_by(s, user_id, village_id)
