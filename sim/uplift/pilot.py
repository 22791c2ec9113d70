"""Randomised pilots inside the simulator, with every consumer's potential outcomes.

At ``day`` the pilot draws a random ``sample_share`` of consumers (its own keyed stream),
assigns each at random to control or one of the arms (offers: channel x discount x depth,
about the consumer's best observed category or a named one) and sends the arms at once.
The table holds what a marketer would have (the observed features at send time, the arm,
the outcome over ``window_days``) and what only the simulator knows:

* ``y_<arm>``: the consumer's conversion (any purchase in the window) had the whole
  sample received that arm, from a replay with word of mouth frozen at the no-pilot
  world (the direct potential outcome, :mod:`sim.truth`); ``y_control`` from the
  no-pilot world;
* ``tau_<arm> = y_<arm> - y_control``: the true (realised) uplift;
* ``tau_expected_<arm>``: the closed-form expected uplift at send time over the pilot's
  ``window_days`` (:func:`sim.response.expected_uplift`) of sending the arm: 0 where the
  channel cannot deliver it (the consumer unreachable on it, or opted out), as realised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.config import CHANNELS, DATA_KINDS, MarketConfig, channel_code
from sim.market import Market
from sim.observe import interest
from sim.population import Population, synthesize
from sim.response import kinds_mask
from sim.schema import ConfigError, check_fields, spec, to_dict
from sim.streams import Purpose, Streams
from sim.truth import outcomes

CONTROL = "control"


@dataclass
class ArmConfig:
    """One pilot arm.  ``category`` empty: the consumer's best observed category."""

    name: str = "email"
    channel: str = spec("email", choices=CHANNELS)
    discount: float = spec(0.0, lo=0.0, hi=1.0, hi_open=True)
    depth: float = spec(1.0, lo=0.0, hi=1.0)
    category: str = ""

    def __post_init__(self) -> None:
        check_fields(self)
        if self.name == CONTROL:
            raise ConfigError("name: 'control' is reserved for the control group.")


