"""The village's tables from typed rows (ui.tables): the cards page's households and the staff page's
accounts show English field columns with the words people read, and download under the same Chinese
headers as before."""

from __future__ import annotations

import pytest

from core.village import cards, staff
from tests.app_helpers import app, db_for_env, use_data_dir
from tests.factories import make_village
from ui.tables import labelled


@pytest.fixture
def small(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    yield db, make_village(db, households=3)
    db.dispose()


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_cards_page_lists_every_household_with_its_card_in_words(small):
    from pages.cards import OVERVIEW

    db, v = small
    cards.issue_card(db, v.admin, v.household_ids[1])
    rows = cards.household_cards(db, v.id)
    assert [(r.door_no, r.has_card, r.issued_at is not None) for r in rows] == [
        ("1-001", False, False), ("1-002", True, True), ("1-003", False, False)]
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/cards.py").run()
    assert not at.exception, at.exception
    assert _metrics(at) == {"有效积分卡": "1", "未办卡": "2"}
    shown = at.dataframe[0].value
    assert list(shown.columns) == ["household_id", "door_no", "head_name", "has_card", "issued_at"]
    assert list(shown["has_card"]) == ["未办卡", "有效", "未办卡"]
    assert list(shown["household_id"]) == v.household_ids and list(shown["head_name"]) == ["户主1", "户主2", "户主3"]
    assert list(labelled(rows, OVERVIEW).columns) == ["户ID", "门牌号", "户主", "积分卡", "发卡时间"]


def test_the_staff_page_lists_the_accounts_with_roles_and_status_in_words(small):
    from pages.staff import USERS

    db, v = small
    staff.set_active(db, v.admin, v.actors["cashier"].user_id, False)
    staff.create_user(db, v.admin, username="newbie", display_name="新人", password="temp-pass-123",
                      roles=["cashier", "grid_worker"], village_id=v.id)
    users = staff.users(db, v.id)
    newbie = next(u for u in users if u.username == "newbie")
    assert (newbie.roles, newbie.active, newbie.must_change_password) == (("cashier", "grid_worker"), True, True)
    at = app(v.admin.user_id)
    at.switch_page("pages/staff.py").run()
    assert not at.exception, at.exception
    assert _metrics(at) == {"账号总数": str(len(users)), "在用": str(len(users) - 1), "村管理员": "1"}
    shown = at.dataframe[0].value.set_index("username")
    assert list(shown.columns) == ["display_name", "roles", "active", "must_change_password", "last_login_at",
                                   "blocked_until"]
    assert shown.loc["t001_admin", "roles"] == "村管理员" and shown.loc["t001_admin", "active"] == "在用"
    assert shown.loc["t001_cashier", "active"] == "已停用"
    assert shown.loc["newbie", "roles"] == "积分超市收银员、网格员"
    assert (shown.loc["newbie", "must_change_password"], shown.loc["t001_admin", "must_change_password"]) == ("是", "")
    assert list(labelled(users, USERS).columns) == ["用户名", "姓名", "角色", "状态", "需改密码", "最近登录", "登录受限至"]
    pick = at.selectbox(key="staff_pick")
    assert "cashier用户（t001_cashier，已停用）" in pick.options
