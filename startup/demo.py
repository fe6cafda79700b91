"""The demo village (示范村): realistic, deterministic data so every screen has something
to show on first start, and the same generator at any size for ``manage.py seed-demo``.

The base step creates the village, grids, staff, households, residents, accounts, the
rules catalogue and the supermarket's prizes. Each capability then adds its own history
in a ``populate(ctx)`` function of its own module (DEMO_STEPS), through the real core
functions where that is affordable, so the demo obeys the same rules as real use.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from core.platform.access import SYSTEM, Actor
from core.platform.auth import actor_for, hash_password
from core.village.setup import add_products_template, add_rules_template
from db.engine import Database
from db.models import (
    Account,
    Grid,
    Household,
    Product,
    Resident,
    RuleItem,
    StaffUser,
    Village,
)

DEMO_PASSWORD = "demo12345"
DEMO_USERS = [
    # username, name, roles
    ("admin", "李建国", "admin,committee"),
    ("pingyi1", "王秀英", "committee"),
    ("pingyi2", "张德明", "committee"),
    ("pingyi3", "刘桂兰", "committee"),
    ("pingyi4", "陈志强", "committee"),
    ("wangge1", "赵丽", "grid_worker"),
    ("wangge2", "孙海涛", "grid_worker"),
    ("shouyin", "周小燕", "cashier"),
    ("zhiyuan", "吴晓峰", "volunteer_lead"),
    ("yitian", "郑国庆", "field_lead"),
]
TOWNSHIP_USER = ("zhenjie", "马书记", "township_viewer")
# Staff of the township and the county (no village): they manage the demo's villages on 村庄管理
# and compare them; created with the first village.
AREA_USERS = [("zhenguan", "高主任", "township_admin"), ("quguan", "韩科长", "county_admin")]
# The demo's other villages of the same township, written after the first village's history in
# the background (the first start stays fast): name, households.
NEIGHBOURS = [(1, 180), (2, 120)]  # 文祖南村, 三德范村 (index into _base's names)
NEIGHBOUR_STEPS = ["startup.demo_review", "startup.demo_volunteer"]

# Steps after the base, each a module with populate(ctx). Order matters: review before
# dashboards' needs, volunteering before the field (work days are activities).
DEMO_STEPS = [
    "startup.demo_review",
    "startup.demo_shop",
    "startup.demo_volunteer",
    "startup.demo_field",
]

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋"
            "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段")
GIVEN_M = "建国军伟强磊勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳晨瑞博文志德福海成"
GIVEN_F = "秀英桂兰玉兰芳娜敏静丽艳娟霞燕红梅琳莉萍雪婷颖慧倩晶月凤云洁玲珍翠琴素兰春花淑贞彩霞"


@dataclass
class DemoContext:
    db: Database
    village: Village
    rng: random.Random
    today: dt.date
    days: int
    admin: Actor
    users: dict[str, int] = field(default_factory=dict)  # username -> id
    actors: dict[str, Actor] = field(default_factory=dict)
    grids: list[Grid] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    rule_items: list[RuleItem] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)

    @property
    def start(self) -> dt.date:
        return self.today - dt.timedelta(days=self.days)

    def residents_of(self, household_id: int) -> list[Resident]:
        return [r for r in self.residents if r.household_id == household_id]


def person_name(rng: random.Random, surname: str | None = None, female: bool = False) -> str:
    given = GIVEN_F if female else GIVEN_M
    name = (surname or rng.choice(SURNAMES)) + rng.choice(given)
    if rng.random() < 0.6:
        name += rng.choice(given)
    return name


def build_demo(
    db: Database,
    *,
    villages: int = 1,
    households: int = 300,
    days: int = 120,
    seed: int = 42,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
    steps: list[str] | None = None,
) -> list[int]:
    """Create ``villages`` demo villages; returns their ids. Safe to call twice at once:
    the second call finds the first village's code taken and stops."""
    today = today or dt.date.today()
    ids = []
    for n in range(villages):
        rng = random.Random(seed * 1000 + n)
        try:
            ctx = _base(db, n, rng, households, days, today)
        except IntegrityError:
            return ids  # another process created the demo meanwhile
        for step in DEMO_STEPS if steps is None else steps:
            if progress:
                progress(f"{ctx.village.name}：{step}")
            importlib.import_module(step).populate(ctx)
        ids.append(ctx.village.id)
    return ids


BUILDING_MARKER = "demo-building"  # file in the data dir while the demo's history is being written
_history_thread: threading.Thread | None = None


def start_demo(db: Database, data_dir: Path, today: dt.date | None = None, steps: list[str] | None = None) -> None:
    """The first start of the app: the demo's village, staff accounts, households and catalogue
    now (a second or two: the login page can be used at once), its months of history — review
    mornings, redemptions, volunteering, the charity field, written through the real core
    functions, about a minute — in a background thread, one transaction per day as always.

    While it runs a marker file says so (ui.frame shows a notice); a process stopped meanwhile
    leaves the marker, and the demo stays as far as it got (see :func:`demo_state`)."""
    global _history_thread
    today = today or dt.date.today()
    rng = random.Random(42 * 1000)
    marker = Path(data_dir) / BUILDING_MARKER
    try:
        ctx = _base(db, 0, rng, 300, 120, today)
    except IntegrityError:
        return  # another process created the demo meanwhile
    marker.write_text(str(ctx.village.id), encoding="utf-8")

    def history() -> None:
        try:
            for step in DEMO_STEPS if steps is None else steps:
                importlib.import_module(step).populate(ctx)
            if steps is None:  # the neighbouring villages, so the comparison has something to compare
                add_neighbours(db, today)
            marker.unlink(missing_ok=True)
        except Exception:  # the app keeps running on what was written; the marker stays
            logging.getLogger(__name__).exception("demo history stopped")

    _history_thread = threading.Thread(target=history, name="demo-history", daemon=True)
    _history_thread.start()


