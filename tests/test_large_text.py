"""大字模式: each user's own choice, remembered with the account; the village default until they choose."""

from __future__ import annotations

import pytest

from core.platform import settings
from core.platform.errors import InvalidInput
from core.village import staff
from db.models import StaffUser
from tests.factories import make_village, user_id


def _large(db, uid: int) -> bool:
    with db.read() as s:
        return staff.large_text(s, s.get(StaffUser, uid))


def test_the_village_default_applies_until_the_user_chooses_and_then_their_choice_wins(db):
    v = make_village(db)
    cashier, admin = user_id(v.actors["cashier"]), v.actors["admin"]
    assert _large(db, cashier) is False  # the default: standard size
    settings.change(db, admin, v.id, "large_text", True)
    assert _large(db, cashier) is True
    staff.set_own_large_text(db, cashier, False)
    assert _large(db, cashier) is False  # the user's own choice beats the village default
    settings.change(db, admin, v.id, "large_text", False)
    staff.set_own_large_text(db, cashier, True)
    assert _large(db, cashier) is True
    staff.set_own_large_text(db, cashier, None)  # back to following the village
    assert _large(db, cashier) is False
    assert _large(db, user_id(v.actors["committee"])) is False  # nobody else's choice changed


def test_a_choice_other_than_on_off_or_follow_is_refused_in_chinese(db):
    v = make_village(db)
    with pytest.raises(InvalidInput, match="大字模式"):
        staff.set_own_large_text(db, user_id(v.actors["cashier"]), "yes")
