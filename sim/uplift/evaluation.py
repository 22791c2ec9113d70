"""Scoring uplift models against observed outcomes (Qini, AUUC) and against the truth.

Compute functions return numbers or pandas tables; plot functions draw on a given ``ax``.

Observed-outcome metrics follow ``causalml.metrics`` (``get_qini``/``qini_score``,
``get_cumgain``/``auuc_score``) formula for formula and agree with them on untied scores
(checked in the tests), but are computed here with numpy because (a) CausalML breaks
ties in the score by the row order of an unstable sort, so a tree's piecewise-constant
score or a constant score gets a curve that depends on how the rows happen to be
ordered; here every block of tied scores is counted as its expected value under random
order (cumulative sums interpolated linearly across the block), so a constant score
scores exactly as random; and (b) a bootstrap needs hundreds of evaluations, which
CausalML's pandas path makes slow. Binary ``treated`` compares one arm with control:
score a multi-arm model one arm at a time on the rows of that arm and control.

Ground-truth metrics (only a simulator has them) use the true per-customer uplift
``tau``: the true uplift curve (cumulative true incremental outcome when targeting by a
score), true Qini, PEHE, and the incremental profit of targeting.

Normalised Qini and AUUC divide by the total incremental outcome of the scored rows
(n_t times the difference in means).  When that total cannot be told from zero (its
95 % interval holds 0: a small test part, a weak effect, a noisy count outcome) the
ratio is unstable: bootstrap resamples whose total lands near zero give values of any
size and either sign (an AUUC interval of [-3.4, 4.6] on an 8k pilot).
:func:`score_ranking` therefore reports the normalised figures only where the total is
distinguishable from zero, and always the unnormalised Qini (outcome units), whose
interval stays meaningful; every figure it leaves out carries its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MIN_EVENTS",
    "MIN_ROWS_CONTINUOUS",
    "auuc",
    "auuc_curve",
    "best_depth_profit",
    "bootstrap_ci",
    "difference_in_means",
    "pehe",
    "plot_profit",
    "plot_qini",
    "profit_curve",
    "qini_coefficient",
    "qini_curve",
    "score_ranking",
    "true_qini",
    "true_uplift_curve",
    "uplift_at_top_k",
]


# ---------------------------------------------------------------------------- helpers


def _vector(name: str, a: Any, n: int | None = None) -> np.ndarray:
    v = np.asarray(a, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {v.shape}")
    if n is not None and v.shape[0] != n:
        raise ValueError(f"{name} has {v.shape[0]} entries, expected {n}")
    if v.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(v).all():
        raise ValueError(f"{name} has non-finite values")
    return v


def _observed(y: Any, treated: Any, score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yv = _vector("y", y)
    tv = _vector("treated", treated, len(yv))
    if not np.isin(tv, (0.0, 1.0)).all():
        raise ValueError("treated must be boolean or 0/1 (one arm against control)")
    return yv, tv, _vector("score", score, len(yv))


def _cumulate(score: np.ndarray, *values: np.ndarray) -> list[np.ndarray]:
    """Cumulative sums of ``values`` over customers ranked by ``score``, highest first.

    Each result has n + 1 entries (k = 0..n targeted). Within a block of tied scores the
    sums are interpolated linearly: the expected value when ties are broken at random.
    """
    n = len(score)
    order = np.argsort(-score, kind="stable")
    s = score[order]
    ends = np.concatenate(([0], np.flatnonzero(s[1:] != s[:-1]) + 1, [n]))
    k = np.arange(n + 1)
    out = []
    for v in values:
        c = np.concatenate(([0.0], np.cumsum(v[order])))
        out.append(c if len(ends) == n + 1 else np.interp(k, ends, c[ends]))
    return out


def _fill_gaps(curve: np.ndarray) -> np.ndarray:
    """Interpolate undefined points (no treated or no control yet) linearly, as CausalML."""
    ok = np.isfinite(curve)
    if ok.all():
        return curve
    k = np.arange(len(curve))
    return np.interp(k, k[ok], curve[ok])


def _qini_values(y: np.ndarray, t: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Radcliffe's Qini: Y_t(k) - Y_c(k) N_t(k) / N_c(k), k = 0..n."""
    n_t, y_t, y_c = _cumulate(score, t, y * t, y * (1.0 - t))
    n_c = np.arange(len(y) + 1) - n_t
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n_c > 0, y_t - y_c * n_t / n_c, np.nan)
    q[0] = 0.0
    return _fill_gaps(q)


