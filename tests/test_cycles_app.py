"""底分与年终 in the app (AppTest): the year-end clearing and the annual carry-over ask through ui.confirm
(the year, how many households and how many points, then 确认 / 取消: 取消 changes nothing, 确认 clicked
twice acts once), and the page's tables show typed rows under their Chinese headers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.platform import settings
from core.platform.access import SYSTEM
from core.platform.auth import actor_for
from core.points import closes, posting
from core.village.roster import commit
from core.village.setup import create_village
from db.models import Account, Household, LedgerEntry, PeriodClose, StaffUser
from tests.app_helpers import app, db_for_env, texts, use_data_dir, user_id

ROSTER = ("门牌号,网格,姓名,与户主关系\n"
          "10-001,一组,张大山,户主\n2-010,一组,王老五,户主\n2-009,一组,赵六,户主\n")
LAST_YEAR = dt.date.today().year - 1


@pytest.fixture
def village_db(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    create_village(db, SYSTEM, name="新村", township="新镇", county="新县", grids=["一组"],
                   admin_username="boss", admin_name="村主任", admin_password="boss-pass-1", first_run=True)
    actor = _boss(db)
    commit(db, actor, actor.village_id, "r.csv", ROSTER.encode())
    with db.read() as s:
        hids = dict(s.execute(select(Household.door_no, Household.id)).all())
    with db.write() as s:  # 42 points last year, in two households
        for door, points, day in [("2-009", 12, dt.date(LAST_YEAR, 6, 1)), ("10-001", 30, dt.date(LAST_YEAR, 9, 1))]:
            posting.post(s, household_id=hids[door], kind="earned", points=points, source_type="test",
                         source_id=door, occurred_on=day, reason="环境整治")
    yield db
    db.dispose()


def _boss(db):
    with db.read() as s:
        return actor_for(s.get(StaffUser, user_id(db, "boss")))


def _count(db, model, *where) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _balance(db) -> int:
    with db.read() as s:
        return s.execute(select(func.sum(Account.balance))).scalar_one()


def _open(db):
    at = app(user_id(db, "boss"))
    at.switch_page("pages/cycles.py").run()
    assert not at.exception, at.exception
    return at


def _keys(at) -> list[str]:
    return [b.key for b in at.button]


def _press(at, key: str):
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def _double_click(at, key: str) -> None:
    """确认, then the same button again if the page still offers it, then a rerun."""
    _press(at, key)
    if key in _keys(at):
        _press(at, key)
    at.run()
    assert not at.exception, at.exception


def _table(at, field: str):
    return next(d.value for d in at.dataframe if field in d.value.columns)


def test_year_end_clearing_says_the_year_households_and_points_and_cancelling_clears_nothing(village_db):
    db = village_db
    settings.change(db, _boss(db), _boss(db).village_id, "year_end_policy", "clear")
    at = _open(db)
    at.number_input(key="cycles_ye_year").set_value(LAST_YEAR).run()
    preview = _table(at, "to_clear")
    assert list(preview["door_no"]) == ["10-001", "2-009", "2-010"]  # the stored order, door text
    assert list(preview["to_clear"]) == [30, 12, 0] and list(preview["action"]) == ["清零", "清零", "无需处理（余额为 0）"]
    _press(at, "cycles_ye_clear_start")
    assert f"确认做{LAST_YEAR}年年终清零吗？将给 2 户各记一笔清零流水，共清除 42 分可用积分" in texts(at)
    _press(at, "cycles_ye_clear_back")
    assert _count(db, LedgerEntry, LedgerEntry.kind == "clearing") == 0 and _balance(db) == 42
    assert "cycles_ye_clear_do" not in _keys(at) and "cycles_ye_clear_start" in _keys(at)
    _press(at, "cycles_ye_clear_start")
    _double_click(at, "cycles_ye_clear_do")
    assert _count(db, LedgerEntry, LedgerEntry.kind == "clearing") == 2 and _balance(db) == 0
    assert list(_table(at, "to_clear")["action"]) == [f"{LAST_YEAR}年已清零"] * 2 + ["无需处理（余额为 0）"]


def test_the_year_close_says_what_it_carries_and_cancelling_records_nothing(village_db):
    db = village_db
    closes.close_month(db, _boss(db), _boss(db).village_id, f"{LAST_YEAR}-12", confirm=True)
    at = _open(db)
    assert at.number_input(key="cycles_yc_year").value == LAST_YEAR
    _press(at, "cycles_yc_start")
    assert (f"确认做{LAST_YEAR}年年度结转吗？按本村的年终处理方式结转：在册 3 户共 42 分可用积分原样带入 "
            f"{LAST_YEAR + 1}年。年度结转不能撤销。") in texts(at)
    _press(at, "cycles_yc_back")
    assert _count(db, PeriodClose, PeriodClose.kind == "year") == 0
    assert "cycles_yc_do" not in _keys(at) and "cycles_yc_start" in _keys(at)
    _press(at, "cycles_yc_start")
    _double_click(at, "cycles_yc_do")
    assert _count(db, PeriodClose, PeriodClose.kind == "year") == 1 and _balance(db) == 42
    recorded = _table(at, "period_label")  # 结账记录, newest first
    assert list(recorded["kind"]) == ["年度结转", "月结"]
    assert list(recorded["period_label"]) == [f"{LAST_YEAR}年", f"{LAST_YEAR}年12月"]
    assert list(recorded["policy"]) == ["结转", ""] and list(recorded["balance_total"]) == [42, 42]


def test_the_year_close_with_clearing_says_what_it_clears_and_clears_once(village_db):
    db = village_db
    settings.change(db, _boss(db), _boss(db).village_id, "year_end_policy", "clear")
    closes.close_month(db, _boss(db), _boss(db).village_id, f"{LAST_YEAR}-12", confirm=True)
    at = _open(db)
    _press(at, "cycles_yc_start")
    assert f"确认做{LAST_YEAR}年年度结转吗？按本村的年终处理方式清零：2 户共 42 分可用积分清零" in texts(at)
    _double_click(at, "cycles_yc_do")
    assert _count(db, LedgerEntry, LedgerEntry.kind == "clearing") == 2 and _balance(db) == 0
    assert list(_table(at, "period_label")["cleared"]) == [42, 0]


def test_the_earned_table_lists_last_years_points_per_household(village_db):
    at = _open(village_db)
    at.number_input(key="cycles_earned_year").set_value(LAST_YEAR).run()
    earned = _table(at, "net")
    assert list(earned["head_name"]) == ["张大山", "赵六"] and list(earned["net"]) == [30, 12]
    assert list(earned["deducted"]) == [0, 0]
