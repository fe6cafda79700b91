"""The morning journeys in a real browser, one per role, each checked by what the user sees.

Every test runs on its own fresh server with a copy of the demo data; ids and card tokens
come from that server's SQLite file, and everything asserted is read from the page.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, login, shot, wait_idle

WAIT = 60_000


# ---------------------------------------------------------------- helpers


def q(server, sql: str, *args):
    con = sqlite3.connect(Path(server.data_dir) / "jifen.db")
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def scan(page, key: str, text: str) -> None:
    """Type into a scan box the way a USB scanner does: fast keystrokes, then Enter."""
    box = page.locator(f".st-key-{key}_input input")
    box.click()
    page.keyboard.type(text, delay=5)
    if box.input_value() != text:  # a rerun still finishing (e.g. after picking an activity) ate keystrokes
        wait_idle(page)
        box.fill(text)
    page.keyboard.press("Enter")


def metric_value(page, label: str):
    m = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return m.locator('[data-testid="stMetricValue"]')


def metric(page, label: str) -> str:
    return metric_value(page, label).inner_text().strip()


def number(text: str) -> int:
    return int(re.sub(r"[^\d-]", "", text))


def pick(page, key: str, typed: str, option_text: str | None = None) -> None:
    """Choose a selectbox option by typing into its search box.

    Under load the dropdown can open before a rerun replaces the widget; then the typed
    text is lost, so open it again (up to three times) rather than fail on a race."""
    for attempt in range(3):
        box = page.locator(f".st-key-{key} input").first
        box.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(typed)
        option = page.get_by_role("option").filter(has_text=option_text or typed).first
        try:
            option.click(timeout=15_000)
            break
        except Exception:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            wait_idle(page)
    wait_idle(page)


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def agree_all(page, pid: int) -> None:
    """Click 全体同意 for an item and wait until the label counts everyone's vote."""
    page.locator(f".st-key-rv_vote_{pid}_all button").click()
    expect(page.locator(f".st-key-rv_vote_{pid}_box")).to_contain_text("未表决 0", timeout=WAIT)
    wait_idle(page)


def open_review_session(page, server) -> None:
    """Open this morning's session on the review page, ticking each member as present."""
    page.goto(server.url + "/review")
    wait_idle(page)
    boxes = page.locator("[data-testid=stForm] [data-testid=stCheckbox] label")
    boxes.first.wait_for(timeout=WAIT)
    for box in boxes.all():
        box.click()
    page.get_by_role("button", name="开始评议").click()
    page.get_by_role("tab", name=re.compile("待议事项")).wait_for(timeout=WAIT)
    wait_idle(page)


# ---------------------------------------------------------------- 1. committee


def test_a_committee_member_decides_items_and_sees_them_on_publicity(page_factory, server):
    page = page_factory()
    login(page, server.url, "admin")
    page.goto(server.url + "/publicity")
    wait_idle(page)
    tab = page.get_by_role("tab", name=re.compile(r"公示中（\d+）"))
    before = number(tab.inner_text())

    items = q(server, "select p.id, r.min_points, r.max_points, p.points from proposal p "
                      "join rule_item r on r.id = p.rule_item_id where p.status = 'submitted' "
                      "and p.over_cap = 0 and p.act_date <= date('now', 'localtime') order by p.id")
    amend = next(i for i in items if i[1] < i[2])
    approve, reject = [i for i in items if i[0] != amend[0]][:2]
    new_points = amend[1] if amend[3] != amend[1] else amend[2]

    open_review_session(page, server)
    shot(page, "journey-review-session")

    pick(page, "rv_pick", f"#{approve[0]} ")
    page.locator(f".st-key-rv_ok_{approve[0]} button").click()  # no votes entered yet: refused
    page.get_by_text("名出席人员未表决").first.wait_for(timeout=WAIT)
    wait_idle(page)
    assert q(server, "select count(*) from decision where proposal_id = ?", approve[0]) == [(0,)]
    agree_all(page, approve[0])
    shot(page, "journey-review-votes")
    page.locator(f".st-key-rv_ok_{approve[0]} button").click()
    page.get_by_text(f"#{approve[0]} 通过，核定 {approve[3]:+d} 分").first.wait_for(timeout=WAIT)
    wait_idle(page)

    pick(page, "rv_pick", f"#{amend[0]} ")
    pts = page.locator(f".st-key-rv_pts_{amend[0]} input")
    pts.fill(str(new_points))
    pts.press("Tab")
    wait_idle(page)
    agree_all(page, amend[0])
    page.locator(f".st-key-rv_ok_{amend[0]} button").click()
    page.get_by_text(f"#{amend[0]} 通过，核定 {new_points:+d} 分").first.wait_for(timeout=WAIT)
    wait_idle(page)

    pick(page, "rv_pick", f"#{reject[0]} ")
    agree_all(page, reject[0])
    page.locator(f".st-key-rv_no_{reject[0]} button").click()  # no reason yet: refused
    page.get_by_text("理由").first.wait_for(timeout=WAIT)
    wait_idle(page)
    assert page.get_by_text(f"#{reject[0]} 不通过").count() == 0
    page.locator(f".st-key-rv_reason_{reject[0]} input").fill("现场核实不符")
    page.locator(f".st-key-rv_reason_{reject[0]} input").press("Tab")
    wait_idle(page)
    page.locator(f".st-key-rv_no_{reject[0]} button").click()
    page.get_by_text(f"#{reject[0]} 不通过").first.wait_for(timeout=WAIT)
    wait_idle(page)
    assert page.get_by_role("tab", name="本次决定（3）").count() == 1
    no_exception(page)
    shot(page, "journey-review-decided")

    page.goto(server.url + "/publicity")
    wait_idle(page)
    tab = page.get_by_role("tab", name=re.compile(r"公示中（\d+）"))
    assert number(tab.inner_text()) == before + 2
    no_exception(page)
    shot(page, "journey-publicity")
    status = dict(q(server, "select id, status || ':' || coalesce(decided_points, '') from proposal "
                            "where id in (?, ?, ?)", approve[0], amend[0], reject[0]))
    assert status[amend[0]] == f"publicity:{new_points}"
    assert status[approve[0]].startswith("publicity:")
    assert status[reject[0]].startswith("rejected")