@dataclass
class PilotConfig:
    """A randomised pilot: when, on whom, which arms, and what the features may use."""

    day: float = spec(14.0, lo=0.0)
    sample_share: float = spec(0.5, lo=0.0, hi=1.0, lo_open=True)
    control_share: float = spec(0.5, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    window_days: float = spec(14.0, lo=0.0, lo_open=True)
    send_hour: float = spec(10.0, lo=0.0, hi=24.0, hi_open=True)
    data_kinds: list[str] = spec(
        factory=lambda: ["implicit", "explicit"], choices=DATA_KINDS, each=True
    )
    arms: list[ArmConfig] = field(
        default_factory=lambda: [
            ArmConfig("email", "email", 0.0, 1.0),
            ArmConfig("email_offer", "email", 0.15, 1.0),
        ]
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.arms:
            raise ConfigError("arms: a pilot needs at least one treatment arm.")
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ConfigError(f"arms: names must be unique, got {names}.")


@dataclass
class PilotResult:
    """What a simulated pilot returns: its table and what is needed to learn from it.

    ``table``: one row per consumer in the sample (see module doc); ``feature_names``: its
    columns a model may use; ``arms``: the treatment arms' names; ``propensity``: each
    group's (``control`` and every arm) assignment probability; ``config``: the pilot.
    """

    table: pd.DataFrame
    feature_names: list[str]
    arms: list[str]
    propensity: dict[str, float]
    config: PilotConfig

    @property
    def X(self) -> np.ndarray:
        """The feature matrix (rows as in ``table``)."""
        return self.table[self.feature_names].to_numpy(np.float64)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values: the context, and the table column by column."""
        return {
            "config": to_dict(self.config),
            "arms": list(self.arms),
            "feature_names": list(self.feature_names),
            "propensity": dict(self.propensity),
            "table": self.table.to_dict(orient="list"),
        }


def offer_columns(
    market: Market, arms: list[ArmConfig], kinds: tuple[str, ...], consumers: np.ndarray
) -> list[dict[str, Any]]:
    """Per arm, the contact arguments for ``consumers`` (category resolved per consumer)."""
    prof = interest(market.obs, kinds)[consumers]
    best = np.where(prof.sum(axis=1) > 0, prof.argmax(axis=1), -1).astype(np.int16)
    out = []
    for arm in arms:
        cat = (
            np.full(consumers.shape[0], market.cfg.categories.index(arm.category), np.int16)
            if arm.category
            else best
        )
        out.append(
            {
                "channel": channel_code(arm.channel),
                "category": cat,
                "discount": arm.discount,
                "depth": arm.depth,
                "data_kinds": kinds_mask(kinds),
            }
        )
    return out


def assign(streams: Streams, n: int, cfg: PilotConfig) -> np.ndarray:
    """Arm index per consumer: -1 outside the pilot, 0 control, j+1 arm j."""
    u_in = streams.uniform(Purpose.PILOT, n, 0)
    u_arm = streams.uniform(Purpose.PILOT, n, 1).astype(np.float64)
    k = len(cfg.arms)
    arm = np.where(
        u_arm < cfg.control_share,
        0,
        1
        + np.minimum(
            ((u_arm - cfg.control_share) / (1 - cfg.control_share) * k).astype(np.int64), k - 1
        ),
    )
    return np.where(u_in < cfg.sample_share, arm, -1)


class _PilotProcess:
    """Sends the pilot (or, with ``force_arm``, one arm to the whole sample)."""

    def __init__(
        self, cfg: PilotConfig, assignment: np.ndarray, force_arm: int | None = None
    ) -> None:
        self.cfg, self.assignment, self.force_arm = cfg, assignment, force_arm
        self.features: pd.DataFrame | None = None
        self.expected: dict[str, np.ndarray] = {}

    def start(self, market: Market) -> None:
        market.env.process(self._run(market))

    def _run(self, market: Market) -> Generator[simpy.Event, Any, None]:
        cfg = self.cfg
        t = cfg.day + cfg.send_hour / 24.0
        if t > market.now:
            yield market.env.timeout(t - market.now)
        kinds = tuple(cfg.data_kinds)
        sample = np.flatnonzero(self.assignment >= 0)
        offers = offer_columns(market, cfg.arms, kinds, sample)
        if self.force_arm is None:
            self.features = market.features(kinds).iloc[sample].reset_index(drop=True)
            for arm, offer in zip(cfg.arms, offers, strict=True):
                # A contact the channel cannot deliver (unreachable, or opted out) changes
                # nothing: the arm's expected effect there is 0, as its realised one is.
                deliverable = market.deliverable(sample, offer["channel"])
                uplift = market.expected_uplift(sample, **offer, outcome_days=cfg.window_days)
                self.expected[arm.name] = np.where(deliverable, uplift["uplift"], 0.0)
        for j, offer in enumerate(offers):
            if self.force_arm is not None and j != self.force_arm:
                continue
            sel = (
                (self.assignment[sample] == j + 1)
                if self.force_arm is None
                else np.ones(sample.shape[0], bool)
            )
            kw = {k: (v[sel] if isinstance(v, np.ndarray) else v) for k, v in offer.items()}
            market.contact(sample[sel], arm=j + 1, **kw)


def run_pilot(
    market_cfg: MarketConfig, seed: int, cfg: PilotConfig, population: Population | None = None
) -> PilotResult:
    """Run the pilot and its counterfactual worlds; return the pilot table."""
    horizon = max(market_cfg.horizon_days, cfg.day + cfg.window_days + market_cfg.step_days)
    mcfg = dataclasses.replace(market_cfg, horizon_days=horizon)
    pop = population if population is not None else synthesize(mcfg, Streams(seed))
    streams = Streams(seed)
    assignment = assign(streams, pop.n, cfg)
    sample = np.flatnonzero(assignment >= 0)
    window = (cfg.day, cfg.day + cfg.window_days)

    def world(strategy: Any, wom: Any = None) -> Market:
        m = Market(mcfg, seed, population=pop, wom_override=wom)
        if strategy is not None:
            strategy.start(m)
        return m.run()

    pilot = _PilotProcess(cfg, assignment)
    observed = world(pilot)
    baseline = world(None)
    y_obs = outcomes(observed.ledger, pop.n, *window)
    y0 = outcomes(baseline.ledger, pop.n, *window)
    table = pilot.features
    assert table is not None
    # Columns of data kinds the pilot may not use are NaN throughout: not features.
    feature_names = [c for c in table.columns if table[c].notna().any()]
    labels = np.array([CONTROL] + [a.name for a in cfg.arms])
    table = table.assign(
        consumer=sample,
        arm=labels[assignment[sample]],
        y=y_obs.converted[sample].astype(np.float64),
        revenue=y_obs.revenue[sample],
        discount_cost=y_obs.discount_cost[sample],
        y_control=y0.converted[sample].astype(np.float64),
    )
    for j, arm in enumerate(cfg.arms):
        forced = world(_PilotProcess(cfg, assignment, force_arm=j), wom=baseline.wom_log)
        ya = outcomes(forced.ledger, pop.n, *window)
        table[f"y_{arm.name}"] = ya.converted[sample].astype(np.float64)
        table[f"tau_{arm.name}"] = table[f"y_{arm.name}"] - table["y_control"]
        table[f"tau_expected_{arm.name}"] = pilot.expected[arm.name]
    k = len(cfg.arms)
    propensity = {
        CONTROL: cfg.control_share,
        **{a.name: (1 - cfg.control_share) / k for a in cfg.arms},
    }
    return PilotResult(table, feature_names, [a.name for a in cfg.arms], propensity, cfg)
