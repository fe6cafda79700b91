"""The resident's own view behind the card link (我的积分): no login; read-only apart from
self-reports and volunteer sign-ups for the household's own members.

Everything is scoped to the one household the token names; nothing about other households
is returned (the rank is a single number, and only when the village shows rankings).
All data comes from a handful of indexed queries (card by unique token, account by key,
ledger by (household_id, id), products and activities by village) so the page stays fast
however long the ledger grows.

Guessing is slowed down: a client with too many failed look-ups in the window is refused
before any look-up (core.platform.ratelimit, shared by all app instances).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import bindparam, case, func, select

from core.platform import ratelimit, settings
from core.platform.errors import InvalidInput, NotFound
from core.points.balances import held_points, spendable
from core.points.entry_rules import KIND_NAMES
from core.reporting import rankings
from core.village import cards
from core.village.cards import extract_token
from core.volunteering import volunteer
from db.enums import ActivityStatus, CardStatus, ProposalStatus, SignupStatus
from db.models import (
    Account,
    Activity,
    Card,
    Household,
    LedgerEntry,
    Product,
    Proposal,
    Resident,
    RuleItem,
    Signup,
    Village,
)

HISTORY_LIMIT = 50
UPCOMING_LIMIT = 10
FRIENDLY_UNKNOWN = "没有找到这张积分卡。请确认扫描的是本户积分卡；卡片遗失或更换后，旧卡将不能使用，请到村委会咨询。"
FRIENDLY_CLOSED = "这张积分卡所属的户已注销（迁出、合户等），卡已作废，不能再使用。如有疑问请到村委会咨询。"
FRIENDLY_MALFORMED = "这个链接不完整或卡号有误。请直接扫描积分卡上的二维码，或核对卡片下方的 26 位数字。"
FRIENDLY_SLOWDOWN = "查询失败次数过多，请 10 分钟后再试。如有疑问请到村委会咨询。"


@dataclass(frozen=True)
class HistoryRow:
    day: dt.date
    kind: str
    points: int  # what the entry did to the spendable balance
    reason: str
    outstanding: int = 0  # what it added to (+) or settled of (-) the household's 待扣


@dataclass(frozen=True)
class PublicityRow:
    item: str
    points: int
    act_date: dt.date
    until: dt.date | None


@dataclass(frozen=True)
class Affordable:
    name: str
    category: str
    price: int
    unit: str


@dataclass(frozen=True)
class MemberSignup:
    resident_id: int
    name: str
    status: str | None  # 'signed' / 'waitlist' / None (not signed up, or cancelled)
    waitlist_place: int | None  # 1 = next to move up


@dataclass(frozen=True)
class UpcomingActivity:
    title: str
    day: dt.date
    start: dt.time | None
    place: str
    points_per_hour: int
    id: int = 0
    end: dt.time | None = None
    capacity: int | None = None  # None: no limit
    signed: int = 0
    waiting: int = 0
    members: tuple[MemberSignup, ...] = ()  # this household's active members and their sign-up

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.signed, 0)


@dataclass(frozen=True)
class ResidentView:
    household_id: int
    village_id: int
    village: str
    door_no: str
    head_name: str
    balance: int
    earned_total: int
    members: list[str]
    member_ids: list[tuple[int, str]]
    history: list[HistoryRow]
    publicity: list[PublicityRow]
    affordable: list[Affordable]
    activities: list[UpcomingActivity]
    rank: int | None  # this year's place (as on the rankings page); None when rankings are off or no points
    households_ranked: int | None
    self_signup: bool = False  # the village lets residents sign up for activities here
    held: int = 0  # points held for deductions still in 公示
    outstanding: int = 0  # 待扣: deducted points not yet covered, settled from the next points
    year_points: int = 0  # this year's 加分 − 扣分: what the rankings page ranks by (default period)
    star: int | None = None  # star level (0..5) from year_points; None when star households are off

    @property
    def spendable(self) -> int:
        return max(0, self.balance - self.held)


def view(db, scanned: str, client: str | None = None, today: dt.date | None = None) -> ResidentView:
    """The household's page for a card link or digits.

    Raises TooManyAttempts (too many failures from ``client``), InvalidInput (malformed) or
    NotFound (unknown / revoked / inactive), each with a friendly Chinese message; a failure
    counts against ``client``."""
    day = today or dt.date.today()
    return checked_read(db, scanned, client, lambda s, token: load_in(s, token, day))


def checked_read(db, scanned: str, client: str | None, load):
    """``load(session, token)`` in one read transaction, behind the card-guessing limit: a
    blocked client is refused before any look-up; a malformed or unknown card counts against it."""
    key = ratelimit.client_key("card", client)
    limit, window = ratelimit.CARD_LOOKUP_LIMIT, ratelimit.CARD_LOOKUP_WINDOW
    token = extract_token(scanned or "")
    try:
        with db.read() as s:  # the limit is read in the page's own transaction: one round trip less
            if ratelimit.count_in(s, key, window) >= limit:
                raise ratelimit.TooManyAttempts(FRIENDLY_SLOWDOWN)
            if token is None:
                raise InvalidInput(FRIENDLY_MALFORMED)
            return load(s, token)
    except (InvalidInput, NotFound):
        ratelimit.hit(db, key, window)  # after the read transaction has ended
        raise


class _Statements:
    """The card page's statements, built once per process with bound parameters.

    The page is the most requested one (every resident's phone); building a SELECT costs about as
    much CPU as running it, so each statement is built on first use and then only executed
    (SQLAlchemy's compiled cache does the rest). Same queries as before, same indexes."""

    @cached_property
    def card(self):
        return (select(Card.household_id, Household.active, Household.village_id, Household.door_no,
                       Household.head_name, Village.name)
                .join(Household, Household.id == Card.household_id)
                .join(Village, Village.id == Card.village_id)
                .where(Card.token == bindparam("token"), Card.status == CardStatus.ACTIVE))

    @cached_property
    def account(self):
        return select(Account.balance, Account.earned_total, Account.outstanding).where(
            Account.household_id == bindparam("hid"))

    @cached_property
    def people(self):
        return (select(Resident.id, Resident.name, Resident.relation)
                .where(Resident.household_id == bindparam("hid"), Resident.active.is_(True)).order_by(Resident.id))

    @cached_property
    def history(self):
        return (select(LedgerEntry.occurred_on, LedgerEntry.kind, LedgerEntry.delta_balance, LedgerEntry.reason,
                       RuleItem.name, LedgerEntry.delta_outstanding)
                .outerjoin(RuleItem, RuleItem.id == LedgerEntry.rule_item_id)
                .where(LedgerEntry.household_id == bindparam("hid"))
                # newest first by the day it happened (a volunteer entry posted late sorts by its day)
                .order_by(LedgerEntry.occurred_on.desc(), LedgerEntry.id.desc()).limit(HISTORY_LIMIT))

    @cached_property
    def publicity(self):
        return (select(RuleItem.name, Proposal.decided_points, Proposal.points, Proposal.act_date,
                       Proposal.publicity_until)
                .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
                .where(Proposal.household_id == bindparam("hid"),
                       Proposal.status.in_((ProposalStatus.PUBLICITY, ProposalStatus.OBJECTED)))
                .order_by(Proposal.act_date.desc()).limit(50))

    @cached_property
    def affordable(self):
        return (select(Product.name, Product.category, Product.price, Product.unit)
                .where(Product.village_id == bindparam("vid"), Product.active.is_(True),
                       Product.price <= bindparam("spendable"),
                       (Product.kind == "service") | (Product.stock > 0))
                .order_by(Product.price.desc(), Product.name).limit(50))

    @cached_property
    def activities(self):
        return (select(Activity.id, Activity.title, Activity.date, Activity.start_time, Activity.end_time,
                       Activity.place, Activity.points_per_hour, Activity.capacity)
                .where(Activity.village_id == bindparam("vid"), Activity.date >= bindparam("today"),
                       Activity.status.in_((ActivityStatus.PLANNED, ActivityStatus.OPEN)))
                .order_by(Activity.date, Activity.start_time, Activity.id).limit(UPCOMING_LIMIT))

    @cached_property
    def counts(self):
        return (select(Signup.activity_id, func.sum(case((Signup.status == SignupStatus.SIGNED, 1), else_=0)),
                       func.sum(case((Signup.status == SignupStatus.WAITLIST, 1), else_=0)))
                .where(Signup.activity_id.in_(bindparam("ids", expanding=True))).group_by(Signup.activity_id))

    @cached_property
    def signups(self):
        return (select(Signup.activity_id, Signup.resident_id, Signup.status)
                .where(Signup.activity_id.in_(bindparam("ids", expanding=True)),
                       Signup.status != SignupStatus.CANCELLED,
                       Signup.resident_id.in_(bindparam("members", expanding=True))
                       | (Signup.status == SignupStatus.WAITLIST))
                .order_by(Signup.activity_id, Signup.created_at, Signup.id))


_Q = _Statements()


def load_in(s, token: str, today: dt.date) -> ResidentView:
    """The view of the active card ``token`` (no guessing limit: callers go through checked_read)."""
    row = s.execute(_Q.card, {"token": token}).first()
    if row is None or not row.active:
        card = cards.find_card(s, token)
        if row is None and card is None and cards.mistyped(token):
            raise InvalidInput(FRIENDLY_MALFORMED)
        closed = card is not None and not s.get(Household, card.household_id).active
        raise NotFound(FRIENDLY_CLOSED if closed else FRIENDLY_UNKNOWN)
    hid, _, vid, door_no, head_name, vname = row
    p = {"hid": hid}
    balance, earned, outstanding = s.execute(_Q.account, p).first() or (0, 0, 0)
    held = held_points(s, [hid]).get(hid, 0)
    people = s.execute(_Q.people, p).all()
    members = [f"{n}（{r}）" if r else n for _, n, r in people]
    history = [HistoryRow(day, KIND_NAMES.get(kind, kind), delta, reason or (item or ""), owed)
               for day, kind, delta, reason, item, owed in s.execute(_Q.history, p)]
    publicity = [PublicityRow(name, pts if pts is not None else proposed, act, until)
                 for name, pts, proposed, act, until in s.execute(_Q.publicity, p)]
    affordable = [Affordable(name, cat, price, unit) for name, cat, price, unit in s.execute(
        _Q.affordable, {"vid": vid, "spendable": spendable(balance, held)})]
    activities = _upcoming(s, vid, [(rid, n) for rid, n, _ in people], today)
    ranked_on, stars_on, self_signup, thresholds = settings.get_many(
        s, vid, "rankings_enabled", "star_households_enabled", "volunteer_self_signup", "star_household_thresholds")
    # the rankings page's default: this year's 加分 − 扣分, competition ranks (1-2-2-4)
    year_points, rank, ranked = rankings.household_standing(s, vid, hid, rankings.current_year(today))
    # the star grade follows its own setting, not the rankings switch
    star = rankings.star_level(year_points, list(thresholds)) if stars_on else None
    if not ranked_on:
        rank = ranked = None
    return ResidentView(hid, vid, vname, door_no, head_name, balance, earned, members,
                        [(rid, n) for rid, n, _ in people], history, publicity, affordable, activities, rank, ranked,
                        bool(self_signup), held, outstanding, year_points, star)


def _upcoming(s, village_id: int, people: list[tuple[int, str]], today: dt.date) -> list[UpcomingActivity]:
    """The village's next planned/open activities with places taken and this household's
    sign-ups (three queries for at most UPCOMING_LIMIT activities; waitlists are short)."""
    acts = s.execute(_Q.activities, {"vid": village_id, "today": today}).all()
    if not acts:
        return []
    ids = [a.id for a in acts]
    counts = {aid: (int(n_signed or 0), int(n_wait or 0))
              for aid, n_signed, n_wait in s.execute(_Q.counts, {"ids": ids})}
    mine: dict[tuple[int, int], str] = {}
    queue: dict[int, list[int]] = {}  # activity -> waitlisted resident ids, first to move up first
    member_ids = [rid for rid, _ in people]
    for aid, rid, status in s.execute(_Q.signups, {"ids": ids, "members": member_ids or [-1]}):
        if status == SignupStatus.WAITLIST:
            queue.setdefault(aid, []).append(rid)
        if rid in member_ids:
            mine[(aid, rid)] = status
    out = []
    for a in acts:
        members = tuple(
            MemberSignup(rid, name, mine.get((a.id, rid)),
                         queue[a.id].index(rid) + 1 if mine.get((a.id, rid)) == "waitlist" else None)
            for rid, name in people)
        signed, waiting = counts.get(a.id, (0, 0))
        out.append(UpcomingActivity(a.title, a.date, a.start_time, a.place, a.points_per_hour, a.id, a.end_time,
                                    a.capacity, signed, waiting, members))
    return out


# ---------------------------------------------------------------- self-report (村民自报)

SELF_REPORTS_PER_DAY = 5


def self_report_items(db, village_id: int) -> list[tuple[int, str]]:
    """(rule item id, label) of the current add-points rules a resident may report."""
    with db.read() as s:
        rows = s.execute(
            select(RuleItem.id, RuleItem.code, RuleItem.name, RuleItem.points)
            .where(RuleItem.village_id == village_id, RuleItem.active.is_(True), RuleItem.points > 0)
            .order_by(RuleItem.code)
        ).all()
    return [(rid, f"{name}（{pts} 分）") for rid, code, name, pts in rows]


def self_report(db, scanned: str, client: str | None, *, rule_item_id: int, act_date: dt.date, note: str,
                resident_id: int | None = None, photos=()) -> int:
    """A resident reports a good deed from the card page; the committee reviews it.

    At most SELF_REPORTS_PER_DAY per household a day, so a card link cannot flood the
    committee's morning list."""
    from core.committee.proposals import submit_self_report

    household = view(db, scanned, client)  # same token checks and guessing limits as the page
    key = f"selfreport:{household.household_id}"
    if ratelimit.is_blocked(db, key, SELF_REPORTS_PER_DAY, 86400):
        raise ratelimit.TooManyAttempts(f"每户每天最多自报 {SELF_REPORTS_PER_DAY} 条，请明天再报。")
    if resident_id is not None and resident_id not in {rid for rid, _ in household.member_ids}:
        raise InvalidInput("请选择本户的家庭成员。")
    pid = submit_self_report(db, household.village_id, scanned, rule_item_id=rule_item_id, act_date=act_date,
                             note=note, resident_id=resident_id, photos=photos)
    ratelimit.hit(db, key, 86400)
    return pid


# ---------------------------------------------------------------- volunteer sign-up (志愿活动报名)


def _card_checked(db, scanned: str, client: str | None) -> str:
    """The token of an active card, under the same guessing limit as the page: a blocked client
    is refused before any look-up, and an unknown or malformed card counts against it."""
    key = ratelimit.client_key("card", client)
    if ratelimit.is_blocked(db, key, ratelimit.CARD_LOOKUP_LIMIT, ratelimit.CARD_LOOKUP_WINDOW):
        raise ratelimit.TooManyAttempts(FRIENDLY_SLOWDOWN)
    token = extract_token(scanned or "")
    with db.read() as s:
        card = cards.find_card(s, token) if token is not None else None
    if card is None or card.status != CardStatus.ACTIVE:
        ratelimit.hit(db, key, ratelimit.CARD_LOOKUP_WINDOW)
        malformed = token is None or (card is None and cards.mistyped(token))
        raise (InvalidInput(FRIENDLY_MALFORMED) if malformed else NotFound(FRIENDLY_UNKNOWN))
    return token


def sign_up(db, scanned: str, client: str | None, *, activity_id: int, resident_id: int,
            today: dt.date | None = None) -> str:
    """Sign a member of the card's household up for an activity: 'signed' or 'waitlist'
    (core.volunteering.volunteer.resident_sign_up makes every check, in the write transaction)."""
    token = _card_checked(db, scanned, client)
    return volunteer.resident_sign_up(db, token, activity_id, resident_id, today=today)


def cancel_sign_up(db, scanned: str, client: str | None, *, activity_id: int, resident_id: int,
                   today: dt.date | None = None) -> list[int]:
    """Cancel a sign-up of the card's household before the activity's day; the waitlist moves up."""
    token = _card_checked(db, scanned, client)
    return volunteer.resident_cancel_signup(db, token, activity_id, resident_id, today=today)
