"""Allocation formulas checked by hand."""

from __future__ import annotations

import math

import pytest

from participation.surveys.allocation import (
    Z95,
    allocate_equal,
    allocate_neyman,
    allocate_proportional,
    dual_frame_weight,
    largest_remainder,
    moe_mean,
    moe_proportion,
    n_for_moe_mean,
    n_for_moe_proportion,
    plan_allocation,
    split_by_frame,
)


def test_largest_remainder_by_hand() -> None:
    # quotas 3.333, 3.333, 3.333 -> 3,3,3 + 1 to the first
    assert largest_remainder({"a": 1, "b": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}
    # quotas 1.5, 3.5, 5.0 -> floors 1,3,5 (9) + 1 to a (tie, earlier key)
    assert largest_remainder({"a": 15, "b": 35, "c": 50}, 10) == {"a": 2, "b": 3, "c": 5}


def test_equal() -> None:
    assert allocate_equal(["x", "y"], 40) == {"x": 40, "y": 40}


def test_proportional_by_hand() -> None:
    # 100 over populations 20k, 30k, 50k -> 20, 30, 50
    assert allocate_proportional({"a": 20000, "b": 30000, "c": 50000}, 100) == {
        "a": 20,
        "b": 30,
        "c": 50,
    }


def test_proportional_minimum() -> None:
    out = allocate_proportional({"a": 1000, "b": 49000, "c": 50000}, 100, minimum=10)
    assert out["a"] == 10 and sum(out.values()) == 100
    # b and c share the remaining 90 in ratio 49:50 -> quotas 44.55, 45.45 -> floors 44, 45,
    # the spare unit to the larger remainder (b)
    assert out == {"a": 10, "b": 45, "c": 45}


def test_neyman_by_hand() -> None:
    # N*S = 10000*10=100000, 10000*30=300000 -> 1:3 of 80 -> 20, 60
    assert allocate_neyman({"a": 10000, "b": 10000}, {"a": 10, "b": 30}, 80) == {"a": 20, "b": 60}


def test_n_for_moe_mean_by_hand() -> None:
    # (1.96*20/5)^2 = 61.47 -> with deff 1.5: 92.2 -> 93 (no fpc)
    n0 = (Z95 * 20 / 5) ** 2
    assert n_for_moe_mean(5, 20) == math.ceil(n0)
    assert n_for_moe_mean(5, 20, deff=1.5) == math.ceil(1.5 * n0)
    # fpc with N=100: n = n0/(1+(n0-1)/100)
    assert n_for_moe_mean(5, 20, population=100) == math.ceil(n0 / (1 + (n0 - 1) / 100))


def test_n_for_moe_proportion_by_hand() -> None:
    # classic 385 for ±5 % at p = 0.5
    assert n_for_moe_proportion(0.05) == 385
    assert n_for_moe_proportion(0.10, p=0.8) == math.ceil(Z95**2 * 0.16 / 0.01)


def test_expected_moe_by_hand() -> None:
    assert moe_mean(40, 20) == pytest.approx(1.96 * 20 / math.sqrt(40), rel=1e-4)
    assert moe_mean(40, 20, population=400, deff=2) == pytest.approx(
        Z95 * math.sqrt(2 * 400 / 40 * 0.9)
    )
    assert moe_proportion(100, 0.5) == pytest.approx(Z95 * 0.05)
    assert moe_mean(0, 20) is None
    # the n for a target MOE gives at most that MOE
    n = n_for_moe_mean(4, 22, population=30000, deff=1.4)
    assert moe_mean(n, 22, 30000, 1.4) <= 4 < moe_mean(n - 1, 22, 30000, 1.4)


def test_split_by_frame() -> None:
    assert split_by_frame(40) == {"mobile": 24, "landline": 16}
    assert split_by_frame(41) == {"mobile": 25, "landline": 16}
    assert split_by_frame(10, {"mobile": 1.0, "landline": 0.0}) == {"mobile": 10, "landline": 0}


def test_plan() -> None:
    plan = plan_allocation("moe_mean", {"a": 50000, "b": 200}, sd=20, target_moe=5, deff=1.5)
    assert plan.n["a"] == 93
    assert plan.n["b"] < plan.n["a"]
    assert all(v is not None and v <= 5 for v in plan.moe_mean.values())
    assert sum(plan.frames["a"].values()) == 93
    assert plan.to_json()["total"] == plan.total
    with pytest.raises(ValueError):
        plan_allocation("quota", {"a": 1})


def test_dual_frame_weights_by_hand() -> None:
    pi = {"mobile": 0.01, "landline": 0.04}
    assert dual_frame_weight("mobile", False, pi) == pytest.approx(100)
    assert dual_frame_weight("landline", False, pi) == pytest.approx(25)
    # overlap: 1/(0.01+0.04) = 20 whichever frame found them
    assert dual_frame_weight("mobile", True, pi) == pytest.approx(20)
    assert dual_frame_weight("landline", True, pi) == pytest.approx(20)
    # Hartley, theta 0.5: 0.5/0.01 = 50 and 0.5/0.04 = 12.5
    assert dual_frame_weight("mobile", True, pi, "hartley") == pytest.approx(50)
    assert dual_frame_weight("landline", True, pi, "hartley") == pytest.approx(12.5)