def add_neighbours(db: Database, today: dt.date, steps: list[str] | None = None, days: int = 45) -> list[int]:
    """The demo's other villages of 文祖街道 (NEIGHBOURS) with their review and volunteering
    history: the first start writes them in the background after the first village's history.
    Six weeks of it (the comparison's default period is the last complete month): every fresh start
    writes them, so they are kept short."""
    ids = []
    for n, households in NEIGHBOURS:
        ctx = _base(db, n, random.Random(42 * 1000 + n), households, days, today)
        for step in NEIGHBOUR_STEPS if steps is None else steps:
            importlib.import_module(step).populate(ctx)
        ids.append(ctx.village.id)
    return ids


def wait_for_demo(timeout: float | None = None) -> None:
    """Block until the background history of :func:`start_demo` is written (tests, benchmarks)."""
    if _history_thread is not None:
        _history_thread.join(timeout)


def demo_state(data_dir: Path) -> str:
    """'building' while this process writes the demo's history, 'incomplete' when an earlier
    process stopped before it finished, '' otherwise."""
    if not (Path(data_dir) / BUILDING_MARKER).exists():
        return ""
    return "building" if _history_thread is not None and _history_thread.is_alive() else "incomplete"


def _base(db: Database, n: int, rng: random.Random, n_households: int, days: int, today: dt.date) -> DemoContext:
    pw = hash_password(DEMO_PASSWORD)
    names = ["文祖北村", "文祖南村", "三德范村", "青野村", "石子口村", "锦屏村"]
    vname = names[n] if n < len(names) else f"示范{n + 1}村"
    with db.write() as s:
        village = Village(name=vname, township="文祖街道", county="章丘区", code=f"DEMO{n + 1:04d}", is_demo=True)
        s.add(village)
        s.flush()
        ctx = DemoContext(db=db, village=village, rng=rng, today=today, days=days, admin=SYSTEM)
        suffix = "" if n == 0 else f"_{n + 1}"
        users = DEMO_USERS + ([TOWNSHIP_USER] if n == 0 else [])
        for username, display, roles in users:
            u = StaffUser(username=username + suffix, display_name=display, password_hash=pw, roles=roles,
                          village_id=village.id, township=village.township if "township" in roles else None)
            s.add(u)
            s.flush()
            ctx.users[username] = u.id
            ctx.actors[username] = actor_for(u)
        if n == 0:
            for username, display, roles in AREA_USERS:
                s.add(StaffUser(username=username, display_name=display, password_hash=pw, roles=roles,
                                village_id=None, township=village.township if roles == "township_admin" else None,
                                county=village.county))
        ctx.admin = ctx.actors["admin"]

        grid_names = ["第一网格", "第二网格", "第三网格", "第四网格", "第五网格"]
        for i, gname in enumerate(grid_names):
            g = Grid(village_id=village.id, name=gname,
                     worker_user_id=ctx.users["wangge1" if i % 2 == 0 else "wangge2"])
            s.add(g)
            ctx.grids.append(g)
        s.flush()

        for h in range(n_households):
            grid = ctx.grids[h * len(ctx.grids) // n_households]
            surname = rng.choice(SURNAMES)
            head = person_name(rng, surname)
            hh = Household(village_id=village.id, grid_id=grid.id, door_no=f"{grid_names.index(grid.name) + 1}-{h + 1:03d}",
                           head_name=head, phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
                           if rng.random() < 0.8 else "")
            s.add(hh)
            ctx.households.append(hh)
        s.flush()
        for hh in ctx.households:
            s.add(Account(household_id=hh.id, village_id=village.id, balance=0, earned_total=0))
            surname = hh.head_name[0]
            head_year = rng.randint(1940, 1990)
            members = [Resident(village_id=village.id, household_id=hh.id, name=hh.head_name, gender="男",
                                birth_year=head_year, party_member=rng.random() < 0.12, relation="户主")]
            size = rng.choices([1, 2, 3, 4, 5], weights=[8, 25, 30, 25, 12])[0]
            if size >= 2:
                members.append(Resident(village_id=village.id, household_id=hh.id,
                                        name=person_name(rng, female=True), gender="女",
                                        birth_year=head_year + rng.randint(-3, 3), relation="配偶",
                                        party_member=rng.random() < 0.05))
            for _ in range(size - 2):
                female = rng.random() < 0.5
                members.append(Resident(village_id=village.id, household_id=hh.id,
                                        name=person_name(rng, surname, female), gender="女" if female else "男",
                                        birth_year=min(today.year - 1, head_year + rng.randint(22, 32)),
                                        relation="子女", party_member=rng.random() < 0.08))
            if hh.id % 9 == 0:  # some elderly parents living with the family
                members.append(Resident(village_id=village.id, household_id=hh.id,
                                        name=person_name(rng, surname, rng.random() < 0.6), gender="女",
                                        birth_year=rng.randint(1930, 1952), relation="父母"))
            s.add_all(members)
            ctx.residents.extend(members)
        s.flush()

        adopted = today.replace(month=1, day=1) - dt.timedelta(days=60)
        ctx.rule_items = add_rules_template(s, village.id, adopted_on=adopted)
        ctx.products = add_products_template(s, village.id, ctx.admin, barcodes=True,
                                             stocked_at=dt.datetime.combine(ctx.start, dt.time(9)))
    return ctx
