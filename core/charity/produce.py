"""The charity field's produce (义田产出): the stock that harvests fill and distributions, shop transfers,
sales and losses empty, and the harvest weighing that fills it.

Invariants (checked by :func:`verify_produce` and the tests):
- ``produce_move`` is append-only; ``produce_stock.grams`` equals the sum of the moves
  of that village and crop, changed in the same transaction;
- stock never goes below zero: a taking move is a conditional UPDATE, backed by a CHECK;
- weights are whole grams, entered and shown as kg to 0.1 (units in :mod:`core.charity.field`).

Plots, seasons and work days are in :mod:`core.charity.field`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.charity.field import (
    FIELD_ROLES,
    MOVE_NAMES,
    PHOTO_MAX_BYTES,
    _date,
    _id,
    _village,
    fmt_kg,
    kg_to_grams,
    kg_value,
)
from core.platform import validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import InvalidInput, NotFound, OutOfStock
from core.supermarket import fund
from db.engine import upsert_insert
from db.models import (
    FundEntry,
    Harvest,
    Plot,
    ProduceMove,
    ProduceStock,
    Product,
    Season,
    StaffUser,
)

# ---------------------------------------------------------------- produce stock


def move_produce(s: Session, actor: Actor | None, village_id: int, crop: str, grams: int, kind: str, *,
                 ref_type: str = "", ref_id: object = "", note: str = "", at: dt.datetime | None = None
                 ) -> ProduceMove:
    """Append one produce move and change the stock in the caller's transaction.

    A taking move is a conditional UPDATE (grams + delta >= 0): two rounds confirmed at
    the same moment can never both take the last kilos."""
    if kind not in MOVE_NAMES:
        raise InvalidInput("未知的出入库类型。")
    if grams == 0:
        raise InvalidInput("数量不能为 0。")
    if grams > 0:
        ins = upsert_insert(s)(ProduceStock.__table__).values(village_id=village_id, crop=crop, grams=grams)
        s.execute(ins.on_conflict_do_update(index_elements=["village_id", "crop"],
                                            set_={"grams": ProduceStock.__table__.c.grams + grams}))
    else:
        res = s.execute(update(ProduceStock)
                        .where(ProduceStock.village_id == village_id, ProduceStock.crop == crop,
                               ProduceStock.grams + grams >= 0)
                        .values(grams=ProduceStock.grams + grams).execution_options(synchronize_session=False))
        if res.rowcount != 1:
            have = s.execute(select(ProduceStock.grams).where(ProduceStock.village_id == village_id,
                                                             ProduceStock.crop == crop)).scalar() or 0
            raise OutOfStock(f"“{crop}”库存不足：现有 {fmt_kg(have)} 公斤，需要 {fmt_kg(-grams)} 公斤。")
    move = ProduceMove(village_id=village_id, crop=crop, grams=grams, kind=kind, ref_type=ref_type,
                       ref_id=str(ref_id)[:40], note=note, created_by=actor.user_id if actor else None,
                       **({"created_at": at} if at else {}))
    s.add(move)
    s.flush()
    return move


def stock_grams(s: Session, village_id: int, crop: str) -> int:
    return s.execute(select(ProduceStock.grams).where(ProduceStock.village_id == village_id,
                                                      ProduceStock.crop == crop)).scalar() or 0


@dataclass(frozen=True)
class StockRow:
    """The produce stock of one crop."""

    crop: str
    grams: int

    @property
    def kg(self) -> float:
        return kg_value(self.grams)


def stock(db, village_id: int) -> list[StockRow]:
    """Every crop's stock (also those at zero), by crop."""
    with db.read() as s:
        rows = s.execute(select(ProduceStock.crop, ProduceStock.grams).where(ProduceStock.village_id == village_id)
                         .order_by(ProduceStock.crop)).all()
    return [StockRow(c, g) for c, g in rows]


