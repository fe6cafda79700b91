"""County-scale demo data, written in bulk (``manage.py seed-demo --bulk``).

The small demo (startup/demo.py) goes through the real core functions so it obeys every rule;
that costs milliseconds per entry and would take days at county scale (20M entries). This
generator computes the same kind of history in Python — households, residents, cards,
accounts, posted proposals, volunteer attendance, redemptions with their lines and stock
moves, harvests — with the account balances and the summary tables (household_month,
category_month, volunteer_total, product.stock, produce_stock) equal to the entries, so
``manage.py verify`` is clean afterwards. Then it writes the rows in big batches:

- SQLite: ``executemany`` on the raw sqlite3 connection, ``PRAGMA synchronous=OFF`` and
  foreign-key checks off during seeding only (restored when the connection closes);
- PostgreSQL: ``COPY ... FROM STDIN`` through psycopg's ``cursor.copy``, with
  ``synchronous_commit=off`` and replica mode (no FK triggers) for the session; the
  id sequences are moved past the new rows at the end, then VACUUM (ANALYZE).

Deterministic: the same ``seed`` and ``today`` give the same rows. Each village gets a
fixed block of ids per table, so villages can be generated independently (and in a second
process: ``workers=2``) while their ids stay the same.

Not generated (kept small on purpose, listed in BENCHMARKS.md): audit_log rows, decisions
and votes of the review sessions, beneficiaries and distribution rounds.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import text

from core.village.templates import PRODUCTS, RULES
from core.volunteering.volunteer import points_for, star_level
from db.engine import Database
from db.models import Base

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

# Columns written per table, in row order. Any other NOT NULL column with a Python-side
# scalar default (a column another helper adds later) is filled with that default.
COLUMNS: dict[str, tuple[str, ...]] = {
    "village": ("id", "name", "township", "county", "code", "is_demo", "created_at"),
    "staff_user": ("id", "username", "display_name", "password_hash", "village_id", "township", "roles", "active",
                   "must_change_password", "failed_logins", "created_at"),
    "grid": ("id", "village_id", "name", "worker_user_id"),
    "rule_category": ("id", "village_id", "name", "sort", "active"),
    "rule_item": ("id", "village_id", "category_id", "code", "name", "points", "min_points", "max_points",
                  "cap_count", "cap_period", "version", "adopted_on", "adopted_by", "active"),
    "product": ("id", "village_id", "name", "category", "kind", "price", "unit", "barcode", "stock", "low_stock",
                "monthly_limit", "active"),
    "household": ("id", "village_id", "grid_id", "door_no", "head_name", "phone", "address", "needs_delivery",
                  "active", "created_at"),
    "resident": ("id", "village_id", "household_id", "name", "gender", "birth_year", "party_member", "relation",
                 "phone", "active"),
    "card": ("id", "village_id", "household_id", "token", "status", "issued_at", "issued_by", "revoke_reason"),
    "activity": ("id", "village_id", "title", "category", "organiser", "place", "date", "capacity",
                 "points_per_hour", "cap_minutes", "status", "tasks", "created_by", "created_at"),
    "review_session": ("id", "village_id", "held_on", "opened_by", "opened_at", "closed_at", "quorum_required",
                       "members_total", "note"),
    "ledger_entry": ("id", "village_id", "household_id", "resident_id", "kind", "delta_balance", "delta_earned",
                     "delta_outstanding", "source_type", "source_id", "rule_item_id", "category_id", "occurred_on", "month", "reason",
                     "created_by", "created_at"),
    "proposal": ("id", "village_id", "household_id", "resident_id", "rule_item_id", "points", "act_date", "note",
                 "source", "submitted_by", "submitted_at", "status", "over_cap", "decided_points",
                 "decision_reason", "session_id", "publicity_until", "posted_entry_id"),
    "attendance": ("id", "village_id", "activity_id", "resident_id", "household_id", "check_in", "check_out",
                   "minutes", "confirmed_at", "confirmed_by"),
    "redemption": ("id", "village_id", "household_id", "card_id", "receipt_no", "cart_key", "total", "month",
                   "status", "created_by", "created_at", "void_reason", "delivery"),
    "redemption_line": ("id", "redemption_id", "product_id", "qty", "price"),
    "stock_move": ("id", "village_id", "product_id", "kind", "qty", "donor", "funding", "reason", "ref_type",
                   "ref_id", "created_by", "created_at"),
    "account": ("household_id", "village_id", "balance", "earned_total", "outstanding", "entries", "updated_at"),
    "household_month": ("household_id", "month", "village_id", "grid_id", "earned", "deducted", "redeemed", "other"),
    "category_month": ("village_id", "month", "category_id", "points", "entries"),
    "volunteer_total": ("resident_id", "village_id", "minutes", "star_level"),
    "star_level_event": ("id", "resident_id", "level", "reached_on", "minutes_at"),
    "plot": ("id", "village_id", "name", "area_mu", "location", "party_group", "active"),
    "plot_member": ("plot_id", "resident_id"),
    "season": ("id", "village_id", "plot_id", "year", "crop", "sown_on"),
    "harvest": ("id", "village_id", "season_id", "crop", "date", "grams", "recorded_by", "photo_path"),
    "produce_move": ("id", "village_id", "crop", "grams", "kind", "ref_type", "ref_id", "note", "created_by",
                     "created_at"),
    "produce_stock": ("village_id", "crop", "grams"),
}
# Parents before children (foreign keys), so the order also works with FK checks on.
TABLE_ORDER = list(COLUMNS)
# Tables whose ids we allocate: per village a block of this many ids per household
# (ledger-like tables) or a fixed number (small tables).
PER_HOUSEHOLD_ID_TABLES = ("ledger_entry", "proposal", "attendance", "redemption", "redemption_line",
                           "stock_move", "resident", "card", "household", "star_level_event")
FIXED_ID_BLOCK = {"village": 1, "staff_user": 16, "grid": 8, "rule_category": 16, "rule_item": 64, "product": 32,
                  "activity": 0, "review_session": 0, "plot": 4, "season": 8, "harvest": 0, "produce_move": 0}


@dataclass
class Plan:
    villages: int
    households: int  # per village
    days: int
    entries: int  # mean ledger entries per household over ``days``
    seed: int
    today: dt.date
    first_village_no: int = 1  # code BULKnnnnn and name numbering
    plain_usernames: bool = True  # village 1's staff are admin, pingyi1 ... (when free)

    @property
    def start(self) -> dt.date:
        return self.today - dt.timedelta(days=self.days)

    def block(self, table: str) -> int:
        """Ids reserved per village for ``table``: generous, deterministic."""
        if table in PER_HOUSEHOLD_ID_TABLES:
            per = {"household": 1, "card": 1, "resident": 6, "star_level_event": 30}.get(table)
            if per is None:
                mult = {"redemption_line": 3, "stock_move": 3}.get(table, 1)
                per = int(self.entries * mult * 1.3) + 20
            return self.households * per + 10
        if table == "activity":
            return self.days // 3 + 10
        if table == "review_session":
            return self.days // 7 + 10
        if table in ("harvest", "produce_move"):
            return self.days // 10 + 40
        return FIXED_ID_BLOCK.get(table, 0)


@dataclass
class Stats:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    generate_seconds: float = 0.0
    write_seconds: float = 0.0
    finish_seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0


def entries_per_household(days: int, per_year: int = 100) -> int:
    """The design's county: 20M entries a year over 200k households = 100 per household."""
    return max(4, round(per_year * days / 365))


