"""Setting up a real village: the village, its grids, a first admin and a rules catalogue."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from core.platform import settings
from core.platform.access import Actor, can_manage_village
from core.platform.audit import record
from core.platform.auth import hash_password
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed
from core.village.staff import USERNAME_RE
from core.village.templates import PRODUCTS, RULES
from db.models import (
    Grid,
    Product,
    RuleCategory,
    RuleItem,
    Setting,
    StaffUser,
    StockMove,
    Village,
)


def _clean_name(value: str, label: str, limit: int = 60) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"请填写{label}。")
    if len(value) > limit:
        raise InvalidInput(f"{label}不能超过 {limit} 个字。")
    return value


def create_village(db, actor: Actor, *, name: str, township: str, county: str, grids: list[str],
                   admin_username: str, admin_name: str, admin_password: str, rules_template: bool = True,
                   products_template: bool = False, first_run: bool = False, public_url: str = "") -> int:
    """Create a village with its grids, first admin and (optionally) the template catalogues.

    ``public_url``: the address printed in the cards' QR codes (the village setting), asked for at
    set-up so that the first cards printed do not carry the default localhost link.

    ``first_run``: the set-up page of an empty installation. Then nobody is logged in, so the
    call is only allowed while the database has no village at all (checked inside the same
    transaction), and the admin chose the password themselves (no forced change).
    """
    area = not actor.system  # a county or township admin on the 村庄管理 page
    if area and (first_run or not actor.has("county_admin", "township_admin")):
        raise NotAllowed("没有权限：新建村需要县级管理员或镇街管理员角色（或在首次设置、命令行中进行）。")
    name = _clean_name(name, "村名")
    township = (township or "").strip()
    county = (county or "").strip()
    if len(township) > 60 or len(county) > 60:
        raise InvalidInput("镇（街道）、县（区）名称不能超过 60 个字。")
    if area:
        if not township:
            raise InvalidInput("请填写所属镇（街道）。")
        if not can_manage_village(actor, township, county):
            raise NotAllowed("没有权限：只能在自己管辖的县（区）、镇（街道）新建村。")
    grids = [g.strip() for g in grids if g.strip()]
    if len(set(grids)) != len(grids):
        raise InvalidInput("网格名称有重复。")
    if len(grids) > 200:
        raise InvalidInput("网格太多（不超过 200 个）。")
    admin_username = (admin_username or "").strip()
    if not USERNAME_RE.match(admin_username):
        raise InvalidInput("管理员用户名须为 3–40 位字母、数字、下划线、点或横线。")
    admin_name = _clean_name(admin_name, "管理员姓名", 40)
    public_url = settings.validate("public_url", public_url or "")
    pw = hash_password(admin_password)
    with db.write() as s:
        count = s.execute(select(func.count()).select_from(Village)).scalar_one()
        if first_run and count:
            raise AlreadyDone("系统已经设置过村，请直接登录。")
        if s.execute(select(StaffUser.id).where(func.lower(StaffUser.username) == admin_username.lower())).first():
            raise AlreadyDone(f"用户名“{admin_username}”已被使用。")
        check_unique_name(s, name, township, county)
        code = f"V{count + 1:05d}"
        while s.execute(select(Village.id).where(Village.code == code)).first():
            count += 1
            code = f"V{count + 1:05d}"
        village = Village(name=name, township=township, county=county, code=code)
        s.add(village)
        s.flush()
        for g in grids or ["第一网格"]:
            s.add(Grid(village_id=village.id, name=_clean_name(g, "网格名称", 40)))
        admin = StaffUser(username=admin_username, display_name=admin_name, password_hash=pw,
                          roles="admin,committee", village_id=village.id, must_change_password=not first_run)
        s.add(admin)
        if public_url:
            s.add(Setting(village_id=village.id, key="public_url", value=json.dumps(public_url, ensure_ascii=False)))
        if rules_template:
            add_rules_template(s, village.id, adopted_on=dt.date.today() if first_run else None)
        if products_template:
            add_products_template(s, village.id, actor)
        s.flush()
        record(s, actor, "village.create", "village", village.id,
               {"name": name, "admin": admin_username, "grids": grids or ["第一网格"], "first_run": first_run,
                "public_url": public_url},
               village_id=village.id)
        return village.id


def check_unique_name(s, name: str, township: str, county: str, except_id: int | None = None) -> None:
    """Two villages of one township (of one county) may not share a name: lists, comparisons and
    exports name villages, and the same name twice would read as one village."""
    q = select(Village.id).where(Village.name == name, Village.township == township, Village.county == county)
    if except_id is not None:
        q = q.where(Village.id != except_id)
    if s.execute(q.limit(1)).first():
        raise AlreadyDone(f"{township or '本镇'}已经有名为“{name}”的村，请换一个村名。")


def has_village(db) -> bool:
    """False on an empty installation: the app then shows the first-run set-up page."""
    with db.read() as s:
        return s.execute(select(Village.id).limit(1)).first() is not None


def add_grid(db, actor: Actor, village_id: int, name: str) -> int:
    """Add a grid (网格) to a village, e.g. before importing a roster that names it."""
    from core.platform.access import require

    name = _clean_name(name, "网格名称", 40)
    with db.write() as s:
        require(actor, "admin", village_id)
        if s.execute(select(Grid.id).where(Grid.village_id == village_id, Grid.name == name)).first():
            raise AlreadyDone(f"网格“{name}”已经存在。")
        g = Grid(village_id=village_id, name=name)
        s.add(g)
        s.flush()
        record(s, actor, "grid.create", "grid", g.id, {"name": name}, village_id=village_id)
        return g.id


def grid_names(db, village_id: int) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(Grid.name).where(Grid.village_id == village_id).order_by(Grid.id)).scalars())


def grids(db, village_id: int) -> list[tuple[int, str, int | None, str]]:
    """(id, name, worker's user id, worker's name) of the village's grids."""
    with db.read() as s:
        rows = s.execute(select(Grid.id, Grid.name, Grid.worker_user_id, StaffUser.display_name)
                         .outerjoin(StaffUser, StaffUser.id == Grid.worker_user_id)
                         .where(Grid.village_id == village_id).order_by(Grid.id)).all()
    return [(i, n, w, d or "") for i, n, w, d in rows]