def crops_in_stock(db, village_id: int) -> dict[str, int]:
    with db.read() as s:
        return dict(s.execute(select(ProduceStock.crop, ProduceStock.grams)
                              .where(ProduceStock.village_id == village_id, ProduceStock.grams > 0)
                              .order_by(ProduceStock.crop)).all())


@dataclass(frozen=True)
class MoveRow:
    """One produce move: ``kind`` is the stored code (MOVE_NAMES), ``grams`` negative when taken out."""

    created_at: dt.datetime
    crop: str
    kind: str
    grams: int
    note: str
    staff: str | None

    @property
    def kg(self) -> float:
        return kg_value(self.grams)


def moves(db, village_id: int, limit: int = 500) -> list[MoveRow]:
    """The newest produce moves, newest first, with who made them."""
    with db.read() as s:
        rows = s.execute(select(ProduceMove, StaffUser.display_name)
                         .outerjoin(StaffUser, StaffUser.id == ProduceMove.created_by)
                         .where(ProduceMove.village_id == village_id)
                         .order_by(ProduceMove.created_at.desc(), ProduceMove.id.desc()).limit(limit)).all()
    return [MoveRow(m.created_at, m.crop, m.kind, m.grams, m.note, who) for m, who in rows]


@dataclass(frozen=True)
class FundRow:
    """One village fund entry from a sale of field produce."""

    id: int
    date: dt.date
    source: str
    amount_fen: int
    note: str
    staff: str | None

    @property
    def yuan(self) -> float:
        return self.amount_fen / 100


def fund_entries(db, village_id: int, date_from: dt.date | None = None, date_to: dt.date | None = None
                 ) -> list[FundRow]:
    """The village fund (村集体资金) entries from the field, newest first."""
    with db.read() as s:
        q = (select(FundEntry, StaffUser.display_name).outerjoin(StaffUser, StaffUser.id == FundEntry.created_by)
             .where(FundEntry.village_id == village_id, FundEntry.kind == "field_sale"))
        if date_from is not None:
            q = q.where(FundEntry.date >= date_from)
        if date_to is not None:
            q = q.where(FundEntry.date <= date_to)
        rows = s.execute(q.order_by(FundEntry.date.desc(), FundEntry.id.desc())).all()
    return [FundRow(e.id, e.date, e.source, e.amount_fen, e.note, who) for e, who in rows]


def verify_produce(db, village_id: int) -> list[str]:
    """Problems found (empty = fine): stock that differs from the sum of its moves."""
    with db.read() as s:
        moved = dict(s.execute(select(ProduceMove.crop, func.sum(ProduceMove.grams))
                               .where(ProduceMove.village_id == village_id).group_by(ProduceMove.crop)).all())
        stored = dict(s.execute(select(ProduceStock.crop, ProduceStock.grams)
                                .where(ProduceStock.village_id == village_id)).all())
    return [f"{crop}：库存 {stored.get(crop, 0)} 克，流水合计 {moved.get(crop, 0) or 0} 克"
            for crop in sorted(set(moved) | set(stored)) if (moved.get(crop) or 0) != stored.get(crop, 0)]


# ---------------------------------------------------------------- harvest


def _photo_name(photo: bytes) -> str:
    """Check a weighing photo (type, size) and return its content-addressed relative path."""
    if len(photo) > PHOTO_MAX_BYTES:
        raise InvalidInput("照片太大（不超过 8 MB）。")
    if photo[:3] == b"\xff\xd8\xff":
        ext = "jpg"
    elif photo[:8] == b"\x89PNG\r\n\x1a\n":
        ext = "png"
    else:
        raise InvalidInput("照片只能是 JPG 或 PNG 图片。")
    from core.platform.images import open_image

    with open_image(photo, "过秤照片") as img:  # a real picture, within the pixel limit
        try:
            img.verify()
        except Exception:  # any failure to read it means "not a picture"
            raise InvalidInput("过秤照片不是图片：只能是 JPG 或 PNG 图片。") from None
    return f"harvest/{hashlib.sha256(photo).hexdigest()}.{ext}"


