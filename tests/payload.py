"""Markup in every field a person types, for the tests that check it is always shown as text.

:func:`seed` writes a payload of Markdown, HTML, autolinks and Streamlit directives into every
user-entered text column of a demo database: current-state tables by UPDATE, history tables
(ledger, stock, decisions, objections, corrections, produce, fund, cards, redemptions, sessions,
attendance, allocations, imports — which refuse UPDATE, see db.history) through the core functions
that write them. Every text column of the models is listed below as seeded or as not typed
by anyone (tests/test_bad_input_display.py holds the lists to the models).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

# Escaped for Markdown, "evil.example" reads "evil\.example": the raw host appears only where
# markup would be live. Every payload carries it.
MARK = "evil.example"
LONG = ('王<b>粗</b>**五**[点我](http://evil.example/l)![图](http://evil.example/i.png)'
        '<img src="http://evil.example/h.png">www.evil.example :red[红]$x^2$ a@evil.example')
NAME = "**五**[点](//evil.example)<b>粗</b>王"  # 34 characters: fits a 40-character name
SHORT = "[点](//evil.example)"  # 19 characters: fits a crop (20)
# A cell a spreadsheet would evaluate: two households' heads and the note of an item in 公示.
FORMULA = '=HYPERLINK("http://evil.example/x","点我")王'

# Columns set to the payload by UPDATE; unique ones get the row id appended.
UPDATED: dict[str, tuple[str, ...]] = {
    "village": ("name", "township", "county"),
    "grid": ("name",),
    "household": ("door_no", "head_name", "phone", "address"),
    "resident": ("name", "phone"),
    "staff_user": ("display_name", "township", "county"),
    "rule_category": ("name",),
    "rule_item": ("code", "name", "adopted_by"),
    "product": ("name", "category", "unit", "barcode"),
    "activity": ("title", "category", "organiser", "place", "tasks"),
    "outside_volunteer": ("name", "unit", "phone", "card_no"),
    "plot": ("name", "location", "party_group"),
    "proposal": ("note", "decision_reason"),
    "beneficiary": ("reason",),
    "distribution_round": ("title",),
}
UNIQUE = {("grid", "name"), ("household", "door_no"), ("rule_item", "code"), ("product", "barcode"),
          ("outside_volunteer", "card_no")}

# Columns of history tables, written with the payload by core calls in seed().
THROUGH_CORE: dict[str, tuple[str, ...]] = {
    "ledger_entry": ("reason",),
    "audit_log": ("detail", "reason"),
    "stock_move": ("donor", "funding", "reason"),
    "decision": ("reason",),
    "objection": ("raised_by", "reason", "resolution"),
    "hours_correction": ("requested_by", "reason", "decision_note"),
    "season": ("crop",),
    "harvest": ("crop",),
    "produce_stock": ("crop",),
    "produce_move": ("crop", "note"),
    "fund_entry": ("source", "counterparty", "purpose", "items", "note"),
    "review_session": ("note",),
    "card": ("revoke_reason",),
    "redemption": ("void_reason",),
    "redemption_return": ("reason",),
    "allocation": ("signed_by", "note"),
    "import_batch": ("filename",),
    "session_attendee": ("name",),
    "household_event": ("note",),
}

# Text columns nobody types free text into, and why.
NOT_USER_TEXT: dict[str, tuple[str, ...]] = {
    "login_throttle": ("key",),  # hashed
    "rate_limit": ("key",),  # hashed
    "village": ("code",),  # generated (V00001)
    "setting": ("key", "value"),  # setting names; JSON of values checked by core.platform.settings
    "staff_user": ("username", "password_hash", "roles"),  # [A-Za-z0-9_.-]; hash; role codes
    "auth_session": ("id", "handoff_hash"),  # random, hashed
    "activity": ("status",),
    "distribution_round": ("crop", "rule", "params", "status"),  # crop chosen from stock; codes; JSON
    "fund_entry": ("kind", "entry_key", "digest"),  # codes; idempotency key; hash
    "import_batch": ("sha256",),
    "produce_move": ("kind", "ref_type", "ref_id"),
    "rule_item": ("cap_period",),  # month / year
    "stock_move": ("kind", "ref_type", "ref_id"),
    "harvest": ("photo_path",),  # generated file name
    "allocation": ("category", "via"),  # codes
    "beneficiary": ("category",),  # code
    "card": ("token", "status"),
    "resident": ("gender", "relation"),  # 男/女; a fixed list checked by the roster import
    "certificate": ("number",),  # generated
    "period_close": ("kind", "policy"),  # codes
    "honour_list": ("title",),  # generated (2026年度表彰名单)
    # number generated; name and door number copied at publishing from the household or the
    # resident (seeded with the payload there)
    "honour_entry": ("kind", "number", "name", "door_no"),
    "ledger_entry": ("kind", "source_type", "source_id"),
    "redemption": ("receipt_no", "cart_key", "status", "delivery"),
    "redemption_return": ("receipt_no", "return_key"),  # generated; idempotency key
    "signup": ("status",),
    "hours_correction": ("status",),
    "proposal": ("source", "source_ref", "status"),
    "decision": ("outcome",),
    "objection": ("status",),
    "proposal_photo": ("path", "mime", "sha256"),
    "vote": ("vote",),
    "session_attendee": ("capacity",),  # code
    "session_departure": ("kind",),  # code
    "audit_log": ("action", "target_type", "target_id"),  # codes named by the audit page
    "product": ("kind",),
    "household_event": ("kind", "reason"),  # codes
}


def _actors(db, village_id: int) -> dict:
    from core.platform.auth import actor_for
    from db.models import StaffUser

    with db.read() as s:
        users = list(s.execute(select(StaffUser).where(StaffUser.village_id == village_id)
                               .order_by(StaffUser.id)).scalars())
    out = {}
    for u in users:
        for role in u.roles.split(","):
            out.setdefault(role, actor_for(u))
    return out


def seed(db) -> dict:
    """Write the payloads into the (single) demo village of ``db``; returns ids the tests use."""
    from core.charity import distribution, field, produce
    from core.committee import proposals, publicity, review, sessions
    from core.platform import settings
    from core.platform.exports import csv_rows_bytes
    from core.points import corrections
    from core.supermarket import shop, stock
    from core.village import cards, roster, staff
    from core.volunteering import service_hours
    from db.models import Allocation, Attendance, DistributionRound, Grid, Household, Plot, Product, RuleItem, Village
    from tests.factories import all_agree

    with db.read() as s:
        vid = s.execute(select(Village.id).order_by(Village.id)).scalars().first()
    who = _actors(db, vid)
    admin = who["admin"]
    with db.write() as s:
        for table, columns in UPDATED.items():
            sets = ", ".join(f"{c} = :p || CAST(id AS TEXT)" if (table, c) in UNIQUE else f"{c} = :p"
                             for c in columns)
            s.execute(text(f"UPDATE {table} SET {sets}"), {"p": LONG})
    with db.read() as s:
        hids = list(s.execute(select(Household.id).where(Household.village_id == vid, Household.active)
                              .order_by(Household.id).limit(3)).scalars())
        rule = s.execute(select(RuleItem.id).where(RuleItem.village_id == vid, RuleItem.points > 0,
                                                   RuleItem.active).order_by(RuleItem.id)).scalars().first()
        product = s.execute(select(Product.id).where(Product.village_id == vid, Product.kind == "goods",
                                                     Product.active).order_by(Product.price, Product.id)
                            ).scalars().first()
        plot = s.execute(select(Plot.id).where(Plot.village_id == vid).order_by(Plot.id)).scalars().first()
        attendance = s.execute(select(Attendance.id).where(Attendance.minutes > 0).order_by(Attendance.id)
                               ).scalars().first()
    hid = hids[0]

    corrections.adjust(db, admin, hid, 500, LONG)
    stock.receive_stock(db, admin, product, 5, "donation", donor=NAME, funding=NAME, reason=LONG)
    staff.set_display_name(db, admin, who["grid_worker"].user_id, NAME)
    token = cards.reissue_card(db, admin, hid, LONG[:200])
    redemption = shop.checkout(db, who["cashier"], household_id=hid, card_id=None, cart={product: 1},
                               cart_key="payload-void")
    shop.void(db, who["cashier"], redemption, LONG)
    kept = shop.checkout(db, who["cashier"], household_id=hid, card_id=None, cart={product: 1},
                         cart_key="payload-kept")
    from core.supermarket import returns

    partly = shop.checkout(db, who["cashier"], household_id=hid, card_id=None, cart={product: 2},
                           cart_key="payload-return")
    returns.return_items(db, who["cashier"], partly,
                         {returns.returnable(db, vid, partly)[0].line_id: 1}, LONG, "payload-return")

    committee = who["committee"]
    with db.read() as s:
        session = sessions.open_session_of(s, vid)
        members = [u.id for u in sessions.committee_members(s, vid)]
    sid = session.id if session else sessions.open_session(db, committee, vid, held_on=dt.date.today(),
                                                         attendee_ids=members, note=LONG)
    settings.change(db, admin, vid, "guests_vote", True)  # the guest then has a place in the vote grid too
    sessions.add_guest(db, committee, sid, name=NAME, capacity="representative")
    pids = [proposals.submit(db, who["grid_worker"], household_id=h, rule_item_id=rule, act_date=dt.date.today(),
                             note=LONG) for h in hids[:3]]
    with db.write() as s:
        s.execute(text("UPDATE household SET head_name = :f WHERE id IN (:a, :b)"),
                  {"f": FORMULA, "a": hids[1], "b": hids[2]})
        s.execute(text("UPDATE proposal SET note = :f WHERE id = :p"), {"f": FORMULA, "p": pids[1]})
    review.decide(db, committee, sid, pids[0], "rejected", reason=LONG, votes=all_agree(db, sid))
    if review.decide(db, committee, sid, pids[1], "approved", reason=LONG,
                     votes=all_agree(db, sid)).status == "publicity":
        oid = publicity.log_objection(db, committee, pids[1], raised_by=NAME, reason=LONG)
        review.resolve_objection(db, committee, sid, oid, "upheld", LONG, all_agree(db, sid))

    lead = who["volunteer_lead"]
    if attendance is not None:
        with db.write() as s:  # "志愿者本人：<name>" must fit the 40 characters of requested_by
            s.execute(text("UPDATE resident SET name = :n WHERE id = (SELECT resident_id FROM attendance "
                           "WHERE id = :a)"), {"n": NAME, "a": attendance})
        cid = service_hours.request_correction(db, lead, attendance, 30, LONG)
        service_hours.decide_correction(db, lead, cid, False, LONG)

    if plot is not None:
        flead = who["field_lead"]
        season = field.add_season(db, flead, plot, crop=SHORT, sown_on=dt.date.today() - dt.timedelta(days=60))
        produce.record_harvest(db, flead, season_id=season, date=dt.date.today(), kg=20, note=LONG)
        produce.sell_surplus(db, flead, crop=SHORT, kg=2, amount_yuan=10, date=dt.date.today(), buyer=NAME,
                           note=LONG)
        produce.record_loss(db, flead, crop=SHORT, kg=1, reason=LONG)
        with db.read() as s:  # an allocation still to be signed for, signed by proxy with the payload
            aid = s.execute(select(Allocation.id).join(DistributionRound, DistributionRound.id == Allocation.round_id)
                            .where(DistributionRound.village_id == vid, DistributionRound.status == "confirmed",
                                   Allocation.delivered_at.is_(None), Allocation.grams > 0)
                            .order_by(Allocation.id)).scalars().first()
        if aid is not None:
            distribution.deliver_by_proxy(db, flead, aid, NAME, LONG[:200])
    from core.supermarket import fund

    fund.record_entry(db, admin, vid, kind="donation", date=dt.date.today(), amount_yuan="5000", counterparty=NAME,
                      note=LONG, entry_key="payload-fund-1")
    fund.record_entry(db, admin, vid, kind="other_income", date=dt.date.today(), amount_yuan="300", source=NAME,
                      entry_key="payload-fund-2")
    bought = fund.record_entry(db, who["cashier"], vid, kind="purchase", date=dt.date.today(), amount_yuan="120",
                               counterparty=NAME, items=LONG, entry_key="payload-fund-3")
    fund.record_entry(db, admin, vid, kind="other_spending", date=dt.date.today(), amount_yuan="80", purpose=LONG,
                      entry_key="payload-fund-4")
    fund.reverse_entry(db, admin, bought, LONG)
    with db.read() as s:
        grid = s.execute(select(Grid.name).where(Grid.village_id == vid).order_by(Grid.id)).scalars().first()
    rows = [roster.COLUMNS, ["payload-1", grid, NAME, "男", "1960", "户主", "否", ""]]
    roster.commit(db, admin, vid, f"{NAME}.csv", csv_rows_bytes(rows))
    from core.village import lifecycle

    with db.read() as s:
        moved = s.execute(select(Household.id).where(Household.village_id == vid, Household.door_no == "payload-1")
                          ).scalar_one()
    lifecycle.close_household(db, admin, moved, "moved", note=LONG[:200])
    lifecycle.reopen_household(db, admin, moved, note=LONG[:200])
    return {"village_id": vid, "households": hids, "token": token, "redemption": kept, "session": sid,
            "proposals": pids, "product": product}
