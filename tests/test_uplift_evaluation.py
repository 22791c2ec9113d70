"""Qini/AUUC, bootstrap intervals, ground-truth metrics and the profit curve."""

from __future__ import annotations

import warnings
from statistics import NormalDist

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim.uplift import evaluation as ev


def experiment(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One arm vs control; true uplift 0.2 at x > 0.5, -0.05 below (sleeping dogs)."""
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    tau = np.where(x > 0.5, 0.2, -0.05)
    treated = rng.random(n) < 0.5
    y = (rng.random(n) < 0.1 + treated * tau).astype(float)
    return x, tau, treated, y


def test_matches_causalml_on_untied_scores() -> None:
    x, _, treated, y = experiment(3000, seed=1)
    # causalml.metrics sets a global matplotlib style on import, and shap warns.
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from causalml.metrics import auuc_score, get_qini, qini_score
    score = x + np.random.default_rng(2).normal(scale=0.3, size=len(x))
    df = pd.DataFrame({"y": y, "w": treated.astype(int), "m": score})
    assert ev.qini_coefficient(y, treated, score) == pytest.approx(qini_score(df)["m"], rel=1e-12)
    assert ev.auuc(y, treated, score) == pytest.approx(auuc_score(df)["m"], rel=1e-12)
    np.testing.assert_allclose(ev.qini_curve(y, treated, score)["model"], get_qini(df)["m"])


def test_perfect_beats_random_and_reversed_is_negative() -> None:
    # Seed 3, n=20000: the true uplift as a score vs pure noise vs the true uplift reversed.
    x, tau, treated, y = experiment(20_000, seed=3)
    noise = np.random.default_rng(4).random(len(x))
    for metric in (ev.qini_coefficient, ev.auuc):
        perfect, random, reversed_ = (metric(y, treated, s) for s in (tau, noise, -tau))
        assert perfect > random + 0.1
        assert reversed_ < random - 0.1
    assert ev.qini_coefficient(y, treated, -tau) < 0.0
    assert abs(ev.qini_coefficient(y, treated, noise)) < 0.05


def test_ties_count_as_random_order_so_results_do_not_depend_on_row_order() -> None:
    x, _, treated, y = experiment(2000, seed=5)
    assert ev.qini_coefficient(y, treated, np.zeros(len(x))) == pytest.approx(0.0, abs=1e-12)
    assert ev.auuc(y, treated, np.zeros(len(x))) == pytest.approx(0.5, abs=1e-12)
    coarse = np.round(x, 1)  # 11 tied blocks
    perm = np.random.default_rng(6).permutation(len(x))
    assert ev.qini_coefficient(y, treated, coarse) == pytest.approx(
        ev.qini_coefficient(y[perm], treated[perm], coarse[perm]), rel=1e-12
    )


def test_qini_curve_ends_at_the_incremental_total() -> None:
    x, _, treated, y = experiment(1000, seed=7)
    curve = ev.qini_curve(y, treated, x)
    t, c = treated.astype(bool), ~treated.astype(bool)
    total = y[t].sum() - y[c].sum() * t.sum() / c.sum()
    assert curve["model"].iloc[0] == 0.0 and curve["fraction"].iloc[-1] == 1.0
    assert curve["model"].iloc[-1] == pytest.approx(total)
    assert curve["random"].iloc[-1] == pytest.approx(total)
    assert len(ev.qini_curve(y, treated, x, n_points=11)) == 11


def test_bootstrap_ci_is_reproducible_and_contains_the_estimate() -> None:
    x, _, treated, y = experiment(4000, seed=8)
    # Read the legacy global state on purpose: the bootstrap must leave it untouched.
    before = np.random.get_state(legacy=False)["state"]["key"].copy()  # noqa: NPY002

    def ci(seed: int) -> tuple[float, float]:
        return ev.bootstrap_ci(
            ev.qini_coefficient, y, treated, x, n_boot=100, rng=np.random.default_rng(seed)
        )

    first, again, other = ci(11), ci(11), ci(12)
    point = ev.qini_coefficient(y, treated, x)
    assert first == again
    assert first != other
    assert first[0] < point < first[1]
    after = np.random.get_state(legacy=False)["state"]["key"]  # noqa: NPY002
    np.testing.assert_array_equal(after, before)


def test_difference_in_means_closed_form() -> None:
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    treated = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    ate, se, lo, hi = ev.difference_in_means(y, treated)
    assert ate == pytest.approx(0.75 - 0.25)
    assert se == pytest.approx(np.sqrt(0.25 / 4 + 0.25 / 4))
    z = NormalDist().inv_cdf(0.975)
    assert (lo, hi) == pytest.approx((ate - z * se, ate + z * se))


def test_true_uplift_metrics() -> None:
    rng = np.random.default_rng(9)
    tau = rng.normal(0.05, 0.1, size=5000)
    noisy = tau + rng.normal(scale=0.1, size=len(tau))
    oracle = ev.true_qini(tau, tau)
    assert oracle > ev.true_qini(tau, noisy) > 0.0 > ev.true_qini(tau, -tau)
    assert ev.true_qini(tau, np.ones(len(tau))) == pytest.approx(0.0, abs=1e-12)
    curve = ev.true_uplift_curve(tau, noisy)
    ends = curve.iloc[-1]
    assert ends["model"] == pytest.approx(tau.sum())
    assert ends["oracle"] == pytest.approx(tau.sum()) and ends["random"] == pytest.approx(tau.sum())
    assert (curve["oracle"] >= curve["model"] - 1e-9).all()
    assert ev.pehe(tau, tau) == 0.0
    assert ev.pehe(tau, tau + 0.03) == pytest.approx(0.03)


def test_uplift_at_top_k() -> None:
    x, tau, treated, y = experiment(4000, seed=10)
    top_half = np.sort(tau)[::-1][:2000].mean()
    assert ev.uplift_at_top_k(tau, 0.5, true_uplift=tau) == pytest.approx(top_half)
    whole = ev.uplift_at_top_k(x, 1.0, y=y, treated=treated)
    assert whole == pytest.approx(ev.difference_in_means(y, treated)[0])
    with pytest.raises(ValueError, match="either"):
        ev.uplift_at_top_k(x, 0.5, true_uplift=tau, y=y, treated=treated)


def test_profit_curve_endpoints_match_closed_form() -> None:
    rng = np.random.default_rng(12)
    n = 1000
    tau = rng.normal(0.02, 0.05, size=n)
    redeem = rng.uniform(0.05, 0.3, size=n)
    score = tau + rng.normal(scale=0.05, size=n)
    margin, contact, offer = 40.0, 0.3, 5.0
    curve = ev.profit_curve(score, tau, margin, contact, offer, redeem, fractions=[0.0, 0.5, 1.0])
    total = margin * tau.sum() - n * contact - offer * redeem.sum()
    assert curve.columns.tolist() == ["fraction", "n_targeted", "model", "oracle", "random"]
    np.testing.assert_allclose(curve.iloc[0][["model", "oracle", "random"]], 0.0)
    np.testing.assert_allclose(curve.iloc[-1][["model", "oracle", "random"]], total)
    value = margin * tau - contact - offer * redeem
    assert curve["oracle"].iloc[1] == pytest.approx(np.sort(value)[::-1][:500].sum())
    assert curve["random"].iloc[1] == pytest.approx(total / 2)
    best = ev.best_depth_profit(ev.profit_curve(score, tau, margin, contact, offer, redeem))
    assert best["oracle"] >= best["model"] >= best["random"] == pytest.approx(max(0.0, total))
    half = ev.depth_profit(curve, 0.5)
    assert half == {"fraction": 0.5, **curve.iloc[1][["model", "oracle", "random"]].to_dict()}
    with pytest.raises(ValueError, match=r"no point at fraction 0\.3"):
        ev.depth_profit(curve, 0.3)


def test_plots_are_labelled_in_marketing_terms() -> None:
    x, _, treated, y = experiment(1000, seed=13)
    fig = Figure()
    ax = fig.subplots()
    curves = {"model": ev.qini_curve(y, treated, x), "noise": ev.qini_curve(y, treated, -x)}
    ev.plot_qini(curves, ax)
    assert [line.get_label() for line in ax.get_lines()][:3] == ["model", "noise", "random"]
    assert "Share of customers targeted" in ax.get_xlabel()
    assert "Incremental conversions" in ax.get_ylabel()
    ax2 = fig.subplots()
    tau = np.where(x > 0.5, 0.2, -0.05)
    ev.plot_profit(ev.profit_curve(x, tau, 10.0, 0.5), ax2)
    assert ax2.get_ylabel() == "Incremental profit (currency units)"
    assert any("best depth" in str(line.get_label()) for line in ax2.get_lines())


# ------------------------------------------------ undefined figures and flags (issue 14)


def _count_experiment(n: int, effect: float, seed: int) -> tuple[np.ndarray, ...]:
    """A count outcome (Poisson, mean 2) with a constant effect ``effect`` on the treated,
    and a score that is pure noise: the setting of the reported Qini [-0.21, 8.10]."""
    rng = np.random.default_rng(seed)
    treated = (rng.random(n) < 0.5).astype(float)
    y = rng.poisson(2.0 + effect * treated).astype(float)
    return y, treated, rng.normal(size=n)


def test_normalised_intervals_reported_only_where_the_total_is_defined() -> None:
    """Normalising by a total incremental outcome that cannot be told from zero gave
    intervals far outside any meaningful range.  Seed 0, 5,000 rows, 200 resamples."""
    y, t, s = _count_experiment(5000, effect=0.0, seed=0)
    rng = np.random.default_rng(1)
    null = ev.score_ranking(y, t, s, n_boot=200, rng=rng)
    lo, hi = null["total_ci"]
    assert lo < 0 < hi
    assert null["qini"] is null["auuc"] is null["qini_ci"] is null["auuc_ci"] is None
    assert "total_not_distinguishable_from_zero" in null["flags"]
    assert set(null["undefined"]) == {"qini", "auuc", "qini_ci", "auuc_ci"}
    assert "cannot be told from zero" in null["undefined"]["qini"]
    raw_lo, raw_hi = null["qini_raw_ci"]
    assert raw_lo < null["qini_raw"] < raw_hi
    # What the old normalisation gave on the same resamples: far outside [-1, 1].
    old = ev.bootstrap_ci(ev.qini_coefficient, y, t, s, n_boot=200, rng=np.random.default_rng(1))
    assert max(abs(old[0]), abs(old[1])) > 1.0
    # A clear effect (+0.5 a customer, z about 12): every figure defined and bounded.
    y, t, s = _count_experiment(5000, effect=0.5, seed=0)
    clear = ev.score_ranking(y, t, s, n_boot=200, rng=np.random.default_rng(1))
    assert clear["flags"] == [] and clear["undefined"] == {}
    assert clear["qini"] == pytest.approx(ev.qini_coefficient(y, t, s), rel=1e-12)
    for key in ("qini_ci", "auuc_ci"):
        lo, hi = clear[key]
        assert -1.0 < lo <= hi < 1.0, (key, lo, hi)


def test_constant_prediction_is_flagged() -> None:
    _, _, treated, y = experiment(3000, seed=1)
    flat = np.full(len(y), 0.013)
    out = ev.score_ranking(y, treated, flat, n_boot=20, rng=np.random.default_rng(0))
    assert "constant_prediction" in out["flags"]
    assert out["qini"] == 0.0 and out["qini_raw"] == 0.0  # exactly, not 1.9e-16
    assert out["qini_ci"] is None and "no ranking" in out["undefined"]["qini_ci"]
    assert any("same uplift for every row" in w for w in out["warnings"])


def test_small_samples_are_flagged() -> None:
    rng = np.random.default_rng(3)
    n = 120
    treated = (np.arange(n) % 2).astype(float)
    y = (rng.random(n) < 0.05 + 0.6 * treated).astype(float)  # few control events
    out = ev.score_ranking(y, treated, rng.normal(size=n))
    assert "small_sample" in out["flags"]
    assert any("control rows have" in w and "fewer than 10" in w for w in out["warnings"])
