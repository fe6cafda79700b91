"""A load worker: acts as a till, the committee or an admin, doing real core writes.

Roles: ``till`` (checkout with double clicks, void), ``committee`` (grid worker submits,
committee decides, 公示 posting job), ``admin`` (adjust, reverse, stock in, stock count,
contested direct posts, volunteer hours entered and confirmed), ``mixed`` (all of these)
and ``photos`` (proposals with 1–3 photos each, for the crash test).

Run in-process (threads call :func:`run`) or as a process::

    python -m tests.load.worker PLAN.json --role till --ops 300 --seed 7 [--journal FILE] [--forever]

Every write that core acknowledged (the function returned) is appended to the journal
as one JSON line *after* it returned, so a crash test can check that nothing
acknowledged was lost. At the end the worker prints its counters as JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.platform.errors import DomainError
from core.points import corrections, posting
from core.supermarket import shop, stock
from db.engine import Database
from db.models import LedgerEntry, Product, Redemption
from tests.load.scenario import Plan

CAUSE_POOL = 150  # contested causes: several workers try to post the same one


def png_bytes(rng: random.Random) -> bytes:
    """A small real PNG (Pillow-encoded), different each time."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), tuple(rng.randrange(256) for _ in range(3))).save(buf, "PNG")
    return buf.getvalue()


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


