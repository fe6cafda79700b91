"""Demo history for the points supermarket: a card for every household, a few months of
redemptions through core.supermarket.shop.checkout (so limits, stock and balances obey the real rules),
a donation, money in the village fund (a cash donation and the month's purchase), a stock count, a void and a pending home delivery."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.platform.errors import DomainError
from core.supermarket import fund, shop, stock
from core.village import cards
from db.models import Account, Product


def populate(ctx) -> None:
    db, rng, vid = ctx.db, ctx.rng, ctx.village.id
    admin, cashier = ctx.admin, ctx.actors.get("shouyin", ctx.admin)
    cards.issue_missing(db, admin, vid)

    goods = {p.name: p.id for p in ctx.products}
    donated = goods.get("食用油 5L")
    if donated:
        stock.receive_stock(db, admin, donated, 20, "donation", donor="章丘区爱心企业联合会", funding="社会捐赠",
                            reason="重阳节爱心捐赠")
    for name, qty in (("大米 10斤", 40), ("挂面", 60)):
        if name in goods:
            stock.receive_stock(db, admin, goods[name], qty, "purchase", funding="村集体经济",
                                reason="月度补货")
    first = ctx.today.replace(day=1)
    fund.record_entry(db, admin, vid, kind="donation", date=first, amount_yuan="3000", counterparty="章丘区爱心企业联合会",
                      purpose="积分超市补货", note="重阳节爱心捐赠", entry_key=f"demo-fund-{vid}-1")
    fund.record_entry(db, admin, vid, kind="purchase", date=first, amount_yuan="1286.50", counterparty="镇供销社",
                      items="大米 10斤 × 40、挂面 × 60", purpose="积分超市月度补货", entry_key=f"demo-fund-{vid}-2")

    with db.read() as s:
        balances = dict(s.execute(select(Account.household_id, Account.balance)
                                  .where(Account.village_id == vid, Account.balance > 0)).all())
        products = [(p.id, p.price, p.kind) for p in s.execute(
            select(Product).where(Product.village_id == vid, Product.active.is_(True))).scalars()]
    if not products:
        return
    cheap = [p for p in products if p[1] <= 60]
    start = max(ctx.start, ctx.today - dt.timedelta(days=90))
    n = 0
    made: list[int] = []
    for hid in sorted(balances)[: max(len(balances) * 2 // 3, 0)]:
        left = balances[hid]
        for _ in range(rng.randint(1, 3)):
            pid, price, _kind = rng.choice(cheap or products)
            qty = rng.randint(1, 2)
            if price * qty > left:
                continue
            day = start + dt.timedelta(days=rng.randint(0, max((ctx.today - start).days - 1, 0)))
            at = dt.datetime.combine(day, dt.time(rng.randint(8, 16), rng.randint(0, 59)))
            n += 1
            try:
                rid = shop.checkout(db, cashier, household_id=hid, card_id=None, cart={pid: qty},
                                    cart_key=f"demo-{vid}-{n}", at=at)
            except DomainError:
                continue  # monthly limit or stock: the counter would have refused too
            left -= price * qty
            made.append(rid)

    # Today: one home delivery still pending, and one redemption voided at the counter.
    today = sorted(balances)[-4:] if balances else []
    for i, hid in enumerate(today):
        affordable = [p for p in cheap if p[1] <= 20]
        if not affordable:
            break
        pid = affordable[0][0]
        try:
            rid = shop.checkout(db, cashier, household_id=hid, card_id=None, cart={pid: 1},
                                cart_key=f"demo-{vid}-today-{i}", delivery=(i == 0))
            if i == 1:
                shop.void(db, cashier, rid, "村民改选其他商品")
        except DomainError:
            continue

    counted = goods.get("洗衣粉")
    if counted:
        with db.read() as s:
            expected = s.get(Product, counted).stock
        if expected >= 2:
            stock.count_stock(db, admin, counted, expected - 2, "月末盘点：两袋受潮报损")
    for name in ("酱油", "陈醋"):
        if name in goods:
            with db.read() as s:
                expected = s.get(Product, goods[name]).stock
            stock.count_stock(db, admin, goods[name], expected)
