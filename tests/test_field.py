"""Charity field services on SQLite and PostgreSQL: harvest → stock → rounds → delivery."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.charity import distribution, field, field_aid, produce
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound, OutOfStock
from db.models import Allocation, Beneficiary, ProduceMove, ProduceStock, Resident

TODAY = dt.date.today()


@pytest.fixture
def lead(village):
    return village.actors["field_lead"]


def _season(db, lead, crop="土豆"):
    pid = field.save_plot(db, lead, name="老义田", area_mu="3.5", location="村东", party_group="第一党小组")
    return field.add_season(db, lead, pid, crop=crop, sown_on=TODAY - dt.timedelta(days=120))


def _harvest(db, lead, kg, crop="土豆"):
    return produce.record_harvest(db, lead, season_id=_season(db, lead, crop), date=TODAY, kg=kg)


def _register_all(db, village, lead, category="elderly"):
    for hid in village.household_ids:
        field_aid.register(db, lead, household_id=hid, category=category, reason="", approve=True,
                           valid_until=TODAY + dt.timedelta(days=365))


def _stock(db, village, crop="土豆"):
    with db.read() as s:
        return s.execute(select(ProduceStock.grams).where(ProduceStock.village_id == village.id,
                                                          ProduceStock.crop == crop)).scalar()


def test_a_harvest_of_123_4_kg_is_stored_as_grams_and_fills_the_stock(db, village, lead):
    _harvest(db, lead, "123.4")
    assert _stock(db, village) == 123_400
    assert produce.verify_produce(db, village.id) == []


@pytest.mark.parametrize("bad", ["", "-1", "0", "1.25", "abc", "nan", "2000000"])
def test_a_bad_weight_is_refused(db, village, lead, bad):
    sid = _season(db, lead)
    with pytest.raises(InvalidInput):
        produce.record_harvest(db, lead, season_id=sid, date=TODAY, kg=bad)


def test_a_grid_worker_cannot_record_a_harvest(db, village, lead):
    sid = _season(db, lead)
    with pytest.raises(NotAllowed):
        produce.record_harvest(db, village.actors["grid_worker"], season_id=sid, date=TODAY, kg="10")


def test_a_round_sums_exactly_to_an_awkward_total_and_takes_it_from_stock(db, village, lead):
    _harvest(db, lead, "500")
    _register_all(db, village, lead)
    rid = distribution.create_round(db, lead, title="测试", crop="土豆", total_kg="100.1", rule="household")
    assert _stock(db, village) == 500_000  # a draft takes nothing
    distribution.confirm_round(db, lead, rid)
    with db.read() as s:
        grams = s.execute(select(Allocation.grams).where(Allocation.round_id == rid)).scalars().all()
    assert sum(grams) == 100_100 and all(g % 100 == 0 for g in grams)
    assert sorted(grams) == [25_000, 25_000, 25_000, 25_100]
    assert _stock(db, village) == 500_000 - 100_100
    assert produce.verify_produce(db, village.id) == []


def test_weights_and_the_maximum_are_respected_by_a_round(db, village, lead):
    _harvest(db, lead, "100")
    h = village.household_ids
    field_aid.register(db, lead, household_id=h[0], category="wubao", approve=True)
    field_aid.register(db, lead, household_id=h[1], category="elderly", approve=True)
    field_aid.register(db, lead, household_id=h[2], category="elderly", approve=True)
    rid = distribution.create_round(db, lead, title="", crop="土豆", total_kg="40", rule="weighted", max_kg="15")
    with db.read() as s:
        got = dict(s.execute(select(Allocation.household_id, Allocation.grams).where(Allocation.round_id == rid)).all())
    # weights 2 : 1 : 1 would give 20/10/10; the 15 kg cap passes 5 kg on to the others
    assert got == {h[0]: 15_000, h[1]: 12_500, h[2]: 12_500}


def test_a_round_larger_than_the_stock_is_refused_and_nothing_goes_negative(db, village, lead):
    _harvest(db, lead, "10")
    _register_all(db, village, lead)
    with pytest.raises(InvalidInput, match="库存只有 10.0 公斤"):
        distribution.create_round(db, lead, title="", crop="土豆", total_kg="10.1", rule="household")
    r1 = distribution.create_round(db, lead, title="", crop="土豆", total_kg="8", rule="household")
    r2 = distribution.create_round(db, lead, title="", crop="土豆", total_kg="8", rule="household")
    distribution.confirm_round(db, lead, r1)
    with pytest.raises(OutOfStock, match="库存不足"):
        distribution.confirm_round(db, lead, r2)
    assert _stock(db, village) == 2_000
    with pytest.raises(OutOfStock):
        produce.record_loss(db, lead, crop="土豆", kg="2.1", reason="烂了")


def test_confirming_twice_takes_the_stock_once(db, village, lead):
    _harvest(db, lead, "50")
    _register_all(db, village, lead)
    rid = distribution.create_round(db, lead, title="", crop="土豆", total_kg="20", rule="person")
    distribution.confirm_round(db, lead, rid)
    with pytest.raises(AlreadyDone):
        distribution.confirm_round(db, lead, rid)
    with db.read() as s:
        n = s.execute(select(func.count()).select_from(ProduceMove).where(ProduceMove.kind == "deliver")).scalar()
    assert n == 1 and _stock(db, village) == 30_000


def test_an_adjusted_table_that_no_longer_sums_to_the_total_is_refused(db, village, lead):
    _harvest(db, lead, "50")
    _register_all(db, village, lead)
    rid = distribution.create_round(db, lead, title="", crop="土豆", total_kg="20", rule="household")
    h = village.household_ids
    with pytest.raises(InvalidInput, match="还差 1.0 公斤"):
        distribution.confirm_round(db, lead, rid, {h[0]: 4_000})
    distribution.confirm_round(db, lead, rid, {h[0]: 4_000, h[1]: 6_000})
    with db.read() as s:
        got = dict(s.execute(select(Allocation.household_id, Allocation.grams).where(Allocation.round_id == rid)).all())
    assert got[h[0]] == 4_000 and got[h[1]] == 6_000 and sum(got.values()) == 20_000


def test_expired_and_unapproved_beneficiaries_are_not_allocated(db, village, lead):
    _harvest(db, lead, "50")
    h = village.household_ids
    field_aid.register(db, lead, household_id=h[0], category="elderly", approve=True)
    field_aid.register(db, lead, household_id=h[1], category="dibao", approve=False)  # unapproved
    b = field_aid.register(db, lead, household_id=h[2], category="wubao", approve=True)
    with db.write() as s:  # lapsed yesterday
        s.get(Beneficiary, b).valid_until = TODAY - dt.timedelta(days=1)
    b3 = field_aid.register(db, lead, household_id=h[3], category="disabled", approve=True)
    field_aid.deactivate(db, lead, b3, "已迁出")
    rid = distribution.create_round(db, lead, title="", crop="土豆", total_kg="10", rule="household")
    with db.read() as s:
        got = dict(s.execute(select(Allocation.household_id, Allocation.grams).where(Allocation.round_id == rid)).all())
    assert got == {h[0]: 10_000}


def test_a_beneficiary_who_lapses_after_the_draft_blocks_the_confirmation(db, village, lead):
    _harvest(db, lead, "50")
    _register_all(db, village, lead)
    rid = distribution.create_round(db, lead, title="", crop="土豆", total_kg="10", rule="household")
    with db.read() as s:
        bid = s.execute(select(Beneficiary.id).where(Beneficiary.household_id == village.household_ids[0])).scalar()
    field_aid.deactivate(db, lead, bid, "去世")
    with pytest.raises(InvalidInput, match="已不在有效的受助名单"):
        distribution.confirm_round(db, lead, rid)
    assert _stock(db, village) == 50_000


def test_other_hardship_needs_a_reason(db, village, lead):
    with pytest.raises(InvalidInput, match="原因"):
        field_aid.register(db, lead, household_id=village.household_ids[0], category="hardship")


def _confirmed_round(db, village, lead):
    _harvest(db, lead, "50")
    _register_all(db, village, lead)
    rid = distribution.create_round(db, lead, title="", crop="土豆", total_kg="20", rule="household")
    distribution.confirm_round(db, lead, rid)
    return rid


def test_a_household_delivered_twice_by_card_is_refused(db, village, lead):
    from core.village.cards import issue_card

    rid = _confirmed_round(db, village, lead)
    token = issue_card(db, village.admin, village.household_ids[0])
    assert "已签领 5.0 公斤" in distribution.deliver_by_card(db, lead, rid, token)
    with pytest.raises(AlreadyDone, match="不能重复发放"):
        distribution.deliver_by_card(db, lead, rid, token)
    with db.read() as s:
        aid = s.execute(select(Allocation.id).where(Allocation.round_id == rid,
                                                    Allocation.household_id == village.household_ids[0])).scalar()
    with pytest.raises(AlreadyDone):
        distribution.deliver_by_proxy(db, lead, aid, "邻居代领")


def test_delivery_by_proxy_records_who_signed_and_the_undelivered_list_shrinks(db, village, lead):
    rid = _confirmed_round(db, village, lead)
    rows = distribution.allocations(db, village.id, rid, only_undelivered=True)
    assert len(rows) == 4
    with pytest.raises(InvalidInput, match="签领人"):
        distribution.deliver_by_proxy(db, lead, rows[0].id, "  ")
    distribution.deliver_by_proxy(db, lead, rows[0].id, "张三（儿子）", "送货上门")
    left = distribution.allocations(db, village.id, rid, only_undelivered=True)
    assert len(left) == 3 and rows[0].id not in {a.id for a in left}
    row = next(a for a in distribution.allocations(db, village.id, rid) if a.id == rows[0].id)
    assert row.signed_by == "张三（儿子）" and row.via == "proxy" and row.note == "送货上门"
    assert row.delivered_at is not None and row.staff and row.kg == 5.0


def test_a_card_of_a_household_outside_the_round_is_refused(db, village, lead):
    from core.village.cards import issue_card

    _harvest(db, lead, "50")
    field_aid.register(db, lead, household_id=village.household_ids[0], category="elderly", approve=True)
    rid = distribution.create_round(db, lead, title="", crop="土豆", total_kg="20", rule="household")
    distribution.confirm_round(db, lead, rid)
    token = issue_card(db, village.admin, village.household_ids[1])
    with pytest.raises(NotFound, match="不在本轮分配名单"):
        distribution.deliver_by_card(db, lead, rid, token)


def test_a_draft_cannot_be_signed_for(db, village, lead):
    _harvest(db, lead, "50")
    _register_all(db, village, lead)
    rid = distribution.create_round(db, lead, title="", crop="土豆", total_kg="20", rule="household")
    aid = distribution.allocations(db, village.id, rid)[0].id
    with pytest.raises(InvalidInput, match="不能签领"):
        distribution.deliver_by_proxy(db, lead, aid, "本人")


def test_the_sign_off_sheet_is_a_pdf_with_the_undelivered_households(db, village, lead):
    rid = _confirmed_round(db, village, lead)
    pdf = distribution.signoff_pdf(db, village.id, rid)
    assert pdf.startswith(b"%PDF")


def test_surplus_to_the_shop_moves_kilos_out_and_units_in_together(db, village, lead):
    from db.models import Product, StockMove

    _harvest(db, lead, "100")
    with db.write() as s:
        p = Product(village_id=village.id, name="义田土豆 5斤装", price=10, unit="袋", stock=0)
        s.add(p)
        s.flush()
        pid = p.id
    produce.transfer_to_shop(db, lead, crop="土豆", kg="50", product_id=pid, qty=20)
    assert _stock(db, village) == 50_000
    with db.read() as s:
        assert s.get(Product, pid).stock == 20
        assert s.execute(select(StockMove.kind).where(StockMove.product_id == pid)).scalar() == "harvest"
    with pytest.raises(OutOfStock):
        produce.transfer_to_shop(db, lead, crop="土豆", kg="60", product_id=pid, qty=20)
    with db.read() as s:
        assert s.get(Product, pid).stock == 20  # the failed transfer left the shelf alone


def test_a_sale_of_surplus_enters_the_village_fund(db, village, lead):
    from db.models import FundEntry

    _harvest(db, lead, "100")
    produce.sell_surplus(db, lead, crop="土豆", kg="40", amount_yuan="120.50", date=TODAY, buyer="镇农贸市场")
    with db.read() as s:
        assert s.execute(select(FundEntry.amount_fen)).scalar() == 12_050
    assert _stock(db, village) == 60_000
    with pytest.raises(InvalidInput):
        produce.sell_surplus(db, lead, crop="土豆", kg="1", amount_yuan="1.234", date=TODAY)
    produce.sell_surplus(db, lead, crop="土豆", kg="10", amount_yuan="30", date=TODAY - dt.timedelta(days=40))
    fund = produce.fund_entries(db, village.id)
    assert [e.amount_fen for e in fund] == [12_050, 3_000] and [e.source for e in fund] == ["义田出售"] * 2
    assert fund[0].yuan == 120.5 and "镇农贸市场" in fund[0].note and fund[0].staff
    assert [e.yuan for e in produce.fund_entries(db, village.id, date_from=TODAY - dt.timedelta(days=7))] == [120.5]


def test_suggestions_list_households_with_a_member_aged_70_plus(db, village, lead):
    with db.write() as s:
        s.add(Resident(village_id=village.id, household_id=village.household_ids[2], name="老奶奶", gender="女",
                       birth_year=TODAY.year - 75, relation="父母"))
    rows = field_aid.suggestions(db, village.id)
    assert [r.household_id for r in rows] == [village.household_ids[2]]
    assert ("老奶奶", 75) in rows[0].elderly and "老奶奶（75岁）" in rows[0].elderly_text
    assert field_aid.confirm_suggestions(db, lead, [village.household_ids[2]], TODAY + dt.timedelta(days=365)) == 1
    assert field_aid.suggestions(db, village.id) == []


def test_a_work_day_counts_as_confirmed_volunteer_hours_in_the_season_report(db, village, lead):
    from core.charity.field_report import report_tables, season_report
    from core.volunteering.service_hours import confirm

    pid = field.save_plot(db, lead, name="新义田", area_mu="16.5")
    field.add_season(db, lead, pid, crop="花生", sown_on=TODAY - dt.timedelta(days=100))
    aid = field.create_work_day(db, lead, plot_id=pid, date=TODAY - dt.timedelta(days=50), tasks="除草")
    field.add_work_hours(db, lead, aid, village.resident_ids[:3], 180)
    assert confirm(db, lead, aid) == 3
    produce.record_harvest(db, lead, season_id=field.season_choices(db, village.id)[0][0], date=TODAY, kg="300")
    _register_all(db, village, lead)
    rid = distribution.create_round(db, lead, title="", crop="花生", total_kg="100", rule="household")
    distribution.confirm_round(db, lead, rid)
    aid0 = distribution.allocations(db, village.id, rid)[0].id
    distribution.deliver_by_proxy(db, lead, aid0, "本人")
    rep = season_report(db, village.id, TODAY - dt.timedelta(days=365), TODAY)
    assert rep.area_mu == 16.5 and rep.work_days == 1 and rep.volunteer_minutes == 540
    assert rep.harvested_grams == 300_000 and rep.delivered_grams == 25_000
    assert rep.households == 1 and rep.people == 1
    assert [(c.crop, c.harvested_grams, c.delivered_grams) for c in rep.by_crop] == [("花生", 300_000, 25_000)]
    assert {c.category: c.households for c in rep.by_category}["elderly"] == 1
    assert report_tables(rep)["按类别"].set_index("类别").loc["70岁以上老人", "发放（公斤）"] == 25.0
    from core.charity.field_report import report_pdf

    assert report_pdf(rep).startswith(b"%PDF")


def test_a_weighing_photo_is_kept_and_anything_but_an_image_is_refused(db, village, lead, tmp_path):
    sid = _season(db, lead)
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (64, 48), 200).save(buf, "PNG")
    png = buf.getvalue()
    produce.record_harvest(db, lead, season_id=sid, date=TODAY, kg="5", photo=png, photo_dir=tmp_path)
    (label, path), = produce.harvest_photos(db, village.id, tmp_path)
    assert "5.0 公斤" in label and path.read_bytes() == png
    with pytest.raises(InvalidInput, match="JPG 或 PNG"):
        produce.record_harvest(db, lead, season_id=sid, date=TODAY, kg="5", photo=b"<html>", photo_dir=tmp_path)
    assert _stock(db, village) == 5_000


def _race(fns):
    """Run the callables at the same moment in threads; return what each returned or raised."""
    import threading

    barrier = threading.Barrier(len(fns))
    out: list[object] = [None] * len(fns)

    def go(i):
        barrier.wait()
        try:
            out[i] = fns[i]()
        except Exception as e:  # the outcome is what the test inspects
            out[i] = e

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_two_staff_scanning_the_same_card_at_once_hand_out_once(db, village, lead):
    from core.village.cards import issue_card

    rid = _confirmed_round(db, village, lead)
    token = issue_card(db, village.admin, village.household_ids[0])
    admin = village.admin
    results = _race([lambda: distribution.deliver_by_card(db, lead, rid, token),
                     lambda: distribution.deliver_by_card(db, admin, rid, token),
                     lambda: distribution.deliver_by_card(db, lead, rid, token)])
    assert sum(isinstance(r, str) for r in results) == 1
    assert all(isinstance(r, (str, AlreadyDone)) for r in results), results


def test_two_rounds_confirmed_at_once_never_take_more_than_the_stock(db, village, lead):
    _harvest(db, lead, "10")
    _register_all(db, village, lead)
    r1 = distribution.create_round(db, lead, title="", crop="土豆", total_kg="7", rule="household")
    r2 = distribution.create_round(db, lead, title="", crop="土豆", total_kg="7", rule="household")
    results = _race([lambda: distribution.confirm_round(db, lead, r1), lambda: distribution.confirm_round(db, lead, r2)])
    assert sum(isinstance(r, int) for r in results) == 1
    assert any(isinstance(r, OutOfStock) for r in results), results
    assert _stock(db, village) == 3_000
    assert produce.verify_produce(db, village.id) == []


def test_a_lapsed_entry_renewed_is_allocated_again(db, village, lead):
    _harvest(db, lead, "50")
    b = field_aid.register(db, lead, household_id=village.household_ids[0], category="elderly", approve=True)
    field_aid.register(db, lead, household_id=village.household_ids[1], category="elderly", approve=True)
    with db.write() as s:
        s.get(Beneficiary, b).valid_until = TODAY - dt.timedelta(days=1)
    assert {e.id: e.status for e in field_aid.register_entries(db, village.id)}[b] == "expired"
    field_aid.renew(db, lead, b, TODAY + dt.timedelta(days=200))
    rid = distribution.create_round(db, lead, title="", crop="土豆", total_kg="10", rule="household")
    with db.read() as s:
        assert len(s.execute(select(Allocation.id).where(Allocation.round_id == rid)).all()) == 2


def test_closing_a_round_returns_what_was_not_collected_to_the_stock_once(db, village, lead):
    from core.maintenance.verify import verify

    rid = _confirmed_round(db, village, lead)  # 20 kg for 4 households, 50 kg harvested
    assert _stock(db, village) == 30_000
    with db.read() as s:
        first = s.execute(select(Allocation.id).where(Allocation.round_id == rid).order_by(Allocation.id)).scalar()
    distribution.deliver_by_proxy(db, lead, first, "本人")
    with pytest.raises(InvalidInput, match="请填写结束原因"):
        distribution.close_round(db, lead, rid, "  ")
    assert distribution.close_round(db, lead, rid, "三户外出务工，土豆不宜久放") == 15_000
    assert _stock(db, village) == 45_000
    with pytest.raises(InvalidInput, match="只有已确认"):
        distribution.close_round(db, lead, rid, "再点一次")
    with pytest.raises(InvalidInput, match="不能签领"):
        distribution.deliver_by_proxy(db, lead, first + 1, "邻居")
    assert sorted(a.via for a in distribution.allocations(db, village.id, rid)) == ["proxy", "returned", "returned",
                                                                                  "returned"]
    assert _stock(db, village) == 45_000 and verify(db) == []


def test_only_a_field_lead_closes_a_round(db, village, lead):
    rid = _confirmed_round(db, village, lead)
    with pytest.raises(NotAllowed):
        distribution.close_round(db, village.actors["cashier"], rid, "试试")
