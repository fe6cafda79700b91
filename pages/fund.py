"""村集体资金: the village fund — record income and spending (confirmed in a dialog), correct an
entry by a reversal (冲正), the list with filters and its Excel export. The cashier records
purchases for the supermarket (超市采购) only; the rest is the village admin's."""

from __future__ import annotations

import datetime as dt
import uuid

import streamlit as st

from core.supermarket import fund
from ui import confirm, runtime
from ui.guard import page_guard
from ui.tables import Col, labelled, table
from ui.widgets import excel_download, run_action, say


def _reversal_mark(r: fund.FundRow) -> str:
    if r.reverses_seq is not None:
        return f"冲正第 {r.reverses_seq} 号"
    return f"已被第 {r.reversed_by_seq} 号冲正" if r.reversed_by_seq is not None else ""


ENTRIES = [
    Col("seq", "编号", "int"),
    Col("date", "日期", "date"),
    Col("kind", "类型", names=fund.KIND_NAMES),
    Col("income", "收入（元）", "money", value=lambda r: r.amount_fen / 100 if r.amount_fen > 0 else None),
    Col("spending", "支出（元）", "money", value=lambda r: -r.amount_fen / 100 if r.amount_fen < 0 else None),
    Col("balance", "余额（元）", "money", value=lambda r: r.balance_after / 100),
    Col("source_or_purpose", "来源或用途"),
    Col("counterparty", "对方"),
    Col("items", "采购物品"),
    Col("note", "备注"),
    Col("reversal", "冲正", value=_reversal_mark),
    Col("created_by", "经办人"),
    Col("created_at", "登记时间", "datetime"),
]

# what each kind asks for: (counterparty label or None, source label or None, purpose label or None, items?)
FIELDS: dict[str, tuple[str | None, str | None, str | None, bool]] = {
    "opening": (None, "来源说明（如：原账本结余）", None, False),
    "donation": ("捐赠人（必填）", None, "指定用途（如有）", False),
    "other_income": ("付款单位或个人", "收入来源（必填，如：上级补助）", None, False),
    "purchase": ("供应商（必填）", None, "用途（如：积分超市补货）", True),
    "other_spending": ("收款单位或个人", None, "用途（必填）", False),
}


def _record_question(actor, village_id: int, entry: dict) -> None:
    kind = entry["kind"]
    spending = kind in fund.SPENDING
    details = [f"{fund.KIND_NAMES[kind]}　{entry['date']:%Y-%m-%d}　{'支出' if spending else '收入'} {entry['amount_yuan']} 元"]
    details += [f"{label}：{value}" for label, value in (
        ("对方", entry["counterparty"]), ("来源", entry["source"]), ("用途", entry["purpose"]),
        ("采购物品", entry["items"]), ("备注", entry["note"])) if value]
    # The entry carries its idempotency key: the core records it once however often 确认 is clicked.
    if confirm.confirmed("fund_record", entry, details=details, confirm="确认登记", back="取消",
                         warning="资金记录登记后不能修改或删除；如有错误，只能用“冲正”另记一笔相反的记录。此操作会记入操作日志。"):
        done = run_action(lambda: fund.record_entry(runtime.db(), actor, village_id, entry_key=entry["key"],
                                                    **{k: v for k, v in entry.items() if k != "key"}),
                          success=f"已登记{fund.KIND_NAMES[kind]} {entry['amount_yuan']} 元。")
        if done:
            confirm.close()
            st.rerun()


def _reverse_question(actor, row: fund.FundRow) -> None:
    confirm.question(f"冲正会另记一笔 {fund.fmt_yuan(-row.amount_fen, sign=True)} 元的记录，原记录保留；"
                     "每笔记录只能冲正一次。此操作会记入操作日志。",
                     [f"冲正第 {row.seq} 号　{row.date:%Y-%m-%d}　{row.kind_name}　"
                      f"{fund.fmt_yuan(row.amount_fen, sign=True)} 元"])
    reason = st.text_input("冲正原因（必填）", max_chars=200, key="fund_reverse_reason")
    # A record can be reversed only once (core), so a second click reverses nothing.
    if confirm.answer("fund_reverse", confirm="确认冲正", back="取消"):
        done = run_action(lambda: fund.reverse_entry(runtime.db(), actor, row.id, reason),
                          success=f"已冲正第 {row.seq} 号记录。")
        if done:
            confirm.close()
            st.rerun()


