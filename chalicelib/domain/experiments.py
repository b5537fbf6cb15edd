"""An honest answer to "which wording works": each variant against the control group. Pure, stdlib
only (``math``, ``statistics.NormalDist``); checked in the tests against scipy and statsmodels.

For a variant with ``x_v`` converted of ``n_v`` members and control with ``x_c`` of ``n_c``:

- **lift**: the relative change of the conversion rate, ``p_v / p_c − 1``, with a 95 % interval from
  the log of the rate ratio (Katz): ``exp(ln r ± 1.96·√(1/x_v − 1/n_v + 1/x_c − 1/n_c)) − 1``.
  Undefined (None) while either arm has no conversion.
- **p_value**: the two-sided two-proportion z-test with the pooled rate (the same as Pearson's χ²
  on the 2×2 table without continuity correction).
- **prob_beats_control**: P(p_v > p_c) under Beta(1 + x, 1 + n − x) posteriors (uniform priors), in
  closed form (a finite sum; no sampling noise): the same numbers on every call.
- **required_per_arm**: members per arm for 80 % power at α = 0.05 (two-sided) to detect the effect
  observed, from Cohen's h = |2·asin√p_v − 2·asin√p_c|: ``n = 2·((z₀.₉₇₅ + z₀.₈) / h)²``; None when
  no effect is observed. **underpowered**: either arm has fewer members than that (or no effect
  is seen at all): the store is told what it cannot learn yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

ALPHA = 0.05
POWER = 0.8
_Z = NormalDist()


@dataclass(frozen=True)
class ArmCounts:
    members: int = 0
    delivered: int = 0
    read: int = 0
    clicked: int = 0
    converted: int = 0
    revenue: float = 0.0

    @property
    def conversion_rate(self) -> float:
        return self.converted / self.members if self.members else 0.0

    def to_data(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "delivered": self.delivered,
            "read": self.read,
            "clicked": self.clicked,
            "converted": self.converted,
            "revenue": round(self.revenue, 2),
            "conversion_rate": round(self.conversion_rate, 6),
        }


@dataclass(frozen=True)
class Comparison:
    lift: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    prob_beats_control: float | None
    required_per_arm: int | None
    underpowered: bool

    def to_data(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 6)

        return {
            "lift": {"estimate": r(self.lift), "ci95": [r(self.ci95[0]), r(self.ci95[1])] if self.ci95 else None},
            "p_value": r(self.p_value),
            "prob_beats_control": r(self.prob_beats_control),
            "underpowered": self.underpowered,
            "required_per_arm": self.required_per_arm,
        }


def relative_lift(x_v: int, n_v: int, x_c: int, n_c: int) -> tuple[float | None, tuple[float, float] | None]:
    if min(n_v, n_c) == 0 or min(x_v, x_c) == 0:
        return None, None
    ratio = (x_v / n_v) / (x_c / n_c)
    se = math.sqrt(1 / x_v - 1 / n_v + 1 / x_c - 1 / n_c)
    z = _Z.inv_cdf(1 - ALPHA / 2)
    return ratio - 1, (math.exp(math.log(ratio) - z * se) - 1, math.exp(math.log(ratio) + z * se) - 1)


def two_proportion_p_value(x_v: int, n_v: int, x_c: int, n_c: int) -> float | None:
    if min(n_v, n_c) == 0:
        return None
    pooled = (x_v + x_c) / (n_v + n_c)
    if pooled in (0.0, 1.0):
        return 1.0  # both arms identical (all or nothing): no evidence of a difference
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_v + 1 / n_c))
    z = (x_v / n_v - x_c / n_c) / se
    return math.erfc(abs(z) / math.sqrt(2))


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def prob_beats(x_v: int, n_v: int, x_c: int, n_c: int) -> float:
    """P(p_v > p_c), p ~ Beta(1 + x, 1 + n − x): Σ_{i<α_v} B(α_c+i, β_c+β_v) / ((β_v+i)·B(1+i, β_v)·B(α_c, β_c))."""
    a_v, b_v = 1 + x_v, 1 + n_v - x_v
    a_c, b_c = 1 + x_c, 1 + n_c - x_c
    base = _log_beta(a_c, b_c)
    total = 0.0
    for i in range(a_v):
        total += math.exp(_log_beta(a_c + i, b_c + b_v) - math.log(b_v + i) - _log_beta(1 + i, b_v) - base)
    return min(max(total, 0.0), 1.0)


def required_per_arm(p_v: float, p_c: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    h = abs(2 * math.asin(math.sqrt(p_v)) - 2 * math.asin(math.sqrt(p_c)))
    if h == 0:
        return None
    z = _Z.inv_cdf(1 - alpha / 2) + _Z.inv_cdf(power)
    return math.ceil(2 * (z / h) ** 2)


def compare(variant: ArmCounts, control: ArmCounts) -> Comparison:
    x_v, n_v, x_c, n_c = variant.converted, variant.members, control.converted, control.members
    lift, ci = relative_lift(x_v, n_v, x_c, n_c)
    need = required_per_arm(variant.conversion_rate, control.conversion_rate) if min(n_v, n_c) else None
    underpowered = need is None or min(n_v, n_c) < need
    return Comparison(
        lift=lift,
        ci95=ci,
        p_value=two_proportion_p_value(x_v, n_v, x_c, n_c),
        prob_beats_control=prob_beats(x_v, n_v, x_c, n_c) if min(n_v, n_c) else None,
        required_per_arm=need,
        underpowered=underpowered,
    )
