"""The village archive (村级数据归档): every table a village owns, one sheet each, with a manifest;
it imports back into an empty install to the same state (from the demo village, into SQLite and
into PostgreSQL), and a tampered or malformed file is refused in Chinese with nothing written."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.maintenance import archive
from core.maintenance.archive import ArchiveError
from core.maintenance.verify import verify
from db.models import Base, LedgerEntry, StaffUser, Village


@pytest.fixture(scope="module")
def demo_archive(demo_dir, tmp_path_factory):
    """The demo village's archive and its rows as read from the demo database."""
    from db.engine import Database

    database = Database.from_url(f"sqlite:///{demo_dir / 'jifen.db'}")
    try:
        with database.read() as s:
            vid = s.execute(select(Village.id).order_by(Village.id)).scalars().first()
            rows = archive.village_rows(s, vid)
            hashes = dict(s.execute(select(StaffUser.username, StaffUser.password_hash)
                                    .where(StaffUser.village_id == vid)).all())
        data = archive.export_archive(database, vid)
    finally:
        database.dispose()
    return vid, data, rows, hashes


def _rewrite(data: bytes, change) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    change(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_every_table_is_either_the_villages_or_listed_as_not_the_villages():
    tables = set(Base.metadata.tables)
    assert set(archive.OWNED) | set(archive.EXCLUDED) == tables
    assert not set(archive.OWNED) & set(archive.EXCLUDED)


def test_the_archive_has_a_sheet_per_table_and_a_manifest_with_counts_and_checksums(demo_archive):
    _, data, rows, _ = demo_archive
    wb = load_workbook(io.BytesIO(data), read_only=True)
    assert wb.sheetnames[0] == archive.MANIFEST
    assert set(wb.sheetnames[1:]) == set(archive.OWNED)
    manifest = list(wb[archive.MANIFEST].iter_rows(values_only=True))
    listed = {r[2]: (r[3], r[4]) for r in manifest[1:] if r[2]}
    assert {t: n for t, (n, _) in listed.items()} == {t: len(r) for t, r in rows.items()}
    assert rows["ledger_entry"] and rows["redemption"] and rows["vote"]  # the demo village is not empty
    assert all(len(d) == 64 for _, d in listed.values())
    assert "password_hash" not in [c.value for c in next(wb["staff_user"].iter_rows(max_row=1))]


def test_the_archive_imports_into_an_empty_install_to_the_same_state(demo_archive, db):
    vid, data, rows, hashes = demo_archive
    assert archive.check_archive(data) == {t: len(r) for t, r in rows.items()}
    result = archive.import_archive(db, data)
    assert result.village_id == vid and result.rows["ledger_entry"] == len(rows["ledger_entry"])
    with db.read() as s:
        assert archive.village_rows(s, vid) == rows
        imported = dict(s.execute(select(StaffUser.username, StaffUser.password_hash)).all())
        assert set(imported) == set(hashes) and not set(imported.values()) & set(hashes.values())
        assert sorted(archive.staff_must_reset(s)) == sorted(hashes)
    assert verify(db) == []
    # and the install keeps working: new rows get new ids (PostgreSQL's sequences moved on)
    from core.points import posting

    with db.write() as s:
        hid = rows["household"][0][0]
        e = posting.post(s, household_id=hid, kind="earned", points=1, source_type="test", source_id="after-import")
        assert e.id > max(r[0] for r in rows["ledger_entry"])
    with pytest.raises(ArchiveError, match="空的系统"):
        archive.import_archive(db, data)


@pytest.mark.parametrize("tamper, message", [
    (lambda wb: wb["ledger_entry"].cell(2, 6).__setattr__("value", 9999), "校验和不符"),
    (lambda wb: wb["redemption"].delete_rows(2), "应有"),
    (lambda wb: wb.remove(wb["vote"]), "缺少表"),
    (lambda wb: wb[archive.MANIFEST].cell(8, 5).__setattr__("value", "0" * 64), "清单已被改动"),
    (lambda wb: wb[archive.MANIFEST].cell(2, 2).__setattr__("value", "other/9"), "格式"),
    (lambda wb: wb["household"].cell(1, 2).__setattr__("value", "村"), "列与本系统不符"),
    (lambda wb: wb.remove(wb[archive.MANIFEST]), "清单"),
])
def test_a_tampered_or_malformed_archive_is_refused_in_chinese_and_nothing_is_written(demo_archive, sqlite_db,
                                                                                       tamper, message):
    _, data, _, _ = demo_archive
    bad = _rewrite(data, tamper)
    with pytest.raises(ArchiveError, match=message):
        archive.import_archive(sqlite_db, bad)
    with sqlite_db.read() as s:
        assert s.execute(select(func.count()).select_from(Village)).scalar() == 0
        assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar() == 0


@pytest.mark.parametrize("junk", [b"", b"not a workbook", b"PK\x03\x04broken"])
def test_a_file_that_is_not_an_archive_is_refused_in_chinese(sqlite_db, junk):
    with pytest.raises(ArchiveError, match="归档"):
        archive.import_archive(sqlite_db, junk)


def test_an_archive_whose_checksums_were_recomputed_but_whose_data_cannot_be_written_writes_nothing(
        demo_archive, sqlite_db):
    """A forger who edits a cell and recomputes the manifest still cannot half-import: a household
    pointing at a grid that does not exist fails the insert, and the whole import is rolled back."""
    _, data, rows, _ = demo_archive
    wb = load_workbook(io.BytesIO(data))
    ws = wb["household"]
    col = [c.value for c in ws[1]].index("grid_id") + 1
    ws.cell(2, col).value = 987654
    body = [[c for c in r] for r in list(ws.iter_rows(values_only=True))[1:]]
    man = wb[archive.MANIFEST]
    for r in man.iter_rows(min_row=2):
        if r[2].value == "household":
            r[4].value = archive._digest(body)
    listed = [[r[2].value, r[3].value, r[4].value] for r in man.iter_rows(min_row=2) if r[2].value]
    for r in man.iter_rows(min_row=2):
        if r[0].value == "清单校验":
            r[1].value = archive._digest(listed)
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(ArchiveError, match="未导入任何内容"):
        archive.import_archive(sqlite_db, out.getvalue())
    with sqlite_db.read() as s:
        assert s.execute(select(func.count()).select_from(Village)).scalar() == 0


def test_an_outside_volunteers_sign_up_attendance_and_certificate_travel_with_the_village(db, tmp_path):
    """Rows that name an outside volunteer and no resident export and import like any other."""
    import datetime as dt

    from core.volunteering import certificates, outsiders, service_hours
    from core.volunteering import volunteer as vol
    from db.engine import Database
    from tests.factories import make_village

    source = Database.from_url(f"sqlite:///{tmp_path / 'source.db'}")
    Base.metadata.create_all(source.engine)
    try:
        v = make_village(source)
        lead = v.actors["volunteer_lead"]
        day = dt.date(2026, 5, 1)
        aid = vol.create_activity(source, lead, title="双报到清扫", date=day)
        oid = outsiders.add(source, lead, name="王建国", unit="镇财政所", phone="13812345678", party_member=True)
        outsiders.sign_up(source, lead, aid, oid)
        outsiders.set_minutes(source, lead, aid, oid, 120)
        service_hours.confirm(source, lead, aid)
        certificates.issue_outsider(source, lead, oid, day, day)
        with source.read() as s:
            rows = archive.village_rows(s, v.id)
        data = archive.export_archive(source, v.id)
    finally:
        source.dispose()
    assert len(rows["outside_volunteer"]) == len(rows["certificate"]) == len(rows["attendance"]) == 1
    archive.import_archive(db, data)
    with db.read() as s:
        assert archive.village_rows(s, v.id) == rows
    assert verify(db) == []
    assert [u.minutes for u in outsiders.unit_totals(db, v.id, day, day)] == [120]
