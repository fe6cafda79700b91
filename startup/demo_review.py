"""Demo history of the morning review: a session every morning over ``ctx.days`` days
(one transaction per session day, through the real review and posting functions) with the
attendance and every vote entered explicitly, items still in 公示, one open objection, and
this morning's queue of ~50 proposals from grid workers, self-reports and proxy entries
(a few with photos)."""

from __future__ import annotations

import datetime as dt
import io
import random

from core.committee import agenda, attendance, publicity, review, sessions
from core.committee.proposals import resident_actor, submit, submit_in
from core.platform.access import SYSTEM
from db.models import Household, Proposal, ReviewSession

# What a grid worker or a resident writes about an act, by the rule it falls under: every note
# reads as an instance of its item (HJ02 环境整治 is never "按时参加主题党日").
NOTES: dict[str, tuple[str, ...]] = {
    "HJ01": ("门前屋后打扫得很干净", "院子收拾得整整齐齐，柴草码放整齐"),
    "HJ02": ("参加周末环境集中整治", "参加村里清理河道垃圾"),
    "HJ03": ("垃圾分类投放，厨余垃圾单独装袋", "分类投放做得好，网格员连续检查都合格"),
    "HJ04": ("院子里种了花，很整洁", "门前栽了两棵树、种了月季"),
    "HJ05": ("被镇里评为“美丽庭院”示范户",),
    "HJ06": ("往沟里倒污水", "把垃圾倒在村口路边"),
    "HJ07": ("门口堆放柴草占道", "玉米秸秆堆在公共道路上"),
    "HJ08": ("焚烧秸秆被发现", "在地头烧垃圾"),
    "XL01": ("常年照顾瘫痪在床的母亲，邻居都夸", "每周接送父亲去镇卫生院"),
    "XL02": ("照顾生病的婆婆，邻居都夸", "悉心照料残疾的弟弟"),
    "XL03": ("帮邻居老人收玉米", "帮困难户修好了漏雨的屋顶"),
    "XL04": ("被村里评为“好媳妇”",),
    "XL05": ("不给老人生活费，经调解仍不改", "与父母分家后不管老人"),
    "XL06": ("邻里宅基地纠纷，调解后仍无理取闹",),
    "XL07": ("一家人和和睦睦，多年无争吵",),
    "YF01": ("儿子结婚简办，没摆大席",),
    "YF02": ("老人丧事简办，文明祭扫",),
    "YF03": ("女儿出嫁不要高价彩礼",),
    "YF04": ("参加新时代文明实践站宣讲", "参加村里移风易俗宣讲"),
    "YF05": ("孩子满月摆了三十桌酒席",),
    "YF06": ("请人“看香”治病",),
    "YF07": ("在家中聚众赌博被派出所处理",),
    "ZY02": ("参加夜间护林防火值守", "汛期参加河堤巡查"),
    "ZY03": ("参加无偿献血",),
    "ZY04": ("参加党员义田除草", "到义田帮忙收麦子"),
    "ZY05": ("为修村里生产路出义务工",),
    "ZY06": ("给孤寡老人送饭、打扫屋子", "辅导留守儿童写作业"),
    "ZY07": ("下河救起落水儿童",),
    "ZF01": ("按时参加村民代表会议", "参加村民大会并发言"),
    "ZF02": ("积极配合医保收缴", "配合完成人口普查登记"),
    "ZF03": ("劝说邻里和好", "主动调解两家的地界矛盾"),
    "ZF04": ("举报非法采砂，经查属实",),
    "ZF05": ("未经审批在院外私搭彩钢棚",),
    "ZF06": ("越级上访，经劝返仍反复缠访",),
    "ZF07": ("酒后滋事受到治安处罚",),
    "DY01": ("按时参加主题党日", "参加支部组织生活会"),
    "DY02": ("走访联系的 5 户群众，记录了诉求",),
    "DY03": ("带头参与村里人居环境整治",),
    "DY04": ("带领 10 户村民种植大棚蔬菜增收",),
    "DY05": ("无故不参加主题党日",),
    "DY06": ("党员亮身份，兑现承诺帮扶 2 户困难群众",),
}


def note_for(rule, rng: random.Random) -> str:
    """A note that describes an act under ``rule`` (a village's own item falls back to its name)."""
    return rng.choice(NOTES.get(rule.code) or (f"{rule.name}（网格员现场核实）",))


REJECT_REASONS = ["照片与所报事项不符", "经核实不属实", "同一事项本月已加过分", "属于本职工作，不另加分"]
DEFER_REASONS = ["需网格员再核实", "当事人不在家，下次再议"]
OBJECTORS = [("邻居王大娘", "她家门口的柴草是我家的，不该扣她家分"), ("村民刘某", "那天打扫的是村保洁员，不是他家")]


def _pick_rule(ctx, rng: random.Random, deduction: bool):
    items = [r for r in ctx.rule_items if (r.points < 0) == deduction and r.code != "ZY01"]
    return rng.choice(items)


