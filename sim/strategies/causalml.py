"""The CausalML scorer for one-to-one targeting.

Fitted on a randomised pilot (observed features, arm, conversion), it predicts each
consumer's uplift under every pilot arm and turns it into expected incremental profit

    v_ij = m·b̂_i·τ̂_ij - d_j·b̂_i·(p̂_0 + τ̂_ij) - c_j

with margin m, the consumer's observed mean basket b̂_i (spend / purchases; the market
mean where unknown), arm j's discount d_j (paid by every buyer who redeems), the
pilot's control conversion rate p̂_0 and the arm's unit cost c_j.  Each consumer gets the
arm of highest value; profit-based selection keeps positive values.

If it has no fitted model when the strategy starts (:attr:`CausalMLScorer.needs_pilot`),
the one-to-one strategy first runs the pilot itself, inside the market, on a random
sample (its holdout members get would-be contacts only; see
:meth:`CausalMLScorer.run_pilot`), and learns from what it observes outside the holdout.
``strategy.estimator`` chooses the estimator (``x_lightgbm`` defaults).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.config import CHANNELS
from sim.economics import EconomicsConfig
from sim.market import Market
from sim.strategies.base import Campaign
from sim.strategies.scorers import SCORERS, OfferGrid, Plan, observed_send_time
from sim.uplift.config import EstimatorConfig
from sim.uplift.estimators import UpliftEstimator, make_estimator
from sim.uplift.pilot import CONTROL, ArmConfig, PilotConfig, assign, offer_columns


def observed_basket(market: Market, consumers: np.ndarray) -> np.ndarray:
    obs = market.obs
    n = obs.n_purchases[consumers].astype(np.float64)
    spend = obs.spend[consumers].astype(np.float64)
    overall = float(obs.spend.sum() / max(obs.n_purchases.sum(), 1))
    return np.where(n > 0, spend / np.maximum(n, 1), overall)


class CausalMLScorer:
    """Expected incremental profit from a CausalML uplift model over the pilot's arms."""

    name = "causalml"

    def __init__(
        self,
        kinds: tuple[str, ...],
        seed: int,
        estimator: EstimatorConfig | None = None,
        pilot: PilotConfig | None = None,
        model: UpliftEstimator | None = None,
        feature_names: list[str] | None = None,
        p_control: float | None = None,
    ) -> None:
        self.kinds = kinds
        self.seed = seed
        self.estimator_cfg = estimator or EstimatorConfig(name="x_lightgbm")
        self.pilot_cfg = pilot or PilotConfig(data_kinds=list(kinds))
        self.model = model
        self.feature_names = feature_names
        self.p_control = p_control
        self.predicted: list[tuple[np.ndarray, np.ndarray]] = []
        self.score_seconds = 0.0  # time spent predicting uplift (features + model)
        self.n_scored = 0  # consumer scorings made (one consumer may be scored per plan)

    @property
    def needs_pilot(self) -> bool:
        """True until a model is fitted: the strategy must run :meth:`run_pilot` first."""
        return self.model is None

    @property
    def arms(self) -> list[ArmConfig]:
        return self.pilot_cfg.arms

    def fit(
        self,
        X: np.ndarray,
        arm: np.ndarray,
        y: np.ndarray,
        feature_names: list[str],
        propensity: dict[str, float],
    ) -> CausalMLScorer:
        self.model = make_estimator(self.estimator_cfg, self.seed).fit(
            X, arm, y, propensity=propensity, control=CONTROL
        )
        self.feature_names = feature_names
        self.p_control = float(y[arm == CONTROL].mean())
        return self

    def uplift(self, market: Market, consumers: np.ndarray) -> np.ndarray:
        """Predicted conversion uplift (n, arms) in pilot-arm order."""
        assert self.model is not None and self.feature_names is not None
        tic = time.perf_counter()
        feats = market.features(tuple(self.pilot_cfg.data_kinds))
        X = feats[self.feature_names].to_numpy(np.float64)[consumers]
        tau = self.model.predict(X)
        order = [self.model.arms_.index(a.name) for a in self.arms]
        self.score_seconds += time.perf_counter() - tic
        self.n_scored += consumers.shape[0]
        return tau[:, order]

    def plan(
        self,
        market: Market,
        consumers: np.ndarray,
        grid: OfferGrid,
        econ: EconomicsConfig,
        day: float,
        default_hour: float,
    ) -> Plan:
        tau = self.uplift(market, consumers)
        basket = observed_basket(market, consumers)
        offers = offer_columns(market, self.arms, tuple(self.pilot_cfg.data_kinds), consumers)
        n = consumers.shape[0]
        best = np.full(n, -np.inf)
        b_arm = np.zeros(n, np.int64)
        p0 = self.p_control or 0.0
        for j, (arm, offer) in enumerate(zip(self.arms, offers, strict=True)):
            ch = offer["channel"]
            ok = market.deliverable(consumers, ch)
            unit = (
                econ.contact_cost[CHANNELS[ch]] + econ.personalisation_cost_per_contact * arm.depth
            )
            v = (
                econ.margin_rate * basket * tau[:, j]
                - arm.discount * basket * (p0 + tau[:, j])
                - unit
            )
            v = np.where(ok, v, -np.inf)
            better = v > best
            best = np.where(better, v, best)
            b_arm = np.where(better, j, b_arm)
        channel = np.array([o["channel"] for o in offers])[b_arm]
        category = np.stack([o["category"] for o in offers], axis=1)[np.arange(n), b_arm]
        discount = np.array([a.discount for a in self.arms])[b_arm]
        depth = np.array([a.depth for a in self.arms])[b_arm]
        send = observed_send_time(market, consumers, day, default_hour)
        return Plan(
            consumers, channel, category, discount, send, best, profit_based=True, depth=depth
        )

    def run_pilot(self, campaign: Campaign, market: Market) -> Generator[simpy.Event, Any, None]:
        """Run the pilot inside the market, wait, then fit on the sample outside the holdout.

        The campaign's holdout members drawn into the pilot get would-be contacts
        (holdout rows, never delivered) like every other contact of the campaign, so the
        holdout stays a mirror of the treated group; the scorer learns from the rest."""
        cfg = self.pilot_cfg
        n = market.pop.n
        assignment = assign(market.streams, n, cfg)
        drawn = np.flatnonzero(assignment >= 0)
        sample = drawn[~campaign.holdout_mask(market)[drawn]]
        kinds = tuple(cfg.data_kinds)
        feats = market.features(kinds)
        names = [c for c in feats.columns if feats[c].iloc[sample].notna().any()]
        X = feats[names].to_numpy(np.float64)[sample]
        bought_before = market.obs.n_purchases[sample].copy()
        offers = offer_columns(market, self.arms, kinds, drawn)
        for j, offer in enumerate(offers):
            sel = assignment[drawn] == j + 1
            kw = {k: (v[sel] if isinstance(v, np.ndarray) else v) for k, v in offer.items()}
            campaign.send(market, drawn[sel], arm=j + 1, **kw)
        yield market.env.timeout(cfg.window_days)
        y = (market.obs.n_purchases[sample] > bought_before).astype(np.float64)
        labels = np.array([CONTROL] + [a.name for a in self.arms])[assignment[sample]]
        k = len(self.arms)
        propensity = {
            CONTROL: cfg.control_share,
            **{a.name: (1 - cfg.control_share) / k for a in self.arms},
        }
        self.fit(X, labels, y, names, propensity)


SCORERS["causalml"] = lambda kinds, seed, cfg: CausalMLScorer(kinds, seed, cfg.estimator)
