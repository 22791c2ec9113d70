"""Calibration of the simulated e-mail channel against Hillstrom's e-mail experiment.

Hillstrom (March 2008) randomised 64,000 customers to no e-mail, a women's e-mail or a
men's e-mail and recorded, over the following two weeks, whether each *visited* the
website and whether each *converted*.  This module simulates the same experiment on a
given market (the caller composes it: the preset ``conf/market/hillstrom_like.yaml``,
named by :data:`PRESET`) and fits the e-mail channel so that the six simulated rates
match Hillstrom's.

The simulated experiment
    The preset runs a warm-up of ``warmup_days`` (7), then at ``warmup_days`` + 10:00
    one e-mail goes out through :meth:`sim.market.Market.contact` (the market's single
    entry point).  Consumers are split at random into three equal arms (an exact third
    each, a permutation from the keyed stream ``Purpose.PILOT``): no e-mail (recorded
    as holdout contacts, which do not reach the consumer), the women's e-mail (a
    category-specific message in category ``womens``) and the men's e-mail (category
    ``mens``).  Outcomes are counted over the 14 days ``[t_send, t_send + 14)``:

    * **conversion**: at least one purchase (ledger) in the window;
    * **visit**: at least one browse session (the unfiltered ``obs.context`` feed, as
      the web site's log sees it) *or* a purchase in the window.  The simulator has no
      separate "visit" event and a purchase need not come with a session, so a buyer
      counts as a visitor.  An e-mail raises visits only through awareness:
      ``aw += awareness_gain·(1 - aw)`` in the message's category raises the demand
      factor ``D_i``, which scales browsing (``r_browse·D_i·e^{κA}``) and organic
      purchases; ``lift`` adds the persuasion hazard for ``response.window_days``.

Message strength
    The two e-mails share one channel, hence one ``lift`` and ``awareness_gain``; on a
    population whose men's and women's lines are symmetric (as Hillstrom's are: 55 % of
    customers bought from each line in the past year) both arms would then have the
    same expected rates, while Hillstrom's men's e-mail beat the women's one on visits
    (18.3 % vs 15.1 %) and conversions (1.25 % vs 0.88 %).  The difference is the
    creative, not the channel, so each message has an *engagement*: the share of its
    recipients on whom it acts (who open it).  The men's e-mail is the reference
    (engagement 1, so ``lift`` and ``awareness_gain`` are per men's e-mail sent); the
    women's engagement is fitted.  Recipients the women's e-mail does not engage (a
    random subset, keyed stream) are not contacted at all: an unopened e-mail has no
    effect in the model.

The fit
    Five parameters: ``channels.email.lift``, ``channels.email.awareness_gain``,
    ``purchase.base_rate``, ``behaviour.browse_rate`` (mostly the control rates) and the
    women's engagement.  Nelder-Mead (scipy) on log (rates) and logit (shares) of the
    parameters minimises the sum over the six rates of squared z-scores
    ``((sim - hillstrom) / se_hillstrom)²``, with Hillstrom's binomial standard errors
    ``sqrt(p(1-p)/n_arm)``.  Every evaluation uses the same fixed seeds (common random
    numbers), so the objective moves only through the parameters.  Two stages
    (:data:`DEFAULT_STAGES`): a coarse search pooling two populations of 32,000, then a
    refinement pooling eight (256,000 simulated customers, four times Hillstrom, so the
    simulated rates' own noise is small and one population draw's luck averages out).
    The result is then verified at ``verify_n`` consumers with a seed not used in the
    search.  Search and verification take about 100 s of one core.

Why the tribes of the preset are many, small and tasteless
    With the default world's few, unequal tribes sharing tastes, one population draw can
    lean towards the men's or the women's line and the e-mail arms' rates move by
    several standard errors between seeds; the preset's 48 similar tribes with
    ``variance_share = 0`` keep the draw-to-draw spread close to binomial noise.

95 % intervals are Wald intervals ``p ± 1.96·se``.  A simulated rate has its own
sampling error; :func:`compare` reports both whether it lies inside Hillstrom's interval
and whether the difference lies inside the combined interval
``± 1.96·sqrt(se_h² + se_sim²)`` (the right test for a finite simulated sample).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.config import CHANNELS, MarketConfig
from sim.datasets.hillstrom import (
    HILLSTROM_CONTROL,
    HILLSTROM_MENS,
    HILLSTROM_TREATMENT_COL,
    HILLSTROM_WOMENS,
    load_hillstrom,
)
from sim.market import Market
from sim.streams import Purpose

__all__ = [
    "ARMS",
    "FITTED_ENGAGEMENT",
    "METRICS",
    "PRESET",
    "CalibrationParams",
    "CalibrationResult",
    "calibrated_market",
    "compare",
    "fit",
    "hillstrom_targets",
    "objective",
    "params_from_preset",
    "pool",
    "simulate_arms",
    "simulate_pooled",
]

#: The market preset (``conf/market/<PRESET>.yaml``) the calibration is fitted on.
PRESET = "hillstrom_like"
#: Arms in Hillstrom's order of reporting: (short name, Hillstrom ``segment`` label).
ARMS: tuple[tuple[str, str], ...] = (
    ("control", HILLSTROM_CONTROL),
    ("womens", HILLSTROM_WOMENS),
    ("mens", HILLSTROM_MENS),
)
METRICS: tuple[str, ...] = ("visit", "conversion")
#: Category each e-mail features (a category of the preset).
ARM_CATEGORY = {"womens": "womens", "mens": "mens"}
WINDOW_DAYS = 14.0
SEND_HOUR = 10.0
WARMUP_DAYS = 7.0
Z95 = 1.959963984540054
#: Key of the calibration's streams under ``Purpose.PILOT`` (sub-keys 0: split, 1: engagement).
STREAM_KEY = 2008

#: Fitted engagement of each message (share of its recipients it acts on; men's = 1 by
#: normalisation).  Written here by hand from ``python -m experiments.calibrate``; the
#: channel and market parameters live in ``conf/market/hillstrom_like.yaml``.
FITTED_ENGAGEMENT: dict[str, float] = {"mens": 1.0, "womens": 0.5746}


@dataclass(frozen=True)
class CalibrationParams:
    """The fitted quantities (see module doc)."""

    lift: float
    awareness_gain: float
    base_rate: float
    browse_rate: float
    womens_engagement: float

    def __post_init__(self) -> None:
        for name in ("lift", "base_rate", "browse_rate"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{name} must be positive, got {v!r}")
        for name in ("awareness_gain", "womens_engagement"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ValueError(f"{name} must lie in (0, 1], got {v!r}")

    # Unconstrained coordinates for the optimiser: log of rates, logit of shares.
    def to_vector(self) -> np.ndarray:
        def logit(p: float) -> float:
            p = min(max(p, 1e-9), 1 - 1e-9)
            return math.log(p / (1 - p))

        return np.array(
            [
                math.log(self.lift),
                logit(self.awareness_gain),
                math.log(self.base_rate),
                math.log(self.browse_rate),
                logit(self.womens_engagement),
            ]
        )

    @classmethod
    def from_vector(cls, x: np.ndarray) -> CalibrationParams:
        def expit(z: float) -> float:
            return 1.0 / (1.0 + math.exp(-z))

        return cls(
            lift=math.exp(x[0]),
            awareness_gain=min(expit(x[1]), 1.0),
            base_rate=min(math.exp(x[2]), 1.0),
            browse_rate=min(math.exp(x[3]), 1.0),
            womens_engagement=min(expit(x[4]), 1.0),
        )

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------- targets


def hillstrom_targets(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Hillstrom's visit and conversion rates per arm, from the shipped file.

    One row per (arm, metric): ``n`` customers, ``successes``, ``rate``, binomial ``se``
    ``sqrt(p(1-p)/n)`` and the Wald 95 % interval ``ci_low``/``ci_high``.
    """
    df = load_hillstrom() if frame is None else frame
    rows = []
    for arm, label in ARMS:
        sub = df[df[HILLSTROM_TREATMENT_COL] == label]
        n = len(sub)
        if n == 0:
            raise ValueError(f"Hillstrom arm {label!r} has no rows")
        for metric in METRICS:
            k = int(sub[metric].sum())
            rows.append(_rate_row(arm, metric, n, k))
    return pd.DataFrame(rows)