def check_digit(digits: str) -> str:
    from core.village.cards import check_digit as cd

    return cd(digits)


def _dstr(d: dt.date) -> str:
    return d.isoformat()


def _tstr(d: dt.date, hour: int, minute: int = 0) -> str:
    return f"{d.isoformat()} {hour:02d}:{minute:02d}:00.000000"


# ---------------------------------------------------------------- generation (pure Python)


@dataclass
class Bases:
    """First id of this bulk run per table (max existing id + 1)."""

    first: dict[str, int]

    def village_base(self, plan: Plan, table: str, vi: int) -> int:
        return self.first[table] + vi * plan.block(table)


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
                    if owed:  # new points settle the outstanding first (ledger.post does the same)
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


# ---------------------------------------------------------------- writing


def _extra_defaults(table_name: str, columns: tuple[str, ...]) -> tuple[tuple[str, ...], tuple]:
    """NOT NULL columns not in ``columns`` that have a Python default: names and values."""
    table = Base.metadata.tables[table_name]
    names, values = [], []
    stamp = dt.datetime.now().replace(microsecond=0)
    for col in table.columns:
        if col.name in columns or col.nullable:
            continue
        default = col.default
        if default is None:
            if col.server_default is not None:
                continue
            raise RuntimeError(f"bulk seeder: {table_name}.{col.name} is NOT NULL without a default")
        arg = default.arg
        if callable(arg):
            try:
                arg = arg()
            except TypeError:
                arg = arg(None)
        if isinstance(arg, dt.datetime):
            arg = f"{arg:%Y-%m-%d %H:%M:%S}.000000"
        elif isinstance(arg, bool):
            arg = int(arg)
        names.append(col.name)
        values.append(arg if arg is not None else stamp)
    return tuple(names), tuple(values)


