"""What must hold after any load, crash or random walk: each check returns problems as
strings (empty list = all good), like core.maintenance.verify."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func, select

from core.maintenance.verify import verify
from db.models import (
    Account,
    Attendance,
    AuditLog,
    LedgerEntry,
    Product,
    Proposal,
    ProposalPhoto,
    Redemption,
    RedemptionLine,
    StockMove,
)


def ledger_and_stock(db) -> list[str]:
    """core.maintenance.verify plus: no overdraft, no negative stock, one post per cause, and every
    redemption matched by exactly its ledger entries, stock moves and audit row."""
    problems = list(verify(db))
    with db.read() as s:
        neg = s.execute(select(func.count()).select_from(Account).where(Account.balance < 0)).scalar_one()
        if neg:
            problems.append(f"{neg} accounts overdrawn")
        neg = s.execute(select(func.count()).select_from(Product).where(Product.stock < 0)).scalar_one()
        if neg:
            problems.append(f"{neg} products with negative stock")
        dup = s.execute(
            select(LedgerEntry.source_type, LedgerEntry.source_id, func.count())
            .group_by(LedgerEntry.source_type, LedgerEntry.source_id).having(func.count() > 1)
        ).all()
        if dup:
            problems.append(f"causes posted more than once: {dup[:5]}")
        dup = s.execute(
            select(LedgerEntry.reverses_id, func.count()).where(LedgerEntry.reverses_id.is_not(None))
            .group_by(LedgerEntry.reverses_id).having(func.count() > 1)
        ).all()
        if dup:
            problems.append(f"entries reversed more than once: {dup[:5]}")
        problems += _redemptions(s)
    return problems + review(db) + volunteering(db)


def _redemptions(s) -> list[str]:
    problems = []
    paid = dict(s.execute(
        select(LedgerEntry.source_id, LedgerEntry.delta_balance).where(LedgerEntry.source_type == "redemption")
    ).all())
    refunded = dict(s.execute(
        select(LedgerEntry.source_id, LedgerEntry.delta_balance).where(LedgerEntry.source_type == "redemption_void")
    ).all())
    lines = dict(s.execute(
        select(RedemptionLine.redemption_id, func.sum(RedemptionLine.qty * RedemptionLine.price))
        .group_by(RedemptionLine.redemption_id)
    ).all())
    goods_qty = dict(s.execute(
        select(RedemptionLine.redemption_id, func.sum(RedemptionLine.qty))
        .join(Product, Product.id == RedemptionLine.product_id).where(Product.kind == "goods")
        .group_by(RedemptionLine.redemption_id)
    ).all())
    goods_out = dict(s.execute(
        select(StockMove.ref_id, func.sum(StockMove.qty)).where(StockMove.kind == "redeem")
        .group_by(StockMove.ref_id)
    ).all())
    goods_back = dict(s.execute(
        select(StockMove.ref_id, func.sum(StockMove.qty)).where(StockMove.kind == "void")
        .group_by(StockMove.ref_id)
    ).all())
    audited = dict(s.execute(
        select(AuditLog.target_id, func.count()).where(AuditLog.action == "shop.checkout")
        .group_by(AuditLog.target_id)
    ).all())
    for rid, total, status in s.execute(select(Redemption.id, Redemption.total, Redemption.status)):
        key = str(rid)
        if paid.get(key) != -total:
            problems.append(f"redemption {rid}: charged {paid.get(key)} for total {total}")
        if lines.get(rid) != total:
            problems.append(f"redemption {rid}: lines add to {lines.get(rid)}, total {total}")
        if status == "voided" and refunded.get(key) != total:
            problems.append(f"voided redemption {rid}: refunded {refunded.get(key)} of {total}")
        if status == "done" and key in refunded:
            problems.append(f"redemption {rid} refunded but not voided")
        if goods_out.get(key, 0) != -goods_qty.get(rid, 0):
            problems.append(f"redemption {rid}: {-goods_out.get(key, 0)} goods left the shelf for "
                            f"{goods_qty.get(rid, 0)} on the receipt")
        if status == "voided" and goods_out.get(key, 0) + goods_back.get(key, 0) != 0:
            problems.append(f"voided redemption {rid}: goods not all back")
        if audited.get(key) != 1:
            problems.append(f"redemption {rid}: {audited.get(key, 0)} audit rows")
    stray = set(paid) - {str(r) for r in s.execute(select(Redemption.id)).scalars()}
    if stray:
        problems.append(f"redemption entries without a redemption: {sorted(stray)[:5]}")
    return problems


def photos(db, data_dir: Path) -> list[str]:
    """No photo file without its row, no row without its file, and no half-written
    (``.part``) file left over."""
    problems = []
    with db.read() as s:
        rows = set(s.execute(select(ProposalPhoto.path)).scalars())
    root = Path(data_dir) / "photos"
    files = {p.relative_to(data_dir).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    finals = {f for f in files if not f.endswith(".part")}
    for f in sorted(files - finals):
        owner = "with" if f.removesuffix(".part") in rows else "without"
        problems.append(f"half-written photo file {f} ({owner} its row)")
    problems += [f"photo row without file: {r}" for r in sorted(rows - finals)]
    problems += [f"photo file without row: {f}" for f in sorted(finals - rows)]
    return problems


def volunteering(db) -> list[str]:
    """Confirmed hours became points at most once per attendance, and only confirmed ones;
    each resident's confirmed total equals the sum of their confirmed attendances."""
    from db.models import VolunteerTotal

    problems = []
    with db.read() as s:
        confirmed = set(s.execute(select(Attendance.id).where(Attendance.confirmed_at.is_not(None))).scalars())
        posted = list(s.execute(select(LedgerEntry.source_id).where(LedgerEntry.source_type == "attendance"))
                      .scalars())
        proposed = list(s.execute(select(Proposal.source_ref).where(Proposal.source_ref.like("attendance:%")))
                        .scalars())
        causes = [int(x) for x in posted] + [int(r.split(":", 1)[1]) for r in proposed]
        if len(causes) != len(set(causes)):
            problems.append("an attendance converted to points more than once")
        if set(causes) - confirmed:
            problems.append(f"points for unconfirmed attendances: {sorted(set(causes) - confirmed)[:5]}")
        sums = dict(s.execute(select(Attendance.resident_id, func.sum(Attendance.minutes))
                              .where(Attendance.confirmed_at.is_not(None)).group_by(Attendance.resident_id)).all())
        totals = dict(s.execute(select(VolunteerTotal.resident_id, VolunteerTotal.minutes)).all())
        for rid in set(sums) | set(totals):
            if (sums.get(rid) or 0) != (totals.get(rid) or 0):
                problems.append(f"resident {rid}: volunteer total {totals.get(rid)} != confirmed {sums.get(rid)}")
    return problems