class Worker:
    def __init__(self, db: Database, plan: Plan, seed: int, journal=None):
        self.db, self.plan, self.rng = db, plan, random.Random(seed)
        self.journal = journal
        self.stats: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.acked: list[dict] = []

    # ------------------------------------------------------------ bookkeeping
    def ack(self, **fact) -> None:
        self.acked.append(fact)
        if self.journal is not None:
            self.journal.write(json.dumps(fact) + "\n")
            self.journal.flush()

    def attempt(self, name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
            self.stats[f"ok:{name}"] += 1
        except DomainError as e:
            self.stats[f"refused:{name}:{type(e).__name__}"] += 1
        except IntegrityError as e:
            # A unique constraint refused a second write of the same thing: safe, but the
            # user would see a raw error instead of a Chinese message. Counted apart.
            self.stats[f"constraint:{name}"] += 1
            self.unexpected.append(f"{name}: IntegrityError {str(e.orig)[:200]}")
        except Exception as e:  # every other failure is a finding
            self.stats[f"error:{name}"] += 1
            self.unexpected.append(f"{name}: {type(e).__name__}: {str(e)[:300]}\n{traceback.format_exc()[-800:]}")

    # ------------------------------------------------------------ helpers
    def household(self) -> int:
        hh = self.plan.household_ids
        return hh[0] if self.rng.random() < 0.3 else self.rng.choice(hh)  # one hot household for contention

    def recent(self, model, *where, limit: int = 40) -> int | None:
        with self.db.read() as s:
            ids = list(s.execute(select(model.id).where(*where).order_by(model.id.desc()).limit(limit)).scalars())
        return self.rng.choice(ids) if ids else None

    # ------------------------------------------------------------ till
    def checkout(self) -> None:
        hid = self.household()
        pids = self.rng.sample(self.plan.product_ids, self.rng.randint(1, 3))
        cart = {pid: self.rng.randint(1, 3) for pid in pids}
        key = uuid.uuid4().hex
        cashier = self.plan.actor("cashier")
        rid = shop.checkout(self.db, cashier, household_id=hid, card_id=None, cart=cart, cart_key=key)
        self.ack(op="checkout", redemption_id=rid, cart_key=key)
        if self.rng.random() < 0.2:  # the double click
            again = shop.checkout(self.db, cashier, household_id=hid, card_id=None, cart=cart, cart_key=key)
            if again != rid:
                raise AssertionError(f"double click made a second redemption {again} != {rid}")
            self.stats["double_click_same_receipt"] += 1

    def void(self) -> None:
        rid = self.recent(Redemption, Redemption.village_id == self.plan.village_id, Redemption.status == "done")
        if rid is None:
            return
        shop.void(self.db, self.plan.actor("cashier"), rid, "顾客退货")
        self.ack(op="void", redemption_id=rid)

    # ------------------------------------------------------------ committee
    def post_cause(self) -> None:
        """A decided item posts to the ledger; the same cause raced by several workers."""
        n = self.rng.randrange(CAUSE_POOL)
        hid = self.plan.household_ids[n % len(self.plan.household_ids)]
        deduct = n % 5 == 0
        with self.db.write() as s:
            e = posting.post(s, household_id=hid, kind="deducted" if deduct else "earned",
                             points=-(1 + n % 4) if deduct else 1 + n % 7, source_type="load", source_id=f"cause:{n}",
                             actor=self.plan.actor("committee"), category_id=None)
            eid = e.id
        self.ack(op="post", entry_id=eid, cause=f"cause:{n}")

    # The real review flow (core.committee.proposals / core.committee.review / core.committee.publicity): a grid worker
    # submits, committee members decide (several race for the same proposal), and the
    # 公示 posting job runs from several processes at once.
    def review_cycle(self) -> None:
        if self.plan.session_id is None or not has_module("core.committee.publicity"):
            return self.post_cause()
        step = self.rng.choices(("submit", "decide", "post_due"), (4, 5, 1))[0]
        return getattr(self, f"review_{step}")()

    def review_submit(self, photos: int = 0) -> None:
        import datetime as dt

        from core.committee import proposals

        code = self.rng.choice(("HJ01", "HJ06"))
        pid = proposals.submit(
            self.db, self.plan.actor("grid_worker"), household_id=self.rng.choice(self.plan.household_ids),
            rule_item_id=self.plan.rule_ids[code], act_date=dt.date.today(), note="负载测试",
            photos=[(f"p{i}.png", png_bytes(self.rng)) for i in range(photos)],
            data_dir=Path(self.plan.data_dir) if self.plan.data_dir else None)
        self.ack(op="proposal", proposal_id=pid, photos=photos)

    def review_decide(self) -> None:
        from core.committee import review
        from db.models import Proposal

        pid = self.recent(Proposal, Proposal.village_id == self.plan.village_id,
                          Proposal.status.in_(("submitted", "deferred")), limit=8)
        if pid is None:
            return self.review_submit()
        outcome = self.rng.choices(("approved", "rejected", "deferred"), (6, 2, 1))[0]
        votes = {aid: "agree" for aid in self.plan.session_voters}  # entered, as 全体同意 would
        done = review.decide(self.db, self.plan.actor("committee"), self.plan.session_id, pid, outcome,
                             reason="" if outcome == "approved" else "负载测试", votes=votes)
        self.ack(op="decide", proposal_id=pid, status=done.status)

    def review_post_due(self) -> None:
        import datetime as dt

        from core.committee import publicity

        n = publicity.post_due(self.db, self.plan.actor("committee"), self.plan.village_id,
                               today=dt.date.today() + dt.timedelta(days=10))
        self.stats["posted_by_publicity"] += n

    # ------------------------------------------------------------ volunteer lead
    def volunteer_hours(self) -> None:
        """Enter someone's time, then confirm the activity: leads in several processes
        confirm the same activities at once; hours become points once per attendance."""
        from core.volunteering import service_hours

        if not self.plan.activity_ids:
            return self.adjust()
        aid = self.rng.choice(self.plan.activity_ids)
        lead = self.plan.actor("volunteer_lead")
        if self.rng.random() < 0.6:
            att = service_hours.set_minutes(self.db, lead, aid, self.rng.choice(self.plan.resident_ids),
                                        self.rng.choice((30, 60, 90, 150)))
            self.ack(op="minutes", attendance_id=att)
        n = service_hours.confirm(self.db, lead, aid)
        self.stats["attendances_confirmed"] += n

    # ------------------------------------------------------------ admin
    def adjust(self) -> None:
        pts = self.rng.choice([-7, -3, 2, 5, 11])
        e = corrections.adjust(self.db, self.plan.actor("admin"), self.household(), pts, "负载测试调整")
        self.ack(op="adjust", entry_id=e.id)

    def reverse(self) -> None:
        eid = self.recent(LedgerEntry, LedgerEntry.village_id == self.plan.village_id,
                          LedgerEntry.kind.in_(("earned", "deducted", "adjustment")))
        if eid is None:
            return
        e = corrections.reverse(self.db, self.plan.actor("admin"), eid, "负载测试冲正")
        self.ack(op="reverse", entry_id=e.id, reverses=eid)

    def stock_in(self) -> None:
        pid = self.rng.choice(self.plan.product_ids)
        mid = stock.receive_stock(self.db, self.plan.actor("admin"), pid, self.rng.randint(1, 20), "purchase",
                                  reason="补货")
        self.ack(op="stock_in", move_id=mid)

    def stock_count(self) -> None:
        pid = self.rng.choice(self.plan.product_ids)
        with self.db.read() as s:
            current = s.execute(select(Product.stock).where(Product.id == pid)).scalar_one()
        counted = max(current - self.rng.randint(0, 1), 0)
        stock.count_stock(self.db, self.plan.actor("admin"), pid, counted, "盘点损耗")
        self.stats["stock_counts"] += 1

    # ------------------------------------------------------------ the mix
    def mix(self, role: str) -> list[tuple[str, Callable[[], None], int]]:
        if role == "till":
            return [("checkout", self.checkout, 8), ("void", self.void, 2)]
        if role == "committee":
            return [("review", self.review_cycle, 10)]
        if role == "admin":
            return [("adjust", self.adjust, 3), ("reverse", self.reverse, 3), ("stock_in", self.stock_in, 2),
                    ("stock_count", self.stock_count, 1), ("post", self.post_cause, 2),
                    ("volunteer", self.volunteer_hours, 3)]
        if role == "photos":  # only proposals with photos: the file-vs-row crash window
            return self.photo_mix()
        if role == "mixed":  # the crash test: one process doing a bit of everything
            return [m for r in ("till", "committee", "admin") for m in self.mix(r)]
        raise ValueError(role)

    def photo_mix(self) -> list[tuple[str, Callable[[], None], int]]:
        if not (has_module("core.committee.photos") and has_module("core.committee.proposals") and self.plan.session_id):
            return []
        return [("proposal_photos", lambda: self.review_submit(photos=self.rng.randint(1, 3)), 4)]

    def run(self, role: str, ops: int) -> dict:
        mix = self.mix(role)
        names = [m[0] for m in mix]
        weights = [m[2] for m in mix]
        fns = {m[0]: m[1] for m in mix}
        i = 0
        while ops < 0 or i < ops:
            name = self.rng.choices(names, weights)[0]
            self.attempt(name, fns[name])
            i += 1
        return self.report()

    def report(self) -> dict:
        return {"stats": dict(self.stats), "unexpected": self.unexpected, "acked": self.acked}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("plan")
    p.add_argument("--role", required=True)
    p.add_argument("--ops", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--journal")
    p.add_argument("--forever", action="store_true")
    args = p.parse_args(argv)
    plan = Plan.load(args.plan)
    db = Database.from_url(plan.url, **({} if plan.url.startswith("sqlite") else {"pool_size": 2}))
    journal = open(args.journal, "a", encoding="utf-8") if args.journal else None  # noqa: SIM115
    w = Worker(db, plan, args.seed, journal)
    if journal is not None:
        journal.write(json.dumps({"op": "started"}) + "\n")
        journal.flush()
    out = w.run(args.role, -1 if args.forever else args.ops)
    json.dump(out, sys.stdout)
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
