"""What the light resident page (web/, ``/me?card=TOKEN``) shows: the card view of
core.public.resident plus the household's own reports and objections with their outcome and the
village's rules catalogue. Typed rows only; the templates format them and compute nothing.

Same scope and guessing limits as core.public.resident.view (it is called first): nothing here is
read before the card has been checked, and every query is bounded by the household or the
village and a LIMIT.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from core.public import resident, volunteer_requests
from core.reporting.rankings import STAR_NAMES
from core.village.rules import ItemView, catalogue
from db.models import Objection, Proposal, RuleItem

REPORTS_LIMIT = 20
SERVICE_LIMIT = 20  # volunteer service records shown
RULES_TTL = 60.0  # seconds a process reuses a village's rules catalogue (it changes by assembly vote)
_rules_cache: dict[tuple[str, int], tuple[float, list[RuleGroup], list[tuple[int, str]]]] = {}


def forget_rules() -> None:
    """Drop the cached catalogues (tests that empty a database and reuse its ids)."""
    _rules_cache.clear()

# What a household's own report (or a committee proposal about it) has come to, in words a
# resident reads: submitted → approved/rejected/deferred → publicity → (objected) → posted | overturned.
PROPOSAL_STATUS = {
    "submitted": "等待评议",
    "deferred": "暂缓评议",
    "approved": "已通过，等待公示",
    "rejected": "未通过",
    "publicity": "公示中",
    "objected": "有异议，等待复核",
    "posted": "已记分",
    "overturned": "复核后撤销",
}
OBJECTION_STATUS = {"open": "等待复核", "upheld": "维持原结果", "overturned": "已撤销该事项"}
SOURCE_NAMES = {"self": "本户自报", "grid": "网格员上报", "proxy": "代报", "volunteer": "志愿服务"}


@dataclass(frozen=True)
class ReportRow:
    """A proposal about this household and what became of it."""

    item: str
    act_date: dt.date
    source: str  # 本户自报 / 网格员上报 / …
    points: int  # decided points when decided, otherwise the proposed ones
    status: str  # in words (PROPOSAL_STATUS)
    reason: str  # the committee's reason, "" when none was given
    publicity_until: dt.date | None
    own: bool  # reported by the household itself


@dataclass(frozen=True)
class ObjectionRow:
    """An objection to one of this household's items in 公示, and its outcome."""

    item: str
    raised_on: dt.date
    raised_by: str
    reason: str
    status: str  # in words (OBJECTION_STATUS)
    resolution: str


@dataclass(frozen=True)
class RuleGroup:
    category: str
    items: list[ItemView]


@dataclass(frozen=True)
class ResidentPage:
    view: resident.ResidentView
    reports: list[ReportRow]
    objections: list[ObjectionRow]
    rules: list[RuleGroup]
    report_items: list[tuple[int, str]]  # what a resident may self-report (id, label)
    service: list[volunteer_requests.ServiceRecord] = ()  # volunteer service records, newest first

    @property
    def star_name(self) -> str | None:
        v = self.view
        return STAR_NAMES.get(v.star) if v.star else None


def page(db, scanned: str, client: str | None = None, today: dt.date | None = None,
         service_limit: int = SERVICE_LIMIT) -> ResidentPage:
    """Everything the resident page shows for a card link, in one read transaction after the
    card-guessing check; raises like core.public.resident.view."""
    day = today or dt.date.today()
    return resident.checked_read(db, scanned, client, lambda s, token: _load(s, token, day, service_limit))


_REPORTS = (select(RuleItem.name, Proposal.act_date, Proposal.source, Proposal.points, Proposal.decided_points,
                   Proposal.status, Proposal.decision_reason, Proposal.publicity_until)
            .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
            .where(Proposal.household_id == bindparam("hid"))
            .order_by(Proposal.act_date.desc(), Proposal.id.desc()).limit(REPORTS_LIMIT))
_OBJECTIONS = (select(RuleItem.name, Objection.logged_at, Objection.raised_by, Objection.reason, Objection.status,
                      Objection.resolution)
               .join(Proposal, Proposal.id == Objection.proposal_id)
               .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
               .where(Proposal.household_id == bindparam("hid"))
               .order_by(Objection.id.desc()).limit(REPORTS_LIMIT))


def _load(s, token: str, today: dt.date, service_limit: int = SERVICE_LIMIT) -> ResidentPage:
    v = resident.load_in(s, token, today)
    mine = {"hid": v.household_id}  # statements built once (see core.public.resident._Statements)
    reports = [
        ReportRow(name, act, SOURCE_NAMES.get(source, source), decided if decided is not None else pts,
                  PROPOSAL_STATUS.get(status, status), reason or "", until, source == "self")
        for name, act, source, pts, decided, status, reason, until in s.execute(_REPORTS, mine)
    ]
    objections = [
        ObjectionRow(name, logged.date(), by, reason, OBJECTION_STATUS.get(status, status), resolution or "")
        for name, logged, by, reason, status, resolution in s.execute(_OBJECTIONS, mine)
    ]
    rules, items = rules_of(s, v.village_id)
    service = volunteer_requests.service_records_in(s, v.household_id, service_limit)
    return ResidentPage(v, reports, objections, rules, items, service)


def rules_of(s, village_id: int) -> tuple[list[RuleGroup], list[tuple[int, str]]]:
    """The village's rules catalogue by category, and the items a resident may self-report.

    Kept RULES_TTL seconds per process: the same list for every household of the village, read
    and drawn once a minute instead of on every card page. A report of an item retired in that
    minute is still refused by core.committee.proposals (it checks the item's current state)."""
    now = time.monotonic()
    key = (str(s.get_bind().url), village_id)
    hit = _rules_cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    groups: dict[str, list[ItemView]] = {}
    for item in catalogue(s, village_id):
        groups.setdefault(item.category, []).append(item)
    rules = [RuleGroup(c, its) for c, its in groups.items()]
    items = [(i.id, i.label) for g in rules for i in g.items if i.points > 0]
    _rules_cache[key] = (now + RULES_TTL, rules, items)
    return rules, items
