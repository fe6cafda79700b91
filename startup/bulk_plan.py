"""The shape of a bulk seeding run (``manage.py seed-demo --bulk``): its :class:`Plan` (villages,
households per village, days, entries per household, seed, today), the tables it fills with their
columns in row order, and the ids it gives each village.

Invariants:
- ``TABLE_ORDER`` puts parents before children, so the rows can be written with foreign-key checks on;
- each village gets a fixed block of ids per table (:meth:`Plan.block`, starting at :class:`Bases`),
  so villages can be generated independently (and in a second process: ``workers=2``) while their ids
  stay the same.

Public: :class:`Plan`, :class:`Bases`, :func:`entries_per_household`, ``COLUMNS``, ``TABLE_ORDER``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Columns written per table, in row order. Any other NOT NULL column with a Python-side
# scalar default (a column another helper adds later) is filled with that default.
COLUMNS: dict[str, tuple[str, ...]] = {
    "village": ("id", "name", "township", "county", "code", "is_demo", "created_at"),
    "staff_user": ("id", "username", "display_name", "password_hash", "village_id", "township", "roles", "active",
                   "must_change_password", "failed_logins", "created_at"),
    "grid": ("id", "village_id", "name", "worker_user_id"),
    "rule_category": ("id", "village_id", "name", "sort", "active"),
    "rule_item": ("id", "village_id", "category_id", "code", "name", "points", "min_points", "max_points",
                  "cap_count", "cap_period", "version", "adopted_on", "adopted_by", "active"),
    "product": ("id", "village_id", "name", "category", "kind", "price", "unit", "barcode", "stock", "low_stock",
                "monthly_limit", "active"),
    "household": ("id", "village_id", "grid_id", "door_no", "head_name", "phone", "address", "needs_delivery",
                  "active", "created_at"),
    "resident": ("id", "village_id", "household_id", "name", "gender", "birth_year", "party_member", "relation",
                 "phone", "active"),
    "card": ("id", "village_id", "household_id", "token", "status", "issued_at", "issued_by", "revoke_reason"),
    "activity": ("id", "village_id", "title", "category", "organiser", "place", "date", "capacity",
                 "points_per_hour", "cap_minutes", "status", "tasks", "created_by", "created_at"),
    "review_session": ("id", "village_id", "held_on", "opened_by", "opened_at", "closed_at", "quorum_required",
                       "members_total", "note"),
    "ledger_entry": ("id", "village_id", "household_id", "resident_id", "kind", "delta_balance", "delta_earned",
                     "delta_outstanding", "source_type", "source_id", "rule_item_id", "category_id", "occurred_on", "month", "reason",
                     "created_by", "created_at"),
    "proposal": ("id", "village_id", "household_id", "resident_id", "rule_item_id", "points", "act_date", "note",
                 "source", "submitted_by", "submitted_at", "status", "over_cap", "decided_points",
                 "decision_reason", "session_id", "publicity_until", "posted_entry_id"),
    "attendance": ("id", "village_id", "activity_id", "resident_id", "household_id", "check_in", "check_out",
                   "minutes", "confirmed_at", "confirmed_by"),
    "redemption": ("id", "village_id", "household_id", "card_id", "receipt_no", "cart_key", "total", "month",
                   "status", "created_by", "created_at", "void_reason", "delivery"),
    "redemption_line": ("id", "redemption_id", "product_id", "qty", "price"),
    "stock_move": ("id", "village_id", "product_id", "kind", "qty", "donor", "funding", "reason", "ref_type",
                   "ref_id", "created_by", "created_at"),
    "account": ("household_id", "village_id", "balance", "earned_total", "outstanding", "entries", "updated_at"),
    "household_month": ("household_id", "month", "village_id", "grid_id", "earned", "deducted", "redeemed", "other"),
    "category_month": ("village_id", "month", "category_id", "points", "entries"),
    "volunteer_total": ("resident_id", "village_id", "minutes", "star_level"),
    "star_level_event": ("id", "resident_id", "level", "reached_on", "minutes_at"),
    "plot": ("id", "village_id", "name", "area_mu", "location", "party_group", "active"),
    "plot_member": ("plot_id", "resident_id"),
    "season": ("id", "village_id", "plot_id", "year", "crop", "sown_on"),
    "harvest": ("id", "village_id", "season_id", "crop", "date", "grams", "recorded_by", "photo_path"),
    "produce_move": ("id", "village_id", "crop", "grams", "kind", "ref_type", "ref_id", "note", "created_by",
                     "created_at"),
    "produce_stock": ("village_id", "crop", "grams"),
}
# Parents before children (foreign keys), so the order also works with FK checks on.
TABLE_ORDER = list(COLUMNS)
# Tables whose ids we allocate: per village a block of this many ids per household
# (ledger-like tables) or a fixed number (small tables).
PER_HOUSEHOLD_ID_TABLES = ("ledger_entry", "proposal", "attendance", "redemption", "redemption_line",
                           "stock_move", "resident", "card", "household", "star_level_event")
FIXED_ID_BLOCK = {"village": 1, "staff_user": 16, "grid": 8, "rule_category": 16, "rule_item": 64, "product": 32,
                  "activity": 0, "review_session": 0, "plot": 4, "season": 8, "harvest": 0, "produce_move": 0}


@dataclass
class Plan:
    villages: int
    households: int  # per village
    days: int
    entries: int  # mean ledger entries per household over ``days``
    seed: int
    today: dt.date
    first_village_no: int = 1  # code BULKnnnnn and name numbering
    plain_usernames: bool = True  # village 1's staff are admin, pingyi1 ... (when free)

    @property
    def start(self) -> dt.date:
        return self.today - dt.timedelta(days=self.days)

    def block(self, table: str) -> int:
        """Ids reserved per village for ``table``: generous, deterministic."""
        if table in PER_HOUSEHOLD_ID_TABLES:
            per = {"household": 1, "card": 1, "resident": 6, "star_level_event": 30}.get(table)
            if per is None:
                mult = {"redemption_line": 3, "stock_move": 3}.get(table, 1)
                per = int(self.entries * mult * 1.3) + 20
            return self.households * per + 10
        if table == "activity":
            return self.days // 3 + 10
        if table == "review_session":
            return self.days // 7 + 10
        if table in ("harvest", "produce_move"):
            return self.days // 10 + 40
        return FIXED_ID_BLOCK.get(table, 0)


@dataclass
class Bases:
    """First id of this bulk run per table (max existing id + 1)."""

    first: dict[str, int]

    def village_base(self, plan: Plan, table: str, vi: int) -> int:
        return self.first[table] + vi * plan.block(table)


def entries_per_household(days: int, per_year: int = 100) -> int:
    """The design's county: 20M entries a year over 200k households = 100 per household."""
    return max(4, round(per_year * days / 365))
