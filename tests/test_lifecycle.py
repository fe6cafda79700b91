"""户籍变动: households and residents that move away, die, split and merge — every step
recorded as history, points moved only by ledger entries naming each other, closed households
refused at the counter, by card and in the rankings, their history still readable."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.committee import proposals
from core.maintenance.verify import verify
from core.platform.errors import InvalidInput, NotAllowed, NotFound
from core.reporting import rankings
from core.reporting.periods import period_of
from core.supermarket import shop
from core.village import cards, households, lifecycle, roster
from core.village.households import history, household
from db.models import Account, AuditLog, Card, Household, HouseholdEvent, LedgerEntry, Product, Resident
from tests.factories import give_points

DAY = dt.date.today() - dt.timedelta(days=3)


def _acc(db, hid: int) -> tuple[int, int]:
    with db.read() as s:
        a = s.get(Account, hid)
        return a.balance, a.earned_total


def _add_member(db, village, hid: int, name: str, relation: str = "子女") -> int:
    with db.write() as s:
        r = Resident(village_id=village.id, household_id=hid, name=name, relation=relation)
        s.add(r)
        s.flush()
        return r.id


def _events(db, hid: int) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(HouseholdEvent.kind).where(HouseholdEvent.household_id == hid)
                              .order_by(HouseholdEvent.id)).scalars())


def test_closing_a_household_revokes_its_cards_and_keeps_its_balance_and_history(db, village):
    h1 = village.household_ids[0]
    give_points(db, h1, 40, "a")
    token = cards.issue_card(db, village.admin, h1)
    done = lifecycle.close_household(db, village.admin, h1, "moved", note="随子女迁往济南", on=DAY)
    assert "积分卡 1 张已作废" in done.message
    assert _acc(db, h1) == (40, 40)  # kept on the closed account
    with db.read() as s:
        assert not s.get(Household, h1).active
        assert s.execute(select(Card.status).where(Card.household_id == h1)).scalar_one() == "revoked"
        with pytest.raises(NotFound, match=f"已于 {DAY.isoformat()} 注销（整户迁出）"):
            cards.resolve(s, village.id, token)
        view = household(s, village.id, h1)  # history still readable
        assert not view.active and view.balance == 40
        assert len(history(s, h1)) == 1
        assert proposals.find_households(s, village.id, "1-001") == []
        assert proposals.find_households(s, village.id, "1-001", include_closed=True)[0]["label"].endswith("（已注销）")
        assert s.execute(select(AuditLog.reason).where(AuditLog.action == "household.close")).scalar_one() == \
            "随子女迁往济南"
    assert _events(db, h1) == ["close"]
    with pytest.raises(NotFound, match="注销"):
        cards.issue_card(db, village.admin, h1)
    assert verify(db) == []


def test_a_closed_household_cannot_redeem_and_is_not_ranked(db, village):
    h1, h2 = village.household_ids[:2]
    give_points(db, h1, 40, "a")
    give_points(db, h2, 10, "b")
    with db.write() as s:
        p = Product(village_id=village.id, name="洗衣粉", unit="袋", price=5, stock=10, kind="goods")
        s.add(p)
        s.flush()
        pid = p.id
    lifecycle.close_household(db, village.admin, h1, "died", on=DAY)
    with pytest.raises(NotFound, match="注销（户内人员均已去世）"):
        shop.checkout(db, village.actors["cashier"], household_id=h1, card_id=None, cart={pid: 1}, cart_key="k1")
    with db.read() as s:
        ranked = rankings.households(s, village.id, period_of("month", dt.date.today()))
    assert "1-001" not in {h.door_no for h in ranked} and "1-002" in {h.door_no for h in ranked}


def test_closing_can_move_the_balance_to_another_household_by_entries_naming_each_other(db, village):
    h1, h2 = village.household_ids[:2]
    give_points(db, h1, 40, "a")
    lifecycle.close_household(db, village.admin, h1, "moved", on=DAY, balance_to=h2)
    assert _acc(db, h1) == (0, 40) and _acc(db, h2) == (40, 0)  # earned stays with who earned it
    with db.read() as s:
        rows = s.execute(select(LedgerEntry.household_id, LedgerEntry.kind, LedgerEntry.delta_balance,
                                LedgerEntry.reason, LedgerEntry.occurred_on)
                         .where(LedgerEntry.source_type == "household_event").order_by(LedgerEntry.id)).all()
    assert [(h, k, d, day) for h, k, d, _, day in rows] == [(h1, "transfer", -40, DAY), (h2, "transfer", 40, DAY)]
    assert "转出至 1-002 户主2" in rows[0].reason and "由 1-001 户主1 转入" in rows[1].reason
    assert verify(db) == []


def test_reopening_is_a_new_step_and_the_household_works_again(db, village):
    h1 = village.household_ids[0]
    lifecycle.close_household(db, village.admin, h1, "other", on=DAY)
    with pytest.raises(InvalidInput, match="原因"):
        lifecycle.reopen_household(db, village.admin, h1)
    lifecycle.reopen_household(db, village.admin, h1, note="登记错了")
    assert _events(db, h1) == ["close", "reopen"]
    cards.issue_card(db, village.admin, h1)
    with db.read() as s:
        assert s.get(Household, h1).active and lifecycle.close_info(s, h1) is None


def test_a_resident_who_dies_leaves_the_members_list_and_a_head_needs_a_successor(db, village):
    h1 = village.household_ids[0]
    head = village.resident_ids[0]
    son = _add_member(db, village, h1, "户主1之子", "儿子")
    with pytest.raises(InvalidInput, match="请选择新的户主"):
        lifecycle.resident_leaves(db, village.admin, head, "died", on=DAY)
    lifecycle.resident_leaves(db, village.admin, head, "died", on=DAY, new_head_id=son)
    with db.read() as s:
        hh = s.get(Household, h1)
        assert hh.head_name == "户主1之子" and not s.get(Resident, head).active
        assert s.get(Resident, son).relation == "户主"
        assert [e.what for e in lifecycle.events(s, h1)] == ["变更户主", "成员迁出/去世（去世）"]
    with pytest.raises(InvalidInput, match="最后一位成员"):
        lifecycle.resident_leaves(db, village.admin, son, "moved", on=DAY)
    lifecycle.resident_returns(db, village.admin, head, note="误登记")
    with db.read() as s:
        assert s.get(Resident, head).active and s.get(Resident, head).relation == "其他"


def test_the_household_screen_and_the_lifecycle_choices_follow_what_was_recorded(db, village):
    h1, h2 = village.household_ids[:2]
    head = village.resident_ids[0]
    son = _add_member(db, village, h1, "户主1之子", "儿子")
    give_points(db, h1, 12, "a")
    lifecycle.resident_leaves(db, village.admin, head, "died", on=DAY, new_head_id=son)
    screen = households.household_screen(db, village.id, h1)
    assert screen.view.head_name == "户主1之子" and screen.view.balance == 12 and screen.closed is None
    assert [m.name for m in screen.members] == ["户主1之子"] and len(screen.history) == 1
    assert [e.what for e in screen.events] == ["变更户主", "成员迁出/去世（去世）"]
    choices = households.lifecycle_choices(db, village.id, h1)
    assert choices.members == [households.Member(son, "户主1之子", "户主")]
    assert choices.former == [(head, "户主1", "户主")]
    assert {c.id for c in households.household_choices(db, village.id)} == set(village.household_ids)
    assert households.members_of(db, h1) == choices.members
    lifecycle.merge(db, village.admin, h1, h2, note="合户", on=DAY)
    closed = households.household_screen(db, village.id, h1)
    assert not closed.view.active and closed.closed == (DAY, "并入他户") and closed.members == []
    assert h1 not in [c.id for c in households.household_choices(db, village.id)]  # closed: not offered
    assert h1 in [c.id for c in households.household_choices(db, village.id, include_closed=True)]
    with pytest.raises(NotFound):
        households.household_screen(db, village.id + 1, h2)


def test_splitting_moves_the_chosen_members_and_the_agreed_points_to_a_new_household(db, village):
    h1 = village.household_ids[0]
    give_points(db, h1, 50, "a")
    son = _add_member(db, village, h1, "户主1之子", "儿子")
    wife = _add_member(db, village, h1, "户主1儿媳", "儿媳")
    done = lifecycle.split(db, village.admin, h1, [son, wife], door_no="１－０９９", points=20, head_id=son,
                           note="儿子结婚分户", on=DAY)
    new = done.other_household_id
    assert _acc(db, h1) == (30, 50) and _acc(db, new) == (20, 0)
    with db.read() as s:
        nh = s.get(Household, new)
        assert (nh.door_no, nh.head_name, nh.active, nh.grid_id) == ("1-099", "户主1之子", True, village.grid_ids[0])
        assert {r.name for r in s.execute(select(Resident).where(Resident.household_id == new)).scalars()} == \
            {"户主1之子", "户主1儿媳"}
        assert s.get(Resident, son).relation == "户主"
        old_events = lifecycle.events(s, h1)
        assert (old_events[0].kind, old_events[0].other, old_events[0].points) == ("split_out", "1-099 户主1之子", 20)
        assert lifecycle.events(s, new)[0].other == "1-001 户主1"
    assert verify(db) == []


def test_a_split_that_asks_for_more_than_the_balance_or_takes_the_head_is_refused_whole(db, village):
    h1 = village.household_ids[0]
    give_points(db, h1, 10, "a")
    son = _add_member(db, village, h1, "户主1之子")
    with db.read() as s:
        before = s.execute(select(func.count()).select_from(Household)).scalar_one()
    with pytest.raises(InvalidInput, match="不能转出 20 分"):
        lifecycle.split(db, village.admin, h1, [son], door_no="1-099", points=20)
    with pytest.raises(InvalidInput, match="户主"):
        lifecycle.split(db, village.admin, h1, [village.resident_ids[0]], door_no="1-099")
    with pytest.raises(InvalidInput, match="已有一户"):
        lifecycle.split(db, village.admin, h1, [son], door_no="1-002")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Household)).scalar_one() == before
        assert s.get(Resident, son).household_id == h1
        assert s.execute(select(func.count()).select_from(HouseholdEvent)).scalar_one() == 0
    assert _acc(db, h1) == (10, 10)


def test_merging_moves_members_and_balance_and_closes_the_old_household(db, village):
    h1, h2 = village.household_ids[:2]
    give_points(db, h1, 25, "a")
    give_points(db, h2, 5, "b")
    cards.issue_card(db, village.admin, h1)
    done = lifecycle.merge(db, village.admin, h1, h2, note="老人随女儿生活", on=DAY)
    assert "2 位成员" not in done.message and "1 位成员和 25 分" in done.message
    assert _acc(db, h1) == (0, 25) and _acc(db, h2) == (30, 5)
    with db.read() as s:
        assert not s.get(Household, h1).active
        moved = s.get(Resident, village.resident_ids[0])
        assert (moved.household_id, moved.relation) == (h2, "其他")
        assert s.execute(select(Card.status).where(Card.household_id == h1)).scalar_one() == "revoked"
        assert lifecycle.close_info(s, h1) == (DAY, "并入他户")
    assert _events(db, h1) == ["merge_out"] and _events(db, h2) == ["merge_in"]
    with pytest.raises(InvalidInput, match="已注销"):
        lifecycle.merge(db, village.admin, h1, h2)
    assert verify(db) == []


def test_a_household_with_outstanding_points_cannot_be_merged_away(db, village):
    h1, h2 = village.household_ids[:2]
    from core.points import posting
    with db.write() as s:
        posting.post(s, household_id=h1, kind="deducted", points=-5, source_type="test", source_id="d")
    with pytest.raises(InvalidInput, match="待扣积分 5 分"):
        lifecycle.merge(db, village.admin, h1, h2)
    with db.read() as s:
        assert s.get(Household, h1).active


def test_transfers_cannot_be_reversed_alone(db, village):
    from core.points import corrections
    h1, h2 = village.household_ids[:2]
    give_points(db, h1, 10, "a")
    lifecycle.merge(db, village.admin, h1, h2)
    with db.read() as s:
        eid = s.execute(select(LedgerEntry.id).where(LedgerEntry.kind == "transfer")).scalars().first()
    with pytest.raises(InvalidInput, match="积分转移"):
        corrections.reverse(db, village.admin, eid, "试")


def test_only_the_villages_admin_records_household_changes(db, village):
    h1, h2 = village.household_ids[:2]
    for role in ("cashier", "committee", "grid_worker"):
        with pytest.raises(NotAllowed):
            lifecycle.close_household(db, village.actors[role], h1, "moved")
        with pytest.raises(NotAllowed):
            lifecycle.merge(db, village.actors[role], h1, h2)
    assert _events(db, h1) == []


def test_an_old_roster_file_does_not_silently_bring_back_a_closed_household(db, village):
    h1 = village.household_ids[0]
    lifecycle.close_household(db, village.admin, h1, "moved")
    data = "门牌号,网格,姓名,与户主关系\n1-001,第一网格,户主1,户主\n".encode()
    plan = roster.preview(db, village.admin, village.id, "r.csv", data)
    assert "已注销" in "\n".join(plan.errors)
    with pytest.raises(InvalidInput):
        roster.commit(db, village.admin, village.id, "r.csv", data)
    with db.read() as s:
        assert not s.get(Household, h1).active


def test_the_card_page_of_a_closed_household_says_so(db, village):
    from core.public import resident

    h1 = village.household_ids[0]
    token = cards.issue_card(db, village.admin, h1)
    lifecycle.close_household(db, village.admin, h1, "moved")
    with pytest.raises(NotFound, match="已注销"):
        resident.view(db, token)
