"""Rules catalogue: versions on change, adoption body and date, deactivate not delete."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.committee import proposals
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed
from core.village import rules
from db.models import Proposal, RuleItem
from tests.factories import make_village


@pytest.fixture
def v(db):
    return make_village(db)


def test_changing_points_makes_a_new_version_and_old_proposals_keep_theirs(db, v):
    old_id = v.rule_ids["HJ01"]
    pid = proposals.submit(db, v.actors["grid_worker"], household_id=v.household_ids[0], rule_item_id=old_id,
                           act_date=dt.date.today())
    new_id = rules.revise_item(db, v.admin, old_id, name="庭院整洁", points=6, min_points=3, max_points=12,
                               cap_count=1, cap_period="month", adopted_by="村民代表大会",
                               adopted_on=dt.date(2026, 3, 1))
    with db.read() as s:
        old, new = s.get(RuleItem, old_id), s.get(RuleItem, new_id)
        assert (old.active, old.points, new.version, new.points, new.supersedes_id) == (False, 5, 2, 6, old_id)
        assert (new.adopted_by, new.adopted_on) == ("村民代表大会", dt.date(2026, 3, 1))
        assert s.get(Proposal, pid).rule_item_id == old_id
        assert [i.id for i in rules.catalogue(s, v.id) if i.code == "HJ01"] == [new_id]
        assert len(rules.versions(s, v.id, "HJ01")) == 2
    with pytest.raises(AlreadyDone):
        rules.revise_item(db, v.admin, old_id, name="x", points=7, min_points=3, max_points=12, adopted_by="村委会")


def test_a_deactivated_item_cannot_be_proposed_and_is_not_deleted(db, v):
    rules.set_item_active(db, v.admin, v.rule_ids["HJ06"], False)
    with pytest.raises(InvalidInput, match="停用"):
        proposals.submit(db, v.actors["grid_worker"], household_id=v.household_ids[0],
                         rule_item_id=v.rule_ids["HJ06"], act_date=dt.date.today())
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(RuleItem)).scalar_one() == 2
        assert "HJ06" not in [i.code for i in rules.catalogue(s, v.id)]
    rules.set_item_active(db, v.admin, v.rule_ids["HJ06"], True)



def test_the_whole_catalogue_keeps_every_version_and_inactive_categories(db, v):
    new_id = rules.revise_item(db, v.admin, v.rule_ids["HJ01"], name="庭院整洁", points=6, min_points=3,
                               max_points=12, cap_count=1, cap_period="month", adopted_by="村民代表大会")
    cat = rules.create_category(db, v.admin, v.id, "孝老爱亲")
    rules.set_category_active(db, v.admin, cat, False)
    whole = rules.whole_catalogue(db, v.id)
    assert [(i.code, i.version, i.active) for i in whole.items if i.code == "HJ01"] == [("HJ01", 1, False),
                                                                                        ("HJ01", 2, True)]
    assert whole.categories == [rules.CategoryView(v.category_ids[0], "环境卫生", True),
                                rules.CategoryView(cat, "孝老爱亲", False)]
    assert [i.id for i in rules.catalogue_of(db, v.id) if i.code == "HJ01"] == [new_id]  # the active one only


@pytest.mark.parametrize("pts,lo,hi,cap,period", [
    (0, -1, 1, None, None), (5, 6, 10, None, None), (5, 0, 10, None, None), (-5, -10, 2, None, None),
    (2.5, 1, 5, None, None), (5, 3, 10, 2, None), (5, 3, 10, -1, "month"), (5000, 1, 6000, None, None),
])
def test_bad_item_numbers_are_refused(pts, lo, hi, cap, period):
    with pytest.raises(InvalidInput):
        rules.validate_item(pts, lo, hi, cap, period)


def test_creating_an_item_needs_an_admin_and_a_fresh_code(db, v):
    cat = rules.create_category(db, v.admin, v.id, "平安建设")
    iid = rules.create_item(db, v.admin, v.id, category_id=cat, code="pa01", name="参与巡逻", points=3, min_points=2,
                            max_points=5, cap_count=4, cap_period="month", adopted_by="村民代表大会")
    with db.read() as s:
        assert s.get(RuleItem, iid).code == "PA01"
    with pytest.raises(AlreadyDone):
        rules.create_item(db, v.admin, v.id, category_id=cat, code="PA01", name="重复", points=3, min_points=2,
                          max_points=5, adopted_by="村民代表大会")
    with pytest.raises(NotAllowed):
        rules.create_category(db, v.actors["committee"], v.id, "其他")


def test_search_matches_every_word_in_code_name_or_category():
    item = rules.ItemView(1, "HJ01", "房前屋后干净整洁", 1, "环境卫生", 5, 3, 10, 1, "month", 1, None, "", True)
    assert rules.search([item], "环境 整洁") == [item]
    assert rules.search([item], "hj01") == [item]
    assert rules.search([item], "赌博") == []