def record_harvest(db, actor: Actor, *, season_id: int, date: dt.date, kg: object, photo: bytes | None = None,
                   photo_dir=None, note: str = "") -> int:
    """Weighing on harvest day: the harvest row and the stock-in commit together. Returns its id.

    The photo is written as ``<name>.part`` only after every check has passed, renamed once the
    transaction has committed and removed if it fails (core.committee.photos.recover finishes a rename a
    crash interrupted), so a refused or failed weighing leaves no file behind."""
    import os
    from pathlib import Path

    grams = kg_to_grams(kg)
    date = _date(date, "收获日期")
    note = validate.text(note, "备注", 200)
    photo_path = _photo_name(photo) if photo else ""
    part = final = None
    try:
        with db.write() as s:
            season = s.get(Season, _id(season_id, "种植季"))
            if season is None:
                raise NotFound("找不到该种植季。")
            require(actor, FIELD_ROLES, season.village_id)
            if season.sown_on and date < season.sown_on:
                raise InvalidInput("收获日期早于播种日期，请核对。")
            h = Harvest(village_id=season.village_id, season_id=season.id, crop=season.crop, date=date, grams=grams,
                        recorded_by=actor.user_id, photo_path=photo_path)
            s.add(h)
            s.flush()
            move_produce(s, actor, season.village_id, season.crop, grams, "harvest", ref_type="harvest", ref_id=h.id,
                         note=note or f"{date:%Y-%m-%d} 收获过秤")
            record(s, actor, "harvest.record", "harvest", h.id, {"crop": season.crop, "grams": grams, "date": date},
                   village_id=season.village_id)
            if photo:
                if photo_dir is None:
                    from core.platform import config

                    photo_dir = config.load().photo_dir
                final = Path(photo_dir) / photo_path
                final.parent.mkdir(parents=True, exist_ok=True)
                part = final.with_name(final.name + ".part")
                part.write_bytes(photo)
            harvest_id = h.id
    except BaseException:
        if part is not None:
            part.unlink(missing_ok=True)
        raise
    if part is not None:
        os.replace(part, final)
    return harvest_id


@dataclass(frozen=True)
class HarvestRow:
    """One harvest weighing, with its plot and whether a weighing photo was kept."""

    id: int
    date: dt.date
    plot: str
    crop: str
    grams: int
    staff: str | None
    has_photo: bool

    @property
    def kg(self) -> float:
        return kg_value(self.grams)


def harvests(db, village_id: int, limit: int = 1000) -> list[HarvestRow]:
    """The newest harvests, newest first."""
    with db.read() as s:
        rows = s.execute(select(Harvest, Plot.name, StaffUser.display_name)
                         .join(Season, Season.id == Harvest.season_id).join(Plot, Plot.id == Season.plot_id)
                         .outerjoin(StaffUser, StaffUser.id == Harvest.recorded_by)
                         .where(Harvest.village_id == village_id)
                         .order_by(Harvest.date.desc(), Harvest.id.desc()).limit(limit)).all()
    return [HarvestRow(h.id, h.date, pname, h.crop, h.grams, who, bool(h.photo_path)) for h, pname, who in rows]


def harvest_photos(db, village_id: int, photo_dir) -> list[tuple[str, object]]:
    """(label, file path) of the harvests that have a weighing photo, newest first."""
    from pathlib import Path

    with db.read() as s:
        rows = s.execute(select(Harvest.date, Harvest.crop, Harvest.grams, Harvest.photo_path)
                         .where(Harvest.village_id == village_id, Harvest.photo_path != "")
                         .order_by(Harvest.date.desc(), Harvest.id.desc()).limit(200)).all()
    base = Path(photo_dir).resolve()
    out = []
    for day, crop, grams, rel in rows:
        path = (base / rel).resolve()
        if base in path.parents and path.exists():  # never read outside the photo folder
            out.append((f"{day:%Y-%m-%d} {crop} {fmt_kg(grams)} 公斤", path))
    return out


# ---------------------------------------------------------------- surplus


