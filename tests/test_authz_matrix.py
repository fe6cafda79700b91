"""The authorisation matrix: every role × every public core function that takes an actor
(found by introspecting every module of core, so a new one cannot slip past), on SQLite and
PostgreSQL.

For each function, with real ids of a village that has one of everything:
- each single-role actor whose role is not allowed, an actor with no role at all, and the
  village's township viewer get core.platform.errors.NotAllowed;
- an actor holding every role but belonging to another village is refused (NotAllowed,
  or NotFound where the look-up is scoped to the actor's own village);
- none of those refused calls changed anything (row counts of every table, audit log
  included, and the photo files on disk are the same before and after);
- each allowed role gets past the check (any outcome but NotAllowed): the arguments really
  reach the authorisation, so the refusals above mean something;
- and when such an allowed call adds rows anywhere, it also adds an audit_log row: every
  write says who, when, what (and why, where the function takes a reason).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, text

import core
from core.charity import distribution, field_aid, produce
from core.charity import field as field_mod
from core.committee import proposals, publicity, review, sessions
from core.platform.access import AREA_ROLES, ROLES, Actor
from core.platform.errors import DomainError, NotAllowed, NotFound
from core.reporting.periods import Period
from core.supermarket import shop, stock
from core.village import cards, staff
from core.volunteering import outsiders, service_hours, volunteer
from db.models import Allocation, Base, HoursCorrection, LedgerEntry
from tests.factories import V, all_agree, give_points, make_village
from tests.load import figures

TODAY = dt.date.today()
VILLAGE_ROLES = tuple(r for r in ROLES if r not in AREA_ROLES)
ADMIN = {"admin"}
SHOP = {"admin", "cashier"}
FIELD = {"admin", "field_lead"}
LEAD = {"admin", "volunteer_lead"}
REVIEW = {"admin", "committee"}
AREA = {"county_admin", "township_admin"}  # manage the villages of their county / township


@dataclass
class World:
    v: V
    w: V  # another village
    ids: dict[str, int] = field(default_factory=dict)
    db: object = None
    token: str = ""
    files_dir: str = ""  # where photo-taking functions are told to write


def build_world(db, files_dir) -> World:
    """One of everything in village V, made through core by V's own staff. Photo-taking
    functions are pointed at ``files_dir``."""
    v = make_village(db, households=5)
    w = make_village(db, name="邻村", code="T002", households=2, township="别的镇")
    a = v.actors
    hid, hid2, hid3 = v.household_ids[:3]
    rid = v.resident_ids[0]
    ids: dict[str, int] = {}
    for h in v.household_ids:
        give_points(db, h, 500, f"seed:{h}")
    ids["product"] = stock.save_product(db, a["admin"], v.id, stock.ProductInput(name="香皂", price=5))
    stock.receive_stock(db, a["admin"], ids["product"], 50)
    token = cards.issue_card(db, a["cashier"], hid)
    ids["redemption"] = shop.checkout(db, a["cashier"], household_id=hid, card_id=None, cart={ids["product"]: 1},
                                      cart_key="world-1", delivery=True)
    from core.supermarket import returns

    ids["redemption_line"] = returns.returnable(db, v.id, ids["redemption"])[0].line_id
    with db.read() as s:
        ids["entry"] = s.execute(select(LedgerEntry.id).where(LedgerEntry.source_id == f"seed:{hid2}")).scalar_one()
    ids["session"] = sessions.open_session(db, a["committee"], v.id, held_on=TODAY,
                                         attendee_ids=[a["committee"].user_id])
    props = [proposals.submit(db, a["grid_worker"], household_id=h, rule_item_id=v.rule_ids["HJ01"], act_date=TODAY,
                              note="庭院整洁") for h in (hid, hid2, hid3, v.household_ids[3])]
    ids["proposal"], ids["proposal2"] = props[0], props[1]
    votes = all_agree(db, ids["session"])
    review.decide(db, a["committee"], ids["session"], props[2], "approved", votes=votes)
    review.decide(db, a["committee"], ids["session"], props[3], "approved", votes=votes)  # in 公示, due in a few days
    ids["guest"] = sessions.add_guest(db, a["committee"], ids["session"], name="村民代表甲", capacity="representative")
    ids["objection"] = publicity.log_objection(db, a["grid_worker"], props[2], raised_by="村民甲", reason="有异议")
    ids["activity"] = volunteer.create_activity(db, a["volunteer_lead"], title="清扫村道", date=TODAY)
    volunteer.sign_up(db, a["volunteer_lead"], ids["activity"], rid)
    ids["attendance"] = service_hours.set_minutes(db, a["volunteer_lead"], ids["activity"], rid, 60)
    service_hours.request_correction(db, a["volunteer_lead"], ids["attendance"], 90, "漏记半小时")
    with db.read() as s:
        ids["correction"] = s.execute(select(HoursCorrection.id)).scalar_one()
    ids["outsider"] = outsiders.add(db, a["volunteer_lead"], name="王建国", unit="镇财政所", card_no="K-1")
    outsiders.sign_up(db, a["volunteer_lead"], ids["activity"], ids["outsider"])
    ids["plot"] = field_mod.save_plot(db, a["field_lead"], name="东坡地", area_mu="2.5", member_ids=[rid])
    ids["season"] = field_mod.add_season(db, a["field_lead"], ids["plot"], crop="小麦", sown_on=TODAY)
    produce.record_harvest(db, a["field_lead"], season_id=ids["season"], date=TODAY, kg="100")
    ids["work_day"] = field_mod.create_work_day(db, a["field_lead"], plot_id=ids["plot"], date=TODAY, tasks="除草")
    ids["beneficiary"] = field_aid.register(db, a["field_lead"], household_id=hid, category="elderly", approve=True)
    ids["beneficiary2"] = field_aid.register(db, a["field_lead"], household_id=hid2, category="dibao")
    ids["round"] = distribution.create_round(db, a["field_lead"], title="秋季分配", crop="小麦", total_kg="10",
                                          rule="household")
    with db.read() as s:
        ids["allocation"] = s.execute(select(Allocation.id).where(Allocation.round_id == ids["round"])).scalar()
    from core.supermarket import fund

    ids["fund_entry"] = fund.record_entry(db, a["admin"], v.id, kind="donation", date=TODAY, amount_yuan="1000",
                                          counterparty="爱心企业", entry_key="world-fund-1")
    ids["extra_user"] = staff.create_user(db, a["admin"], username="extra_user", display_name="临时工作人员",
                                          password="correct-horse-9", roles=["grid_worker"], village_id=v.id)
    return World(v=v, w=w, ids=ids, token=token, db=db, files_dir=str(files_dir))


# ---------------------------------------------------------------- the matrix
# name -> (allowed roles, kwargs builder). An empty role set: no staff role may call it
# (system / command line only). POSITIVE_SKIP: not called with an allowed role (the
# call would wipe the world or is refused for other reasons by design).

Args = Callable[[World], dict]
MATRIX: dict[str, tuple[set[str], Args]] = {
    "audit_search.filters": (ADMIN, lambda W: {"village_id": W.v.id}),
    "audit_search.search": (ADMIN, lambda W: {"village_id": W.v.id}),
    "card_sheet.card_sheet": (SHOP, lambda W: {"village_id": W.v.id}),
    "card_sheet.cards_to_print": (SHOP, lambda W: {"village_id": W.v.id}),
    "cards.issue_card": (SHOP, lambda W: {"household_id": W.v.household_ids[3]}),
    "cards.issue_missing": (SHOP, lambda W: {"village_id": W.v.id}),
    "cards.reissue_card": (SHOP, lambda W: {"household_id": W.v.household_ids[1], "reason": "遗失"}),
    "cards.revoke_card": (SHOP, lambda W: {"household_id": W.v.household_ids[1], "reason": "遗失"}),
    "certificates.issue": (LEAD, lambda W: {"resident_id": W.v.resident_ids[0], "period_from": TODAY,
                                            "period_to": TODAY}),
    "certificates.issue_outsider": (LEAD, lambda W: {"outsider_id": W.ids["outsider"], "period_from": TODAY,
                                                     "period_to": TODAY}),
    "outsiders.add": (LEAD, lambda W: {"name": "赵敏", "unit": "县供电公司"}),
    "outsiders.cancel_signup": (LEAD, lambda W: {"activity_id": W.ids["activity"], "outsider_id": W.ids["outsider"]}),
    "outsiders.check_in": (LEAD, lambda W: {"activity_id": W.ids["activity"], "outsider_id": W.ids["outsider"]}),
    "outsiders.check_in_by_card": (LEAD, lambda W: {"activity_id": W.ids["activity"], "card_no": "K-1"}),
    "outsiders.check_out": (LEAD, lambda W: {"activity_id": W.ids["activity"], "outsider_id": W.ids["outsider"]}),
    "outsiders.register": (LEAD | FIELD, lambda W: {"village_id": W.v.id}),
    "outsiders.set_active": (LEAD, lambda W: {"outsider_id": W.ids["outsider"], "active": False, "reason": "调离"}),
    "outsiders.set_minutes": (LEAD, lambda W: {"activity_id": W.ids["activity"], "outsider_id": W.ids["outsider"],
                                               "minutes": 60}),
    "outsiders.sign_up": (LEAD, lambda W: {"activity_id": W.ids["activity"], "outsider_id": W.ids["outsider"]}),
    "outsiders.update": (LEAD, lambda W: {"outsider_id": W.ids["outsider"], "name": "王建国", "unit": "镇政府"}),
    "statement.statements_pdf": ({"admin", "cashier", "committee", "grid_worker"}, lambda W: {
        "village_id": W.v.id, "period": Period("year", TODAY.year, 1)}),
    "closes.close_month": (ADMIN, lambda W: {"village_id": W.v.id, "confirm": True,
                                             "month": f"{TODAY.replace(day=1) - dt.timedelta(days=1):%Y-%m}"}),
    "closes.close_year": (ADMIN, lambda W: {"village_id": W.v.id, "year": TODAY.year - 1,
                                            "confirm": str(TODAY.year - 1)}),
    "honours.publish": (REVIEW, lambda W: {"village_id": W.v.id, "year": TODAY.year, "confirm": True}),
    "comparison.comparison_rows": (ADMIN | AREA | {"township_viewer"},
                                   lambda W: {"period": Period("year", TODAY.year, 1), "level": "village"}),
    "cycles.grant_base": (ADMIN, lambda W: {"village_id": W.v.id, "period": f"{TODAY:%Y-%m}"}),
    "cycles.run_year_end": (ADMIN, lambda W: {"village_id": W.v.id, "year": TODAY.year - 1,
                                              "confirm": str(TODAY.year - 1)}),
    "field.add_season": (FIELD, lambda W: {"plot_id": W.ids["plot"], "crop": "玉米", "sown_on": TODAY}),
    "field.add_work_hours": (FIELD | LEAD, lambda W: {"activity_id": W.ids["work_day"],
                                                      "resident_ids": [W.v.resident_ids[0]], "minutes": 120}),
    "field.create_work_day": (FIELD, lambda W: {"plot_id": W.ids["plot"], "date": TODAY, "tasks": "浇水"}),
    "produce.record_harvest": (FIELD, lambda W: {"season_id": W.ids["season"], "date": TODAY, "kg": "5",
                                               "photo": _png(), "photo_dir": W.files_dir}),
    "produce.record_loss": (FIELD, lambda W: {"crop": "小麦", "kg": "1", "reason": "霉变"}),
    "field.save_plot": (FIELD, lambda W: {"name": "西坡地", "area_mu": "1", "member_ids": [W.v.resident_ids[1]]}),
    "produce.sell_surplus": (FIELD, lambda W: {"crop": "小麦", "kg": "1", "amount_yuan": "3", "date": TODAY}),
    "produce.transfer_to_shop": (FIELD, lambda W: {"crop": "小麦", "kg": "1", "product_id": W.ids["product"],
                                                 "qty": 1}),
    "field_aid.approve": (FIELD, lambda W: {"beneficiary_id": W.ids["beneficiary2"]}),
    "distribution.cancel_draft": (FIELD, lambda W: {"round_id": W.ids["round"]}),
    "distribution.confirm_round": (FIELD, lambda W: {"round_id": W.ids["round"]}),
    "distribution.close_round": (FIELD, lambda W: {"round_id": W.ids["round"], "reason": "农产品不宜久放"}),
    "field_aid.confirm_suggestions": (FIELD, lambda W: {"household_ids": [W.v.household_ids[4]],
                                                        "valid_until": None}),
    "distribution.create_round": (FIELD, lambda W: {"title": "补充分配", "crop": "小麦", "total_kg": "1",
                                                 "rule": "household"}),
    "field_aid.deactivate": (FIELD, lambda W: {"beneficiary_id": W.ids["beneficiary2"], "reason": "迁出"}),
    "distribution.deliver_by_card": (FIELD, lambda W: {"round_id": W.ids["round"], "scanned": W.token}),
    "distribution.deliver_by_proxy": (FIELD, lambda W: {"allocation_id": W.ids["allocation"], "signed_by": "儿子"}),
    "field_aid.renew": (FIELD, lambda W: {"beneficiary_id": W.ids["beneficiary"],
                                          "valid_until": TODAY + dt.timedelta(days=365)}),
    "field_aid.register": (FIELD, lambda W: {"household_id": W.v.household_ids[3], "category": "disabled"}),
    "corrections.adjust": (ADMIN, lambda W: {"household_id": W.v.household_ids[0], "points": 5, "reason": "更正"}),
    "corrections.reverse": (ADMIN, lambda W: {"entry_id": W.ids["entry"], "reason": "录错"}),
    "proposals.submit": ({"admin", "committee", "grid_worker"},
                         lambda W: {"household_id": W.v.household_ids[0], "rule_item_id": W.v.rule_ids["HJ01"],
                                    "act_date": TODAY, "note": "x", "photos": [("现场.png", _png())],
                                    "data_dir": W.files_dir}),
    "publicity.log_objection": ({"admin", "committee", "grid_worker"},
                                lambda W: {"proposal_id": W.ids["proposal"], "raised_by": "村民乙", "reason": "不同意"}),
    # "today" after the 公示 window, so something is due and the call reaches its check
    "lifecycle.close_household": (ADMIN, lambda W: {"household_id": W.v.household_ids[4], "reason": "moved"}),
    "lifecycle.merge": (ADMIN, lambda W: {"from_id": W.v.household_ids[4], "into_id": W.v.household_ids[0]}),
    "lifecycle.reopen_household": (ADMIN, lambda W: {"household_id": W.v.household_ids[4], "note": "登记有误"}),
    "lifecycle.resident_leaves": (ADMIN, lambda W: {"resident_id": W.v.resident_ids[4], "reason": "moved"}),
    "lifecycle.resident_returns": (ADMIN, lambda W: {"resident_id": W.v.resident_ids[4]}),
    "lifecycle.split": (ADMIN, lambda W: {"household_id": W.v.household_ids[4], "resident_ids": [W.v.resident_ids[4]],
                                          "door_no": "9-001"}),
    "opening.commit": (ADMIN, lambda W: {"village_id": W.v.id, "filename": "台账.csv",
                                         "data": "门牌号,期初积分\n1-005,5\n".encode(), "cutover": TODAY}),
    "opening.preview": (ADMIN, lambda W: {"village_id": W.v.id, "filename": "台账.csv",
                                          "data": "门牌号,期初积分\n1-005,5\n".encode(), "cutover": TODAY}),
    "reconciliation.reconciliation": (ADMIN, lambda W: {"village_id": W.v.id, "filename": "台账.csv",
                                                 "data": "门牌号,期初积分\n1-005,5\n".encode(), "cutover": TODAY}),
    "publicity.post_due": (set(VILLAGE_ROLES), lambda W: {"village_id": W.v.id, "today": TODAY + dt.timedelta(10)}),
    "publicity.post_due_if_any": (set(VILLAGE_ROLES), lambda W: {"village_id": W.v.id,
                                                                 "today": TODAY + dt.timedelta(10)}),
    "sessions.add_guest": (REVIEW, lambda W: {"session_id": W.ids["session"], "name": "党员代表乙", "capacity": "party"}),
    "sessions.add_member": (REVIEW, lambda W: {"session_id": W.ids["session"], "user_id": W.v.actors["committee"].user_id}),
    "reports.workbench": (set(ROLES), lambda W: {"today": TODAY}),  # every role has one; no role, none
    "review.bulk_approve": (REVIEW, lambda W: {"session_id": W.ids["session"], "proposal_ids": [W.ids["proposal2"]],
                                               "votes": all_agree(W.db, W.ids["session"])}),
    "sessions.close_session": (REVIEW, lambda W: {"session_id": W.ids["session"]}),
    "review.decide": (REVIEW, lambda W: {"session_id": W.ids["session"], "proposal_id": W.ids["proposal"],
                                         "outcome": "deferred", "reason": "待核实",
                                         "votes": all_agree(W.db, W.ids["session"])}),
    "sessions.open_session": (REVIEW, lambda W: {"village_id": W.v.id, "held_on": TODAY,
                                               "attendee_ids": [W.v.actors["committee"].user_id]}),
    "sessions.record_departure": (REVIEW, lambda W: {"session_id": W.ids["session"], "attendee_id": W.ids["guest"]}),
    "review.resolve_objection": (REVIEW, lambda W: {"session_id": W.ids["session"], "objection_id": W.ids["objection"],
                                                    "outcome": "upheld", "reason": "情况属实",
                                                    "votes": all_agree(W.db, W.ids["session"])}),
    "roster.commit": (ADMIN, lambda W: {"village_id": W.v.id, "filename": "花名册.csv",
                                        "data": "门牌号,姓名\n".encode()}),
    "roster.preview": (ADMIN, lambda W: {"village_id": W.v.id, "filename": "花名册.csv",
                                         "data": "门牌号,姓名\n".encode()}),
    "rules.create_category": (ADMIN, lambda W: {"village_id": W.v.id, "name": "孝老爱亲"}),
    "rules.create_item": (ADMIN, lambda W: {"village_id": W.v.id, "category_id": W.v.category_ids[0], "code": "HJ09",
                                            "name": "门前三包", "points": 3, "min_points": 1, "max_points": 5}),
    "rules.revise_item": (ADMIN, lambda W: {"item_id": W.v.rule_ids["HJ06"], "name": "乱倒垃圾", "points": -6,
                                            "min_points": -10, "max_points": -3, "adopted_by": "村民代表大会"}),
    "rules.set_category_active": (ADMIN, lambda W: {"category_id": W.v.category_ids[0], "active": True}),
    "rules.set_item_active": (ADMIN, lambda W: {"item_id": W.v.rule_ids["HJ06"], "active": True}),
    "settings.change": (ADMIN, lambda W: {"village_id": W.v.id, "key": "publicity_days", "value": 2}),
    "setup.add_grid": (ADMIN, lambda W: {"village_id": W.v.id, "name": "第二网格"}),
    "setup.create_village": (AREA, lambda W: {"name": "新村", "township": "测试镇", "county": "测试县", "grids": [],
                                               "admin_username": "newadmin", "admin_name": "新管理员",
                                               "admin_password": "correct-horse-9"}),
    "setup.set_grid_worker": (ADMIN, lambda W: {"grid_id": W.v.grid_ids[0],
                                                "user_id": W.v.actors["grid_worker"].user_id}),
    "setup.remove_demo": (ADMIN, lambda W: {"confirm": "删除示范数据"}),
    "fund.record_entry": (SHOP, lambda W: {"village_id": W.v.id, "kind": "purchase", "date": TODAY,
                                           "amount_yuan": "3", "counterparty": "供销社", "items": "香皂 2 块",
                                           "entry_key": "matrix-fund"}),
    "fund.reverse_entry": (ADMIN, lambda W: {"entry_id": W.ids["fund_entry"], "reason": "记错"}),
    "returns.return_items": (SHOP, lambda W: {"redemption_id": W.ids["redemption"],
                                              "quantities": {W.ids["redemption_line"]: 1}, "reason": "退货",
                                              "return_key": "matrix-return"}),
    "shop.checkout": (SHOP, lambda W: {"household_id": W.v.household_ids[1], "card_id": None,
                                       "cart": {W.ids["product"]: 1}, "cart_key": "matrix-1"}),
    "shop.mark_delivered": (SHOP, lambda W: {"redemption_id": W.ids["redemption"]}),
    "shop.void": (SHOP, lambda W: {"redemption_id": W.ids["redemption"], "reason": "退货"}),
    "staff.create_user": (ADMIN, lambda W: {"username": "new_clerk", "display_name": "新收银员",
                                            "password": "correct-horse-9", "roles": ["cashier"], "village_id": W.v.id}),
    "staff.reset_password": (ADMIN, lambda W: {"user_id": W.ids["extra_user"], "new_password": "another-horse-9"}),
    "staff.set_active": (ADMIN, lambda W: {"user_id": W.ids["extra_user"], "active": True}),
    "staff.set_display_name": (ADMIN, lambda W: {"user_id": W.ids["extra_user"], "display_name": "改名"}),
    "staff.set_roles": (ADMIN, lambda W: {"user_id": W.ids["extra_user"], "roles": ["grid_worker", "cashier"]}),
    "villages.create_village": (AREA, lambda W: {"name": "新建村", "township": W.v.township,
                                                 "admin_username": "xinjian_admin", "admin_name": "新村管理员"}),
    "villages.managed_villages": (AREA, lambda W: {}),
    "villages.townships": (AREA, lambda W: {}),
    # to its own township: past the check without moving the village the later calls use
    "villages.move_village": ({"county_admin"}, lambda W: {"village_id": W.v.id, "township": W.v.township}),
    "villages.rename_village": (AREA, lambda W: {"village_id": W.v.id, "name": "测试村（改）"}),
    "stock.count_stock": (SHOP, lambda W: {"product_id": W.ids["product"], "counted": 49}),
    "stock.receive_stock": (SHOP, lambda W: {"product_id": W.ids["product"], "qty": 3}),
    "stock.save_product": (SHOP, lambda W: {"village_id": W.v.id, "data": stock.ProductInput(name="毛巾", price=8)}),
    "volunteer.cancel_signup": (LEAD, lambda W: {"activity_id": W.ids["activity"], "resident_id": W.v.resident_ids[0]}),
    "service_hours.check_in": (LEAD, lambda W: {"activity_id": W.ids["activity"], "resident_id": W.v.resident_ids[1]}),
    "service_hours.check_in_by_card": (LEAD, lambda W: {"activity_id": W.ids["activity"], "scanned": W.token}),
    "service_hours.check_out": (LEAD, lambda W: {"activity_id": W.ids["activity"], "resident_id": W.v.resident_ids[1]}),
    "service_hours.check_out_by_card": (LEAD, lambda W: {"activity_id": W.ids["activity"], "scanned": W.token}),
    "service_hours.confirm": (LEAD, lambda W: {"activity_id": W.ids["activity"]}),
    "volunteer.create_activity": (LEAD, lambda W: {"title": "敬老院打扫", "date": TODAY}),
    "service_hours.decide_correction": (LEAD, lambda W: {"correction_id": W.ids["correction"], "accept": True}),
    "service_hours.request_correction": (LEAD | {"grid_worker"}, lambda W: {"attendance_id": W.ids["attendance"],
                                                                        "new_minutes": 75, "reason": "记错"}),
    "service_hours.set_minutes": (LEAD, lambda W: {"activity_id": W.ids["activity"], "resident_id": W.v.resident_ids[2],
                                               "minutes": 30}),
    "volunteer.set_status": (LEAD, lambda W: {"activity_id": W.ids["activity"], "status": "done"}),
    "volunteer.sign_up": (LEAD, lambda W: {"activity_id": W.ids["activity"], "resident_id": W.v.resident_ids[3]}),
    "volunteer.update_activity": (LEAD, lambda W: {"activity_id": W.ids["activity"], "title": "清扫村道（改）",
                                                   "date": TODAY}),
}
POSITIVE_SKIP = {"setup.remove_demo"}  # refuses while a real village exists, for everyone: covered by the admin tests
# The village comes from the actor itself and no argument names another village's
# object: another village's actor acts in its own village, which is allowed.
ACTOR_SCOPED = {"comparison.comparison_rows", "produce.record_loss", "produce.sell_surplus", "distribution.create_round",
                "outsiders.add", "reports.workbench", "volunteer.create_activity"}


def actor_taking_functions() -> dict[str, Callable]:
    """Every public function in core's modules (all domain packages) whose first parameter is ``db``
    and which takes an actor, named ``module.function`` by the module's own name."""
    found = {}
    for info in pkgutil.walk_packages(core.__path__, "core."):
        if info.ispkg:
            continue
        mod = importlib.import_module(info.name)
        short = info.name.rsplit(".", 1)[1]
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if fn.__module__ != mod.__name__ or name.startswith("_"):
                continue
            params = list(inspect.signature(fn).parameters)
            if params[:1] == ["db"] and "actor" in params:
                assert f"{short}.{name}" not in found, f"two core modules are named {short}"
                found[f"{short}.{name}"] = fn
    return found