def grid_worker(ctx, household) -> object:
    """The actor of the grid worker responsible for the household's grid: with grid_scope_own
    (on by default) a grid worker proposes for their own grid, and the demo does as real use."""
    grid = next((g for g in ctx.grids if g.id == household.grid_id), None)
    by_id = {a.user_id: a for a in ctx.actors.values()}
    return by_id.get(grid.worker_user_id if grid is not None else None) or ctx.actors["wangge1"]


def _one(ctx, s, rng: random.Random, day: dt.date, submitted_at: dt.datetime) -> int | None:
    hh = rng.choice(ctx.households)
    rule = _pick_rule(ctx, rng, rng.random() < 0.15)
    members = ctx.residents_of(hh.id)
    who = rng.choice(members).id if members and rng.random() < 0.7 else None
    roll = rng.random()
    if roll < 0.75:
        actor, source = grid_worker(ctx, hh), "grid"
    elif roll < 0.9:
        actor, source = resident_actor(ctx.village.id), "self"
    else:
        actor, source = ctx.actors[rng.choice(["pingyi1", "pingyi2"])], "proxy"
    note = note_for(rule, rng)
    if source == "proxy":
        note = f"{note}（本人不会用手机，代报）"
    pid = submit_in(s, actor, household_id=hh.id, rule_item_id=rule.id, act_date=day, resident_id=who, note=note,
                    source=source)
    s.get(Proposal, pid).submitted_at = submitted_at
    return pid


def _votes(rng: random.Random, voters: list[int]) -> dict[int, str]:
    """The votes the operator enters for one item: mostly agree, now and then an abstention or
    a vote against (never enough to sink the motion the demo records)."""
    votes = {}
    for aid in voters:
        roll = rng.random()
        votes[aid] = "abstain" if roll < 0.05 else "disagree" if roll < 0.08 else "agree"
    tally = list(votes.values())
    if tally.count("agree") <= tally.count("disagree"):
        votes = dict.fromkeys(voters, "agree")
    return votes


def _morning(ctx, s, rng: random.Random, held_on: dt.date, committee: list[int], pending_objection: list[int],
             before_close=None):
    """One session day: yesterday's proposals come in; the committee members present are
    ticked (now and then a 村民代表 sits in, someone arrives late or leaves early); every
    decision carries the votes entered for it; the session closes."""
    yesterday = held_on - dt.timedelta(days=1)
    for _ in range(rng.randint(6, 16)):
        t = dt.datetime.combine(yesterday, dt.time(rng.randint(8, 19), rng.randint(0, 59)))
        _one(ctx, s, rng, yesterday - dt.timedelta(days=rng.choice([0, 0, 0, 1])), t)
    present = sorted(rng.sample(committee, rng.randint(3, len(committee) - 1)))
    chair = ctx.actors["admin"]
    opened = dt.datetime.combine(held_on, dt.time(8, 30))
    guests = []
    if rng.random() < 0.3:  # a villagers' representative sits in (no vote unless the village allows it)
        hh = rng.choice(ctx.households)
        members = ctx.residents_of(hh.id)
        if members:
            guests.append(attendance.Guest("", "representative", rng.choice(members).id))
    sid = sessions.open_session_in(s, chair, ctx.village.id, held_on=held_on, attendee_ids=present, guests=guests,
                                 at=opened)
    if rng.random() < 0.2:  # a member who was not there at 08:30 comes in
        late = rng.choice([u for u in committee if u not in present])
        sessions.add_member_in(s, chair, sid, late, at=opened + dt.timedelta(minutes=rng.randint(5, 15)))

    def voters() -> list[int]:
        return [a.id for a in attendance.voters(attendance.present(s, sid))]

    for ob_id in list(pending_objection):
        outcome = "upheld" if rng.random() < 0.5 else "overturned"
        review.resolve_objection_in(s, chair, sid, ob_id, outcome,
                                    "经核实，原评议结果成立" if outcome == "upheld" else "经核实，异议成立，撤销该事项",
                                    _votes(rng, voters()))
        pending_objection.remove(ob_id)
    items = agenda.queue(s, ctx.village.id, held_on, sid)
    leaves_after = rng.randrange(len(items)) if items and rng.random() < 0.1 else None
    for k, item in enumerate(items):
        if k == leaves_after:  # someone leaves early; the quorum still stands
            here = [a for a in attendance.present(s, sid) if a.member]
            if len(here) > s.get(ReviewSession, sid).quorum_required:
                sessions.record_departure_in(s, chair, sid, here[-1].id, "left", at=opened + dt.timedelta(minutes=20))
        roll = rng.random()
        votes = _votes(rng, voters())
        if roll < 0.08 or item.over_cap and roll < 0.6:
            review.decide_in(s, chair, sid, item.id, "rejected", reason=rng.choice(REJECT_REASONS), votes=votes)
        elif roll < 0.12:
            review.decide_in(s, chair, sid, item.id, "deferred", reason=rng.choice(DEFER_REASONS), votes=votes)
        else:
            pts = None
            if roll > 0.85:
                pts = rng.randint(item.min_points, item.max_points)
            review.decide_in(s, chair, sid, item.id, "approved", points=pts, votes=votes,
                             reason="根据实际情况调整分值" if pts is not None else "")
    if before_close is not None:
        before_close(ctx, s, chair, sid, held_on)
    sessions.close_session_in(s, chair, sid, at=dt.datetime.combine(held_on, dt.time(9, rng.randint(0, 5))))
    return sid


