"""Demo year of the 党员义田, modelled on the seed village: the field grew from 3 to about
20 亩, party members worked 30+ days, about 14 t of potatoes, sweet potatoes, corn and
peanuts came in and went to 500+ elderly and vulnerable residents.

Everything goes through core.charity (field, produce, field_aid, distribution) and core.volunteering
(volunteer, service_hours) so the demo obeys
the real rules (exact allocation sums, no negative stock, one delivery per household).
Afterwards the timestamps that core stamps with "now" (round creation, stock moves,
deliveries) are moved back to the day they stand for, so the season report reads right.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from core.charity import distribution, field, field_aid, produce
from core.platform.errors import DomainError
from db import clock
from db.models import Allocation, Card, DistributionRound, Household, Resident

# (name, 亩, location, party group)
PLOTS = [
    ("老义田（东岭）", "3", "村东岭下", "第一党小组"),
    ("西沟地", "4.5", "西沟南侧", "第二党小组"),
    ("南坡地", "3.5", "南坡梯田", "第三党小组"),
    ("河滩地", "4", "河滩北岸", "第一党小组"),
    ("后山地", "2.5", "后山脚", "第二党小组"),
    ("北洼地", "2.5", "北洼", "第三党小组"),
]
# plot index, crop, days before today it was sown, [(days before today, kg), ...] weighings
SEASONS = [
    (0, "土豆", 260, [(150, "1850.5"), (148, "1422.0"), (146, "936.5")]),
    (1, "土豆", 255, [(147, "1411.0")]),
    (2, "地瓜", 210, [(62, "1650.5"), (60, "1455.0")]),
    (3, "玉米", 200, [(70, "1720.0"), (68, "1600.5")]),
    (4, "花生", 215, [(75, "980.0"), (74, "905.5")]),
    (5, "玉米", 198, [(66, "120.0")]),
]
TASKS = ["整地施肥", "播种", "覆膜", "除草", "浇水", "追肥", "打药防虫", "培土", "收获", "分拣装袋"]
# title, crop, kg, rule, min kg, max kg, categories, days ago, share delivered
ROUNDS = [
    ("夏季土豆分配", "土豆", "3600", "weighted", "5", None, None, 140, 1.0),
    ("秋季地瓜分配", "地瓜", "2500", "person", None, "40", None, 40, 1.0),
    ("秋季花生分配", "花生", "1500", "weighted", None, None, None, 36, 1.0),
    ("秋季玉米分配", "玉米", "2400", "household", None, None, None, 25, 0.82),
    ("五保低保户土豆加发", "土豆", "1200", "weighted", None, None, ["wubao", "dibao", "disabled"], 20, 1.0),
]
TARGET_PEOPLE = 540


def populate(ctx) -> None:
    db, rng, today = ctx.db, ctx.rng, ctx.today
    lead = ctx.actors.get("yitian", ctx.admin)
    admin = ctx.admin
    day = lambda n: today - dt.timedelta(days=n)  # noqa: E731

    party = [r for r in ctx.residents if r.party_member and r.active]
    plot_ids = []
    for i, (name, mu, loc, group) in enumerate(PLOTS):
        members = [r.id for r in party[i::len(PLOTS)]][:8]
        plot_ids.append(field.save_plot(db, lead, name=name, area_mu=mu, location=loc, party_group=group,
                                        member_ids=members))

    # Work days: 32 days over the season, 6–14 party members each, 2.5–4.5 hours. They were
    # reviewed long ago, so while the demo confirms them the hours post straight to the ledger
    # (volunteer_direct_post) instead of filling this morning's review queue with old items.
    work_days = sorted(rng.sample(range(45, 262), 32), reverse=True)
    direct = _direct_post(ctx, True)
    for n, ago in enumerate(work_days):
        plot = plot_ids[n % len(plot_ids)]
        stage = TASKS[min(len(TASKS) - 1, (262 - ago) * len(TASKS) // 220)]
        aid = field.create_work_day(db, lead, plot_id=plot, date=day(ago), tasks=f"{stage}，党员义务劳动")
        people = rng.sample(party, min(len(party), rng.randint(6, 14)))
        minutes = rng.choice([150, 180, 210, 240, 270])
        field.add_work_hours(db, lead, aid, [p.id for p in people], minutes)
        from core.volunteering.service_hours import confirm
        from core.volunteering.volunteer import set_status

        confirm(db, lead, aid)
        try:
            set_status(db, lead, aid, "done")
        except DomainError:
            pass

    _direct_post(ctx, direct)

    for plot_i, crop, sown_ago, weighings in SEASONS:
        sid = field.add_season(db, lead, plot_ids[plot_i], crop=crop, sown_on=day(sown_ago))
        for ago, kg in weighings:  # weighed on the day, in the evening
            with clock.at(dt.datetime.combine(day(ago), dt.time(17))):
                produce.record_harvest(db, lead, season_id=sid, date=day(ago), kg=kg, note="过秤入库，两人复核")

    _register(ctx, lead, day)
    _rounds(ctx, lead, day)
    _surplus(ctx, lead, admin, day)
    _lapse(ctx)


def _lapse(ctx) -> None:
    """Two elderly entries lapsed last week (not yet renewed): the next round leaves them out."""
    from db.models import Beneficiary

    with ctx.db.write() as s:
        lapsed = s.execute(select(Beneficiary).where(Beneficiary.village_id == ctx.village.id,
                                                      Beneficiary.category == "elderly")
                           .order_by(Beneficiary.id.desc()).limit(2)).scalars().all()
        for b in lapsed:
            b.valid_until = ctx.today - dt.timedelta(days=7)


def _direct_post(ctx, value):
    """Set the village's volunteer_direct_post row to ``value``; returns the previous raw row
    value (None = no row). Demo only: a setting flipped for the replay of past confirmations."""
    import json

    from db.models import Setting

    with ctx.db.write() as s:
        row = s.get(Setting, (ctx.village.id, "volunteer_direct_post"))
        old = row.value if row is not None else None
        if value is None:
            if row is not None:
                s.delete(row)
        elif isinstance(value, str):
            row.value = value
        elif row is None:
            s.add(Setting(village_id=ctx.village.id, key="volunteer_direct_post", value=json.dumps(value)))
        else:
            row.value = json.dumps(value)
        return old


def _register(ctx, lead, day) -> None:
    """Elderly from the roster's suggestions, then 低保/五保/残疾/困难 households until the
    register reaches about TARGET_PEOPLE people."""
    db, rng, vid = ctx.db, ctx.rng, ctx.village.id
    until = ctx.today + dt.timedelta(days=165)
    sugg = [r.household_id for r in field_aid.suggestions(db, vid)[:-5]]  # the last few are left for staff
    field_aid.confirm_suggestions(db, lead, sugg, until)
    size = {}
    for r in ctx.residents:
        size[r.household_id] = size.get(r.household_id, 0) + 1
    people = sum(size.get(h, 1) for h in sugg)
    listed = set(sugg)
    others = [h.id for h in ctx.households if h.id not in listed]
    rng.shuffle(others)
    singles = [h for h in others if size.get(h) == 1]
    plan = [(h, "wubao", "无劳动能力、无生活来源、无法定赡养人") for h in singles[:8]]
    rest = [h for h in others if h not in singles[:8]]
    reasons = {"dibao": "经民政部门认定的最低生活保障家庭", "disabled": "家中有持证残疾人",
               "hardship": "因病致困，医疗支出大"}
    cats = ["dibao", "dibao", "disabled", "hardship"]
    for i, hid in enumerate(rest):
        plan.append((hid, cats[i % len(cats)], reasons[cats[i % len(cats)]]))
    for n, (hid, cat, reason) in enumerate(plan):
        if people >= TARGET_PEOPLE and n >= 20:
            break
        field_aid.register(db, lead, household_id=hid, category=cat, reason=reason, valid_until=until,
                           approve=(n % 17 != 5))  # a few wait for approval
        people += size.get(hid, 1)
    with db.write() as s:  # approvals date from the spring review, not from today
        from db.models import Beneficiary

        s.execute(update(Beneficiary).where(Beneficiary.village_id == vid, Beneficiary.approved_at.is_not(None))
                  .values(approved_at=dt.datetime.combine(day(200), dt.time(9, 30))))


def _rounds(ctx, lead, day) -> None:
    db, rng, vid = ctx.db, ctx.rng, ctx.village.id
    with db.read() as s:
        tokens = dict(s.execute(select(Card.household_id, Card.token).where(Card.village_id == vid,
                                                                            Card.status == "active")).all())
        heads = dict(s.execute(select(Household.id, Household.head_name).where(Household.village_id == vid)).all())
        kids = dict(s.execute(select(Resident.household_id, Resident.name).where(
            Resident.village_id == vid, Resident.relation == "子女")).all())
    for title, crop, kg, rule, lo, hi, cats, ago, share in ROUNDS:
        when = dt.datetime.combine(day(ago), dt.time(8, 30))
        with clock.at(when):  # the round as it was made and confirmed that morning
            rid = distribution.create_round(db, lead, title=title, crop=crop, total_kg=kg, rule=rule, min_kg=lo,
                                         max_kg=hi, categories=cats, on=day(ago))
            distribution.confirm_round(db, lead, rid)
        signed = when + dt.timedelta(hours=1)
        with db.read() as s:
            allocs = s.execute(select(Allocation.id, Allocation.household_id).where(
                Allocation.round_id == rid, Allocation.grams > 0).order_by(Allocation.id)).all()
        # Older, fully delivered rounds: a sample is signed for through core, the rest replayed
        # in one statement as card deliveries (keeps the demo step fast); the recent ones all through core.
        older = share == 1.0 and ago > 30
        with clock.at(signed):
            for n, (aid, hid) in enumerate(allocs):
                if rng.random() > share or (older and n >= 25):
                    continue
                if hid in tokens and rng.random() < 0.8:
                    distribution.deliver_by_card(db, lead, rid, tokens[hid])
                elif hid in kids:
                    distribution.deliver_by_proxy(db, lead, aid, f"{kids[hid]}（子女代领）", "签领表签字")
                else:
                    distribution.deliver_by_proxy(db, lead, aid, heads.get(hid, "本人"), "送货上门，本人签字")
        if older:
            with db.write() as s:
                for aid, hid in allocs[25:]:  # signing for an allocation sets it once (db.history allows that)
                    s.execute(update(Allocation).where(Allocation.id == aid, Allocation.delivered_at.is_(None))
                              .values(delivered_at=signed, delivered_by=lead.user_id, via="card",
                                      signed_by=heads.get(hid, "")))
                s.execute(update(DistributionRound).where(DistributionRound.id == rid).values(status="closed"))


def _surplus(ctx, lead, admin, day) -> None:
    from core.supermarket import stock

    db = ctx.db
    pid = stock.save_product(db, admin, ctx.village.id, stock.ProductInput(
        name="义田土豆 5斤装", price=8, category="义田农产品", unit="袋", low_stock=10, monthly_limit=2))
    with clock.at(dt.datetime.combine(day(15), dt.time(10))):
        produce.transfer_to_shop(db, lead, crop="土豆", kg="500", product_id=pid, qty=200,
                               note="余量转入积分超市，每袋 2.5 公斤")
        produce.sell_surplus(db, lead, crop="玉米", kg="700", amount_yuan="1260", date=day(15), buyer="镇粮站",
                           note="余粮出售，款项入村集体资金")