class Writer:
    dialect = ""

    def __init__(self, db: Database):
        self.db = db
        self.columns: dict[str, tuple[str, ...]] = {}
        self.extras: dict[str, tuple] = {}
        for t, cols in COLUMNS.items():
            names, values = _extra_defaults(t, cols)
            self.columns[t] = cols + names
            self.extras[t] = values

    def rows(self, table: str, rows: list[tuple]) -> list[tuple]:
        extra = self.extras[table]
        return [r + extra for r in rows] if extra else rows

    def write(self, table: str, rows: list[tuple]) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteWriter(Writer):
    dialect = "sqlite"

    def __init__(self, db: Database):
        super().__init__(db)
        self.raw = db.engine.raw_connection()
        self.conn = self.raw.driver_connection
        c = self.conn
        c.execute("PRAGMA synchronous=OFF")
        c.execute("PRAGMA foreign_keys=OFF")
        c.execute("PRAGMA cache_size=-500000")  # 500 MB page cache while seeding
        c.execute("PRAGMA temp_store=MEMORY")
        c.execute("BEGIN")
        self.sql = {t: f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                    for t, cols in self.columns.items()}

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            self.conn.executemany(self.sql[table], self.rows(table, rows))

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")

    def close(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA cache_size=-2000")
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the app's first write should not pay for it
        self.raw.close()


class PgWriter(Writer):
    dialect = "postgresql"

    def __init__(self, db: Database):
        super().__init__(db)
        self.raw = db.engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.conn.autocommit = False
        cur = self.conn.cursor()
        cur.execute("SET synchronous_commit = off")
        try:
            cur.execute("SAVEPOINT r")
            cur.execute("SET session_replication_role = replica")  # no FK triggers while seeding (superuser)
        except Exception:
            cur.execute("ROLLBACK TO SAVEPOINT r")
        self.cur = cur

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        with self.cur.copy(f"COPY {table} ({', '.join(self.columns[table])}) FROM STDIN") as cp:
            extra = self.extras[table]
            if extra:
                for r in rows:
                    cp.write_row(r + extra)
            else:
                for r in rows:
                    cp.write_row(r)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        cur = self.cur
        cur.execute("SET session_replication_role = DEFAULT")
        for t in TABLE_ORDER:
            if "id" in COLUMNS[t] and COLUMNS[t][0] == "id":
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {t}), false)")
        self.conn.commit()
        self.conn.autocommit = True
        for t in TABLE_ORDER:  # settle the new rows now, not by autovacuum in the middle of the app's work
            cur.execute(f"VACUUM (ANALYZE) {t}")
        self.conn.autocommit = False
        self.raw.close()


