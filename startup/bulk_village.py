"""One bulk-seeded village's rows, generated in pure Python (:func:`generate_village`): the village,
its staff, grids, rules and products, activities and review sessions, households with their residents
and cards, a year of posted proposals, volunteer attendance and redemptions with their lines and
stock moves, the charity field's plots, seasons and harvests.

The small demo (startup/demo.py) goes through the real core functions so it obeys every rule;
that costs milliseconds per entry and would take days at county scale (20M entries). This
generator computes the same kind of history in Python, with the account balances and the summary
tables (household_month, category_month, volunteer_total, product.stock, produce_stock) equal to the
entries, so ``manage.py verify`` is clean afterwards.

Deterministic: the same ``seed`` and ``today`` give the same rows (one random generator per village,
seeded by the run's seed and the village's number; ids from :mod:`startup.bulk_plan`).

Not generated (kept small on purpose, listed in BENCHMARKS.md): audit_log rows, decisions
and votes of the review sessions, beneficiaries and distribution rounds.
"""

from __future__ import annotations

import datetime as dt
import random

from core.village.templates import PRODUCTS, RULES
from core.volunteering.volunteer import points_for, star_level
from startup.bulk_plan import TABLE_ORDER, Bases, Plan

DEFAULT_STAR_HOURS = [100, 300, 600, 1000, 1500]
TOWNSHIPS = ["文祖街道", "明水街道", "双山街道", "枣园街道", "龙山街道", "埠村街道", "圣井街道", "普集街道",
             "绣惠街道", "相公庄街道", "官庄街道", "白云湖街道", "高官寨街道", "宁家埠街道", "曹范街道",
             "垛庄镇", "黄河街道", "刁镇", "辛寨镇", "杨胡镇"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋"
GIVEN = "建国军伟强磊勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊秀英桂兰玉芳娜敏静丽艳娟霞燕红梅琳莉萍雪婷"
ACTIVITY_TITLES = ["村庄环境清洁日", "关爱老人走访", "护林防火巡查", "党员义田劳动", "文明实践宣讲",
                   "防汛值守", "留守儿童陪伴", "道路清雪"]
CROPS = ["小麦", "玉米", "花生", "地瓜"]
STAFF = [  # username, display name, roles
    ("admin", "李建国", "admin,committee"),
    ("pingyi1", "王秀英", "committee"),
    ("pingyi2", "张德明", "committee"),
    ("pingyi3", "刘桂兰", "committee"),
    ("wangge1", "赵丽", "grid_worker"),
    ("wangge2", "孙海涛", "grid_worker"),
    ("shouyin", "周小燕", "cashier"),
    ("zhiyuan", "吴晓峰", "volunteer_lead"),
    ("yitian", "郑国庆", "field_lead"),
]
GRIDS = ["第一网格", "第二网格", "第三网格", "第四网格", "第五网格"]

# Mix of a household's year (fractions of its entries). Redemptions that the balance
# cannot pay for become earned entries, so the realised mix has a little fewer.
MIX = {"earned": 0.56, "deducted": 0.07, "volunteer": 0.15, "redeemed": 0.22}


def check_digit(digits: str) -> str:
    from core.village.cards import check_digit as cd

    return cd(digits)


def _dstr(d: dt.date) -> str:
    return d.isoformat()


def _tstr(d: dt.date, hour: int, minute: int = 0) -> str:
    return f"{d.isoformat()} {hour:02d}:{minute:02d}:00.000000"


def _names(rng: random.Random, surname: str | None = None) -> str:
    name = (surname or rng.choice(SURNAMES)) + rng.choice(GIVEN)
    if rng.random() < 0.6:
        name += rng.choice(GIVEN)
    return name


def generate_village(plan: Plan, bases: Bases, vi: int, pw_hash: str, taken_usernames: frozenset[str] = frozenset()
                     ) -> dict[str, list[tuple]]:
    """All rows of village number ``vi`` (0-based within this run), keyed by table."""
    rng = random.Random(plan.seed * 1_000_003 + vi)
    no = plan.first_village_no + vi
    out: dict[str, list[tuple]] = {t: [] for t in TABLE_ORDER}
    nid = {t: bases.village_base(plan, t, vi) for t in TABLE_ORDER if plan.block(t)}
    limit = {t: nid[t] + plan.block(t) for t in nid}

    def take(t: str) -> int:
        i = nid[t]
        nid[t] = i + 1
        if i >= limit[t]:
            raise RuntimeError(f"id block of {t} exhausted in village {no}")
        return i

    start, days = plan.start, plan.days
    day_str = [_dstr(start + dt.timedelta(days=d)) for d in range(days + 1)]
    months = [(start + dt.timedelta(days=d)).year * 100 + (start + dt.timedelta(days=d)).month for d in range(days + 1)]
    created = _tstr(start, 8)
    dates = [start + dt.timedelta(days=d) for d in range(days + 8)]
    ts = {h: [_tstr(x, h) for x in dates] for h in (8, 9, 17, 18)}
    ts_red = [_tstr(x, 9 + d % 8, (d * 7) % 60) for d, x in enumerate(dates)]
    rand = rng.random

    vid = take("village")
    township = TOWNSHIPS[(no - 1) // 20 % len(TOWNSHIPS)]
    out["village"].append((vid, f"{township[:2]}{(no - 1) % 20 + 1}村" if no > 1 else "文祖北村", township,
                           "章丘区", f"BULK{no:05d}", 1, created))

    users: dict[str, int] = {}
    for username, display, roles in STAFF:
        uid = take("staff_user")
        name = username if (no == 1 and plan.plain_usernames and username not in taken_usernames) else f"{username}_v{no}"
        users[username] = uid
        out["staff_user"].append((uid, name, display, pw_hash, vid, None, roles, 1, 0, 0, created))
    if (no - 1) % 20 == 0:  # one township viewer per township
        uid = take("staff_user")
        name = "zhenjie" if (no == 1 and plan.plain_usernames and "zhenjie" not in taken_usernames) else f"zhenjie_v{no}"
        out["staff_user"].append((uid, name, "马书记", pw_hash, vid, township, "township_viewer", 1, 0, 0, created))

    grid_ids = []
    for i, g in enumerate(GRIDS):
        gid = take("grid")
        grid_ids.append(gid)
        out["grid"].append((gid, vid, g, users["wangge1" if i % 2 == 0 else "wangge2"]))

    adopted = _dstr(start - dt.timedelta(days=30))
    pos_items, neg_items, zy01 = [], [], None
    for sort, (cat_name, items) in enumerate(RULES):
        cid = take("rule_category")
        out["rule_category"].append((cid, vid, cat_name, sort, 1))
        for code, item_name, pts, lo, hi, cap, period in items:
            rid = take("rule_item")
            out["rule_item"].append((rid, vid, cid, code, item_name, pts, lo, hi, cap, period, 1, adopted,
                                     "村民代表大会", 1))
            if code == "ZY01":
                zy01 = (rid, cid)
            elif pts > 0:
                pos_items.append((rid, cid, pts, lo, hi))
            else:
                neg_items.append((rid, cid, pts, lo, hi))

    products = []  # (id, price, kind, limit, template stock)
    for k, (name, cat, kind, price, unit, stock, lim) in enumerate(PRODUCTS):
        pid = take("product")
        products.append((pid, price, kind, lim, stock if kind == "goods" else 0))
        out["product"].append((pid, vid, name, cat, kind, price, unit, f"69{no:05d}{k:05d}" if kind == "goods" else None,
                               stock if kind == "goods" else 0, 5, lim, 1))
    cheapest = min(p[1] for p in products)

    # activities: about two a week
    n_act = max(4, days * 2 // 7)
    acts = []  # (id, day index)
    for a in range(n_act):
        aid = take("activity")
        d = min(days, a * days // n_act + rng.randint(0, 2))
        acts.append((aid, d))
        out["activity"].append((aid, vid, ACTIVITY_TITLES[a % len(ACTIVITY_TITLES)], "志愿服务", "村志愿服务队",
                                "村委会", day_str[d], 40, 2, 240, "done", "", users["zhiyuan"], _tstr(start, 7)))
    sessions = []
    for w in range(days // 7 + 1):
        sid = take("review_session")
        d = min(days, w * 7 + 6)
        sessions.append(sid)
        out["review_session"].append((sid, vid, day_str[d], users["admin"], _tstr(start + dt.timedelta(days=d), 8, 30),
                                      _tstr(start + dt.timedelta(days=d), 9), 3, 4, ""))

    hm: dict[tuple[int, int], list[int]] = {}
    cm: dict[tuple[int, int], list[int]] = {}
    vol_total: dict[int, int] = {}
    redeemed_qty: dict[int, int] = {}
    committee, cashier, vlead = users["pingyi1"], users["shouyin"], users["zhiyuan"]
    grid_worker = users["wangge1"]
    n_pos, n_neg, n_products = len(pos_items), len(neg_items), len(products)
    kinds_pop = list(MIX)
    kinds_w = list(MIX.values())
    minutes_choices = (60, 90, 120, 120, 150, 180, 240)
    E = out["ledger_entry"]
    P = out["proposal"]
    A = out["attendance"]
    R = out["redemption"]
    RL = out["redemption_line"]
    SM = out["stock_move"]
    H = plan.households
    for h in range(H):
        hid = take("household")
        gi = h * len(GRIDS) // H
        surname = rng.choice(SURNAMES)
        head = _names(rng, surname)
        out["household"].append((hid, vid, grid_ids[gi], f"{gi + 1}-{h + 1:03d}", head,
                                 f"13{rng.randint(100000000, 999999999)}" if rng.random() < 0.8 else "", "",
                                 1 if rng.random() < 0.04 else 0, 1, created))
        size = rng.choices((1, 2, 3, 4, 5), weights=(8, 25, 30, 25, 12))[0]
        res = []
        for m in range(size):
            rid = take("resident")
            res.append(rid)
            rel = "户主" if m == 0 else "配偶" if m == 1 else "子女"
            out["resident"].append((rid, vid, hid, head if m == 0 else _names(rng, surname if m > 1 else None),
                                    "男" if m == 0 else "女" if m == 1 else rng.choice("男女"),
                                    rng.randint(1940, 1990) + (25 if m > 1 else 0), 1 if rng.random() < 0.1 else 0,
                                    rel, "", 1))
        cid_ = take("card")
        body = f"{rng.randrange(10 ** 25):025d}"
        out["card"].append((cid_, vid, hid, body + check_digit(body), "active", created, users["admin"], ""))

        n = max(1, int(rng.gauss(plan.entries, plan.entries * 0.25)))
        ds = sorted(int(rand() * days) for _ in range(n))
        kinds = rng.choices(kinds_pop, weights=kinds_w, k=n)
        bal = earned_total = count = owed = 0
        used_att: set[tuple[int, int]] = set()
        used_limit: dict[tuple[int, int], int] = {}
        n_res = len(res)
        for d, kind in zip(ds, kinds, strict=True):
            month = months[d]
            if kind == "redeemed":
                if bal < cheapest:
                    kind = "earned"
                else:
                    lines = []
                    total = 0
                    for _ in range(1 if rng.random() < 0.6 else 2):
                        pid, price, pkind, lim, _st = products[int(rand() * n_products)]
                        if price > bal - total or any(pid == ln[0] for ln in lines):
                            continue
                        if lim is not None:
                            if used_limit.get((month, pid), 0) >= lim:
                                continue
                            used_limit[(month, pid)] = used_limit.get((month, pid), 0) + 1
                        lines.append((pid, price, pkind))
                        total += price
                    if not lines:
                        kind = "earned"
            if kind == "redeemed":
                red_id = take("redemption")
                eid = take("ledger_entry")
                at = ts_red[d]
                R.append((red_id, vid, hid, cid_, f"DH{day_str[d].replace('-', '')}-{red_id:06d}", f"bulk-{red_id}",
                          total, month, "done", cashier, at, "", "none"))
                for pid, price, pkind in lines:
                    RL.append((take("redemption_line"), red_id, pid, 1, price))
                    if pkind == "goods":
                        SM.append((take("stock_move"), vid, pid, "redeem", -1, "", "", "", "redemption", str(red_id),
                                   cashier, at))
                        redeemed_qty[pid] = redeemed_qty.get(pid, 0) + 1
                E.append((eid, vid, hid, None, "redeemed", -total, 0, 0, "redemption", str(red_id), None, None,
                          day_str[d], month, "", cashier, at))
                bal -= total
                count += 1
                b = hm.get((hid, month))
                if b is None:
                    b = hm[(hid, month)] = [0, 0, 0, 0]
                b[2] += total
                continue
            if kind == "volunteer" and zy01 is not None:
                a0 = d * n_act // max(days, 1)
                r_i = int(rand() * n_res)
                for step in range(n_act):
                    a_i = (a0 + step) % n_act
                    if (a_i, r_i) not in used_att:
                        break
                else:
                    a_i = -1
                if a_i >= 0:
                    used_att.add((a_i, r_i))
                    aid, ad = acts[a_i]
                    mins = minutes_choices[int(rand() * 7)]
                    pts = points_for(mins, 240, 2)
                    att_id = take("attendance")
                    eid = take("ledger_entry")
                    aday = dates[ad]
                    A.append((att_id, vid, aid, res[r_i], hid, ts[8][ad], _tstr(aday, 8 + mins // 60, mins % 60),
                              mins, ts[18][ad], vlead))
                    E.append((eid, vid, hid, res[r_i], "volunteer", pts, pts, 0, "attendance", str(att_id), zy01[0],
                              zy01[1], day_str[ad], months[ad], "", vlead, ts[18][ad]))
                    vol_total[res[r_i]] = vol_total.get(res[r_i], 0) + mins
                    bal += pts
                    earned_total += pts
                    count += 1
                    b = hm.get((hid, months[ad]))
                    if b is None:
                        b = hm[(hid, months[ad])] = [0, 0, 0, 0]
                    b[0] += pts
                    if owed:  # new points settle the outstanding first (posting.post does the same)
                        x = min(bal, owed)
                        E.append((take("ledger_entry"), vid, hid, None, "settlement", -x, 0, -x, "settlement",
                                  f"attendance:{att_id}", None, None, day_str[ad], months[ad], "", vlead, ts[18][ad]))
                        bal -= x
                        owed -= x
                        count += 1
                        b[3] -= x
                    c = cm.get((months[ad], zy01[1]))
                    if c is None:
                        c = cm[(months[ad], zy01[1])] = [0, 0]
                    c[0] += pts
                    c[1] += 1
                    continue
                kind = "earned"
            # a posted proposal: earned or deducted
            if kind == "deducted":  # takes what the balance holds; the rest is outstanding (待扣)
                rid_, cat, pts, lo, hi = neg_items[int(rand() * n_neg)]
                db_ = -min(-pts, bal)
                de = pts
                do_ = -pts + db_
            else:
                rid_, cat, pts, lo, hi = pos_items[int(rand() * n_pos)]
                db_ = de = pts
                do_ = 0
            prop_id = take("proposal")
            eid = take("ledger_entry")
            dd = min(days, d + 7)
            resident = res[int(rand() * n_res)]
            P.append((prop_id, vid, hid, resident, rid_, pts, day_str[d], "", "grid", grid_worker, ts[17][d],
                      "posted", 0, pts, "", sessions[min(len(sessions) - 1, d // 7)], day_str[dd], eid))
            E.append((eid, vid, hid, resident, kind, db_, de, do_, "proposal", str(prop_id), rid_, cat, day_str[d],
                      month, "", committee, ts[9][dd]))
            bal += db_
            earned_total += de
            owed += do_
            count += 1
            b = hm.get((hid, month))
            if b is None:
                b = hm[(hid, month)] = [0, 0, 0, 0]
            if de > 0:
                b[0] += de
                if owed:
                    x = min(bal, owed)
                    E.append((take("ledger_entry"), vid, hid, None, "settlement", -x, 0, -x, "settlement",
                              f"proposal:{prop_id}", None, None, day_str[d], month, "", committee, ts[9][dd]))
                    bal -= x
                    owed -= x
                    count += 1
                    b[3] -= x
            else:
                b[1] -= de
            c = cm.get((month, cat))
            if c is None:
                c = cm[(month, cat)] = [0, 0]
            c[0] += de
            c[1] += 1
        out["account"].append((hid, vid, bal, earned_total, owed, count, _tstr(plan.today, 7)))

    grid_of = {row[0]: row[2] for row in out["household"]}
    out["household_month"] = [(hid, m, vid, grid_of[hid], v[0], v[1], v[2], v[3]) for (hid, m), v in hm.items()]
    out["category_month"] = [(vid, m, c, v[0], v[1]) for (m, c), v in cm.items()]
    for rid, mins in vol_total.items():
        level = star_level(mins, DEFAULT_STAR_HOURS)
        out["volunteer_total"].append((rid, vid, mins, level))
        for lv in range(1, level + 1):
            out["star_level_event"].append((take("star_level_event"), rid, lv, _dstr(plan.today), mins))

    # stock: a purchase at the start covers the template stock plus everything redeemed
    stock_moves = []
    for pid, _price, kind, _lim, st in products:
        if kind == "goods":
            stock_moves.append((take("stock_move"), vid, pid, "purchase", st + redeemed_qty.get(pid, 0), "",
                                "村集体经济", "初始库存", "", "", users["admin"], _tstr(start, 9)))
    out["stock_move"] = stock_moves + out["stock_move"]

    # charity field: a few plots, one season per plot and year, harvests every ~10 days
    members = [row[0] for row in out["resident"][:12]]
    produce: dict[str, int] = {}
    plot_ids = []
    for k in range(3):
        pl = take("plot")
        plot_ids.append(pl)
        out["plot"].append((pl, vid, f"义田{k + 1}号", str(round(2 + k * 1.5, 2)), f"村{['东', '西', '南'][k]}", "第一党小组", 1))
        for r in members[k * 4:(k + 1) * 4]:
            out["plot_member"].append((pl, r))
    seasons = []
    for k, pl in enumerate(plot_ids):
        se = take("season")
        crop = CROPS[k % len(CROPS)]
        seasons.append((se, crop))
        out["season"].append((se, vid, pl, start.year, crop, _dstr(start)))
    for k in range(max(1, days // 10)):
        se, crop = seasons[k % len(seasons)]
        hv = take("harvest")
        grams = rng.randint(20, 400) * 1000
        d = min(days, k * 10 + 5)
        out["harvest"].append((hv, vid, se, crop, day_str[d], grams, users["yitian"], ""))
        out["produce_move"].append((take("produce_move"), vid, crop, grams, "harvest", "harvest", str(hv), "",
                                    users["yitian"], _tstr(start + dt.timedelta(days=d), 16)))
        produce[crop] = produce.get(crop, 0) + grams
    out["produce_stock"] = [(vid, crop, g) for crop, g in produce.items()]
    return out
