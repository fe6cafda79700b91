"""Double clicks and reruns of write buttons, through the real pages (AppTest): the
checkout confirm, a review decision, a bulk approval, a void, a reversal, an adjustment and
a base-score grant each write once. A double click is the same button pressed again on the page the first press left
behind; a rerun is the script running again with nothing pressed; for the checkout, also
the worst case: the first run committed but its session update was lost (the browser's
second click interrupted it), so the second press carries the same cart and key."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from sqlalchemy import func, select

from core.committee import proposals, sessions
from core.platform import settings
from core.platform.auth import actor_for
from core.points import cycles
from core.supermarket import shop, stock
from db.models import Decision, Household, LedgerEntry, Redemption, RuleItem, StaffUser
from tests.app_helpers import DEMO_ROLES, app, use_data_dir, user_id
from tests.load import figures
from ui import state

CLICKS = {"double": 0, "rerun": 0, "buttons": 0}


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("idem") / "data"
    mp = pytest.MonkeyPatch()
    use_data_dir(mp, d, demo=False)
    from core.platform import config
    from startup.demo import build_demo
    from startup.prepare import prepare

    db = prepare(config.load(), create_demo=False)
    build_demo(db, villages=1, households=20, days=10, steps=["startup.demo_review", "startup.demo_shop"])
    db.dispose()
    mp.undo()
    return d


@pytest.fixture
def env(source_dir, tmp_path, monkeypatch):
    d = tmp_path / "data"
    shutil.copytree(source_dir, d)
    use_data_dir(monkeypatch, d, demo=False)
    from core.platform import config
    from db.engine import Database

    db = Database.from_url(config.load().database_url)
    yield db
    db.dispose()


def _actor(db, username):
    with db.read() as s:
        return actor_for(s.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one())


def _count(db, stmt) -> int:
    with db.read() as s:
        return s.execute(stmt).scalar_one()


def _press_twice_and_rerun(at, key: str, restore: dict | None = None, refill=None, must_reappear=False) -> None:
    """Press; press again if the button is still there; then the browser's real double
    click: the second press interrupted the first run right after its write, so the page
    state is as it was before (``restore``) and the button is pressed again — if the page
    still offers it (a decided item leaves the queue: then no second press can happen);
    then a rerun with nothing pressed."""
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    if key in [b.key for b in at.button]:
        at.button(key=key).click().run()
        CLICKS["double"] += 1
    if restore:
        for k, v in restore.items():
            at.session_state[k] = v
        at.run()
        if refill:
            refill(at)
        back = key in [b.key for b in at.button]
        assert back or not must_reappear, f"{key} not back after restoring the state"
        if back:
            at.button(key=key).click().run()
            CLICKS["double"] += 1
            assert not at.exception, at.exception
    at.run()
    CLICKS["rerun"] += 1
    CLICKS["buttons"] += 1
    assert not at.exception, at.exception


def _record() -> None:
    """After a flow's own checks passed: the figures so far in this process (a serial run
    sees every flow)."""
    figures.record("ui_idempotency", "sqlite", {"write_buttons": CLICKS["buttons"], "second_presses": CLICKS["double"],
                                               "reruns": CLICKS["rerun"], "double_writes": 0})


def _funded_household(db, admin) -> tuple[int, int]:
    with db.read() as s:
        hid = s.execute(select(Household.id).where(Household.village_id == admin.village_id)
                        .order_by(Household.id)).scalars().first()
    from core.points import corrections

    corrections.adjust(db, admin, hid, 200, "测试加分")
    pid = stock.save_product(db, admin, admin.village_id, stock.ProductInput(name="测试香皂", price=7))
    stock.receive_stock(db, admin, pid, 30)
    return hid, pid


def test_a_double_clicked_checkout_confirm_charges_once(env):
    db = env
    admin = _actor(db, DEMO_ROLES["admin"])
    hid, pid = _funded_household(db, admin)
    charged = select(func.count()).select_from(Redemption).where(Redemption.household_id == hid)
    before = _count(db, charged)
    at = app(user_id(db, DEMO_ROLES["cashier"]))
    at.session_state[state.CHECKOUT_HOUSEHOLD] = hid
    at.session_state[state.CHECKOUT_CARD] = None
    at.session_state[state.CHECKOUT_CART] = {pid: 2}
    at.session_state[state.CHECKOUT_CART_KEY] = "cart-under-test"
    at.switch_page("pages/checkout.py").run()
    assert not at.exception
    _press_twice_and_rerun(at, "checkout_confirm", restore={
        state.CHECKOUT_HOUSEHOLD: hid, state.CHECKOUT_CART: {pid: 2}, state.CHECKOUT_CART_KEY: "cart-under-test"},
        must_reappear=True)
    assert _count(db, charged) == before + 1
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.household_id == hid, LedgerEntry.kind == "redeemed")).scalar_one() == before + 1
    _record()

def test_a_double_clicked_void_refunds_once(env):
    db = env
    admin = _actor(db, DEMO_ROLES["admin"])
    hid, pid = _funded_household(db, admin)
    rid = shop.checkout(db, _actor(db, DEMO_ROLES["cashier"]), household_id=hid, card_id=None, cart={pid: 1},
                        cart_key="to-void")
    refunds = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.source_type == "redemption_void",
                                                                  LedgerEntry.source_id == str(rid))
    at = app(user_id(db, DEMO_ROLES["cashier"]))
    at.session_state[state.CONFIRM_OPEN] = ("redemptions_void", rid)
    at.switch_page("pages/redemptions.py").run()
    assert not at.exception
    at.text_input(key="redemptions_void_reason").input("顾客退货")
    _press_twice_and_rerun(at, "redemptions_void_do", restore={state.CONFIRM_OPEN: ("redemptions_void", rid)},
                           refill=lambda at: at.text_input(key="redemptions_void_reason").input("顾客退货"),
                           must_reappear=True)
    assert _count(db, refunds) == 1


def _open_session_with_proposal(db) -> tuple[int, int]:
    committee = _actor(db, DEMO_ROLES["committee"])
    grid = _actor(db, DEMO_ROLES["grid_worker"])
    vid = committee.village_id
    with db.read() as s:
        rs = sessions.open_session_of(s, vid)
        rule = s.execute(select(RuleItem).where(RuleItem.village_id == vid, RuleItem.points > 0,
                                                RuleItem.active)).scalars().first()
        hid = s.execute(select(Household.id).where(Household.village_id == vid)).scalars().first()
        members = [u.id for u in sessions.committee_members(s, vid)]
    sid = rs.id if rs else sessions.open_session(db, committee, vid, held_on=dt.date.today(), attendee_ids=members)
    pid = proposals.submit(db, grid, household_id=hid, rule_item_id=rule.id, act_date=dt.date.today(), note="双击测试")
    return sid, pid
    _record()

def test_a_double_clicked_review_decision_decides_once(env):
    db = env
    sid, pid = _open_session_with_proposal(db)
    at = app(user_id(db, DEMO_ROLES["committee"]))
    at.session_state[state.REVIEW_CURRENT] = pid
    at.switch_page("pages/review.py").run()
    assert not at.exception, at.exception
    at.button(key=f"rv_vote_{pid}_all").click().run()  # the votes are entered first: 全体同意
    _press_twice_and_rerun(at, f"rv_ok_{pid}", restore={state.REVIEW_CURRENT: pid})
    assert _count(db, select(func.count()).select_from(Decision).where(Decision.proposal_id == pid)) == 1
    assert _count(db, select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.source_type == "proposal", LedgerEntry.source_id == str(pid))) <= 1
    _record()

def test_a_double_clicked_reversal_reverses_once(env):
    db = env
    admin = _actor(db, DEMO_ROLES["admin"])
    hid, _ = _funded_household(db, admin)
    with db.read() as s:
        eid = s.execute(select(LedgerEntry.id).where(LedgerEntry.household_id == hid, LedgerEntry.kind == "adjustment")
                        .order_by(LedgerEntry.id.desc())).scalars().first()
    at = app(user_id(db, DEMO_ROLES["admin"]))
    at.session_state[state.HOUSEHOLD_VIEW] = hid
    at.session_state[state.CONFIRM_OPEN] = ("hh_correct", ("reverse", eid, "录入错误"))
    at.switch_page("pages/households.py").run()
    assert not at.exception, at.exception
    _press_twice_and_rerun(at, "hh_correct_do", restore={state.CONFIRM_OPEN: ("hh_correct", ("reverse", eid, "录入错误"))},
                           must_reappear=True)
    assert _count(db, select(func.count()).select_from(LedgerEntry).where(LedgerEntry.reverses_id == eid)) == 1
    _record()

def test_a_double_clicked_base_score_grant_grants_once(env):
    db = env
    admin = _actor(db, DEMO_ROLES["admin"])
    settings.change(db, admin, admin.village_id, "base_score", 10)
    at = app(user_id(db, DEMO_ROLES["admin"]))
    at.switch_page("pages/cycles.py").run()
    assert not at.exception, at.exception
    at.button(key="cycles_base_start").click().run()  # first step: 发放 → the confirmation
    question = at.session_state[state.CONFIRM_OPEN]
    period = question[1]
    assert "cycles_base_do" in [b.key for b in at.button]
    _press_twice_and_rerun(at, "cycles_base_do", restore={state.CONFIRM_OPEN: question})
    households = cycles.base_status(db, admin.village_id, period).households
    base_entries = select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.village_id == admin.village_id, LedgerEntry.source_type == "base")
    assert _count(db, base_entries) == households  # one each, not two
    _record()

def test_a_double_clicked_adjustment_adjusts_once(env):
    """The page closes the question before writing (ui.confirm's ``once``), so the second press finds
    nothing to confirm (an adjustment has no natural cause to deduplicate on)."""
    db = env
    admin = _actor(db, DEMO_ROLES["admin"])
    hid, _ = _funded_household(db, admin)
    adjustments = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.household_id == hid,
                                                                      LedgerEntry.reason == "双击调整")
    at = app(user_id(db, DEMO_ROLES["admin"]))
    at.session_state[state.HOUSEHOLD_VIEW] = hid
    at.session_state[state.CONFIRM_OPEN] = ("hh_correct", ("adjust", 7, "双击调整"))
    at.switch_page("pages/households.py").run()
    assert not at.exception, at.exception
    _press_twice_and_rerun(at, "hh_correct_do")
    assert _count(db, adjustments) == 1
    _record()

def test_a_double_clicked_bulk_approval_approves_each_item_once(env):
    db = env
    sid, pid = _open_session_with_proposal(db)
    at = app(user_id(db, DEMO_ROLES["committee"]))
    at.session_state[state.CONFIRM_OPEN] = ("rv_bulk", [pid])
    at.switch_page("pages/review.py").run()
    assert not at.exception, at.exception
    at.button(key="rv_bulk_vote_all").click().run()  # the votes for the batch are entered first: 全体同意
    _press_twice_and_rerun(at, "rv_bulk_do", restore={state.CONFIRM_OPEN: ("rv_bulk", [pid])}, must_reappear=True)
    assert _count(db, select(func.count()).select_from(Decision).where(Decision.proposal_id == pid)) == 1
    _record()
