"""The experiment statistics (domain/experiments.py) against scipy and statsmodels on fixed tables."""

from __future__ import annotations

import math

import pytest
from scipy import integrate, stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize, proportions_ztest

from chalicelib.domain.experiments import (
    ArmCounts,
    compare,
    prob_beats,
    relative_lift,
    required_per_arm,
    two_proportion_p_value,
)

# (variant converted, variant members, control converted, control members)
TABLES = [
    (120, 1000, 100, 1000),
    (45, 800, 30, 200),
    (7, 160, 3, 40),
    (310, 5000, 250, 5000),
    (2, 50, 5, 60),
    (500, 1600, 120, 400),
]


@pytest.mark.parametrize(("x_v", "n_v", "x_c", "n_c"), TABLES)
def test_p_value_is_the_two_proportion_z_test_and_pearsons_chi2(x_v: int, n_v: int, x_c: int, n_c: int) -> None:
    ours = two_proportion_p_value(x_v, n_v, x_c, n_c)
    _, reference = proportions_ztest([x_v, x_c], [n_v, n_c])
    chi2 = stats.chi2_contingency([[x_v, n_v - x_v], [x_c, n_c - x_c]], correction=False)
    assert ours == pytest.approx(reference, rel=1e-9)
    assert ours == pytest.approx(chi2.pvalue, rel=1e-9)


@pytest.mark.parametrize(("x_v", "n_v", "x_c", "n_c"), TABLES)
def test_lift_interval_is_the_log_ratio_interval(x_v: int, n_v: int, x_c: int, n_c: int) -> None:
    estimate, ci = relative_lift(x_v, n_v, x_c, n_c)
    low, high = confint_proportions_2indep(x_v, n_v, x_c, n_c, method="log", compare="ratio", alpha=0.05)
    assert estimate == pytest.approx((x_v / n_v) / (x_c / n_c) - 1)
    assert ci is not None
    assert ci[0] == pytest.approx(low - 1, rel=1e-9)
    assert ci[1] == pytest.approx(high - 1, rel=1e-9)


@pytest.mark.parametrize(("x_v", "n_v", "x_c", "n_c"), TABLES)
def test_probability_to_beat_control_is_the_beta_posterior_integral(x_v: int, n_v: int, x_c: int, n_c: int) -> None:
    a_v, b_v, a_c, b_c = 1 + x_v, 1 + n_v - x_v, 1 + x_c, 1 + n_c - x_c
    reference, _ = integrate.quad(
        lambda p: stats.beta.pdf(p, a_v, b_v) * stats.beta.cdf(p, a_c, b_c), 0, 1, epsabs=1e-12, limit=500
    )
    assert prob_beats(x_v, n_v, x_c, n_c) == pytest.approx(reference, abs=1e-7)


def test_probability_to_beat_control_is_symmetric_and_deterministic() -> None:
    assert prob_beats(120, 1000, 100, 1000) + prob_beats(100, 1000, 120, 1000) == pytest.approx(1.0, abs=1e-9)
    assert prob_beats(7, 160, 3, 40) == prob_beats(7, 160, 3, 40)
    assert prob_beats(10, 100, 10, 100) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize(("p_v", "p_c"), [(0.12, 0.10), (0.05, 0.03), (0.30, 0.25), (0.02, 0.04)])
def test_required_members_per_arm_is_statsmodels_power_solution(p_v: float, p_c: float) -> None:
    h = abs(proportion_effectsize(p_v, p_c))
    reference = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1.0)
    ours = required_per_arm(p_v, p_c)
    assert ours is not None
    assert ours == math.ceil(reference) or abs(ours - reference) <= 1


def test_a_small_store_is_told_it_is_underpowered() -> None:
    verdict = compare(ArmCounts(members=800, converted=45), ArmCounts(members=200, converted=10))
    assert verdict.underpowered is True
    assert verdict.required_per_arm is not None and verdict.required_per_arm > 200


def test_a_large_clear_effect_is_not_underpowered() -> None:
    verdict = compare(ArmCounts(members=5000, converted=750), ArmCounts(members=5000, converted=500))
    assert verdict.underpowered is False
    assert verdict.p_value is not None and verdict.p_value < 1e-6
    assert verdict.prob_beats_control is not None and verdict.prob_beats_control > 0.999


def test_no_conversions_yet_gives_no_lift_and_an_underpowered_verdict() -> None:
    verdict = compare(ArmCounts(members=10), ArmCounts(members=3))
    assert verdict.lift is None and verdict.ci95 is None
    assert verdict.p_value == 1.0
    assert verdict.underpowered is True and verdict.required_per_arm is None
    assert compare(ArmCounts(), ArmCounts()).prob_beats_control is None