def review(db) -> list[str]:
    """Each posted proposal has exactly its one ledger entry; nothing else posts as a proposal;
    a proposal is decided at most once per session."""
    from db.models import Decision, Proposal

    problems = []
    with db.read() as s:
        posted = dict(s.execute(select(Proposal.id, Proposal.posted_entry_id).where(Proposal.status == "posted")).all())
        entries = dict(s.execute(select(LedgerEntry.source_id, LedgerEntry.id)
                                 .where(LedgerEntry.source_type == "proposal")).all())
        for pid, eid in posted.items():
            if entries.get(str(pid)) != eid or eid is None:
                problems.append(f"posted proposal {pid}: entry {eid}, ledger has {entries.get(str(pid))}")
        stray = set(entries) - {str(p) for p in posted}
        if stray:
            problems.append(f"ledger entries for proposals not posted: {sorted(stray)[:5]}")
        twice = s.execute(select(Decision.session_id, Decision.proposal_id, func.count())
                          .group_by(Decision.session_id, Decision.proposal_id).having(func.count() > 1)).all()
        if twice:
            problems.append(f"proposals decided twice in one session: {twice[:5]}")
    return problems


def acknowledged_present(db, facts: Iterable[dict]) -> list[str]:
    """Every write a worker saw succeed is in the database (nothing acknowledged is lost)."""
    want_red, want_entries, want_moves, want_voids, want_props, decided = set(), set(), set(), set(), set(), set()
    want_attendance: set[int] = set()
    for f in facts:
        op = f.get("op")
        if op == "checkout":
            want_red.add(f["redemption_id"])
        elif op == "void":
            want_voids.add(f["redemption_id"])
        elif op in ("post", "adjust", "reverse"):
            want_entries.add(f["entry_id"])
        elif op == "stock_in":
            want_moves.add(f["move_id"])
        elif op == "proposal":
            want_props.add(f["proposal_id"])
        elif op == "decide":
            decided.add(f["proposal_id"])
        elif op == "minutes":
            want_attendance.add(f["attendance_id"])
    problems = []
    with db.read() as s:
        def have(col, ids):
            found: set = set()
            ids = list(ids)
            for i in range(0, len(ids), 500):
                found |= set(s.execute(select(col).where(col.in_(ids[i:i + 500]))).scalars())
            return found

        for name, col, ids in (("redemption", Redemption.id, want_red), ("ledger entry", LedgerEntry.id, want_entries),
                               ("stock move", StockMove.id, want_moves), ("proposal", Proposal.id, want_props),
                               ("attendance", Attendance.id, want_attendance)):
            missing = set(ids) - have(col, ids)
            if missing:
                problems.append(f"acknowledged {name}s lost: {sorted(missing)[:10]}")
        if decided:
            undecided = set(s.execute(select(Proposal.id).where(Proposal.status == "submitted")).scalars()) & decided
            if undecided:
                problems.append(f"acknowledged decisions lost: {sorted(undecided)[:10]}")
        if want_voids:
            voided = set(s.execute(select(Redemption.id).where(Redemption.status == "voided")).scalars())
            missing = want_voids - voided
            if missing:
                problems.append(f"acknowledged voids lost: {sorted(missing)[:10]}")
    return problems
