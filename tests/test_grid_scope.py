"""Grid scope: with the village setting on, a grid worker proposes only for the grids they are
responsible for; a grid nobody is responsible for stays open; committee members and admins are
not limited; the setting is on by default, and switched off it leaves every grid worker the whole village."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.committee import proposals
from core.platform import settings
from core.platform.errors import InvalidInput, NotAllowed
from core.village import setup
from db.models import AuditLog, Grid, Household, Proposal

TODAY = dt.date.today()


def _second_grid(db, village) -> int:
    gid = setup.add_grid(db, village.admin, village.id, "第二网格")
    with db.write() as s:
        s.get(Household, village.household_ids[1]).grid_id = gid
    return gid


def _submit(db, actor, village, hid) -> int:
    return proposals.submit(db, actor, household_id=hid, rule_item_id=village.rule_ids["HJ01"], act_date=TODAY,
                            note="庭院整洁")


def test_with_the_setting_on_a_grid_worker_proposes_only_in_their_own_grid(db, village):
    from core.village import staff

    other = staff.create_user(db, village.admin, username="wangge_b", display_name="乙网格员", password="correct-horse-9",
                              roles=["grid_worker"], village_id=village.id)
    g2 = _second_grid(db, village)
    worker = village.actors["grid_worker"]
    setup.set_grid_worker(db, village.admin, village.grid_ids[0], worker.user_id)
    setup.set_grid_worker(db, village.admin, g2, other)
    h_own, h_other = village.household_ids[0], village.household_ids[1]
    settings.change(db, village.admin, village.id, "grid_scope_own", False)  # off: the whole village
    _submit(db, worker, village, h_other)
    settings.change(db, village.admin, village.id, "grid_scope_own", True)
    _submit(db, worker, village, h_own)
    with pytest.raises(NotAllowed, match="属于“第二网格”"):
        _submit(db, worker, village, h_other)
    _submit(db, village.actors["committee"], village, h_other)  # the committee is not limited
    setup.set_grid_worker(db, village.admin, g2, None)  # nobody responsible: open to every grid worker
    _submit(db, worker, village, h_other)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Proposal)).scalar_one() == 4
        assert s.get(Grid, g2).worker_user_id is None
        assert s.execute(select(func.count()).select_from(AuditLog).where(AuditLog.action == "grid.worker")
                         ).scalar_one() == 3


def test_only_an_active_grid_worker_of_the_village_can_be_made_responsible(db, village):
    with pytest.raises(InvalidInput, match="网格员"):
        setup.set_grid_worker(db, village.admin, village.grid_ids[0], village.actors["cashier"].user_id)
    with pytest.raises(NotAllowed):
        setup.set_grid_worker(db, village.actors["grid_worker"], village.grid_ids[0],
                              village.actors["grid_worker"].user_id)


def test_a_grid_worker_proposes_for_their_own_grid_by_default(db, village):
    """Nothing set: a village that did not choose otherwise keeps grid workers to their own grids."""
    from core.village import staff

    other = staff.create_user(db, village.admin, username="wangge_c", display_name="丙网格员",
                              password="correct-horse-9", roles=["grid_worker"], village_id=village.id)
    g2 = _second_grid(db, village)
    setup.set_grid_worker(db, village.admin, g2, other)
    with db.read() as s:
        assert settings.get(s, village.id, "grid_scope_own") is True
    with pytest.raises(NotAllowed, match="只为本网格申报"):
        _submit(db, village.actors["grid_worker"], village, village.household_ids[1])
