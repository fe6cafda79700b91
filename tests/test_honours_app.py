"""年度表彰 and 月结 in the app (AppTest): an admin reviews the year's honour list, publishes it
through the confirmation dialog and gets the certificates; closes a month through its dialog
with the Chinese summary of the totals."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.platform.access import SYSTEM
from core.platform.auth import actor_for
from core.points import posting
from core.village.roster import commit
from core.village.setup import create_village
from db.models import HonourEntry, HonourList, Household, PeriodClose, StaffUser
from tests.app_helpers import app, db_for_env, texts, use_data_dir, user_id

ROSTER = "门牌号,网格,姓名,与户主关系\n1-001,一组,张大山,户主\n1-002,一组,王老五,户主\n1-003,一组,赵六,户主\n"
TODAY = dt.date.today()
LAST_YEAR = TODAY.year - 1
LAST_MONTH = TODAY.replace(day=1) - dt.timedelta(days=1)


@pytest.fixture
def village_db(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    create_village(db, SYSTEM, name="新村", township="新镇", county="新县", grids=["一组"],
                   admin_username="boss", admin_name="村主任", admin_password="boss-pass-1", first_run=True)
    with db.read() as s:
        actor = actor_for(s.get(StaffUser, user_id(db, "boss")))
    commit(db, actor, actor.village_id, "r.csv", ROSTER.encode())
    with db.read() as s:
        hids = dict(s.execute(select(Household.door_no, Household.id)).all())
    with db.write() as s:
        for door, points, day in [("1-001", 160, dt.date(LAST_YEAR, 5, 1)), ("1-002", 55, dt.date(LAST_YEAR, 9, 1)),
                                  ("1-003", 12, LAST_MONTH)]:
            posting.post(s, household_id=hids[door], kind="earned", points=points, source_type="test",
                         source_id=door, occurred_on=day, reason="环境整治")
    yield db
    db.dispose()


def _open(db, page: str):
    at = app(user_id(db, "boss"))
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_an_admin_publishes_the_honour_list_after_confirming_and_prints_the_certificates(village_db):
    db = village_db
    at = _open(db, "pages/honours.py")
    at.selectbox(key="honours_year").set_value(LAST_YEAR).run()
    assert not at.exception, at.exception
    draft = at.dataframe[0].value
    assert list(draft["head_name"]) == ["张大山", "王老五"] and list(draft["level"]) == ["三星级文明户", "一星级文明户"]
    assert list(draft["points"]) == [160, 55] and "这一年没有经确认的志愿服务时长。" in texts(at)
    at.button(key="honours_publish_start").click().run()
    assert not at.exception, at.exception
    assert "星级文明户 2 户，优秀志愿者 0 人" in texts(at)
    with db.read() as s:
        assert s.execute(select(HonourList)).first() is None  # nothing before 确认
    at.button(key="honours_publish_do").click().run()
    assert not at.exception, at.exception
    with db.read() as s:
        lst = s.execute(select(HonourList)).scalar_one()
        names = list(s.execute(select(HonourEntry.name).where(HonourEntry.list_id == lst.id)
                               .order_by(HonourEntry.id)).scalars())
    assert (lst.year, names) == (LAST_YEAR, ["张大山", "王老五"])
    assert "已于" in texts(at) and "honours_publish_start" not in [b.key for b in at.button]
    published, history = (df.value for df in at.dataframe)
    assert list(published["kind"]) == ["星级文明户"] * 2 and list(published["level"]) == ["三星级文明户", "一星级文明户"]
    assert list(published["points"]) == ["160", "55"] and list(published["minutes"]) == ["", ""]  # no hours: blank
    assert list(history["year"]) == [f"{LAST_YEAR}年"] and list(history["households"]) == [2]
    at.button(key="honours_make_pdf").click().run()
    assert not at.exception, at.exception
    assert "荣誉证书 PDF（2 份" in texts(at) or any(
        "荣誉证书 PDF（2 份" in str(getattr(w, "label", "")) for w in at.get("download_button"))


def test_an_admin_closes_last_month_through_the_dialog_with_a_summary_of_the_totals(village_db):
    db = village_db
    at = _open(db, "pages/cycles.py")
    summary = texts(at)
    month = f"{LAST_MONTH.year}年{LAST_MONTH.month}月"
    assert f"{month}月结：截至该月底，全村可用积分合计 227 分，累计积分合计 227 分，待扣合计 0 分（3 户，3 笔流水）" in summary
    at.button(key="cycles_close_start").click().run()
    assert not at.exception, at.exception
    with db.read() as s:
        assert s.execute(select(PeriodClose)).first() is None
    at.button(key="cycles_close_do").click().run()
    assert not at.exception, at.exception
    with db.read() as s:
        c = s.execute(select(PeriodClose)).scalar_one()
    assert (c.kind, c.period, c.balance_total) == ("month", LAST_MONTH.year * 100 + LAST_MONTH.month, 227)
    assert f"已完成{month}月结" in texts(at) and f"已结账到 **{month}**" in texts(at)
