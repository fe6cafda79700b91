"""Allocation of a harvest (义田分配): who gets how much of a distribution round.

Pure functions, no database: the distribution service fetches the eligible households,
calls :func:`allocate`, and stores what it returns.

Invariants (property-tested in tests/test_allocation_properties.py):
- the amounts always add up to exactly the total, in 0.1 kg units (100 g);
- every amount lies within the per-household minimum and maximum when they are given;
- the amounts follow the weights as closely as whole 0.1 kg units allow: each household
  gets its exact share rounded down or up (largest-remainder rounding), and the leftover
  units go to the largest fractional parts, ties to the larger weight, then lower id;
- when the minimum and maximum cannot be met (too little to give everyone the minimum,
  or too much for everyone's maximum) nothing is allocated and the Chinese error says
  which bound to change and by how much.

Why exact fractions: shares are compared and rounded with ``fractions.Fraction``, so the
result never depends on float drift and is the same on every machine.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from dataclasses import dataclass
from fractions import Fraction

from core.platform.errors import InvalidInput

UNIT_GRAMS = 100  # 0.1 kg: the smallest amount a round hands out
RULES = {"household": "按户平均", "person": "按人口", "weighted": "按类别加权"}
CATEGORY_ORDER = ("wubao", "dibao", "disabled", "elderly", "hardship")


@dataclass(frozen=True)
class Claim:
    """One eligible household in a round."""

    household_id: int
    persons: int
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Register:
    """One beneficiary register row, as far as eligibility is concerned."""

    household_id: int
    category: str
    approved: bool
    active: bool
    valid_until: dt.date | None
    household_active: bool = True


def kg(units: int) -> str:
    """0.1 kg units as text, e.g. 1234 → '123.4'."""
    return f"{units // 10}.{units % 10}"


def eligible_households(rows: list[Register], on: dt.date) -> dict[int, tuple[str, ...]]:
    """Households that may receive on ``on`` → their valid categories.

    A row counts only if approved, active, not expired (valid_until >= on) and the
    household itself is active: an unapproved or lapsed entry must never get produce."""
    out: dict[int, list[str]] = {}
    for r in rows:
        if not (r.approved and r.active and r.household_active):
            continue
        if r.valid_until is not None and r.valid_until < on:
            continue
        out.setdefault(r.household_id, []).append(r.category)
    return {h: tuple(sorted(set(c), key=_category_rank)) for h, c in out.items()}


def _category_rank(category: str) -> int:
    return CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)


def primary_category(categories: tuple[str, ...], weights: dict[str, float]) -> str:
    """The category a household is counted under: the heaviest weight, then the fixed order."""
    if not categories:
        return ""
    return max(categories, key=lambda c: (_fraction(weights.get(c, 1)), -_category_rank(c)))


def _fraction(value: float | int) -> Fraction:
    return Fraction(str(value)).limit_denominator(10_000)


def weight_of(claim: Claim, rule: str, weights: dict[str, float]) -> Fraction:
    if rule == "household":
        return Fraction(1)
    if rule == "person":
        return Fraction(max(1, claim.persons))
    if rule == "weighted":
        w = _fraction(weights.get(primary_category(claim.categories, weights), 1))
        if w <= 0:
            raise InvalidInput("类别权重必须大于 0。")
        return w
    raise InvalidInput("未知的分配方式。")


def _clamped_shares(total: int, weights: list[Fraction], lo: int, hi: int | None) -> list[Fraction]:
    """Exact shares: share_i = clamp(λ·w_i, lo, hi) with λ chosen so they sum to ``total``.

    The sum is non-decreasing in λ and piecewise linear; its kinks are at lo/w_i and hi/w_i.
    Binary search over the kinks finds the piece, then λ is solved exactly on it."""

    def share_sum(lam: Fraction) -> Fraction:
        s = Fraction(0)
        for w in weights:
            x = lam * w
            if x < lo:
                x = Fraction(lo)
            elif hi is not None and x > hi:
                x = Fraction(hi)
            s += x
        return s

    kinks = sorted({Fraction(lo) / w for w in weights} | ({Fraction(hi) / w for w in weights} if hi is not None else set()))
    # Find the first kink where the sum reaches the total; λ lies in the piece before it.
    sums = _LazySums(kinks, share_sum)
    i = bisect_left(sums, total)
    if i < len(kinks) and sums[i] == total:
        lam = kinks[i]
    else:
        left = kinks[i - 1] if i > 0 else Fraction(0)
        # On (left, next kink) the free households are those strictly between their bounds.
        fixed = Fraction(0)
        free_w = Fraction(0)
        probe = left + (kinks[i] - left) / 2 if i < len(kinks) else left + 1
        for w in weights:
            x = probe * w
            if x <= lo:
                fixed += lo
            elif hi is not None and x >= hi:
                fixed += hi
            else:
                free_w += w
        lam = (total - fixed) / free_w
    out = []
    for w in weights:
        x = lam * w
        x = max(Fraction(lo), x)
        if hi is not None:
            x = min(Fraction(hi), x)
        out.append(x)
    return out


class _LazySums:
    """A sequence view sum(kink) for bisect, computing only the probed points."""

    def __init__(self, kinks: list[Fraction], fn):
        self.kinks, self.fn, self.cache = kinks, fn, {}

    def __len__(self) -> int:
        return len(self.kinks)

    def __getitem__(self, i: int) -> Fraction:
        if i not in self.cache:
            self.cache[i] = self.fn(self.kinks[i])
        return self.cache[i]


def check_bounds(total: int, n: int, lo: int, hi: int | None) -> None:
    """Raise a Chinese error saying what to change when no allocation can meet the bounds."""
    if n <= 0:
        raise InvalidInput("没有符合条件的受助对象：请先在“受助对象”中登记并审核（且在有效期内）。")
    if total <= 0:
        raise InvalidInput("分配总量必须大于 0。")
    if lo < 0 or (hi is not None and hi <= 0):
        raise InvalidInput("每户最少、最多分配量不能是负数，最多分配量必须大于 0。")
    if hi is not None and lo > hi:
        raise InvalidInput(f"每户最少 {kg(lo)} 公斤大于每户最多 {kg(hi)} 公斤，请改正。")
    if lo * n > total:
        raise InvalidInput(
            f"总量不够：{n} 户每户至少 {kg(lo)} 公斤，共需 {kg(lo * n)} 公斤，而本轮只分 {kg(total)} 公斤。"
            f"请把每户最少量降到 {kg(total // n)} 公斤以下，或增加总量、缩小发放范围。")
    if hi is not None and hi * n < total:
        raise InvalidInput(
            f"总量过多：{n} 户每户最多 {kg(hi)} 公斤，最多只能分 {kg(hi * n)} 公斤，而本轮要分 {kg(total)} 公斤。"
            f"请把每户最多量提高到至少 {kg(-(-total // n))} 公斤，或减少总量。")


def allocate(total: int, claims: list[Claim], rule: str, weights: dict[str, float] | None = None,
             min_units: int = 0, max_units: int | None = None) -> dict[int, int]:
    """Split ``total`` 0.1 kg units among ``claims`` → household_id: units.

    ``rule``: household (equal per household), person (per member) or weighted (by the
    category weight, setting beneficiary_weights). The result sums exactly to ``total``."""
    weights = weights or {}
    for name, value in (("总量", total), ("每户最少量", min_units), ("每户最多量", max_units or 0)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{name}必须以 0.1 公斤为单位。")
    if len({c.household_id for c in claims}) != len(claims):
        raise InvalidInput("同一户在名单中出现了两次。")
    check_bounds(total, len(claims), min_units, max_units)
    ws = [weight_of(c, rule, weights) for c in claims]
    shares = _clamped_shares(total, ws, min_units, max_units)
    floors = [int(x) for x in shares]  # shares are >= 0, so int() is floor
    left = total - sum(floors)
    order = sorted(range(len(claims)), key=lambda i: (-(shares[i] - floors[i]), -ws[i], claims[i].household_id))
    for i in order[:left]:
        floors[i] += 1
    return {c.household_id: u for c, u in zip(claims, floors, strict=True)}


def validate_adjusted(total: int, units: dict[int, int], min_units: int = 0, max_units: int | None = None) -> None:
    """Check the lead's hand-adjusted table before it is confirmed: same total, bounds, no negatives."""
    bad = [h for h, u in units.items() if isinstance(u, bool) or not isinstance(u, int) or u < 0]
    if bad:
        raise InvalidInput("每户分配量必须是不小于 0 的数，精确到 0.1 公斤。")
    low = [h for h, u in units.items() if u < min_units]
    if low:
        raise InvalidInput(f"有 {len(low)} 户少于每户最少量 {kg(min_units)} 公斤，请调整。")
    if max_units is not None:
        high = [h for h, u in units.items() if u > max_units]
        if high:
            raise InvalidInput(f"有 {len(high)} 户超过每户最多量 {kg(max_units)} 公斤，请调整。")
    got = sum(units.values())
    if got != total:
        diff = total - got
        what = f"还差 {kg(diff)} 公斤" if diff > 0 else f"多了 {kg(-diff)} 公斤"
        raise InvalidInput(f"调整后合计 {kg(got)} 公斤，与本轮总量 {kg(total)} 公斤不符（{what}），请调整后再确认。")