def _held_deductions(ctx, s, chair, sid: int, held_on: dt.date) -> None:
    """Yesterday's session approves three deductions for households that have points: they are
    in 公示 now, so the counter shows their points as held (冻结) until the window ends."""
    from sqlalchemy import select

    from db.models import Account

    rich = list(s.execute(select(Account.household_id).where(Account.village_id == ctx.village.id,
                                                             Account.balance >= 30)
                          .order_by(Account.balance.desc()).limit(3)).scalars())
    rule = next(r for r in ctx.rule_items if r.points < 0 and r.code != "ZY01")
    notes = NOTES.get(rule.code, (rule.name,))
    for i, hid in enumerate(rich):
        pid = submit_in(s, grid_worker(ctx, s.get(Household, hid)), household_id=hid, rule_item_id=rule.id,
                        act_date=held_on - dt.timedelta(days=1), note=notes[i % len(notes)],
                        source="grid")
        votes = dict.fromkeys((a.id for a in attendance.voters(attendance.present(s, sid))), "agree")
        review.decide_in(s, chair, sid, pid, "approved", votes=votes)


def populate(ctx) -> None:
    rng = random.Random(ctx.village.id * 7 + 3)
    db = ctx.db
    committee = [ctx.users[u] for u in ("admin", "pingyi1", "pingyi2", "pingyi3", "pingyi4")]
    days = min(ctx.days, 360)
    pending_objection: list[int] = []
    for back in range(days - 1, 0, -1):
        held_on = ctx.today - dt.timedelta(days=back)
        with db.write() as s:
            _morning(ctx, s, rng, held_on, committee, pending_objection,
                     before_close=_held_deductions if back == 1 else None)
            # an objection now and then during 公示, resolved at the next session
            if back > 3 and rng.random() < 0.08:
                target = s.query(Proposal).filter(Proposal.village_id == ctx.village.id,
                                                  Proposal.status == "publicity").order_by(Proposal.id.desc()).first()
                if target is not None:
                    who, why = rng.choice(OBJECTORS)
                    pending_objection.append(publicity.log_objection_in(s, ctx.actors["wangge1"], target.id,
                                                                        raised_by=who, reason=why, today=held_on))
        # items whose window ended by the next morning post, as the daily scheduler would
        publicity.post_due(db, SYSTEM, ctx.village.id, held_on + dt.timedelta(days=1))
    # one open objection on an item now in 公示
    with db.write() as s:
        target = s.query(Proposal).filter(Proposal.village_id == ctx.village.id,
                                          Proposal.status == "publicity").order_by(Proposal.id).first()
        if target is not None:
            publicity.log_objection_in(s, ctx.actors["wangge2"], target.id, raised_by="村民张某",
                                       reason="他家门前的垃圾是前天才清理的，评得太早")
    # this morning's queue: yesterday's reports, not yet reviewed
    yesterday = ctx.today - dt.timedelta(days=1)
    with db.write() as s:
        for _ in range(48):
            t = dt.datetime.combine(yesterday, dt.time(rng.randint(7, 20), rng.randint(0, 59)))
            _one(ctx, s, rng, yesterday - dt.timedelta(days=rng.choice([0, 0, 0, 1, 2])), t)
        # a duplicate pair, so the flag shows
        p = s.query(Proposal).filter(Proposal.village_id == ctx.village.id, Proposal.status == "submitted").first()
        if p is not None:
            dup = submit_in(s, ctx.actors["pingyi1"], household_id=p.household_id, rule_item_id=p.rule_item_id,
                            act_date=p.act_date, resident_id=p.resident_id, note="同一件事，评议小组成员也报了",
                            source="proxy")
            s.get(Proposal, dup).submitted_at = dt.datetime.combine(yesterday, dt.time(18, 5))
    _photos(ctx, rng, yesterday)


def _photos(ctx, rng: random.Random, day: dt.date) -> None:
    """A few of this morning's items carry photos (small generated images)."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:  # pragma: no cover - Pillow ships with Streamlit
        return
    plus = [r for r in ctx.rule_items if r.points > 0 and r.code.startswith("HJ")]
    for i in range(6):
        img = Image.new("RGB", (320, 240), (rng.randint(90, 160), rng.randint(120, 190), rng.randint(80, 140)))
        draw = ImageDraw.Draw(img)
        draw.rectangle((40, 120, 280, 220), fill=(200, 190, 170))
        draw.polygon([(30, 120), (160, 40), (290, 120)], fill=(150, 60, 50))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=70)
        hh = ctx.households[rng.randrange(len(ctx.households))]
        rule = rng.choice(plus)
        try:
            submit(ctx.db, grid_worker(ctx, hh), household_id=hh.id, rule_item_id=rule.id,
                   act_date=day, note=f"{note_for(rule, rng)}（附照片）", photos=[(f"现场{i + 1}.jpg", buf.getvalue())])
        except OSError:
            return  # a read-only data dir: the demo still works without photos
