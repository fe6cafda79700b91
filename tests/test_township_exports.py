"""Exports a township can use: the ledger of a period (who, what, why, from where, who decided) and
the balance list, as Excel; the archive through manage.py (export, check, import into an empty
install, then log in with the password set on import)."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

from openpyxl import load_workbook

from core.committee import proposals, review, sessions
from core.reporting import township
from core.supermarket import shop, stock
from core.supermarket.stock import ProductInput
from db.engine import Database
from db.migrate import upgrade
from tests.factories import all_agree, give_points, make_village

ROOT = Path(__file__).resolve().parent.parent


def _decided_and_redeemed(db, v):
    """An approved proposal (no 公示: posted at once) and a sale at the counter."""
    from core.platform import settings

    settings.change(db, v.admin, v.id, "publicity_days", 0)
    hid = v.household_ids[0]
    pid = proposals.submit(db, v.actors["grid_worker"], household_id=hid, rule_item_id=v.rule_ids["HJ01"],
                           act_date=dt.date.today(), note="门前屋后干净")
    committee = v.actors["committee"]
    sid = sessions.open_session(db, committee, v.id, held_on=dt.date.today(), attendee_ids=[committee.user_id])
    review.decide(db, committee, sid, pid, "approved", votes=all_agree(db, sid))
    give_points(db, hid, 50, "start")
    product = stock.save_product(db, v.admin, v.id, ProductInput(name="肥皂", price=4, unit="块"))
    stock.receive_stock(db, v.admin, product, 5)
    shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart={product: 2},
                  cart_key=uuid.uuid4().hex)
    return hid


def test_the_ledger_export_says_who_what_why_where_from_and_who_decided(db, village):
    _decided_and_redeemed(db, village)
    rows = township.ledger_entries(db, village.id, dt.date.today() - dt.timedelta(days=1), dt.date.today())
    (earned,) = [r for r in rows if r.source_type == "proposal"]
    assert (earned.door_no, earned.head_name, earned.rule_code, earned.rule_item) == ("1-001", "户主1", "HJ01", "庭院整洁")
    assert earned.category == "环境卫生" and earned.proposal_source == "grid"
    assert earned.session_day == dt.date.today() and earned.decided_by == "committee用户"
    (sale,) = [r for r in rows if r.source_type == "redemption"]
    assert sale.delta_balance == -8 and sale.entered_by == "cashier用户" and "肥皂×2" in sale.reason
    assert not sale.by_system and sale.session_day is None and sale.proposal_source is None
    # the workbook names them in words under the document's headers
    wb = load_workbook(io.BytesIO(township.ledger_workbook(db, village.id, dt.date.today(), dt.date.today())))
    head, *lines = wb["积分流水"].iter_rows(values_only=True)
    assert list(head) == township.LEDGER_COLUMNS
    sheet = {line[head.index("来源")]: dict(zip(head, line, strict=True)) for line in lines}
    cell = sheet["积分申报（评议会）"]
    assert (cell["积分细则"], cell["申报方式"], cell["评议会"], cell["决定人"]) == (
        "HJ01 庭院整洁", "网格员发现", f"{dt.date.today():%Y-%m-%d} 评议会", "committee用户")
    assert sheet["积分超市兑换"]["经办人"] == "cashier用户" and sheet["积分超市兑换"]["类型"] == "兑换"
    # a period before the entries has none of them
    assert township.ledger_entries(db, village.id, dt.date(2020, 1, 1), dt.date(2020, 1, 31)) == []


def test_the_ledger_and_balance_workbooks_add_up(db, village):
    hid = _decided_and_redeemed(db, village)
    wb = load_workbook(io.BytesIO(township.ledger_workbook(db, village.id, dt.date.today(), dt.date.today())))
    assert wb.sheetnames == ["说明", "汇总", "积分流水"]
    rows = list(wb["积分流水"].iter_rows(values_only=True))
    col = rows[0].index("可用积分变动")
    wb2 = load_workbook(io.BytesIO(township.balance_workbook(db, village.id)))
    balances = list(wb2["全村积分余额表"].iter_rows(values_only=True))
    head = balances[0]
    mine = next(r for r in balances[1:] if r[0] == "1-001")
    assert mine[head.index("可用积分")] == sum(r[col] for r in rows[1:]) == 5 + 50 - 8
    assert len(balances) - 1 == len(village.household_ids)
    assert hid


def test_manage_py_exports_checks_and_imports_an_archive_into_an_empty_install(tmp_path):
    src_dir, dst_dir = tmp_path / "src", tmp_path / "dst"
    for d in (src_dir, dst_dir):
        d.mkdir()
        database = Database.from_url(f"sqlite:///{d / 'jifen.db'}")
        upgrade(database)
        if d is src_dir:
            v = make_village(database)
            _decided_and_redeemed(database, v)
        database.dispose()

    def run(data_dir, *args):
        env = {**os.environ, "JIFEN_DATA_DIR": str(data_dir), "JIFEN_NO_DEMO": "1"}
        env.pop("JIFEN_DATABASE_URL", None)
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)

    out_file = tmp_path / "archive.xlsx"
    out = run(src_dir, "export-archive", "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    out = run(dst_dir, "check-archive", str(out_file))
    assert out.returncode == 0 and "校验和一致" in out.stdout, out.stderr
    out = run(dst_dir, "import-archive", str(out_file), "--yes", "--admin", "t001_admin", "--password", "新密码-2026x")
    assert out.returncode == 0, out.stderr
    assert "临时密码" in out.stdout
    out = run(dst_dir, "verify")
    assert out.returncode == 0, out.stdout
    out = run(dst_dir, "import-archive", str(out_file), "--yes")
    assert out.returncode == 2 and "空的系统" in out.stderr

    from core.platform.auth import authenticate

    database = Database.from_url(f"sqlite:///{dst_dir / 'jifen.db'}")
    try:
        assert authenticate(database, "t001_admin", "新密码-2026x") is not None
    finally:
        database.dispose()
