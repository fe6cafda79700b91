"""Audit log search, first-run village creation, removing the demo, and the locked base kind."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from core.platform import settings
from core.platform.access import SYSTEM
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed
from core.points import entry_rules
from core.reporting import audit_search
from core.supermarket import stock
from core.village import setup, staff
from db.engine import Database
from db.migrate import upgrade
from db.models import AuditLog, Village
from tests.factories import make_village


def test_a_locked_base_changes_only_the_earned_total():
    assert entry_rules.deltas_for("base_locked", 20, 0) == entry_rules.Deltas(0, 20)
    assert entry_rules.deltas_for("base", 20, 0) == entry_rules.Deltas(20, 20)
    with pytest.raises(InvalidInput):
        entry_rules.deltas_for("base_locked", -1, 0)


def test_the_audit_log_is_searched_by_user_action_text_and_date(db, village):
    settings.change(db, village.admin, village.id, "public_url", "http://192.168.1.10:8501")
    uid = staff.create_user(db, village.admin, username="someone", display_name="某人", password="temp-pass-123",
                            roles=["cashier"], village_id=village.id)
    staff.set_active(db, village.admin, uid, False)
    everything = audit_search.search(db, village.admin, village.id)
    assert len(everything) == 3 and [r.action for r in everything] == [
        "staff.deactivate", "staff.create", "setting.change"]  # newest first
    assert all(r.user_name and r.username and r.acted_by is None for r in everything)  # a staff account acted
    assert len(audit_search.search(db, village.admin, village.id, action="setting.change")) == 1
    assert len(audit_search.search(db, village.admin, village.id, text="192.168")) == 1
    assert len(audit_search.search(db, village.admin, village.id, text="停用")) == 1  # the Chinese action name
    assert len(audit_search.search(db, village.admin, village.id, text="100%")) == 0  # LIKE wildcards are literal
    assert len(audit_search.search(db, village.admin, village.id, user_id=village.admin.user_id)) == 3
    assert len(audit_search.search(db, village.admin, village.id, user_id=village.actors["cashier"].user_id)) == 0
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert len(audit_search.search(db, village.admin, village.id, date_from=tomorrow)) == 0
    assert len(audit_search.search(db, village.admin, village.id, date_to=dt.date.today())) == 3
    (row,) = audit_search.search(db, village.admin, village.id, action="setting.change")
    assert row.detail == " → http://192.168.1.10:8501" and row.target_type == "setting"
    (row,) = audit_search.search(db, village.admin, village.id, action="staff.create")
    assert (row.target_type, row.target_id) == ("staff_user", str(uid)) and row.detail.startswith("用户名：someone")
    pid = stock.save_product(db, village.admin, village.id, stock.ProductInput(name="毛巾", price=5))
    stock.save_product(db, village.admin, village.id, stock.ProductInput(name="毛巾", price=8), pid)
    (row,) = audit_search.search(db, village.admin, village.id, action="product.update")
    assert (row.target_type, row.detail) == ("product", "兑换积分：5 → 8")
    created = audit_search.search(db, village.admin, village.id, action="product.create")[0].detail
    assert "启用：是" in created and "条码" not in created and "类别" not in created  # blanks are left out
    with pytest.raises(InvalidInput):
        audit_search.search(db, village.admin, village.id, date_from=tomorrow, date_to=dt.date.today())


def _audited_actions() -> set[str]:
    """Every action string core passes to audit.record, f-strings expanded by their values."""
    import ast
    from pathlib import Path

    from core.committee.agenda import OUTCOME_NAMES
    from core.supermarket.stock import RECEIVE_KINDS

    expand = {"review.{outcome}": [f"review.{o}" for o in ("approved", "rejected", "deferred")],
              "objection.{outcome}": [f"objection.{o}" for o in ("upheld", "overturned")],
              "stock.{kind}": [f"stock.{k}" for k in RECEIVE_KINDS]}
    assert set(OUTCOME_NAMES) == {"approved", "rejected", "deferred", "upheld", "overturned"}
    found: set[str] = set()
    for path in Path(__file__).parents[1].joinpath("core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record" and len(node.args) > 2):
                continue
            arg = node.args[2]
            if isinstance(arg, ast.Constant):
                found.add(arg.value)
            elif isinstance(arg, ast.IfExp):
                found |= {arg.body.value, arg.orelse.value}
            else:
                pattern = ast.unparse(arg)[2:-1]  # f'stock.{kind}' -> stock.{kind}
                assert pattern in expand, f"new f-string action {pattern}: add its values here"
                found |= set(expand[pattern])
    return found


def test_every_audited_detail_key_and_target_has_a_chinese_name_on_the_audit_page():
    import ast
    import dataclasses
    from pathlib import Path

    keys, targets = set(), set()
    for path in Path(__file__).parents[1].joinpath("core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record" and len(node.args) > 3):
                continue
            targets.add(node.args[3].value)
            for d in [a for a in node.args[4:] if isinstance(a, ast.Dict)] + [
                    k.value for k in node.keywords if k.arg == "detail" and isinstance(k.value, ast.Dict)]:
                keys |= {k.value for k in d.keys if isinstance(k, ast.Constant)}
    from core.volunteering import volunteer
    # details built from a dataclass or a dict of cleaned fields rather than written out
    keys |= {f.name for f in dataclasses.fields(stock.ProductInput)}
    keys |= set(volunteer._clean_activity("活动", dt.date.today(), "", "", "", None, None, None, None, "")) | {
        "points_per_hour"}
    assert len(keys) > 70 and len(targets) > 25
    assert sorted(keys - set(audit_search.FIELD_NAMES)) == []
    assert sorted(targets - set(audit_search.TARGET_NAMES)) == []


def test_every_audited_action_has_a_chinese_name_on_the_audit_page():
    actions = _audited_actions()
    assert len(actions) > 60
    assert sorted(a for a in actions if a not in audit_search.ACTION_NAMES) == []


def test_the_audit_log_of_a_village_is_for_its_admin_only(db, village):
    other = make_village(db, name="乙村", code="T002")
    settings.change(db, other.admin, other.id, "quorum", 3)
    with pytest.raises(NotAllowed):
        audit_search.search(db, village.admin, other.id)
    with pytest.raises(NotAllowed):
        audit_search.search(db, other.actors["committee"], other.id)
    assert len(audit_search.search(db, village.admin, village.id)) == 0


def test_the_first_run_village_is_created_only_while_none_exists(db):
    vid = setup.create_village(db, SYSTEM, name="北村", township="镇", county="县", grids=["一组", "二组"],
                               admin_username="first", admin_name="管理员", admin_password="good-pass-1",
                               first_run=True)
    assert setup.has_village(db) and setup.grid_names(db, vid) == ["一组", "二组"]
    with pytest.raises(AlreadyDone):
        setup.create_village(db, SYSTEM, name="南村", township="", county="", grids=[], admin_username="second",
                             admin_name="x", admin_password="good-pass-1", first_run=True)
    with pytest.raises(InvalidInput):
        setup.create_village(db, SYSTEM, name="西村", township="", county="", grids=["a", "a"],
                             admin_username="third", admin_name="x", admin_password="good-pass-1")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Village)).scalar_one() == 1


def test_grids_are_added_by_the_villages_admin(db, village):
    setup.add_grid(db, village.admin, village.id, "第二网格")
    with pytest.raises(AlreadyDone):
        setup.add_grid(db, village.admin, village.id, "第二网格")
    with pytest.raises(NotAllowed):
        setup.add_grid(db, village.actors["committee"], village.id, "第三网格")
    assert setup.grid_names(db, village.id) == ["第一网格", "第二网格"]


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated(request, tmp_path):
    """A database brought up by the migrations (not create_all), on both engines; its own
    PostgreSQL database because remove_demo drops every table."""
    import uuid

    from sqlalchemy import create_engine

    from tests.conftest import PG_URL, _replace_db

    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'm.db'}")
        upgrade(database)
        yield database
        database.dispose()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need JIFEN_TEST_DATABASE_URL")
    name = f"jifen_rd_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database.from_url(_replace_db(PG_URL, name))
    upgrade(database)
    yield database
    database.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_removing_the_demo_is_refused_when_a_real_village_exists(migrated):
    database = migrated
    demo = make_village(database, name="示范村", code="D1")
    make_village(database, name="正式村", code="R1")
    with database.write() as s:
        s.get(Village, demo.id).is_demo = True
    with pytest.raises(NotAllowed, match="正式村"):
        setup.remove_demo(database, demo.admin, setup.REMOVE_DEMO_CONFIRM)
    assert setup.has_village(database)


def test_removing_the_demo_needs_the_typed_words_and_leaves_an_empty_current_schema(migrated, tmp_path):
    database = migrated
    demo = make_village(database, name="示范村", code="D1")
    with database.write() as s:
        s.get(Village, demo.id).is_demo = True
    from tests.factories import give_points

    give_points(database, demo.household_ids[0], 5, "x")  # append-only history is no obstacle
    with pytest.raises(InvalidInput):
        setup.remove_demo(database, demo.admin, "删除")
    with pytest.raises(NotAllowed):
        setup.remove_demo(database, demo.actors["cashier"], setup.REMOVE_DEMO_CONFIRM)
    setup.remove_demo(database, demo.admin, setup.REMOVE_DEMO_CONFIRM, data_dir=tmp_path / "data")
    assert not setup.has_village(database)
    assert (tmp_path / "data" / setup.DEMO_REMOVED_MARKER).exists()
    with database.read() as s:
        assert s.execute(select(func.count()).select_from(AuditLog)).scalar_one() == 0
        assert s.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    # the fresh schema still guards the ledger
    vid = setup.create_village(database, SYSTEM, name="新村", township="", county="", grids=[],
                               admin_username="newadmin", admin_name="x", admin_password="good-pass-1",
                               first_run=True)
    assert vid
