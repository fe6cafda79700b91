"""Demo volunteering: a year of activities back from ctx.today (whatever ctx.days is),
older service records so that a few people stand at each star level 1–5, points for the
year's confirmed hours, a few recent confirmations waiting in the review queue, today's
activity half checked in, upcoming activities with sign-ups and a waitlist, corrections, and
outside volunteers (双报到 party members of town units) with hours for their units.

History is written in bulk (one transaction per step) with the same rules as core:
minutes within 0..1440, points = floor(min(minutes, cap) × rate / 60) posted once per
attendance, totals and star-level events kept consistent. The last steps go through the
real core functions.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.platform import settings
from core.points.posting import post
from core.volunteering import certificates, outsiders, service_hours
from core.volunteering import volunteer as vol
from db.models import Activity, Attendance, Signup, StarLevelEvent, VolunteerTotal

TITLES = [
    ("村庄环境集中整治", "环境整治", "村党支部", "村委会广场"),
    ("敬老院帮扶服务", "敬老助残", "村妇联", "镇敬老院"),
    ("护林防火巡逻", "平安建设", "村民兵连", "北山林区"),
    ("防汛值守", "平安建设", "村两委", "河堤值班点"),
    ("文明交通劝导", "文明实践", "新时代文明实践站", "村口路段"),
    ("留守儿童课业辅导", "关爱儿童", "村团支部", "村图书室"),
    ("垃圾分类宣传", "环境整治", "新时代文明实践站", "村文化广场"),
    ("义务理发进农户", "敬老助残", "村妇联", "各网格"),
    ("道路清雪除冰", "环境整治", "村两委", "村内主干道"),
    ("反诈宣传入户", "平安建设", "网格服务站", "各网格"),
]
OLD_TITLE = ("往年志愿服务记录（补录）", "历史补录", "村两委", "")
# (star level, how many people) — each gets hours a little above that level's threshold
STAR_PEOPLE = [(1, 4), (2, 3), (3, 3), (4, 2), (5, 2)]


def populate(ctx) -> None:
    rng = ctx.rng
    village_id = ctx.village.id
    lead = ctx.actors["zhiyuan"]
    with ctx.db.read() as s:
        thresholds = settings.get(s, village_id, "star_thresholds_hours")
        rate = settings.get(s, village_id, "volunteer_points_per_hour")
    adults = [r for r in ctx.residents if r.birth_year and ctx.today.year - r.birth_year >= 18]
    rng.shuffle(adults)
    n_star = sum(n for _, n in STAR_PEOPLE)
    star_people = adults[:n_star]
    regulars = adults[n_star:n_star + 70]
    targets = {}  # resident id -> hours wanted in total
    i = 0
    for level, n in STAR_PEOPLE:
        for _ in range(n):
            targets[star_people[i].id] = thresholds[level - 1] + rng.randint(5, 40)
            i += 1
    pool = star_people + regulars
    year_start = ctx.today - dt.timedelta(days=365)
    stamp = dt.datetime.combine

    # Step 1: the year's activities, attendance and points, plus older records, in one transaction.
    minutes_by = {}  # resident id -> [(date, minutes)] confirmed, for totals and stars
    pending_confirm = []  # activity ids in the last days: confirmed through core below
    with ctx.db.write() as s:
        day = year_start + dt.timedelta(days=rng.randint(0, 3))
        acts = []
        while day < ctx.today:
            title, cat, org, place = rng.choice(TITLES)
            start = dt.time(rng.choice([7, 8, 9, 14]), rng.choice([0, 30]))
            hours = rng.choice([2, 3, 3, 4])
            act = Activity(village_id=village_id, title=title, category=cat, organiser=org, place=place, date=day,
                           start_time=start, end_time=dt.time(min(start.hour + hours, 23), start.minute),
                           capacity=rng.choice([None, 15, 20, 30]), points_per_hour=rate,
                           cap_minutes=rng.choice([None, 240, 180]), status="done", created_by=lead.user_id,
                           created_at=stamp(day - dt.timedelta(days=7), dt.time(9)))
            s.add(act)
            acts.append(act)
            day += dt.timedelta(days=rng.randint(3, 5))
        s.flush()
        recent_ids = {a.id for a in acts[-3:]}  # confirmed through core below: their points go to review
        for act in acts:
            people = rng.sample(pool, rng.randint(6, min(act.capacity or 22, 22)))
            people += [p for p in star_people if p not in people and rng.random() < 0.5]
            recent = act.id in recent_ids
            if recent:
                pending_confirm.append(act.id)
            for p in people:
                s.add(Signup(activity_id=act.id, resident_id=p.id, status="signed",
                             created_at=stamp(act.date - dt.timedelta(days=rng.randint(1, 6)), dt.time(10))))
                begin = stamp(act.date, act.start_time) + dt.timedelta(minutes=rng.randint(-10, 15))
                mins = max(30, (act.end_time.hour - act.start_time.hour) * 60 + rng.randint(-40, 30))
                att = Attendance(village_id=village_id, activity_id=act.id, resident_id=p.id,
                                 household_id=p.household_id, check_in=begin,
                                 check_out=begin + dt.timedelta(minutes=mins), minutes=mins)
                if not recent:
                    att.confirmed_at = stamp(act.date, dt.time(18))
                    att.confirmed_by = lead.user_id
                    minutes_by.setdefault(p.id, []).append((act.date, mins))
                s.add(att)
        s.flush()
        zy01 = next((r for r in ctx.rule_items if r.code == "ZY01"), None)
        rows = s.execute(select(Attendance, Activity).join(Activity, Activity.id == Attendance.activity_id).where(
            Activity.village_id == village_id, Attendance.confirmed_at.is_not(None))).all()
        for att, act in rows:
            points = vol.points_for(att.minutes, act.cap_minutes, act.points_per_hour)
            if points > 0:
                post(s, household_id=att.household_id, kind="volunteer", points=points, source_type="attendance",
                     source_id=att.id, occurred_on=act.date, actor=lead, resident_id=att.resident_id,
                     rule_item_id=zy01.id if zy01 else None, category_id=zy01.category_id if zy01 else None,
                     reason=f"志愿服务：{act.title}（{act.date:%Y-%m-%d}）")

        # Older records (before the system): weekly full-day service, enough to reach each target.
        old_acts = []
        need = {rid: max(0, hours * 60 - sum(m for _, m in minutes_by.get(rid, []))) for rid, hours in targets.items()}
        n_old = max((m + 479) // 480 for m in need.values()) if need else 0
        for k in range(n_old):
            d = year_start - dt.timedelta(days=7 * (n_old - k))
            a = Activity(village_id=village_id, title=OLD_TITLE[0], category=OLD_TITLE[1], organiser=OLD_TITLE[2],
                         date=d, points_per_hour=0, status="done", created_by=lead.user_id,
                         tasks="系统启用前的志愿服务时长，按纸质台账补录，不折算积分。")
            s.add(a)
            old_acts.append(a)
        s.flush()
        for rid, left in need.items():
            person = next(p for p in star_people if p.id == rid)
            k = 0
            while left > 0:
                mins = min(480, left)
                a = old_acts[k]
                s.add(Attendance(village_id=village_id, activity_id=a.id, resident_id=rid,
                                 household_id=person.household_id, minutes=mins,
                                 confirmed_at=stamp(a.date, dt.time(18)), confirmed_by=lead.user_id))
                minutes_by.setdefault(rid, []).append((a.date, mins))
                left -= mins
                k += 1
        s.flush()

        # Totals and star-level events, in date order, exactly as confirmations would have made them.
        for rid, items in minutes_by.items():
            total = 0
            reached = 0
            for d, mins in sorted(items):
                total += mins
                level = vol.star_level(total, thresholds)
                for lv in range(reached + 1, level + 1):
                    s.add(StarLevelEvent(resident_id=rid, level=lv, reached_on=d, minutes_at=total))
                reached = max(reached, level)
            s.add(VolunteerTotal(resident_id=rid, village_id=village_id, minutes=total,
                                 star_level=vol.star_level(total, thresholds)))

    # Step 2: the last days' hours confirmed through core (review mode → proposals in the queue).
    for aid in pending_confirm[:-1]:
        service_hours.confirm(ctx.db, lead, aid)

    # Step 3: today's activity, half checked in; upcoming ones with sign-ups and a waitlist.
    today_id = vol.create_activity(ctx.db, lead, title="村庄环境集中整治", date=ctx.today, category="环境整治",
                                   organiser="村党支部", place="村委会广场", start_time=dt.time(8),
                                   end_time=dt.time(11), capacity=20, cap_minutes=180)
    upcoming = [
        vol.create_activity(ctx.db, lead, title="敬老院帮扶服务", date=ctx.today + dt.timedelta(days=3),
                            category="敬老助残", organiser="村妇联", place="镇敬老院", start_time=dt.time(9),
                            end_time=dt.time(11, 30), capacity=8),
        vol.create_activity(ctx.db, lead, title="留守儿童课业辅导", date=ctx.today + dt.timedelta(days=6),
                            category="关爱儿童", organiser="村团支部", place="村图书室", start_time=dt.time(14),
                            end_time=dt.time(16), capacity=10, status="planned"),
    ]
    with ctx.db.write() as s:
        for aid, n in [(today_id, 16), (upcoming[0], 11), (upcoming[1], 6)]:
            act = s.get(Activity, aid)
            for k, p in enumerate(rng.sample(pool, n)):
                status = "waitlist" if act.capacity and k >= act.capacity else "signed"
                s.add(Signup(activity_id=aid, resident_id=p.id, status=status,
                             created_at=stamp(ctx.today - dt.timedelta(days=2), dt.time(9, k % 60))))
            if aid == today_id:
                for p in rng.sample(pool, 9):
                    s.add(Attendance(village_id=village_id, activity_id=aid, resident_id=p.id,
                                     household_id=p.household_id,
                                     check_in=stamp(ctx.today, dt.time(7, 50 + rng.randint(0, 9)))))

    # Step 4: corrections — one open, one accepted, one refused (kept with their history).
    with ctx.db.read() as s:
        recent = s.execute(select(Attendance.id).join(Activity, Activity.id == Attendance.activity_id).where(
            Activity.village_id == village_id, Attendance.confirmed_at.is_not(None),
            Activity.points_per_hour > 0).order_by(Activity.date.desc(), Attendance.id).limit(3)).all()
    reasons = ["签退时忘记扫码，实际干到中午", "中途有事提前离开", "帮助搬运物资，比登记的时间长"]
    ids = []
    for (att_id,), reason in zip(recent, reasons, strict=False):
        with ctx.db.read() as s:
            cur = s.get(Attendance, att_id).minutes
        ids.append(service_hours.request_correction(ctx.db, lead, att_id, cur + 30 if "长" in reason or "中午" in reason
                                          else max(0, cur - 30), reason))
    if len(ids) == 3:
        service_hours.decide_correction(ctx.db, lead, ids[1], accept=True, note="与带队人核实无误")
        service_hours.decide_correction(ctx.db, lead, ids[2], accept=False, note="签到记录与照片显示时间无误")

    # Step 5: one certificate for the most active volunteer.
    top = max(targets, key=targets.get) if targets else None
    if top is not None:
        certificates.issue(ctx.db, lead, top, year_start, ctx.today)

    # Step 6: outside volunteers — 双报到 party members of town units and a helper — through core:
    # hours on a confirmed past activity (for their units, no household points) and a sign-up.
    people = [("周明亮", "镇财政所", "13905710001", True), ("孙丽华", "镇财政所", "13905710002", True),
              ("陈志刚", "县供电公司", "13905710003", False)]
    oids = [outsiders.add(ctx.db, lead, name=n, unit=u, phone=ph, party_member=pm, card_no=f"WL-{k + 1:03d}")
            for k, (n, u, ph, pm) in enumerate(people)]
    if pending_confirm[:-1]:
        done = pending_confirm[0]
        for oid, minutes in zip(oids, (150, 120, 90), strict=True):
            outsiders.set_minutes(ctx.db, lead, done, oid, minutes)
        service_hours.confirm(ctx.db, lead, done)
    outsiders.sign_up(ctx.db, lead, upcoming[1], oids[0])