def make_writer(db: Database) -> Writer:
    return SqliteWriter(db) if db.is_sqlite else PgWriter(db)


class Progress:
    """A one-line progress bar on stderr (no dependency)."""

    def __init__(self, total: int, label: str, stream=None, enabled: bool = True):
        self.total, self.label, self.stream, self.enabled = max(1, total), label, stream or sys.stderr, enabled
        self.t0 = time.perf_counter()
        self.last = 0.0

    def update(self, done: int, rows: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.5:
            return
        self.last = now
        frac = min(1.0, done / self.total)
        el = now - self.t0
        eta = el / frac - el if frac > 0 else 0
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {done}/{self.total} 村  {rows / 1e6:.2f}M 行  "
                          f"{rows / el / 1000 if el else 0:.0f}k 行/秒  剩余 {eta:.0f} 秒 ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _first_ids(db: Database) -> dict[str, int]:
    out = {}
    with db.engine.connect() as conn:
        for t in TABLE_ORDER:
            if COLUMNS[t][0] == "id":
                out[t] = (conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar_one() or 0) + 1
    return out


def _existing(db: Database) -> tuple[int, frozenset[str]]:
    with db.engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM village WHERE code LIKE 'BULK%'")).scalar_one()
        names = frozenset(conn.execute(text("SELECT username FROM staff_user")).scalars())
    return n, names


def _bounded(pool, jobs, ahead: int) -> Iterator[dict]:
    """Results in order, with at most ``ahead`` villages generated but not yet written
    (imap would queue all of them in memory when generating outpaces writing)."""
    from collections import deque

    pending: deque = deque()
    for job in jobs:
        pending.append(pool.apply_async(_gen_job, (job,)))
        if len(pending) > ahead:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _gen_job(args):
    plan, bases, vi, pw, taken = args
    return generate_village(plan, bases, vi, pw, taken)


def bulk_seed(db: Database, *, villages: int, households: int, days: int = 365, entries: int | None = None,
              seed: int = 42, today: dt.date | None = None, workers: int = 1, progress: bool = True,
              commit_rows: int = 1_000_000, log: Callable[[str], None] | None = None) -> Stats:
    """Write ``villages`` × ``households`` households with a year of history. Appends to
    what is there (new villages get the next BULK codes and fresh ids)."""
    from core.platform.auth import hash_password
    from startup.demo import DEMO_PASSWORD

    if villages < 1 or households < 1 or days < 7:
        raise ValueError("villages and households must be at least 1, days at least 7")
    existing, taken = _existing(db)
    plan = Plan(villages=villages, households=households, days=days,
                entries=entries if entries is not None else entries_per_household(days), seed=seed,
                today=today or dt.date.today(), first_village_no=existing + 1)
    bases = Bases(_first_ids(db))
    pw = hash_password(DEMO_PASSWORD)
    stats = Stats(rows={t: 0 for t in TABLE_ORDER})
    t0 = time.perf_counter()
    writer = make_writer(db)
    bar = Progress(villages, "批量生成", enabled=progress)
    jobs = ((plan, bases, vi, pw, taken) for vi in range(villages))
    pending = 0
    pool = None
    try:
        if workers > 1 and villages > 1:  # a second process helps only while there is a next village to make
            import multiprocessing as mp

            pool = mp.get_context("fork").Pool(workers - 1)
            results: Iterator = _bounded(pool, jobs, ahead=2 * (workers - 1))
        else:
            results = map(_gen_job, jobs)
        done = 0
        while True:
            g0 = time.perf_counter()
            try:
                rows = next(results)
            except StopIteration:
                break
            g1 = time.perf_counter()
            stats.generate_seconds += g1 - g0
            for t in TABLE_ORDER:
                writer.write(t, rows[t])
                stats.rows[t] += len(rows[t])
                pending += len(rows[t])
            if pending >= commit_rows:
                writer.commit()
                pending = 0
            stats.write_seconds += time.perf_counter() - g1
            done += 1
            bar.update(done, stats.total_rows)
        bar.update(done, stats.total_rows, force=True)
        f0 = time.perf_counter()
        writer.close()
        stats.finish_seconds = time.perf_counter() - f0
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        bar.close()
    stats.seconds = time.perf_counter() - t0
    if log:
        log(f"共写入 {stats.total_rows:,} 行（流水 {stats.rows['ledger_entry']:,} 条），用时 {stats.seconds:.1f} 秒，"
            f"{stats.rows_per_second / 1000:.0f}k 行/秒")
    return stats


# ---------------------------------------------------------------- the raw rate to compare with


def raw_insert_rate(db: Database, rows: int = 200_000) -> float:
    """Rows per second of the plainest bulk insert this database offers for ledger-shaped
    rows: pre-built tuples, one executemany (SQLite) or executemany and COPY (PostgreSQL,
    the faster counts), into a scratch copy of ledger_entry with the same columns and
    indexes, with the same session settings as the seeder. The scratch table is dropped."""
    from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint

    md = MetaData()
    src = Base.metadata.tables["ledger_entry"]
    # Same columns and indexes; no foreign keys (the seeder does not check them either).
    scratch = Table("zz_bench_raw_ledger", md,
                    *[Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in src.columns],
                    UniqueConstraint("source_type", "source_id", name="zz_raw_cause"))
    for ix in src.indexes:
        Index(f"zz_{ix.name}", *[scratch.c[c.name] for c in ix.columns], unique=ix.unique,
              **{k: v for k, v in ix.kwargs.items() if k.endswith("_where")})
    md.drop_all(db.engine, tables=[scratch], checkfirst=True)
    md.create_all(db.engine, tables=[scratch])
    cols = COLUMNS["ledger_entry"]
    day = "2026-01-15"
    data = [(i + 1, 1, 1 + i % 500, None, "earned", 5, 5, 0, "proposal", str(i + 1), 1, 1, day, 202601, "", 1,
             "2026-01-15 09:00:00.000000") for i in range(rows)]
    try:
        raw = db.engine.raw_connection()
        conn = raw.driver_connection
        if db.is_sqlite:
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("PRAGMA cache_size=-500000")
            conn.execute("BEGIN")
            t = time.perf_counter()
            conn.executemany(f"INSERT INTO zz_bench_raw_ledger ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                             data)
            conn.execute("COMMIT")
            rate = rows / (time.perf_counter() - t)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        else:
            cur = conn.cursor()
            cur.execute("SET synchronous_commit = off")
            t = time.perf_counter()
            cur.executemany(f"INSERT INTO zz_bench_raw_ledger ({', '.join(cols)}) VALUES "
                            f"({', '.join(['%s'] * len(cols))})", data)
            conn.commit()
            rate_many = rows / (time.perf_counter() - t)
            cur.execute("TRUNCATE zz_bench_raw_ledger")
            conn.commit()
            t = time.perf_counter()
            with cur.copy(f"COPY zz_bench_raw_ledger ({', '.join(cols)}) FROM STDIN") as cp:
                for r in data:
                    cp.write_row(r)
            conn.commit()
            rate_copy = rows / (time.perf_counter() - t)
            rate = max(rate_many, rate_copy)
            raw_insert_rate.details = {"executemany": rate_many, "copy": rate_copy}  # type: ignore[attr-defined]
        raw.close()
    finally:
        md.drop_all(db.engine, tables=[scratch], checkfirst=True)
    return rate


def fmt_rate(r: float) -> str:
    return f"{r / 1000:.0f}k/s" if r < 1e6 else f"{r / 1e6:.2f}M/s"


__all__ = ["bulk_seed", "raw_insert_rate", "generate_village", "Plan", "Stats", "entries_per_household"]