def test_every_core_function_taking_an_actor_is_in_the_matrix():
    found = set(actor_taking_functions())
    missing = sorted(found - set(MATRIX))
    assert missing == [], f"add these to MATRIX in {__file__} with their allowed roles: {missing}"
    assert sorted(set(MATRIX) - found) == []  # nothing stale either


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def _fingerprint(db, files_dir: str = "") -> tuple:
    """Row counts of every table, in one query; plus the files under ``files_dir``."""
    from pathlib import Path

    parts = " UNION ALL ".join(f"SELECT '{t.name}', COUNT(*) FROM \"{t.name}\"" for t in Base.metadata.sorted_tables)
    with db.engine.connect() as conn:
        rows = sorted(conn.execute(text(parts)).all())
    files = sorted(str(p) for p in Path(files_dir).rglob("*") if p.is_file()) if files_dir else []
    return (*rows, ("files", len(files), tuple(files)))


def _nobody(v: V) -> Actor:
    return Actor(user_id=v.actors["admin"].user_id, name="无角色", roles=frozenset(), village_id=v.id,
                 township=v.township)


def _everything_elsewhere(w: V) -> Actor:
    return Actor(user_id=w.actors["admin"].user_id, name="邻村全权", roles=frozenset(VILLAGE_ROLES), village_id=w.id,
                 township=w.township)