def _rate_row(arm: str, metric: str, n: int, k: int) -> dict[str, Any]:
    p = k / n
    se = math.sqrt(p * (1.0 - p) / n)
    return {
        "arm": arm,
        "metric": metric,
        "n": n,
        "successes": k,
        "rate": p,
        "se": se,
        "ci_low": p - Z95 * se,
        "ci_high": p + Z95 * se,
    }


# ---------------------------------------------------------------------------- market


def params_from_preset(
    cfg: MarketConfig, engagement: dict[str, float] | None = None
) -> CalibrationParams:
    """The calibrated quantities as stored in a preset (engagement from ``FITTED_ENGAGEMENT``)."""
    eng = FITTED_ENGAGEMENT if engagement is None else engagement
    email = cfg.channels["email"]
    return CalibrationParams(
        lift=email.lift,
        awareness_gain=email.awareness_gain,
        base_rate=cfg.purchase.base_rate,
        browse_rate=cfg.behaviour.browse_rate,
        womens_engagement=eng["womens"] / eng["mens"],
    )


def horizon_for(warmup_days: float) -> float:
    """Days to simulate: warm-up, the send hour, the 14-day window, in whole days."""
    return float(math.ceil(warmup_days + SEND_HOUR / 24.0 + WINDOW_DAYS))


