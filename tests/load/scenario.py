"""Build the village a load run works on, and describe it as a JSON-able plan that
worker processes read (they rebuild their actors from it)."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.platform.access import Actor
from core.supermarket import stock
from db.engine import Database
from tests.factories import give_points, make_village


@dataclass
class Plan:
    url: str
    village_id: int
    household_ids: list[int]
    resident_ids: list[int]
    product_ids: list[int]
    rule_ids: dict[str, int]
    actors: dict[str, dict] = field(default_factory=dict)  # role -> Actor fields
    other_village_actor: dict = field(default_factory=dict)
    data_dir: str = ""  # photos go to <data_dir>/photos/...
    session_id: int | None = None  # the open review session
    session_voters: list[int] = field(default_factory=list)  # its attendees who vote (attendee ids)
    activity_ids: list[int] = field(default_factory=list)  # volunteer activities leads confirm at once

    def actor(self, role: str) -> Actor:
        a = dict(self.actors[role])
        a["roles"] = frozenset(a["roles"])
        return Actor(**a)

    def dump(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        return cls(**json.loads(Path(path).read_text()))


def _actor_dict(a: Actor) -> dict:
    return {"user_id": a.user_id, "name": a.name, "roles": sorted(a.roles), "village_id": a.village_id,
            "township": a.township}


def url_of(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def build(db: Database, *, households: int = 12, products: int = 5, stock_each: int = 400,
          points_each: int = 300, data_dir: str = "") -> Plan:
    """One village with funded households, stocked products and an open review session
    (all through core)."""
    v = make_village(db, households=households)
    admin = v.admin
    pids = []
    for i in range(products):
        pid = stock.save_product(db, admin, v.id, stock.ProductInput(name=f"商品{i + 1}", price=3 + 2 * i,
                                                                       unit="件"))
        stock.receive_stock(db, admin, pid, stock_each, "purchase", reason="开业进货")
        pids.append(pid)
    for hid in v.household_ids:
        give_points(db, hid, points_each, f"seed:{hid}")
    other = make_village(db, name="邻村", code="T002", households=1)
    session_id = None
    session_voters: list[int] = []
    if importlib.util.find_spec("core.committee.review") is not None:
        import datetime as dt

        from core.committee import attendance, sessions

        committee = v.actors["committee"]
        session_id = sessions.open_session(db, committee, v.id, held_on=dt.date.today(),
                                         attendee_ids=[committee.user_id])
        with db.read() as s:
            session_voters = [a.id for a in attendance.voters(attendance.present(s, session_id))]
    activity_ids = []
    if importlib.util.find_spec("core.volunteering.volunteer") is not None:
        import datetime as dt

        from core.volunteering import volunteer

        activity_ids = [volunteer.create_activity(db, v.actors["volunteer_lead"], title=f"活动{i}",
                                                  date=dt.date.today()) for i in range(6)]
    return Plan(url=url_of(db), village_id=v.id, household_ids=v.household_ids, resident_ids=v.resident_ids,
                activity_ids=activity_ids, product_ids=pids, rule_ids=v.rule_ids,
                actors={role: _actor_dict(a) for role, a in v.actors.items()},
                other_village_actor=_actor_dict(other.admin), data_dir=data_dir, session_id=session_id,
                session_voters=session_voters)
