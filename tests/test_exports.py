"""Spreadsheets the app writes never carry a live formula: a cell of user text that begins with
= + - @ (a resident's self-report note, a name, a product) is written as text in Excel files and
with a leading apostrophe in CSV files, while numbers stay numbers. Every Excel and CSV file is
made by core.platform.exports, which a scan of the source holds to."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from core.committee import review, sessions
from core.public import resident
from core.village import cards
from tests.app_helpers import app, db_for_env, use_data_dir
from tests.factories import all_agree, make_village

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = '=HYPERLINK("http://evil.example/x","点我领积分")'
TRIGGERS = [PAYLOAD, "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "＝1+1", " =1+1"]


def formulas(xlsx: bytes) -> list[str]:
    """Every cell of every sheet that Excel would evaluate."""
    wb = load_workbook(io.BytesIO(xlsx))
    return [f"{ws.title}!{c.coordinate}={c.value!r}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f"]


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.fixture
def small(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    yield db, make_village(db, households=3)
    db.dispose()


def test_a_self_report_note_reaches_the_publicity_export_as_text_not_a_formula(small):
    db, v = small
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    pid = resident.self_report(db, token, "10.0.0.5", rule_item_id=v.rule_ids["HJ01"], act_date=dt.date.today(),
                               note=PAYLOAD)
    committee = v.actors["committee"]
    sid = sessions.open_session(db, committee, v.id, held_on=dt.date.today(), attendee_ids=[committee.user_id])
    assert review.decide(db, committee, sid, pid, "approved", votes=all_agree(db, sid)).status == "publicity"

    at = app(committee.user_id)
    at.switch_page("pages/publicity.py").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert PAYLOAD in shown.to_string()  # the note is on the 公示 list, as the page offers it for download

    from ui.widgets import excel_bytes  # what the page's 下载 Excel button calls

    xlsx = excel_bytes({"积分公示": shown})
    assert formulas(xlsx) == []
    from ui.widgets import csv_bytes  # and its 下载 CSV button
    cells = [c.value for row in load_workbook(io.BytesIO(xlsx)).active.iter_rows() for c in row]
    assert PAYLOAD in cells  # the text itself is kept, as text
    assert ["'" + PAYLOAD] in [[c for c in row if PAYLOAD in c] for row in csv_rows(csv_bytes(shown))]


def test_every_cell_that_would_start_a_formula_is_written_as_text_and_numbers_stay_numbers():
    from core.platform import exports

    df = pd.DataFrame({"备注": TRIGGERS, "积分": [-3, 5, -1, 0, 7, 2, -10, 4],
                       "金额": [-2.5, 1.0, 0.5, 3.25, 0.0, -1.5, 9.0, 1.0],
                       "文字": ["-3", "+5", "王五", "", "1-001", "a@b.c", "-", "=1"]})
    df[PAYLOAD] = 1  # a header from user text too (a pivot by name)
    xlsx = exports.excel_bytes({"表": df, "=第二张[表]": df.head(2)})
    assert formulas(xlsx) == []
    wb = load_workbook(io.BytesIO(xlsx))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert header == list(df.columns)
    # exactly what was typed, shown as text (XML stores a carriage return as a line feed)
    assert [r[0] for r in body] == [t.replace("\r", "\n") for t in TRIGGERS]
    assert [r[1] for r in body] == [-3, 5, -1, 0, 7, 2, -10, 4]  # negative points are number cells
    assert all(ws.cell(row=i, column=2).data_type == "n" for i in range(2, 10))
    assert [r[2] for r in body] == [-2.5, 1.0, 0.5, 3.25, 0.0, -1.5, 9.0, 1.0]
    assert len(wb.sheetnames) == 2  # a sheet name with characters Excel forbids is cleaned, not a crash

    rows = csv_rows(exports.csv_bytes(df))
    assert rows[0][-1] == "'" + PAYLOAD
    for value, row in zip(TRIGGERS, rows[1:], strict=True):
        assert row[0] == "'" + value
        assert not exports.is_formula_like(row[0])
    assert [r[1] for r in rows[1:]] == ["-3", "5", "-1", "0", "7", "2", "-10", "4"]  # numbers unquoted
    assert [r[3] for r in rows[1:]] == ["-3", "+5", "王五", "", "1-001", "a@b.c", "'-", "'=1"]


def test_the_review_minutes_workbook_has_no_formula():
    from core.committee import minutes
    from core.committee.agenda import DecisionRow, VoteRow
    from core.committee.attendance import Attendee

    m = minutes.Minutes(village=PAYLOAD, held_on=str(dt.date.today()), status="已结束", members=[PAYLOAD],
                        guests=[PAYLOAD], mistakes=[], members_present=1, members_total=3, quorum=2, note=PAYLOAD,
                        decisions=[DecisionRow(1, PAYLOAD, PAYLOAD, PAYLOAD, 5, "approved", -5, PAYLOAD, 3, 0, 0)],
                        votes=[VoteRow(1, "approved", PAYLOAD, "representative", "agree")],
                        people=[Attendee(1, 1, None, None, PAYLOAD, "representative", False, dt.datetime(2026, 1, 1, 8, 30))])
    assert formulas(minutes.minutes_excel(m)) == []


# to_excel / to_csv / ExcelWriter / openpyxl Workbook / csv.writer: ways to write a spreadsheet
SPREADSHEET_CALL = re.compile(r"\.(to_excel|to_csv)\(|\bExcelWriter\(|\bWorkbook\(|\bcsv\.(writer|DictWriter)\(")


def test_no_module_but_core_exports_writes_a_spreadsheet():
    found = []
    for folder in ("core", "ui", "pages"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "core" / "platform" / "exports.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if SPREADSHEET_CALL.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}")
    assert found == [], "write spreadsheets through core.platform.exports: " + ", ".join(found)