def calibrated_market(
    base: MarketConfig,
    params: CalibrationParams,
    n: int | None = None,
    warmup_days: float = WARMUP_DAYS,
) -> MarketConfig:
    """``base`` with ``params`` applied (and ``n`` consumers, horizon for the window)."""
    email = dataclasses.replace(
        base.channels["email"], lift=params.lift, awareness_gain=params.awareness_gain
    )
    return dataclasses.replace(
        base,
        n_consumers=base.n_consumers if n is None else int(n),
        horizon_days=horizon_for(warmup_days),
        channels={**base.channels, "email": email},
        purchase=dataclasses.replace(base.purchase, base_rate=params.base_rate),
        behaviour=dataclasses.replace(base.behaviour, browse_rate=params.browse_rate),
    )


# ---------------------------------------------------------------------------- simulation


def assign_arms(market: Market) -> np.ndarray:
    """Arm index per consumer (0 control, 1 women's, 2 men's): an exact random third each."""
    n = market.pop.n
    perm = market.streams.rng(Purpose.PILOT, STREAM_KEY, 0).permutation(n)
    arm = np.empty(n, np.int8)
    arm[perm] = np.arange(n) % len(ARMS)
    return arm


def simulate_arms(
    base: MarketConfig,
    params: CalibrationParams,
    seed: int,
    n: int | None = None,
    warmup_days: float = WARMUP_DAYS,
) -> pd.DataFrame:
    """Run the three-arm e-mail experiment once on ``base`` with ``params``; rates per
    (arm, metric).

    Columns as :func:`hillstrom_targets` (``n``, ``successes``, ``rate``, ``se``,
    ``ci_low``, ``ci_high``), the simulated sample's own binomial error and interval.
    """
    cfg = calibrated_market(base, params, n, warmup_days)
    market = Market(cfg, seed)
    n_all = market.pop.n
    arm = assign_arms(market)
    email = CHANNELS.index("email")
    cats = cfg.categories
    for c in ARM_CATEGORY.values():
        if c not in cats:
            raise ValueError(f"market preset has no category {c!r} (categories: {cats})")
    engagement = {"womens": params.womens_engagement, "mens": 1.0}
    u_engage = market.streams.uniform(Purpose.PILOT, n_all, STREAM_KEY, 1)
    t_send = warmup_days + SEND_HOUR / 24.0
    t_end = t_send + WINDOW_DAYS
    visited = np.zeros(n_all, bool)

    def process() -> Any:
        yield market.env.timeout(t_send)
        # Control rows become holdout (ghost) contacts; e-mails not engaging are not sent.
        send = arm == 0
        category = np.full(n_all, -1, np.int16)
        for j, (name, _) in enumerate(ARMS):
            if name in ARM_CATEGORY:
                rows = arm == j
                category[rows] = cats.index(ARM_CATEGORY[name])
                send |= rows & (u_engage < np.float32(engagement[name]))
        who = np.flatnonzero(send)
        market.contact(
            who,
            channel=email,
            category=category[who],
            arm=arm[who].astype(np.int16),
            holdout=arm[who] == 0,
        )
        while True:  # each interval's sessions, published when it opens
            feed = market.obs.context
            inside = (feed.time >= t_send) & (feed.time < t_end)
            visited[feed.consumer[inside]] = True
            yield market.interval_opened

    market.env.process(process())
    market.run()
    purchases = market.ledger.purchases
    t = purchases.column("time")
    inside = (t >= t_send) & (t < t_end)
    converted = np.zeros(n_all, bool)
    converted[purchases.column("consumer")[inside]] = True
    visit = visited | converted
    rows = []
    for j, (name, _) in enumerate(ARMS):
        sel = arm == j
        m = int(sel.sum())
        rows.append(_rate_row(name, "visit", m, int(visit[sel].sum())))
        rows.append(_rate_row(name, "conversion", m, int(converted[sel].sum())))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- fit


