"""The public board shows only what is public, and nothing when switched off; the dashboard
pages obey the rankings switch and the township boundary (AppTest)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from core.platform import settings
from core.platform.masking import mask_name
from core.points import posting
from core.public import board
from db.models import Activity, Household, Product, Proposal, Resident, StockMove
from tests.app_helpers import app, db_for_env, texts, use_data_dir, user_id
from tests.factories import make_village

TODAY = dt.date.today()
HEADS = ["王大明", "李秀英", "欧阳小明", "张三"]
PHONE = "13812345678"
BALANCE = 987


def test_names_are_masked_in_the_middle():
    assert [mask_name(n) for n in ("张三明", "张三", "欧阳小明", "张", "", " 李四 ")] == [
        "张*明", "张*", "欧**明", "张*", "", "李*"]


def _public_village(db, code="T001", township="测试镇", name="测试村"):
    v = make_village(db, code=code, township=township, name=name)
    with db.write() as s:
        for hid, head in zip(v.household_ids, HEADS, strict=True):
            s.execute(update(Household).where(Household.id == hid).values(
                head_name=head, phone=PHONE, address="幸福路8号"))
            s.execute(update(Resident).where(Resident.household_id == hid).values(name=head, phone=PHONE))
        for i, hid in enumerate(v.household_ids[:3]):
            s.add(Proposal(village_id=v.id, household_id=hid, rule_item_id=v.rule_ids["HJ01"], points=5,
                           decided_points=6, act_date=TODAY, note=f"邻居举报，电话{PHONE}", source="grid",
                           status="publicity", publicity_until=TODAY + dt.timedelta(days=3 + i)))
        s.add(Activity(village_id=v.id, title="周末清扫村道", date=TODAY + dt.timedelta(days=2), place="村委会门口",
                       status="open"))
        s.add(Activity(village_id=v.id, title="已经取消的活动", date=TODAY, status="cancelled"))
        p = Product(village_id=v.id, name="洗衣粉", price=20, unit="袋", stock=10)
        s.add(p)
        s.flush()
        s.add(StockMove(village_id=v.id, product_id=p.id, kind="purchase", qty=10))
    with db.write() as s:
        posting.post(s, household_id=v.household_ids[0], kind="earned", points=1000, source_type="t", source_id="e")
    with db.write() as s:
        posting.post(s, household_id=v.household_ids[0], kind="redeemed", points=-13, source_type="t", source_id="r")
    return v


def _all_text(c: board.BoardContent) -> str:
    return repr(c)


def test_the_board_content_masks_names_and_leaves_out_private_fields(db):
    v = _public_village(db)
    with db.read() as s:
        c = board.content(s, v.id, TODAY)
    assert c.enabled and c.village == "测试村"
    assert [p["户主"] for p in c.publicity] == ["王*明", "李*英", "欧**明"]
    assert {p["分值"] for p in c.publicity} == {6}  # the decided points
    assert c.honours[0]["户主"] == "王*明" and c.honours[0]["本月积分"] == 1000
    assert [a["活动"] for a in c.activities] == ["周末清扫村道"]
    assert [g["商品"] for g in c.new_goods] == ["洗衣粉"]
    text = _all_text(c)
    for private in (*HEADS, PHONE, "幸福路", "邻居举报", "1-001", str(BALANCE)):
        assert private not in text, private


def test_the_board_shows_no_honours_when_rankings_are_off(db):
    v = _public_village(db)
    settings.change(db, v.admin, v.id, "rankings_enabled", False)
    with db.read() as s:
        c = board.content(s, v.id, TODAY)
    assert c.honours is None and c.star_volunteers is None
    assert c.publicity  # the rest stays


def test_a_switched_off_board_shows_nothing(db):
    v = _public_village(db)
    settings.change(db, v.admin, v.id, "board_enabled", False)
    with db.read() as s:
        c = board.content(s, v.id, TODAY)
    assert not c.enabled
    assert (c.publicity, c.honours, c.activities, c.new_goods) == ([], None, [], [])


def test_the_board_finds_its_village_by_code_or_as_the_only_one(db):
    v = make_village(db, code="T001")
    with db.read() as s:
        assert board.find_village(s, "T001").id == v.id
        assert board.find_village(s, None).id == v.id
        assert board.find_village(s, "NOPE") is None
    make_village(db, code="T002", name="二村")
    with db.read() as s:
        assert board.find_village(s, "") is None  # two villages: the TV must say which
        assert board.find_village(s, "T002").id != v.id


def test_a_board_address_names_its_village_or_offers_the_choice(db):
    assert board.village_for_board(db, None) == board.BoardVillage(None, [])  # no village yet
    v = make_village(db, code="T001", name="一村")
    assert board.village_for_board(db, None) == board.BoardVillage(v.id, [])  # the only one
    w = make_village(db, code="T002", name="二村")
    assert board.village_for_board(db, "T002") == board.BoardVillage(w.id, [])
    assert board.village_for_board(db, "NOPE") == board.BoardVillage(None, [])  # a wrong code: no choice offered
    assert board.village_for_board(db, None) == board.BoardVillage(None, [("T001", "一村"), ("T002", "二村")])


# ---------------------------------------------------------------- pages (AppTest)


@pytest.fixture
def app_db(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    database = db_for_env()
    yield database
    database.dispose()


def _board(code: str | None):
    at = app()
    if code:
        at.query_params["v"] = code
    return at.switch_page("pages/board.py").run()


def test_the_board_page_needs_no_login_and_shows_nothing_private(app_db):
    _public_village(app_db)
    at = _board("T001")
    assert not at.exception
    shown = texts(at)
    assert "测试村公示栏" in shown and "积分公示" in shown
    assert "王*明" in shown  # masked (texts() reads escaped Markdown as the user sees it)
    for private in (*HEADS, PHONE, "幸福路", "邻居举报", str(BALANCE)):
        assert private not in shown, private
    assert not at.dataframe  # no tables that could carry whole rows


def test_the_board_page_rotates_through_its_slides(app_db):
    _public_village(app_db)
    at = _board(None)  # the only village
    headers = []
    for _ in range(4):
        headers.append(at.header[0].value)
        at.run()
    assert not at.exception
    assert headers == ["积分公示", "本月光荣榜", "志愿活动", "积分超市"]


def test_a_switched_off_board_page_says_so_and_nothing_else(app_db):
    v = _public_village(app_db)
    settings.change(app_db, v.admin, v.id, "board_enabled", False)
    at = _board("T001")
    assert "公示栏已关闭" in texts(at)
    assert "王" not in texts(at) and not at.header


def test_an_unknown_village_code_shows_a_warning(app_db):
    make_village(app_db)
    at = _board("NOPE")
    assert "找不到这个村" in texts(at)


def test_the_rankings_switch_hides_rankings_on_the_pages(app_db):
    v = _public_village(app_db)
    at = app(user_id(app_db, "t001_admin")).switch_page("pages/rankings.py").run()
    assert at.dataframe and "王大明" in [c for df in at.dataframe for c in df.value.get("head_name", [])]
    settings.change(app_db, v.admin, v.id, "rankings_enabled", False)
    at = app(user_id(app_db, "t001_committee")).switch_page("pages/rankings.py").run()
    assert not at.exception
    assert "已关闭排名" in texts(at)
    # 星级文明户 are graded on their own switch: with rankings off they stay, but nothing ranks
    assert not any("rank" in df.value.columns for df in at.dataframe)
    settings.change(app_db, v.admin, v.id, "star_households_enabled", False)
    at = app(user_id(app_db, "t001_committee")).switch_page("pages/rankings.py").run()
    assert not at.exception and not at.dataframe and not at.metric
    board_page = _board("T001")
    assert "光荣榜" not in texts(board_page)


def test_a_township_viewer_sees_only_its_villages_on_the_compare_page(app_db):
    v = make_village(app_db, name="本镇一村", code="T001", township="文祖街道")
    make_village(app_db, name="本镇二村", code="T002", township="文祖街道")
    make_village(app_db, name="外镇村", code="T003", township="埠村街道")
    at = app(user_id(app_db, "t001_township_viewer")).switch_page("pages/compare.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["村"]) == ["本镇一村", "本镇二村"]
    assert "外镇村" not in texts(at)
    at = app(user_id(app_db, "t003_township_viewer")).switch_page("pages/compare.py").run()
    assert list(at.dataframe[0].value["村"]) == ["外镇村"]
    assert v.id


def test_the_workbench_links_each_item_to_a_page_the_role_may_open(app_db):
    _public_village(app_db)
    at = app(user_id(app_db, "t001_cashier")).switch_page("pages/home.py").run()
    assert not at.exception
    assert "库存不足商品" in texts(at)
    at = app(user_id(app_db, "t001_township_viewer")).switch_page("pages/home.py").run()
    assert not at.exception and "本镇村庄" in texts(at)