def test_a_score_typed_out_of_range_is_refused_in_the_browser_and_nothing_is_decided(page_factory, server):
    pid, lo, hi, proposed = q(server, "select p.id, r.min_points, r.max_points, p.points from proposal p "
                                      "join rule_item r on r.id = p.rule_item_id where p.status = 'submitted' "
                                      "and p.source != 'volunteer' and r.max_points < 999 "
                                      "and p.act_date <= date('now', 'localtime') order by p.id limit 1")[0]
    page = page_factory()
    login(page, server.url, "admin")
    open_review_session(page, server)
    pick(page, "rv_pick", f"#{pid} ")
    box = page.locator(f".st-key-rv_pts_{pid} input")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("999")
    page.locator(f".st-key-rv_ok_{pid} button").click()  # straight from the box, as a user does
    refusal = page.get_by_text(f"核定分值 999 超出该细则的范围 {lo}～{hi} 分")
    refusal.first.wait_for(timeout=WAIT)
    wait_idle(page)
    no_exception(page)
    shot(page, "journey-review-score-refused")
    assert page.get_by_text(f"#{pid} 通过").count() == 0
    assert page.get_by_role("tab", name="本次决定（0）").count() == 1
    assert page.locator(f".st-key-rv_pts_{pid} input").input_value() == "999"
    assert q(server, "select status, decided_points from proposal where id = ?", pid) == [("submitted", None)]
    assert q(server, "select count(*) from decision where proposal_id = ?", pid) == [(0,)]


# ---------------------------------------------------------------- 2. cashier with a scanner


def _rich_cards(server, n: int = 2):
    return q(server, "select c.token, h.door_no || ' ' || h.head_name, a.balance from card c join household h on h.id = c.household_id "
                     "join account a on a.household_id = c.household_id where c.status = 'active' "
                     "order by a.balance desc limit ?", n)


def _redeem_at_counter(page, server, token: str, head: str) -> int:
    """Scan the card, scan a product, confirm; returns the balance shown after the receipt."""
    scan(page, "checkout_scan", token)
    page.get_by_text(f"已读卡：{head}").wait_for(timeout=WAIT)
    wait_idle(page)
    return _buy_one(page, server)


def _buy_one(page, server, scan_right_after: str | None = None) -> int:
    name, barcode, price = q(server, "select name, barcode, price from product where kind = 'goods' "
                                     "and active = 1 and stock > 5 and barcode is not null and barcode != '' "
                                     "order by price limit 1")[0]
    before = number(metric(page, "可兑换积分"))
    scan(page, "checkout_scan", barcode)
    page.get_by_text(f"已加入：{name} ×1").wait_for(timeout=WAIT)
    wait_idle(page)
    page.locator(".st-key-checkout_confirm button").click()
    if scan_right_after:  # the next card is scanned at once; the scanner does not click anything first
        page.keyboard.type(scan_right_after, delay=5)
        page.keyboard.press("Enter")
    page.get_by_text("兑换成功").first.wait_for(timeout=WAIT)
    expect(page.locator(".st-key-checkout_confirm")).to_have_count(0, timeout=WAIT)
    wait_idle(page)
    after = before - price
    expect(metric_value(page, "可兑换积分")).to_have_text(str(after), timeout=WAIT)
    return after