def _gain_values(y: np.ndarray, t: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Cumulative gain: (mean treated - mean control outcome among the top k) * k."""
    n_t, y_t, y_c = _cumulate(score, t, y * t, y * (1.0 - t))
    k = np.arange(len(y) + 1)
    n_c = k - n_t
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where((n_t > 0) & (n_c > 0), y_t / n_t - y_c / n_c, np.nan)
    lift[0] = 0.0
    return _fill_gaps(lift) * k


def _area_over_random(curve: np.ndarray, normalize: bool) -> float:
    """Mean height of ``curve`` above the straight line from 0 to its end (CausalML's form)."""
    total = curve[-1]
    if normalize:
        if total == 0.0:
            return float("nan")
        curve = curve / abs(total)
        total = curve[-1]
    random = np.linspace(0.0, total, len(curve))
    return float((curve.sum() - random.sum()) / len(curve))


def _frame(k: np.ndarray, n: int, n_points: int | None, **cols: np.ndarray) -> pd.DataFrame:
    idx = k if n_points is None else np.unique(np.round(np.linspace(0, n, n_points)).astype(int))
    data = {"fraction": idx / n, "n_targeted": idx}
    data.update({name: c[idx] for name, c in cols.items()})
    return pd.DataFrame(data)


# --------------------------------------------------------------- observed outcomes


def qini_curve(y: Any, treated: Any, score: Any, n_points: int | None = None) -> pd.DataFrame:
    """Qini curve: incremental outcomes among the treated when targeting the top share by score.

    Columns ``fraction`` (share targeted), ``n_targeted``, ``model`` (Qini) and ``random``
    (the straight line to the same end point). ``n_points`` thins the n + 1 rows evenly.
    """
    yv, tv, sv = _observed(y, treated, score)
    q = _qini_values(yv, tv, sv)
    n = len(yv)
    k = np.arange(n + 1)
    return _frame(k, n, n_points, model=q, random=q[-1] * k / n)


def auuc_curve(y: Any, treated: Any, score: Any, n_points: int | None = None) -> pd.DataFrame:
    """Cumulative-gain (uplift) curve, columns as in :func:`qini_curve`."""
    yv, tv, sv = _observed(y, treated, score)
    g = _gain_values(yv, tv, sv)
    n = len(yv)
    k = np.arange(n + 1)
    return _frame(k, n, n_points, model=g, random=g[-1] * k / n)


def qini_coefficient(y: Any, treated: Any, score: Any, normalize: bool = True) -> float:
    """Area between the Qini curve and random, per point (``causalml.metrics.qini_score``).

    Normalised by the absolute total incremental outcome: 0 is random targeting, a
    negative value ranks the sleeping dogs first; the best possible is below 0.5.
    """
    yv, tv, sv = _observed(y, treated, score)
    return _area_over_random(_qini_values(yv, tv, sv), normalize)


def auuc(y: Any, treated: Any, score: Any, normalize: bool = True) -> float:
    """Area under the normalised cumulative-gain curve (``causalml.metrics.auuc_score``).

    Unlike the Qini coefficient it is not centred: random targeting scores 0.5 (when the
    total uplift is positive), so compare against 0.5, not 0.
    """
    yv, tv, sv = _observed(y, treated, score)
    g = _gain_values(yv, tv, sv)
    if normalize:
        if g[-1] == 0.0:
            return float("nan")
        g = g / abs(g[-1])
    return float(g.sum() / len(g))


def uplift_at_top_k(
    score: Any,
    k_frac: float,
    *,
    true_uplift: Any | None = None,
    y: Any | None = None,
    treated: Any | None = None,
) -> float:
    """Mean uplift among the top ``k_frac`` share of customers ranked by ``score``.

    With ``true_uplift`` (simulator): the mean true uplift there. With ``y`` and
    ``treated`` (experiment): the treated minus control mean outcome there.
    """
    if not 0.0 < k_frac <= 1.0:
        raise ValueError(f"k_frac={k_frac} must be in (0, 1]")
    sv = _vector("score", score)
    k = max(1, round(k_frac * len(sv)))
    if true_uplift is not None:
        if y is not None or treated is not None:
            raise ValueError("pass either true_uplift or (y, treated), not both")
        (cum,) = _cumulate(sv, _vector("true_uplift", true_uplift, len(sv)))
        return float(cum[k] / k)
    if y is None or treated is None:
        raise ValueError("pass true_uplift, or both y and treated")
    yv, tv, sv = _observed(y, treated, sv)
    n_t, y_t, y_c = _cumulate(sv, tv, yv * tv, yv * (1.0 - tv))
    n_c = k - n_t[k]
    if n_t[k] == 0 or n_c == 0:
        return float("nan")
    return float(y_t[k] / n_t[k] - y_c[k] / n_c)


def difference_in_means(
    y: Any, treated: Any, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Average treatment effect of a randomised experiment: (ate, se, ci_low, ci_high).

    Neyman's unpooled standard error and a normal interval at ``level``.
    """
    yv = _vector("y", y)
    tv = _vector("treated", treated, len(yv)).astype(bool)
    y1, y0 = yv[tv], yv[~tv]
    if len(y1) < 2 or len(y0) < 2:
        raise ValueError("difference_in_means needs at least two treated and two control rows")
    ate = float(y1.mean() - y0.mean())
    se = float(np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0)))
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    return ate, se, ate - z * se, ate + z * se


def bootstrap_ci(
    metric_fn: Callable[..., float],
    *arrays: Any,
    n_boot: int,
    rng: np.random.Generator,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric_fn(*arrays)``.

    Rows are resampled with replacement, the same indices for every array, drawn from
    ``rng`` only, so the interval is reproducible from the Generator's seed. Replicates
    where the metric is undefined (NaN, e.g. no control row drawn) are left out.
    """
    if n_boot < 2:
        raise ValueError(f"n_boot={n_boot} must be >= 2")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level} must be in (0, 1)")
    cols = [np.asarray(a) for a in arrays]
    if not cols:
        raise ValueError("bootstrap_ci needs at least one array")
    n = len(cols[0])
    if any(len(c) != n for c in cols):
        raise ValueError(f"arrays differ in length: {[len(c) for c in cols]}")
    stats = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, size=n)
        stats[b] = metric_fn(*(c[idx] for c in cols))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(stats, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


#: Fewest outcome events (and non-events) per group of a binary outcome below which the
#: normal approximation behind the difference in means and its interval is poor: the
#: usual rule for a binomial proportion, n p >= 10 and n (1 - p) >= 10.
MIN_EVENTS = 10
#: Fewest rows per group of a continuous outcome for the same approximation (the usual
#: central-limit rule of thumb, n >= 30).
MIN_ROWS_CONTINUOUS = 30


def _sample_flags(y: np.ndarray, t: np.ndarray) -> list[str]:
    """Why a scored part is too small for its intervals to be trusted (empty: it is not)."""
    out = []
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    for name, mask in (("treated", t == 1), ("control", t == 0)):
        yg = y[mask]
        if binary:
            events, non = int(yg.sum()), int(len(yg) - yg.sum())
            if min(events, non) < MIN_EVENTS:
                out.append(
                    f"{name} rows have {events} outcome(s) and {non} non-outcome(s); fewer than "
                    f"{MIN_EVENTS} of either makes the interval unreliable"
                )
        elif len(yg) < MIN_ROWS_CONTINUOUS:
            out.append(
                f"{len(yg)} {name} rows (fewer than {MIN_ROWS_CONTINUOUS}) make the interval "
                "unreliable"
            )
    return out


def score_ranking(
    y: Any,
    treated: Any,
    score: Any,
    n_boot: int = 0,
    rng: np.random.Generator | None = None,
    level: float = 0.95,
    on_resample: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Qini and AUUC of a ranking on randomised rows, with intervals, flags and reasons.

    Keys: ``qini`` and ``auuc`` (normalised, as :func:`qini_coefficient` and
    :func:`auuc`), ``qini_raw`` (unnormalised: mean height of the Qini curve over random,
    in outcome units), ``total`` (the total incremental outcome n_t (mean_t - mean_c))
    with ``total_ci`` (normal, Neyman standard error), the percentile bootstrap intervals
    ``qini_ci``, ``auuc_ci``, ``qini_raw_ci`` (``n_boot`` resamples of the rows drawn from
    ``rng``; the same draws for every figure), ``flags`` (``constant_prediction``,
    ``small_sample``, ``total_not_distinguishable_from_zero``), ``warnings`` (one sentence
    per flag) and ``undefined`` (key -> reason for every figure left ``None``).

    The normalised figures need a total distinguishable from zero (``total_ci`` excludes
    0); otherwise they are ``None`` with the reason.  A constant score ranks no one above
    anyone: its Qini is exactly 0 and its AUUC random targeting's, by construction (not a
    measurement), and flagged.
    """
    yv, tv, sv = _observed(y, treated, score)
    if n_boot and rng is None:
        raise ValueError("score_ranking needs rng for a bootstrap")
    out: dict[str, Any] = {"flags": [], "warnings": [], "undefined": {}}
    undefined: dict[str, str] = out["undefined"]
    y1, y0 = yv[tv == 1], yv[tv == 0]
    n_t = len(y1)
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    if len(y1) >= 2 and len(y0) >= 2:
        diff = float(y1.mean() - y0.mean())
        se = float(np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0)))
        total, total_se = n_t * diff, n_t * se
        out["total"], out["total_ci"] = total, [total - z * total_se, total + z * total_se]
        defined = abs(total) > z * total_se
    else:
        out["total"], out["total_ci"], defined = None, None, False
        undefined["total"] = "fewer than two treated or two control rows"
    if not defined and out["total"] is not None:
        lo, hi = out["total_ci"]
        out["flags"].append("total_not_distinguishable_from_zero")
        why = (
            f"the total incremental outcome of these rows ({out['total']:.4g}, {level:.0%} "
            f"interval [{lo:.4g}, {hi:.4g}]) cannot be told from zero, so dividing by it "
            "(the normalisation) gives values of any size and sign; read qini_raw"
        )
        out["warnings"].append(why)
    constant = bool(np.ptp(sv) <= 1e-12 * max(1.0, float(np.abs(sv).max())))
    if constant:
        out["flags"].append("constant_prediction")
        out["warnings"].append(
            "the estimator predicts the same uplift for every row: it ranks no one above "
            "anyone, so its Qini is 0 and its AUUC random targeting's by construction"
        )
    small = _sample_flags(yv, tv)
    if small:
        out["flags"].append("small_sample")
        out["warnings"].extend(small)

    def figures(yy: np.ndarray, tt: np.ndarray, ss: np.ndarray) -> tuple[float, float, float]:
        q = _qini_values(yy, tt, ss)
        raw = _area_over_random(q, normalize=False)
        if not defined or q[-1] == 0.0:
            return raw, float("nan"), float("nan")
        g = _gain_values(yy, tt, ss)
        norm_q = _area_over_random(q, normalize=True)
        norm_a = float((g / abs(g[-1])).sum() / len(g)) if g[-1] != 0.0 else float("nan")
        return raw, norm_q, norm_a

    raw, qini, auc = figures(yv, tv, sv)
    if constant:
        raw = 0.0
        if defined:
            qini, auc = 0.0, 0.5 if out["total"] > 0 else -0.5
    out["qini_raw"] = raw
    out["qini"] = qini if defined else None
    out["auuc"] = auc if defined else None
    if not defined:
        reason = out["warnings"][0] if out["total"] is not None else undefined["total"]
        for key in ("qini", "auuc", "qini_ci", "auuc_ci"):
            undefined[key] = reason
    out["qini_ci"] = out["auuc_ci"] = out["qini_raw_ci"] = None
    if n_boot and constant:
        for key in ("qini_ci", "auuc_ci", "qini_raw_ci"):
            undefined.setdefault(key, "constant prediction: there is no ranking to resample")
    elif n_boot:
        assert rng is not None
        n = len(yv)
        stats = np.empty((n_boot, 3))
        for b in range(n_boot):
            idx = rng.integers(0, n, size=n)
            stats[b] = figures(yv[idx], tv[idx], sv[idx])
            if on_resample is not None:
                on_resample()
        alpha = (1.0 - level) / 2.0
        names = ("qini_raw_ci", "qini_ci", "auuc_ci")
        for j, key in enumerate(names):
            col = stats[:, j]
            if key != "qini_raw_ci" and not defined:
                continue
            if np.isfinite(col).sum() < 2:
                undefined[key] = "undefined in (almost) every bootstrap resample"
                continue
            lo, hi = np.nanquantile(col, [alpha, 1.0 - alpha])
            out[key] = [float(lo), float(hi)]
    return out


# ------------------------------------------------------------------- ground truth


def pehe(true_uplift: Any, pred: Any) -> float:
    """Root mean squared error of predicted against true individual uplift (√PEHE)."""
    tau = _vector("true_uplift", true_uplift)
    return float(np.sqrt(np.mean((tau - _vector("pred", pred, len(tau))) ** 2)))


def true_uplift_curve(true_uplift: Any, score: Any, n_points: int | None = None) -> pd.DataFrame:
    """Cumulative true uplift when the top share is targeted by ``score``.

    Columns ``fraction``, ``n_targeted``, ``model`` (ranked by score), ``oracle`` (ranked
    by true uplift: the best any score can do) and ``random`` (expected, random order), in
    outcome units (e.g. incremental conversions if everyone targeted is treated).
    """
    tau = _vector("true_uplift", true_uplift)
    sv = _vector("score", score, len(tau))
    (model,) = _cumulate(sv, tau)
    (oracle,) = _cumulate(tau, tau)
    n = len(tau)
    k = np.arange(n + 1)
    return _frame(k, n, n_points, model=model, oracle=oracle, random=oracle[-1] * k / n)


def true_qini(true_uplift: Any, score: Any, normalize: bool = True) -> float:
    """Qini coefficient of ``score`` measured on the true uplift curve, normalised like Qini.

    0 is random targeting; ``true_qini(tau, tau)`` is the oracle's value, the upper bound.
    """
    tau = _vector("true_uplift", true_uplift)
    (model,) = _cumulate(_vector("score", score, len(tau)), tau)
    return _area_over_random(model, normalize)


def profit_curve(
    score: Any,
    true_uplift: Any,
    margin_per_conversion: float,
    cost_per_contact: float,
    offer_cost_per_redemption: float = 0.0,
    p_redeem: Any | None = None,
    fractions: Sequence[float] | np.ndarray | None = None,
) -> pd.DataFrame:
    """True incremental profit of contacting the top share of customers.

    profit(S) = margin * sum_S tau_i - |S| * cost_per_contact
                - offer_cost_per_redemption * sum_S p_redeem_i,
    with ``tau`` the true uplift in conversions and ``p_redeem`` the probability that a
    contacted customer redeems the offer (buys under treatment; default 0, i.e. no offer
    cost). Columns ``fraction``, ``n_targeted``, ``model`` (top share by ``score``),
    ``oracle`` (top share by true per-customer profit, which is the order of true uplift
    when redemption costs are zero or equal) and ``random`` (expected profit of a random
    share). ``fractions`` default 0, 0.05, ..., 1.
    """
    tau = _vector("true_uplift", true_uplift)
    n = len(tau)
    sv = _vector("score", score, n)
    redeem = np.zeros(n) if p_redeem is None else _vector("p_redeem", p_redeem, n)
    value = margin_per_conversion * tau - cost_per_contact - offer_cost_per_redemption * redeem
    fr = np.linspace(0.0, 1.0, 21) if fractions is None else np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or ((fr < 0.0) | (fr > 1.0)).any():
        raise ValueError("fractions must be a 1-D sequence of shares in [0, 1]")
    k = np.round(fr * n).astype(int)
    (model,) = _cumulate(sv, value)
    (oracle,) = _cumulate(value, value)
    return pd.DataFrame(
        {
            "fraction": fr,
            "n_targeted": k,
            "model": model[k],
            "oracle": oracle[k],
            "random": oracle[-1] * k / n,
        }
    )


def best_depth_profit(curve: pd.DataFrame) -> dict[str, float]:
    """Highest profit over the curve's targeting depths for model, oracle and random."""
    return {col: float(curve[col].max()) for col in ("model", "oracle", "random")}


def depth_profit(curve: pd.DataFrame, fraction: float) -> dict[str, float]:
    """Profit of model, oracle and random when contacting the top ``fraction`` (a fixed
    budget), from the curve's grid point at that share; ``ValueError`` if it has none."""
    at = np.flatnonzero(np.isclose(curve["fraction"].to_numpy(float), fraction))
    if at.size == 0:
        raise ValueError(f"the profit curve has no point at fraction {fraction}")
    row = curve.iloc[int(at[0])]
    return {
        "fraction": float(fraction),
        **{c: float(row[c]) for c in ("model", "oracle", "random")},
    }


# ---------------------------------------------------------------------------- plots


def plot_qini(
    curves: Mapping[str, pd.DataFrame],
    ax: Any,
    ylabel: str = "Incremental conversions (Qini)",
    title: str | None = None,
) -> Any:
    """Draw one curve per model (``label -> qini_curve / true_uplift_curve table``) on ``ax``.

    The random line (and the oracle, for true-uplift curves) is drawn once, from the
    first table.
    """
    if not curves:
        raise ValueError("plot_qini needs at least one curve")
    for label, df in curves.items():
        ax.plot(df["fraction"], df["model"], label=label)
    first = next(iter(curves.values()))
    if "oracle" in first:
        ax.plot(first["fraction"], first["oracle"], color="0.3", linestyle=":", label="oracle")
    ax.plot(first["fraction"], first["random"], color="0.5", linestyle="--", label="random")
    ax.axhline(0.0, color="0.8", linewidth=0.8)
    ax.set_xlabel("Share of customers targeted (by predicted uplift)")
    ax.set_ylabel(ylabel)
    _percent_axis(ax)
    if title:
        ax.set_title(title)
    _legend_outside(ax)
    return ax


def plot_profit(curve: pd.DataFrame, ax: Any, title: str | None = None) -> Any:
    """Draw incremental profit against targeting depth for model, oracle and random."""
    ax.plot(curve["fraction"], curve["model"], marker=".", label="uplift model")
    ax.plot(curve["fraction"], curve["oracle"], color="0.3", linestyle=":", label="oracle")
    ax.plot(curve["fraction"], curve["random"], color="0.5", linestyle="--", label="random")
    best = int(np.argmax(curve["model"].to_numpy()))
    ax.plot(
        curve["fraction"].iloc[best],
        curve["model"].iloc[best],
        "o",
        color="C3",
        label=f"best depth {curve['fraction'].iloc[best]:.0%}",
    )
    ax.axhline(0.0, color="0.8", linewidth=0.8)
    ax.set_xlabel("Share of customers targeted")
    ax.set_ylabel("Incremental profit (currency units)")
    _percent_axis(ax)
    from matplotlib.ticker import FuncFormatter

    from sim.report import money

    ax.yaxis.set_major_formatter(FuncFormatter(money))
    if title:
        ax.set_title(title)
    _legend_outside(ax)
    return ax


def _legend_outside(ax: Any) -> None:
    """The legend right of the axes, outside the data area, so that it hides no point."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def _percent_axis(ax: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.ticklabel_format(axis="y", useOffset=False)