def test_nothing_unauthorised_succeeds_for_any_role_on_any_core_write(db, tmp_path):
    world = build_world(db, tmp_path / "files")
    functions = actor_taking_functions()
    tried = refused = positive = writes = 0
    failures: list[str] = []
    for name in sorted(MATRIX):
        allowed, args = MATRIX[name]
        fn = functions[name]
        callers: list[tuple[str, Actor, tuple]] = [
            (f"role {r}", world.v.actors[r], (NotAllowed,)) for r in ROLES if r not in allowed]
        callers.append(("no role", _nobody(world.v), (NotAllowed,)))
        if name not in ACTOR_SCOPED:
            callers.append(("another village, every role", _everything_elsewhere(world.w), (NotAllowed, NotFound)))
        for label, actor, expected in callers:
            tried += 1
            before = _fingerprint(db, world.files_dir)
            try:
                fn(db, actor, **args(world))
                failures.append(f"{name} by {label}: SUCCEEDED")
            except expected:
                refused += 1
            except Exception as e:  # every other outcome is a finding
                failures.append(f"{name} by {label}: {type(e).__name__}: {e}")
            if _fingerprint(db, world.files_dir) != before:
                failures.append(f"{name} by {label}: changed the database or wrote files although refused")
    # Allowed roles last, after every refusal: these calls may change the world.
    for name in sorted(set(MATRIX) - POSITIVE_SKIP):
        allowed, args = MATRIX[name]
        fn = functions[name]
        for r in sorted(allowed):
            before = {row[0]: row[1] for row in _fingerprint(db)}
            try:
                fn(db, world.v.actors[r], **args(world))
            except NotAllowed as e:
                failures.append(f"{name} by allowed role {r}: NotAllowed ({e}) — matrix or code is wrong")
            except DomainError:
                pass  # past the check: refused for a domain reason (already done, out of stock ...)
            else:
                after = {row[0]: row[1] for row in _fingerprint(db)}
                grew = [t for t in after if t != "audit_log" and after[t] != before.get(t)]
                if grew:
                    writes += 1
                    if after["audit_log"] <= before["audit_log"]:
                        failures.append(f"{name} by {r}: wrote {grew} but left no audit_log row")
            positive += 1
    assert failures == [], "\n".join(failures)
    figures.record("authz", db.engine.dialect.name, {
        "functions": len(MATRIX), "unauthorised_calls": tried, "refused": refused,
        "allowed_calls_past_the_check": positive, "writes_checked_for_an_audit_row": writes,
        "unauthorised_successes": 0})