def test_a_cashier_scans_cards_confirms_once_and_a_stray_enter_does_not_charge_again(page_factory, server):
    (tok_a, head_a, _), (tok_b, head_b, _) = _rich_cards(server)
    page = page_factory()
    login(page, server.url, "shouyin")
    page.goto(server.url + "/checkout")
    wait_idle(page)
    # A half-typed code: the box does not show Streamlit's English "Press Enter to submit form".
    box = page.locator(".st-key-checkout_scan_input")
    box.locator("input").click()
    page.keyboard.type("123", delay=5)
    page.wait_for_timeout(300)
    assert box.locator('[data-testid="InputInstructions"]').count() == 1  # rendered by Streamlit …
    assert not box.locator('[data-testid="InputInstructions"]').is_visible()  # … and hidden
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    # Two scans in quick succession: the second household is the one at the counter.
    scan(page, "checkout_scan", tok_a)
    scan(page, "checkout_scan", tok_b)
    page.get_by_text(f"已读卡：{head_b}").wait_for(timeout=WAIT)
    wait_idle(page)
    assert page.get_by_text(f"已读卡：{head_b}").count() == 1
    count = "select count(*) from redemption r join card c on c.household_id = r.household_id where c.token = ?"
    n = q(server, count, tok_b)[0][0]
    # The card is scanned again right after the confirm click (fast keystrokes, then Enter).
    after = _buy_one(page, server, scan_right_after=tok_b)
    shot(page, "journey-checkout-receipt")
    assert page.get_by_role("button", name=re.compile("打印兑换凭证")).count() == 1

    # And a stray Enter in the scan box after the receipt confirms nothing either.
    page.locator(".st-key-checkout_scan_input input").press("Enter")
    wait_idle(page)
    expect(metric_value(page, "可兑换积分")).to_have_text(str(after), timeout=WAIT)
    no_exception(page)
    page.reload()
    wait_idle(page)
    scan(page, "checkout_scan", tok_b)
    page.get_by_text(f"已读卡：{head_b}").wait_for(timeout=WAIT)
    wait_idle(page)
    assert number(metric(page, "可兑换积分")) == after
    assert q(server, count, tok_b)[0][0] == n + 1


def test_a_cashier_returns_one_of_two_bags_and_later_the_rest_without_returning_anything_twice(page_factory, server):
    (token, head, _), = _rich_cards(server, 1)
    name, barcode, price, pid = q(server, "select name, barcode, price, id from product where kind = 'goods' "
                                          "and active = 1 and stock > 5 and barcode is not null and barcode != '' "
                                          "order by price limit 1")[0]
    page = page_factory()
    login(page, server.url, "shouyin")
    page.goto(server.url + "/checkout")
    wait_idle(page)
    scan(page, "checkout_scan", token)
    page.get_by_text(f"已读卡：{head}").wait_for(timeout=WAIT)
    wait_idle(page)
    for _ in (1, 2):  # each scan adds one bag
        scan(page, "checkout_scan", barcode)
        page.get_by_text(f"已加入：{name} ×1").wait_for(timeout=WAIT)
        wait_idle(page)
    page.locator(".st-key-checkout_confirm button").click()
    page.get_by_text("兑换成功").first.wait_for(timeout=WAIT)
    wait_idle(page)
    (rid, receipt_no, hid), = q(server, "select r.id, r.receipt_no, r.household_id from redemption r "
                                        "join card c on c.household_id = r.household_id where c.token = ? "
                                        "order by r.id desc limit 1", token)
    assert q(server, "select qty from redemption_line where redemption_id = ?", rid) == [(2,)]
    balance = q(server, "select balance from account where household_id = ?", hid)[0][0]
    stock = q(server, "select stock from product where id = ?", pid)[0][0]

    page.goto(server.url + "/redemptions")
    wait_idle(page)
    pick(page, "redemptions_void_pick", receipt_no)
    page.locator(".st-key-redemptions_return_open button").click()
    dialog = page.locator("body")  # the question (ui.confirm) is drawn in the page, under the pick
    page.locator(".st-key-redemptions_return_reason").wait_for(timeout=WAIT)
    qty = dialog.locator("[class*='st-key-redemptions_return_qty_'] input")
    qty.fill("1")
    qty.press("Tab")
    wait_idle(page)
    expect(dialog).to_contain_text(f"退回 {price} 积分", timeout=WAIT)
    dialog.locator(".st-key-redemptions_return_reason input").fill("包装破损")
    dialog.locator(".st-key-redemptions_return_reason input").press("Tab")
    wait_idle(page)
    dialog.locator(".st-key-redemptions_return_do button").click()
    page.get_by_text("退货凭证 TH").first.wait_for(timeout=WAIT)
    wait_idle(page)
    shot(page, "journey-partial-return")
    assert page.get_by_role("button", name=re.compile("打印退货凭证")).count() == 1
    assert q(server, "select balance from account where household_id = ?", hid)[0][0] == balance + price
    assert q(server, "select stock from product where id = ?", pid)[0][0] == stock + 1

    # The rest by a void: the one bag still out comes back, the returned one not again.
    pick(page, "redemptions_void_pick", receipt_no)
    page.locator(".st-key-redemptions_void_open button").click()
    dialog = page.locator("body")
    page.locator(".st-key-redemptions_void_reason").wait_for(timeout=WAIT)
    dialog.locator(".st-key-redemptions_void_reason input").fill("其余也退")
    dialog.locator(".st-key-redemptions_void_reason input").press("Tab")
    wait_idle(page)
    dialog.locator(".st-key-redemptions_void_do button").click()
    page.get_by_text(f"已撤销兑换 {receipt_no}").first.wait_for(timeout=WAIT)
    no_exception(page)
    assert q(server, "select balance from account where household_id = ?", hid)[0][0] == balance + 2 * price
    assert q(server, "select stock from product where id = ?", pid)[0][0] == stock + 2
    assert q(server, "select status from redemption where id = ?", rid) == [("voided",)]