def objective(sim: pd.DataFrame, targets: pd.DataFrame) -> float:
    """Sum of squared z-scores of the simulated rates against Hillstrom's (its se)."""
    merged = _merge(sim, targets)
    z = (merged["sim_rate"] - merged["target"]) / merged["target_se"]
    return float((z**2).sum())


def _merge(sim: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    t = targets.rename(
        columns={
            "n": "target_n",
            "rate": "target",
            "se": "target_se",
            "ci_low": "target_ci_low",
            "ci_high": "target_ci_high",
        }
    )
    s = sim.rename(
        columns={
            "n": "sim_n",
            "rate": "sim_rate",
            "se": "sim_se",
            "ci_low": "sim_ci_low",
            "ci_high": "sim_ci_high",
        }
    )
    t = t.drop(columns=["successes"])
    s = s.drop(columns=["successes"])
    return t.merge(s, on=["arm", "metric"], how="left", validate="one_to_one")


def compare(sim: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Simulated vs Hillstrom per (arm, metric) with intervals and coverage flags.

    ``z``: (sim - target) / se_target; ``within_ci``: sim inside Hillstrom's 95 %
    interval; ``within_combined``: |sim - target| <= 1.96·sqrt(se_h² + se_sim²).
    """
    m = _merge(sim, targets)
    diff = m["sim_rate"] - m["target"]
    m["z"] = diff / m["target_se"]
    m["within_ci"] = (m["sim_rate"] >= m["target_ci_low"]) & (m["sim_rate"] <= m["target_ci_high"])
    m["combined_halfwidth"] = Z95 * np.sqrt(m["target_se"] ** 2 + m["sim_se"] ** 2)
    m["within_combined"] = diff.abs() <= m["combined_halfwidth"]
    cols = [
        "arm",
        "metric",
        "target",
        "target_ci_low",
        "target_ci_high",
        "target_n",
        "sim_rate",
        "sim_ci_low",
        "sim_ci_high",
        "sim_n",
        "z",
        "within_ci",
        "combined_halfwidth",
        "within_combined",
    ]
    return m[cols]


def pool(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Pool several runs' counts per (arm, metric) into one table of rates."""
    if not tables:
        raise ValueError("nothing to pool")
    total = (
        pd.concat(tables)
        .groupby(["arm", "metric"], sort=False)[["n", "successes"]]
        .sum()
        .reset_index()
    )
    return pd.DataFrame(
        [
            _rate_row(str(a), str(m), int(k), int(s))
            for a, m, k, s in zip(
                total["arm"], total["metric"], total["n"], total["successes"], strict=True
            )
        ]
    )


def simulate_pooled(
    base: MarketConfig,
    params: CalibrationParams,
    seeds: tuple[int, ...],
    n: int | None = None,
    warmup_days: float = WARMUP_DAYS,
) -> pd.DataFrame:
    """:func:`simulate_arms` at each seed (each a fresh population of ``n``), pooled."""
    return pool([simulate_arms(base, params, s, n, warmup_days) for s in seeds])


@dataclass
class CalibrationResult:
    """Outcome of :func:`fit`."""

    params: CalibrationParams
    objective: float  # at the search seeds and the last stage's size
    table: pd.DataFrame  # simulated (pooled over the search seeds) vs Hillstrom
    verify_table: pd.DataFrame  # at the verification seed and size
    verify_objective: float
    seeds: tuple[int, ...]
    search_n: int  # consumers per seed in the last stage
    verify_seed: int
    verify_n: int
    n_evals: int
    converged: bool
    message: str
    seconds: float
    start: CalibrationParams
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def all_within_ci(self) -> bool:
        return bool(self.table["within_ci"].all())

    @property
    def verified(self) -> bool:
        return bool(self.verify_table["within_ci"].all())

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "params": self.params.as_dict(),
            "engagement": {"mens": 1.0, "womens": self.params.womens_engagement},
            "start": self.start.as_dict(),
            "objective": self.objective,
            "verify_objective": self.verify_objective,
            "all_within_ci": self.all_within_ci,
            "verified_within_ci": self.verified,
            "verified_within_combined": bool(self.verify_table["within_combined"].all()),
            "seeds": list(self.seeds),
            "search_n": self.search_n,
            "verify_seed": self.verify_seed,
            "verify_n": self.verify_n,
            "n_evals": self.n_evals,
            "converged": self.converged,
            "message": self.message,
            "seconds": self.seconds,
            "fit_table": self.table.to_dict(orient="records"),
            "verify_table": self.verify_table.to_dict(orient="records"),
        }


#: Starting point of the search when none is given (a rough hand calibration).
DEFAULT_START = CalibrationParams(
    lift=0.003, awareness_gain=0.5, base_rate=0.0015, browse_rate=0.025, womens_engagement=0.6
)

#: Seeds of the search.  Every evaluation pools the same seeds (common random numbers),
#: so the objective moves only through the parameters; pooling several population draws
#: fits the preset's expected rates rather than one draw's luck.
SEARCH_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7)
#: Seed of the verification run (not a search seed).
VERIFY_SEED = 100


