"""Every code a column may hold (db.enums) has its Chinese word in the names the screens,
receipts and documents use: a new enum member without a word would show as a raw English code."""

from __future__ import annotations

import pytest

from core.charity import field
from core.committee import agenda, attendance, review
from core.points import closes, entry_rules
from core.reporting import honours
from core.supermarket import fund, receipts, stock
from core.village import lifecycle
from core.volunteering import volunteer
from db import enums

NAMES = [
    (stock.MOVE_NAMES, enums.StockMoveKind),
    (field.MOVE_NAMES, enums.ProduceMoveKind),
    (entry_rules.KIND_NAMES, enums.LedgerKind),
    (lifecycle.KIND_NAMES, enums.HouseholdEventKind),
    (honours.KIND_NAMES, enums.HonourKind),
    (closes.CLOSE_KINDS, enums.CloseKind),
    (agenda.OUTCOME_NAMES, enums.DecisionOutcome),
    (fund.KIND_NAMES, enums.FundKind),
    (review.STATUS_NAMES, enums.ProposalStatus),
    (attendance.VOTE_NAMES, enums.VoteChoice),
    (attendance.DEPARTURE_NAMES, enums.DepartureKind),
    (receipts.STATUS_NAMES, enums.RedemptionStatus),
    (receipts.DELIVERY_NAMES, enums.Delivery),
    (volunteer.STATUS_NAMES, enums.ActivityStatus),
    (volunteer.SIGNUP_NAMES, enums.SignupStatus),
    (volunteer.CORRECTION_NAMES, enums.CorrectionStatus),
]


@pytest.mark.parametrize(("names", "enum"), NAMES, ids=[e.__name__ for _, e in NAMES])
def test_every_code_has_its_chinese_word(names, enum):
    assert set(enum) <= set(names), f"{enum.__name__}: no word for {sorted(set(enum) - set(names))}"
    assert all(names[v] and not names[v].isascii() for v in enum)