def grid_workers(db, village_id: int) -> list[tuple[int, str]]:
    """(user id, name) of the village's active grid workers."""
    with db.read() as s:
        rows = s.execute(select(StaffUser.id, StaffUser.display_name, StaffUser.roles)
                         .where(StaffUser.village_id == village_id, StaffUser.active.is_(True))
                         .order_by(StaffUser.id)).all()
    return [(i, d) for i, d, roles in rows if "grid_worker" in roles.split(",")]


def set_grid_worker(db, actor: Actor, grid_id: int, user_id: int | None) -> int:
    """Name the grid worker responsible for a grid (or nobody); audited. Returns the grid's id."""
    from core.platform.access import require

    with db.write() as s:
        g = s.get(Grid, grid_id) if isinstance(grid_id, int) else None
        if g is None:
            raise InvalidInput("找不到这个网格。")
        require(actor, "admin", g.village_id)
        if user_id is not None:
            u = s.get(StaffUser, user_id) if isinstance(user_id, int) else None
            if u is None or u.village_id != g.village_id or not u.active or "grid_worker" not in u.roles.split(","):
                raise InvalidInput("只能指定本村在岗的网格员。")
        if g.worker_user_id != user_id:
            record(s, actor, "grid.worker", "grid", g.id, {"old": g.worker_user_id, "new": user_id},
                   village_id=g.village_id)
            g.worker_user_id = user_id
        return g.id


# ---------------------------------------------------------------- removing the demo

