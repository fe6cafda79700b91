"""商品与库存: the catalogue, stock-in (purchase / donation), stock count (盘点), low stock."""

from __future__ import annotations

import streamlit as st

from core.supermarket import stock
from core.supermarket.stock import ProductInput
from ui import runtime
from ui.guard import page_guard
from ui.tables import Col, table
from ui.widgets import number_bad, number_box, run_action, say

CATALOGUE = [
    Col("id", "商品ID", "int"),
    Col("name", "名称"),
    Col("category", "分类"),
    Col("kind", "类型", names={"goods": "实物", "service": "服务"}),
    Col("price", "兑换积分", "points"),
    Col("unit", "单位"),
    Col("barcode", "条码", blank=""),
    Col("stock", "库存", value=lambda p: str(p.stock) if p.kind == "goods" else "—"),
    Col("low_stock", "低库存提醒", "int"),
    Col("monthly_limit", "每户每月限兑", value=lambda p: str(p.monthly_limit) if p.monthly_limit else "不限"),
    Col("active", "在售", "bool"),
]
MOVES = [
    Col("created_at", "时间", "datetime"),
    Col("product", "商品"),
    Col("kind", "类型", names=stock.MOVE_NAMES),
    Col("qty", "数量", "int"),
    Col("donor", "捐赠人"),
    Col("funding", "资金来源"),
    Col("reason", "备注"),
]


def _label(p) -> str:
    extra = f"，库存 {p.stock}{p.unit}" if p.kind == "goods" else "，服务"
    return f"{p.name}（{p.price} 分{extra}）" + ("" if p.active else " [已下架]")


def _catalogue(actor, village_id: int, items: list) -> None:
    low = [p for p in items if p.kind == "goods" and p.active and p.stock <= p.low_stock]
    if low:
        say("warning", "库存不足，请及时补货：" + "、".join(f"{p.name}（剩 {p.stock}{p.unit}）" for p in low),
                   icon=":material/inventory:")
    table(items, CATALOGUE, key="products_catalogue", download="商品目录")


def _product_form(actor, village_id: int, items: list) -> None:
    by_id = {p.id: p for p in items}
    pid = st.selectbox("编辑已有商品（不选则新增）", list(by_id), format_func=lambda i: _label(by_id[i]),
                       index=None, placeholder="新增商品", key="products_edit_pick")
    p = by_id.get(pid)
    with st.form(f"products_form_{pid or 'new'}", clear_on_submit=p is None):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("商品名称", value=p.name if p else "", max_chars=60)
        category = c2.text_input("分类", value=p.category if p else "", max_chars=30, placeholder="粮油、日用品、服务…")
        kinds = {"goods": "实物", "service": "服务"}
        kind = c3.selectbox("类型", list(kinds), format_func=kinds.get,
                            index=0 if p is None or p.kind == "goods" else 1)
        c1, c2, c3 = st.columns(3)
        price = number_box("兑换积分", min_value=1, step=1, value=p.price if p else 10, where=c1)
        unit = c2.text_input("单位", value=p.unit if p else "件", max_chars=10)
        barcode = c3.text_input("条码（可扫码枪录入）", value=(p.barcode or "") if p else "", max_chars=40)
        c1, c2, c3 = st.columns(3)
        limit = number_box("每户每月限兑（0 = 不限）", min_value=0, step=1,
                           value=(p.monthly_limit or 0) if p else 0, where=c1)
        low = number_box("低库存提醒", min_value=0, step=1, value=p.low_stock if p else 5, where=c2)
        active = c3.checkbox("在售", value=p.active if p else True)
        if st.form_submit_button("保存修改" if p else "新增商品", type="primary") and None not in (price, limit, low):
            data = ProductInput(name=name, price=int(price), category=category, kind=kind, unit=unit,
                                barcode=barcode or None, low_stock=int(low), monthly_limit=int(limit) or None,
                                active=active)
            if run_action(lambda: stock.save_product(runtime.db(), actor, village_id, data, pid),
                          success="已保存商品。"):
                st.rerun()
    st.caption("库存只能通过入库和盘点改变，不能直接修改。")


def _stock_in(actor, village_id: int, goods: list) -> None:
    by_id = {p.id: p for p in goods}
    with st.form("products_stock_in", clear_on_submit=True):
        pid = st.selectbox("商品", list(by_id), format_func=lambda i: _label(by_id[i]), index=None,
                           placeholder="选择入库商品")
        kinds = {"purchase": "采购", "donation": "捐赠"}
        c1, c2 = st.columns(2)
        kind = c1.segmented_control("来源", list(kinds), format_func=kinds.get, default="purchase")
        qty = number_box("数量", min_value=1, step=1, value=1, where=c2)
        c1, c2 = st.columns(2)
        donor = c1.text_input("捐赠人/单位（捐赠必填）", max_chars=60)
        funding = c2.text_input("资金来源", max_chars=60, placeholder="如：村集体经济、上级补助、社会捐赠")
        reason = st.text_input("备注", max_chars=500)
        if st.form_submit_button("确认入库", type="primary"):
            if pid is None:
                st.error("请选择商品。")
            elif qty is not None and run_action(lambda: stock.receive_stock(runtime.db(), actor, pid, int(qty), kind or "purchase",
                                                        donor=donor, funding=funding, reason=reason),
                            success=f"已入库：{by_id[pid].name} {int(qty)}{by_id[pid].unit}。"):
                st.rerun()
    st.caption("义田收获转入超市由义田负责人在“义田与收获”中办理。")


def _count(actor, village_id: int, goods: list) -> None:
    by_id = {p.id: p for p in goods}
    with st.form("products_count", clear_on_submit=True):
        pid = st.selectbox("商品", list(by_id), format_func=lambda i: _label(by_id[i]), index=None,
                           placeholder="选择盘点商品")
        counted = number_box("实盘数量", min_value=0, step=1, value=None, placeholder="清点后的实际数量",
                             key="products_count_counted")
        reason = st.text_input("差异原因（实盘与账面不符时必填）", max_chars=500, placeholder="如：破损、过期、漏记")
        if st.form_submit_button("提交盘点", type="primary"):
            if number_bad("products_count_counted"):
                pass  # the box says why, under it
            elif pid is None or counted is None:
                st.error("请选择商品并填写实盘数量。")
            else:
                diff = run_action(lambda: stock.count_stock(runtime.db(), actor, pid, int(counted), reason))
                if diff is not None:
                    msg = "账实相符。" if diff == 0 else f"已按实盘调整库存 {diff:+d}{by_id[pid].unit}。"
                    say("success", f"{by_id[pid].name}盘点完成：{msg}")


def render() -> None:
    actor = page_guard("products")
    st.title("商品与库存")
    village_id = actor.village_id
    if village_id is None:
        st.info("当前账号不属于任何村。")
        return
    items = stock.products(runtime.db(), village_id)
    goods = [p for p in items if p.kind == "goods"]
    tabs = st.tabs(["商品目录", "新增/编辑商品", "入库", "盘点", "出入库记录"])
    with tabs[0]:
        if items:
            _catalogue(actor, village_id, items)
        else:
            st.info("还没有商品，请在“新增/编辑商品”中添加。")
    with tabs[1]:
        _product_form(actor, village_id, items)
    with tabs[2]:
        _stock_in(actor, village_id, goods)
    with tabs[3]:
        _count(actor, village_id, goods)
    with tabs[4]:
        table(stock.stock_moves(runtime.db(), village_id), MOVES, key="products_moves", download="出入库记录",
              empty="还没有出入库记录。")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