def _record_form(actor, village_id: int) -> None:
    kinds = list(fund.RECORDABLE) if actor.has("admin") else ["purchase"]
    kind = st.selectbox("类型", kinds, format_func=fund.KIND_NAMES.get, key="fund_kind")
    who, source_label, purpose_label, with_items = FIELDS[kind]
    with st.form("fund_record_form", clear_on_submit=False, border=True):
        c1, c2 = st.columns(2)
        date = c1.date_input("日期", value=dt.date.today(), max_value=dt.date.today(), format="YYYY-MM-DD",
                             key="fund_date")
        amount = c2.text_input("金额（元）", placeholder="如 1200 或 35.50", max_chars=20, key="fund_amount")
        counterparty = st.text_input(who, max_chars=60, key="fund_counterparty") if who else ""
        source = st.text_input(source_label, max_chars=40, key="fund_source") if source_label else ""
        purpose = st.text_input(purpose_label, max_chars=200, key="fund_purpose") if purpose_label else ""
        items = (st.text_area("采购物品（必填，如：食用油 20 桶、洗衣粉 30 袋）", max_chars=500, key="fund_items")
                 if with_items else "")
        note = st.text_input("备注", max_chars=500, key="fund_note")
        if st.form_submit_button("登记…", type="primary"):
            confirm.open_question("fund_record", {
                "kind": kind, "date": date, "amount_yuan": amount.strip(), "counterparty": counterparty,
                "source": source, "purpose": purpose, "items": items, "note": note, "key": uuid.uuid4().hex})
    entry = confirm.token("fund_record")
    if entry:
        _record_question(actor, village_id, entry)


def _list(actor, village_id: int) -> None:
    today = dt.date.today()
    c = st.columns([1, 1, 2, 2])
    since = c[0].date_input("从", value=today.replace(day=1) - dt.timedelta(days=365), max_value=today,
                            format="YYYY-MM-DD", key="fund_since")
    until = c[1].date_input("到", value=today, format="YYYY-MM-DD", key="fund_until")
    kinds = c[2].multiselect("按类型筛选", list(fund.KIND_NAMES), format_func=fund.KIND_NAMES.get, placeholder="全部",
                             key="fund_kinds")
    word = c[3].text_input("关键词", placeholder="捐赠人、供应商、用途…", max_chars=40, key="fund_word")
    if since > until:
        st.error("开始日期不能晚于结束日期。")
        return
    rows = fund.entries(runtime.db(), village_id, date_from=since, date_to=until, kinds=kinds, text=word)
    if not rows:
        st.info("这段时间没有符合条件的资金记录。")
    else:
        income = sum(r.amount_fen for r in rows if r.amount_fen > 0)
        spending = -sum(r.amount_fen for r in rows if r.amount_fen < 0)
        st.caption(f"共 {len(rows)} 笔：收入 {fund.fmt_yuan(income)} 元，支出 {fund.fmt_yuan(spending)} 元"
                   "（含冲正）。")
        table(rows, ENTRIES, key="fund_entries")
        excel_download("下载 Excel", lambda: {"村集体资金": labelled(rows, ENTRIES)},
                       f"村集体资金_{since:%Y%m%d}-{until:%Y%m%d}.xlsx", "fund_xlsx")
    if not actor.has("admin"):
        return
    st.subheader("冲正一笔记录")
    st.caption("登记错了的记录不能改也不能删：冲正会另记一笔金额相反的记录，两笔都留在明细里。冲正记录本身不能再冲正。")
    open_rows = {r.id: r for r in fund.entries(runtime.db(), village_id) if r.reversible}
    cols = st.columns([4, 1], vertical_alignment="bottom")
    pick = cols[0].selectbox(
        "选择记录", list(open_rows), index=None, placeholder="选择要冲正的记录", key="fund_reverse_pick",
        format_func=lambda i: (f"第 {open_rows[i].seq} 号　{open_rows[i].date:%Y-%m-%d}　{open_rows[i].kind_name}　"
                               f"{fund.fmt_yuan(open_rows[i].amount_fen, sign=True)} 元　"
                               f"{open_rows[i].counterparty or open_rows[i].source or open_rows[i].purpose}"))
    if cols[1].button("冲正…", disabled=pick is None, key="fund_reverse_open", width="stretch"):
        confirm.open_question("fund_reverse", pick)  # closes a record question left open: one at a time
    reversing = confirm.token("fund_reverse")
    if reversing in open_rows:
        _reverse_question(actor, open_rows[reversing])


def render() -> None:
    actor = page_guard("fund")
    st.title("村集体资金")
    village_id = actor.village_id
    if village_id is None:
        st.info("当前账号不属于任何村。")
        return
    st.caption("现金捐赠、超市采购和村集体的其他收支逐笔登记，金额精确到分；每月进入五公开报表和公示栏。"
               "记录登记后不能修改或删除，错了用冲正更正。")
    st.metric("当前余额（元）", fund.fmt_yuan(fund.balance(runtime.db(), village_id)))
    st.subheader("登记收支" if actor.has("admin") else "登记超市采购")
    _record_form(actor, village_id)
    st.subheader("收支明细")
    _list(actor, village_id)
    say("info", "义田出售的收入在“义田与收获”页登记，自动记入村集体资金。")



if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