REMOVE_DEMO_CONFIRM = "删除示范数据"
DEMO_REMOVED_MARKER = "demo-removed"  # file in the data dir: do not build the demo again on start


def demo_status(db) -> tuple[int, int]:
    """(demo villages, real villages)."""
    with db.read() as s:
        demo = s.execute(select(func.count()).select_from(Village).where(Village.is_demo.is_(True))).scalar_one()
        total = s.execute(select(func.count()).select_from(Village)).scalar_one()
    return demo, total - demo


def remove_demo(db, actor: Actor, confirm: str, data_dir=None) -> None:
    """Remove the demo data by resetting the whole database to an empty schema.

    Why a reset and not DELETEs: ledger entries are append-only, guarded by database
    triggers, so the demo's history cannot (and must not) be deleted row by row. A reset is
    safe only when every village is a demo village, so it is refused otherwise. All tables
    are dropped and the migrations re-run (db.migrate.upgrade); everyone is logged out and
    the app shows the first-run set-up page. When ``data_dir`` is given, a marker file there
    stops the next start from building the demo again.
    """
    from pathlib import Path

    from sqlalchemy import MetaData

    from core.platform.access import require
    from db.migrate import upgrade

    if not actor.system:
        require(actor, "admin")
    if (confirm or "").strip() != REMOVE_DEMO_CONFIRM:
        raise InvalidInput(f"请输入“{REMOVE_DEMO_CONFIRM}”以确认。")
    demo, real = demo_status(db)
    if real:
        raise NotAllowed("数据库里有正式村的数据，不能整体清空。示范数据只能在全新安装时删除。")
    if not demo:
        raise AlreadyDone("没有示范数据。")
    if actor.village_id is not None:
        with db.read() as s:
            v = s.get(Village, actor.village_id)
            if v is None or not v.is_demo:
                raise NotAllowed("没有权限。")
    meta = MetaData()
    with db.engine.begin() as conn:
        meta.reflect(conn)
        meta.drop_all(conn)
    upgrade(db)
    if data_dir is not None:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        (Path(data_dir) / "demo-building").unlink(missing_ok=True)  # startup.demo.BUILDING_MARKER
        (Path(data_dir) / DEMO_REMOVED_MARKER).write_text("示范数据已删除；启动时不再生成示范村。\n", encoding="utf-8")


def add_rules_template(s, village_id: int, adopted_on: dt.date | None = None) -> list[RuleItem]:
    items_out: list[RuleItem] = []
    for sort, (cat_name, items) in enumerate(RULES):
        cat = RuleCategory(village_id=village_id, name=cat_name, sort=sort)
        s.add(cat)
        s.flush()
        for code, item_name, pts, lo, hi, cap, period in items:
            item = RuleItem(village_id=village_id, category_id=cat.id, code=code, name=item_name, points=pts,
                            min_points=lo, max_points=hi, cap_count=cap, cap_period=period,
                            adopted_on=adopted_on, adopted_by="村民代表大会")
            s.add(item)
            items_out.append(item)
    s.flush()
    return items_out


def add_products_template(s, village_id: int, actor: Actor, barcodes: bool = False,
                          stocked_at: dt.datetime | None = None) -> list[Product]:
    """The 17 template prizes, goods stocked through a purchase movement."""
    out: list[Product] = []
    for name, cat, kind, price, unit, stock, limit in PRODUCTS:
        barcode = f"69{village_id:04d}{len(out):05d}" if barcodes and kind == "goods" else None
        p = Product(village_id=village_id, name=name, category=cat, kind=kind, price=price, unit=unit,
                    stock=stock if kind == "goods" else 0, monthly_limit=limit, barcode=barcode)
        s.add(p)
        s.flush()
        out.append(p)
        if kind == "goods" and stock:
            s.add(StockMove(village_id=village_id, product_id=p.id, kind="purchase", qty=stock,
                            funding="村集体经济", reason="初始库存", created_by=actor.user_id,
                            **({"created_at": stocked_at} if stocked_at else {})))
    return out