def transfer_to_shop(db, actor: Actor, *, crop: str, kg: object, product_id: int, qty: int, note: str = "") -> int:
    """Surplus into the points supermarket: kilos leave the produce stock and ``qty`` units
    of the product arrive on the shelf, in one transaction. Returns the produce move id."""
    from core.supermarket.stock import receive

    grams = kg_to_grams(kg)
    crop = validate.text(crop, "作物", 20, required=True)
    note = validate.text(note, "备注", 200)
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    with db.write() as s:
        product = s.get(Product, _id(product_id, "商品"))
        if product is None or product.village_id != village_id:
            raise NotFound("找不到该商品。")
        move = move_produce(s, actor, village_id, crop, -grams, "to_shop", ref_type="product", ref_id=product.id,
                            note=note or f"转入积分超市：{product.name} × {qty}{product.unit}")
        stock_move = receive(s, actor, product.id, qty, kind="harvest", reason=f"义田{crop} {fmt_kg(grams)} 公斤",
                             ref_type="produce_move", ref_id=move.id)
        record(s, actor, "produce.to_shop", "produce_move", move.id,
               {"crop": crop, "grams": grams, "product_id": product.id, "qty": qty, "stock_move_id": stock_move.id},
               village_id=village_id)
        return move.id


def sell_surplus(db, actor: Actor, *, crop: str, kg: object, amount_yuan: object, date: dt.date, buyer: str = "",
                 note: str = "") -> int:
    """Sell surplus: kilos leave the stock and the money enters the village fund (村集体资金)
    in one transaction. Returns the fund entry id."""
    grams = kg_to_grams(kg)
    crop = validate.text(crop, "作物", 20, required=True)
    buyer = validate.text(buyer, "购买方", 40)
    note = validate.text(note, "备注", 200)
    date = _date(date, "出售日期")
    try:
        yuan = Decimal(str(amount_yuan))
    except InvalidOperation as e:
        raise InvalidInput("金额必须是数字（元）。") from e
    if not yuan.is_finite() or yuan <= 0 or yuan > 10_000_000:
        raise InvalidInput("金额必须大于 0 元、不超过一千万元。")
    if yuan != yuan.quantize(Decimal("0.01")):
        raise InvalidInput("金额最多精确到分（0.01 元）。")
    fen = int(yuan * 100)
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    with db.write() as s:
        entry = fund.append(s, actor, village_id, kind="field_sale", date=date, amount_fen=fen, source="义田出售",
                            counterparty=buyer, entry_key=f"field_sale:{uuid.uuid4().hex}",
                            note=f"{crop} {fmt_kg(grams)} 公斤" + (f"，购买方：{buyer}" if buyer else "")
                            + (f"；{note}" if note else ""))
        move_produce(s, actor, village_id, crop, -grams, "sale", ref_type="fund_entry", ref_id=entry.id,
                     note=f"出售 {yuan} 元" + (f"（{buyer}）" if buyer else ""))
        record(s, actor, "produce.sale", "fund_entry", entry.id, {"crop": crop, "grams": grams, "fen": fen},
               village_id=village_id)
        return entry.id


def record_loss(db, actor: Actor, *, crop: str, kg: object, reason: str) -> int:
    """Spoilage or a weighing correction found at a stock check (损耗), with a reason."""
    grams = kg_to_grams(kg)
    crop = validate.text(crop, "作物", 20, required=True)
    reason = validate.text(reason, "原因", 200, required=True)
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    with db.write() as s:
        move = move_produce(s, actor, village_id, crop, -grams, "adjust", note=reason)
        record(s, actor, "produce.loss", "produce_move", move.id, {"crop": crop, "grams": grams}, reason,
               village_id=village_id)
        return move.id


def shop_products(db, village_id: int) -> list[tuple[int, str]]:
    with db.read() as s:
        return [(pid, f"{name}（{unit}，现有 {stock}）") for pid, name, unit, stock in s.execute(
            select(Product.id, Product.name, Product.unit, Product.stock)
            .where(Product.village_id == village_id, Product.active, Product.kind == "goods")
            .order_by(Product.name)).all()]