# ---------------------------------------------------------------- 3. resident on a phone


def spendable_on_card_page(phone) -> int:
    """可用积分 as the light card page (web/) shows it."""
    return number(phone.locator("#balance div").first.locator("b").inner_text())


def test_a_resident_sees_the_balance_change_on_a_phone(page_factory, server):
    ((token, head, _),) = _rich_cards(server, 1)
    phone = page_factory(viewport=PHONE)
    phone.goto(f"{server.url}/me?card={token}")
    phone.get_by_text(f"{head.split()[1]}家的积分").wait_for(timeout=WAIT)
    before = spendable_on_card_page(phone)
    shot(phone, "journey-me-phone")

    desk = page_factory(viewport=DESKTOP)
    login(desk, server.url, "shouyin")
    desk.goto(server.url + "/checkout")
    wait_idle(desk)
    after = _redeem_at_counter(desk, server, token, head)
    assert after < before

    phone.reload()
    phone.get_by_text(f"{head.split()[1]}家的积分").wait_for(timeout=WAIT)
    assert spendable_on_card_page(phone) == after
    shot(phone, "journey-me-phone-after")


# ---------------------------------------------------------------- 4. grid worker


def test_a_grid_worker_submits_a_proposal_with_a_photo(page_factory, server, tmp_path):
    from PIL import Image

    photo = tmp_path / "现场.png"
    Image.new("RGB", (64, 48), (200, 120, 40)).save(photo)
    page = page_factory()
    login(page, server.url, "wangge1")
    page.goto(server.url + "/proposal_new")
    wait_idle(page)
    door = q(server, "select h.door_no from household h left join grid g on g.id = h.grid_id "
                     "left join staff_user u on u.id = g.worker_user_id "
                     "order by (u.username = 'wangge1') desc, h.id limit 1")[0][0]
    page.get_by_label("姓名、门牌号或积分卡号").fill(door)
    page.get_by_label("姓名、门牌号或积分卡号").press("Enter")
    wait_idle(page)
    page.get_by_text("③ 情况与照片").wait_for(timeout=WAIT)
    page.get_by_label("情况说明").fill("主动清扫村口道路")
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(photo))
    page.get_by_text("现场.png").wait_for(timeout=WAIT)
    wait_idle(page)
    before = q(server, "select count(*) from proposal_photo")[0][0]
    page.get_by_role("button", name="提交申报").click()
    done = page.get_by_text(re.compile(r"已提交第 \d+ 号申报"))
    done.first.wait_for(timeout=WAIT)
    pid = number(re.search(r"第 (\d+) 号", done.first.inner_text()).group(1))
    wait_idle(page)
    no_exception(page)
    shot(page, "journey-proposal-submitted")
    assert q(server, "select count(*) from proposal_photo where proposal_id = ?", pid)[0][0] == 1
    assert q(server, "select count(*) from proposal_photo")[0][0] == before + 1


