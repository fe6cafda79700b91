"""Small, explicit test data: one village with a few households and one user per role."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.platform.access import Actor
from core.platform.auth import actor_for
from db.engine import Database
from db.models import (
    Account,
    Grid,
    Household,
    Resident,
    RuleCategory,
    RuleItem,
    StaffUser,
    Village,
)

PASSWORD = "correct-horse-9"
_HASH_CACHE: dict[str, str] = {}


def password_hash() -> str:
    if PASSWORD not in _HASH_CACHE:
        from core.platform.auth import hash_password

        _HASH_CACHE[PASSWORD] = hash_password(PASSWORD)
    return _HASH_CACHE[PASSWORD]


@dataclass
class V:
    """Ids and actors of a test village."""

    id: int
    township: str
    grid_ids: list[int] = field(default_factory=list)
    household_ids: list[int] = field(default_factory=list)
    resident_ids: list[int] = field(default_factory=list)
    actors: dict[str, Actor] = field(default_factory=dict)  # role -> actor holding only that role
    category_ids: list[int] = field(default_factory=list)
    rule_ids: dict[str, int] = field(default_factory=dict)  # code -> rule item id

    @property
    def admin(self) -> Actor:
        return self.actors["admin"]


ROLES = ("admin", "committee", "grid_worker", "cashier", "volunteer_lead", "field_lead", "township_viewer",
         "township_admin", "county_admin")


def make_village(db: Database, name: str = "测试村", code: str = "T001", households: int = 4,
                 township: str = "测试镇") -> V:
    with db.write() as s:
        v = Village(name=name, township=township, county="测试县", code=code)
        s.add(v)
        s.flush()
        out = V(id=v.id, township=township)
        for role in ROLES:
            # area staff (county admin, township admin) belong to no village: their account names the area
            area = role in ("county_admin", "township_admin")
            u = StaffUser(username=f"{code.lower()}_{role}", display_name=f"{role}用户", password_hash=password_hash(),
                          roles=role, village_id=None if area else v.id,
                          township=township if role in ("township_viewer", "township_admin") else None,
                          county="测试县" if area else None)
            s.add(u)
            s.flush()
            out.actors[role] = actor_for(u)
        g = Grid(village_id=v.id, name="第一网格")
        s.add(g)
        s.flush()
        out.grid_ids.append(g.id)
        for i in range(households):
            h = Household(village_id=v.id, grid_id=g.id, door_no=f"1-{i + 1:03d}", head_name=f"户主{i + 1}")
            s.add(h)
            s.flush()
            s.add(Account(household_id=h.id, village_id=v.id, balance=0, earned_total=0))
            r = Resident(village_id=v.id, household_id=h.id, name=f"户主{i + 1}", gender="男", birth_year=1960 + i,
                         relation="户主")
            s.add(r)
            s.flush()
            out.household_ids.append(h.id)
            out.resident_ids.append(r.id)
        cat = RuleCategory(village_id=v.id, name="环境卫生")
        s.add(cat)
        s.flush()
        out.category_ids.append(cat.id)
        for code_, nm, pts, lo, hi, cap in [("HJ01", "庭院整洁", 5, 3, 10, 1), ("HJ06", "乱倒垃圾", -5, -10, -3, None)]:
            item = RuleItem(village_id=v.id, category_id=cat.id, code=code_, name=nm, points=pts, min_points=lo,
                            max_points=hi, cap_count=cap, cap_period="month" if cap else None, adopted_by="村民代表大会")
            s.add(item)
            s.flush()
            out.rule_ids[code_] = item.id
    return out


def give_points(db: Database, household_id: int, points: int, cause: str) -> None:
    """Credit points through the real ledger (an 'earned' entry)."""
    from core.points import posting

    with db.write() as s:
        posting.post(s, household_id=household_id, kind="earned", points=points, source_type="test", source_id=cause)


def all_agree(db: Database, session_id: int) -> dict[int, str]:
    """The votes 全体同意 enters for a review session: an agree for each voting attendee
    present, as the operator would click it (votes are never assumed)."""
    from core.committee import attendance

    with db.read() as s:
        return attendance.unanimous(attendance.present(s, session_id))


def user_id(actor: Actor) -> int:
    assert actor.user_id is not None
    return actor.user_id


__all__ = ["V", "make_village", "give_points", "all_agree", "StaffUser"]
