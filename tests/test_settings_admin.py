"""Settings: changes are audited old → new and take effect at once; the settings owned by
the admin area (base_score, base_score_spendable, year_end_policy) change behaviour."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.platform import settings
from core.platform.errors import InvalidInput, NotAllowed
from core.points import cycles
from db.models import Account, AuditLog
from tests.factories import give_points


def test_every_setting_has_a_label_a_plain_chinese_help_and_a_valid_default():
    for key, spec in settings.SPECS.items():
        assert spec.label and len(spec.help) >= 8, key
        assert settings.validate(key, spec.default) == spec.default


def test_the_settings_page_shows_every_setting_once():
    from pages.settings import GROUPS

    shown = [key for _title, keys in GROUPS for key in keys]
    assert sorted(shown) == sorted(settings.SPECS)


def test_a_setting_change_is_audited_with_old_and_new_values(db, village):
    settings.change(db, village.admin, village.id, "publicity_days", 5)
    settings.change(db, village.admin, village.id, "publicity_days", 7)
    with db.read() as s:
        rows = list(s.execute(select(AuditLog).where(AuditLog.action == "setting.change")
                              .order_by(AuditLog.id)).scalars())
        assert settings.get(s, village.id, "publicity_days") == 7
    assert [json.loads(r.detail) for r in rows] == [{"old": 3, "new": 5}, {"old": 5, "new": 7}]
    assert rows[0].user_id == village.admin.user_id and rows[0].target_id == "publicity_days"


def test_setting_the_same_value_writes_nothing(db, village):
    settings.change(db, village.admin, village.id, "quorum", 0)
    with db.read() as s:
        assert s.execute(select(AuditLog.id).where(AuditLog.action == "setting.change")).first() is None


def test_only_the_villages_admin_changes_settings(db, village):
    with pytest.raises(NotAllowed):
        settings.change(db, village.actors["committee"], village.id, "rankings_enabled", False)
    with pytest.raises(InvalidInput):
        settings.change(db, village.admin, village.id, "publicity_days", 99)
    with pytest.raises(InvalidInput):
        settings.change(db, village.admin, village.id, "public_url", "javascript:alert(1)")


def _balance(db, hid):
    with db.read() as s:
        return s.get(Account, hid).balance


def test_setting_base_score_changes_how_much_each_household_gets(db, village):
    settings.change(db, village.admin, village.id, "base_score", 8)
    settings.change(db, village.admin, village.id, "base_score_spendable", True)
    cycles.grant_base(db, village.admin, village.id, "2026-01")
    settings.change(db, village.admin, village.id, "base_score", 3)
    cycles.grant_base(db, village.admin, village.id, "2026-02")
    assert _balance(db, village.household_ids[0]) == 11


def test_setting_base_score_spendable_decides_whether_the_base_score_can_be_spent(db, village):
    settings.change(db, village.admin, village.id, "base_score", 10)
    cycles.grant_base(db, village.admin, village.id, "2026-01")
    assert _balance(db, village.household_ids[0]) == 0
    settings.change(db, village.admin, village.id, "base_score_spendable", True)
    cycles.grant_base(db, village.admin, village.id, "2026-02")
    assert _balance(db, village.household_ids[0]) == 10


def test_setting_year_end_policy_switches_between_carry_over_and_clearing(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 25, "p")
    cycles.run_year_end(db, village.admin, village.id, 2025, "2025")
    assert _balance(db, hid) == 25
    settings.change(db, village.admin, village.id, "year_end_policy", "clear")
    cycles.run_year_end(db, village.admin, village.id, 2026, "2026")
    assert _balance(db, hid) == 0


def test_several_settings_read_in_one_query_match_reading_them_one_by_one(db, village):
    keys = ("min_balance_to_redeem", "redemption_open", "quorum")
    with db.read() as s:
        assert settings.get_many(s, village.id, *keys) == tuple(settings.get(s, village.id, k) for k in keys)
    settings.change(db, village.admin, village.id, "redemption_open", False)
    settings.change(db, village.admin, village.id, "min_balance_to_redeem", 7)
    with db.read() as s:
        got = settings.get_many(s, village.id, *keys)
        assert got == tuple(settings.get(s, village.id, k) for k in keys)
    assert got[:2] == (7, False)