@dataclass(frozen=True)
class Stage:
    """One Nelder-Mead stage: ``n`` consumers per seed, the first ``n_seeds`` search
    seeds, initial simplex ``step`` (log/logit units), at most ``max_evals`` runs."""

    n: int
    n_seeds: int
    step: float
    max_evals: int


#: A coarse search on two small populations, then a refinement on eight (256,000 simulated
#: customers per evaluation; eight population draws average out the draw-to-draw spread
#: of the tribes' channel tastes and active hours).
DEFAULT_STAGES: tuple[Stage, ...] = (Stage(32_000, 2, 0.3, 110), Stage(32_000, 8, 0.05, 60))


def fit(
    base: MarketConfig,
    seeds: tuple[int, ...] = SEARCH_SEEDS,
    verify_seed: int = VERIFY_SEED,
    verify_n: int = 320_000,
    stages: tuple[Stage, ...] = DEFAULT_STAGES,
    start: CalibrationParams | None = None,
    targets: pd.DataFrame | None = None,
    xatol: float = 0.005,
    fatol: float = 0.02,
    verbose: bool = False,
) -> CalibrationResult:
    """Fit the e-mail channel of market ``base`` (see module doc) and verify at another seed.

    Each stage runs Nelder-Mead from the previous stage's best point with a fresh
    simplex, at the stage's population size and search seeds; ``xatol``/``fatol`` are
    Nelder-Mead's stopping tolerances.  The result is the best point the last stage
    evaluated; its table pools the last stage's seeds.  The verification runs it at
    ``verify_seed`` (not a search seed) with ``verify_n`` consumers.
    """
    from scipy.optimize import minimize

    if verify_seed in seeds:
        raise ValueError("verify_seed must differ from the search seeds")
    if not stages:
        raise ValueError("at least one search stage is needed")
    for st in stages:
        if not 1 <= st.n_seeds <= len(seeds):
            raise ValueError(f"stage uses {st.n_seeds} seeds; {len(seeds)} are given")
    t0 = time.perf_counter()
    targets = hillstrom_targets() if targets is None else targets
    start = DEFAULT_START if start is None else start
    history: list[dict[str, Any]] = []
    x = start.to_vector()
    res: Any = None
    best: tuple[float, np.ndarray] = (math.inf, x)
    for k, st in enumerate(stages):
        cache: dict[bytes, float] = {}
        stage_seeds = tuple(seeds[: st.n_seeds])
        best = (math.inf, x)

        def f(
            v: np.ndarray,
            st: Stage = st,
            k: int = k,
            stage_seeds: tuple[int, ...] = stage_seeds,
            cache: dict[bytes, float] = cache,
        ) -> float:
            nonlocal best
            key = np.round(v, 10).tobytes()
            if key in cache:
                return cache[key]
            try:
                p = CalibrationParams.from_vector(v)
            except ValueError:
                return 1e12
            val = objective(simulate_pooled(base, p, stage_seeds, st.n), targets)
            cache[key] = val
            if val < best[0]:
                best = (val, np.array(v, copy=True))
            history.append(
                {"stage": k, "n": st.n, "seeds": st.n_seeds, **p.as_dict(), "objective": val}
            )
            if verbose:
                print(
                    f"  stage {k} eval {len(cache):3d}  objective {val:9.3f}  "
                    + "  ".join(f"{name}={q:.5g}" for name, q in p.as_dict().items()),
                    flush=True,
                )
            return val

        simplex = np.vstack([x] + [x + st.step * np.eye(len(x))[i] for i in range(len(x))])
        res = minimize(
            f,
            x,
            method="Nelder-Mead",
            options={
                "initial_simplex": simplex,
                "maxfev": st.max_evals,
                "xatol": xatol,
                "fatol": fatol,
            },
        )
        x = best[1]
    params = CalibrationParams.from_vector(x)
    last = stages[-1]
    fitted = simulate_pooled(base, params, tuple(seeds[: last.n_seeds]), last.n)
    verify = simulate_arms(base, params, verify_seed, verify_n)
    return CalibrationResult(
        params=params,
        objective=objective(fitted, targets),
        table=compare(fitted, targets),
        verify_table=compare(verify, targets),
        verify_objective=objective(verify, targets),
        seeds=tuple(seeds[: last.n_seeds]),
        search_n=last.n,
        verify_seed=verify_seed,
        verify_n=verify_n,
        n_evals=len(history),
        converged=bool(res.success),
        message=str(res.message),
        seconds=time.perf_counter() - t0,
        start=start,
        history=history,
    )
