"""The page registry: which screens exist, under which heading, for which roles.

Navigation is built from this list and the user's roles; each page still calls its own
guard (see ui.guard) because a URL can be typed by hand.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    module: str  # pages/<module>.py, which defines render()
    title: str
    icon: str
    roles: tuple[str, ...]  # empty = public (no login)
    section: str


STAFF = ("admin", "committee", "grid_worker", "cashier", "volunteer_lead", "field_lead")
VILLAGE_VIEW = ("admin", "committee")
AREA = ("county_admin", "township_admin")  # manage the villages of a county or township

PAGES: list[PageSpec] = [
    PageSpec("home", "工作台", ":material/home:", STAFF + ("township_viewer",) + AREA, "今日"),
    PageSpec("proposal_new", "积分申报", ":material/add_task:", ("grid_worker", "committee", "admin"), "积分评议"),
    PageSpec("review", "评议会", ":material/gavel:", ("committee", "admin"), "积分评议"),
    PageSpec("publicity", "公示与异议", ":material/campaign:", ("committee", "admin", "grid_worker"), "积分评议"),
    PageSpec("households", "户积分查询", ":material/family_restroom:", STAFF, "积分评议"),
    PageSpec("rules", "积分细则", ":material/rule:", ("admin", "committee"), "积分评议"),
    PageSpec("checkout", "收银台", ":material/point_of_sale:", ("cashier", "admin"), "积分超市"),
    PageSpec("redemptions", "兑换记录", ":material/receipt_long:", ("cashier", "admin"), "积分超市"),
    PageSpec("products", "商品与库存", ":material/inventory_2:", ("cashier", "admin"), "积分超市"),
    PageSpec("cards", "积分卡", ":material/qr_code_2:", ("admin", "cashier"), "积分超市"),
    PageSpec("fund", "村集体资金", ":material/account_balance:", ("admin", "cashier"), "积分超市"),
    PageSpec("transparency", "五公开报表", ":material/fact_check:", ("admin", "cashier", "committee"), "积分超市"),
    PageSpec("activities", "志愿活动", ":material/volunteer_activism:", ("volunteer_lead", "admin"), "志愿服务"),
    PageSpec("checkin", "扫码签到", ":material/qr_code_scanner:", ("volunteer_lead", "field_lead", "admin"), "志愿服务"),
    PageSpec("volunteers", "志愿者与证明", ":material/workspace_premium:", ("volunteer_lead", "admin"), "志愿服务"),
    PageSpec("field", "义田与收获", ":material/agriculture:", ("field_lead", "admin"), "党员义田"),
    PageSpec("beneficiaries", "受助对象", ":material/elderly:", ("field_lead", "admin"), "党员义田"),
    PageSpec("distribution", "分配与签领", ":material/local_shipping:", ("field_lead", "admin"), "党员义田"),
    PageSpec("overview", "村情总览", ":material/monitoring:", VILLAGE_VIEW, "统计"),
    PageSpec("rankings", "排行与星级户", ":material/military_tech:", VILLAGE_VIEW, "统计"),
    PageSpec("honours", "年度表彰", ":material/emoji_events:", ("admin", "committee"), "统计"),
    PageSpec("compare", "村际比较", ":material/compare_arrows:", ("township_viewer", "admin") + AREA, "统计"),
    PageSpec("villages", "村庄管理", ":material/holiday_village:", AREA, "管理"),
    PageSpec("settings", "系统设置", ":material/settings:", ("admin",), "管理"),
    PageSpec("staff", "工作人员", ":material/badge:", ("admin",), "管理"),
    PageSpec("roster", "花名册导入", ":material/upload_file:", ("admin",), "管理"),
    PageSpec("cycles", "底分与年终", ":material/event_repeat:", ("admin",), "管理"),
    PageSpec("audit", "操作日志", ":material/history:", ("admin",), "管理"),
]

# No login: the office TV board (it checks its own setting). The resident's card link
# (/me?card=TOKEN) is the light page in web/, served beside Streamlit by serve.py.
PUBLIC_PAGES: list[PageSpec] = [
    PageSpec("board", "公示栏", ":material/tv:", (), "公开"),
]


def spec_for(module: str) -> PageSpec:
    """The registry entry of pages/<module>.py (KeyError names a page that is not registered)."""
    for spec in (*PAGES, *PUBLIC_PAGES):
        if spec.module == module:
            return spec
    raise KeyError(f"page {module!r} is not in ui.nav.PAGES")


def render_function(module: str):
    return importlib.import_module(f"pages.{module}").render


def pages_for(roles: frozenset[str]) -> list[PageSpec]:
    return [p for p in PAGES if roles.intersection(p.roles)]