# ---------------------------------------------------------------- 5. leads


def test_a_volunteer_lead_checks_a_signed_up_volunteer_in_by_scan(page_factory, server):
    rows = q(server, """
        select a.id, a.title, r.name, c.token from signup su
        join activity a on a.id = su.activity_id
        join resident r on r.id = su.resident_id
        join card c on c.household_id = r.household_id and c.status = 'active'
        where a.status = 'open' and a.plot_id is null and su.status = 'signed'
          and not exists (select 1 from attendance t where t.activity_id = a.id and t.resident_id = r.id)
          and (select count(*) from signup s2 join resident r2 on r2.id = s2.resident_id
               where s2.activity_id = a.id and r2.household_id = r.household_id) = 1
        order by a.date, r.id limit 1""")
    aid, title, name, token = rows[0]
    page = page_factory()
    login(page, server.url, "zhiyuan")
    page.goto(server.url + "/checkin")
    wait_idle(page)
    pick(page, "checkin_activity_pick", title)
    wait_idle(page)
    scan(page, "checkin_scan", token)
    page.locator('[data-testid="stAlert"]').filter(has_text=name).first.wait_for(timeout=WAIT)
    wait_idle(page)
    no_exception(page)
    shot(page, "journey-checkin")
    assert q(server, "select count(*) from attendance t join resident r on r.id = t.resident_id "
                     "where t.activity_id = ? and r.name = ? and t.check_in is not null", aid, name)[0][0] == 1


def test_a_field_lead_records_a_delivery_by_scan(page_factory, server):
    rows = q(server, """
        select a.id, h.door_no, h.head_name, c.token from allocation a
        join distribution_round d on d.id = a.round_id
        join household h on h.id = a.household_id
        join card c on c.household_id = a.household_id and c.status = 'active'
        where d.status = 'confirmed' and a.delivered_at is null and a.grams > 0 order by a.id limit 1""")
    alloc, door, head, token = rows[0]
    page = page_factory()
    login(page, server.url, "yitian")
    page.goto(server.url + "/distribution")
    wait_idle(page)
    done_before = number(metric(page, "已签领"))
    scan(page, "dist_scan", token)
    page.get_by_text(f"{door} {head}：已签领").first.wait_for(timeout=WAIT)
    wait_idle(page)
    shot(page, "journey-distribution")
    # The counters above the scan box already include this scan (no reload needed).
    expect(metric_value(page, "已签领")).to_have_text(str(done_before + 1), timeout=WAIT)
    no_exception(page)
    assert q(server, "select delivered_at is not null from allocation where id = ?", alloc)[0][0] == 1


# ---------------------------------------------------------------- 6. admin prints cards


def test_an_admin_prints_a_card_sheet_whose_qr_codes_decode_to_the_tokens(browser, server, tmp_path):
    import pypdfium2
    import zxingcpp

    from core.village.cards import extract_token

    rows = q(server, "select h.door_no, h.head_name, c.token from card c join household h on h.id = c.household_id "
                     "where c.status = 'active' order by h.id limit 2")
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    try:
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        login(page, server.url, "admin")
        page.goto(server.url + "/cards")
        wait_idle(page)
        page.get_by_role("tab", name="打印积分卡").click()
        for door, head, _ in rows:
            pick(page, "cards_print_pick", door, f"{door}　{head}")
            page.keyboard.press("Escape")
        # The test server's address is 127.0.0.1: printing asks for an explicit confirmation first.
        page.get_by_text("这个地址只能在运行本系统的电脑上打开").wait_for(timeout=WAIT)
        assert page.get_by_role("button", name="生成打印文件").is_disabled()
        page.get_by_text("仍要打印（仅用于测试）").click()
        wait_idle(page)
        page.get_by_role("button", name="生成打印文件").click()
        dl = page.get_by_role("button", name=re.compile(r"下载积分卡 PDF（2 张）"))
        dl.wait_for(timeout=WAIT)
        shot(page, "journey-cards-sheet")
        with page.expect_download(timeout=WAIT) as download:
            dl.click()
        pdf_path = tmp_path / "cards.pdf"
        download.value.save_as(pdf_path)
    finally:
        ctx.close()
    doc = pypdfium2.PdfDocument(str(pdf_path))
    found = []
    for i in range(len(doc)):
        img = doc[i].render(scale=4).to_pil()
        found += [b.text for b in zxingcpp.read_barcodes(img)]
    tokens = sorted(extract_token(t) for t in found)
    assert tokens == sorted(t for _, _, t in rows)
