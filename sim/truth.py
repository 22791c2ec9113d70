"""Ground truth by replaying the same market under common random numbers.

For a campaign we run up to four worlds of the *same* market (same population, same seed):

1. **observed world** (``y1``): the campaign runs as it would, holdout included;
2. **baseline world** (``y0``): no campaign at all;
3. **direct world** (``yd``): the observed world's contact log is replayed batch by
   batch, while word of mouth is *frozen* at the baseline world's tribe signals;
4. **holdout world** (``yh``): no contact at all, while word of mouth is *replayed* from
   the observed world's tribe signals: everyone lives as the holdout does.

Every random number a consumer uses is a pure function of (seed, purpose, step, consumer
id) (:mod:`sim.streams`): purchase, browse, store-visit, ping and lapse draws are
whole-population arrays, the details of a purchase, session or open cart use
consumer-keyed hashed uniforms, and responses are keyed by (step, k) and indexed by
consumer; so the worlds differ only through the campaign.  Per consumer:

* ``total = y1 - y0``: the campaign's whole effect on that consumer.  Summed over
  everyone it is the headline truth: campaign versus no campaign, spillover included;
* ``direct = yd - y0``: the effect of the consumer's own contacts, with everything
  else (tribe-mates' word of mouth) as in the no-campaign world.  It is exactly zero for
  anyone never contacted, holdout included;
* ``spillover = y1 - yd``: what word of mouth carried, so ``total = direct + spillover``;
* ``holdout gap = y1 - yh``: the effect of the consumer's own contacts in the world the
  campaign made.  A consumer-randomised holdout lives in that world without contacts, so
  its members' ``y1`` *is* their ``yh``, and the holdout's difference in means estimates
  the holdout gap summed over the treated (its own estimand), not the total effect: it
  misses the spillover onto the holdout and onto consumers never targeted, and it takes
  the direct effect under realised rather than no-campaign word of mouth.

A tribe-randomised holdout (whole tribes kept back) receives no word of mouth from the
campaign, so its members' ``y1`` is their ``y0`` and its comparison estimates the total
effect on the campaign's tribes, which is the total effect.

**Pulled-forward purchases** (:class:`PullForward`): comparing the observed and baseline
worlds interval by interval (the market's steps), the *gross bump* is the purchases the
campaign world has in an interval beyond the baseline's, the *displaced* purchases those
it lacks; their difference is the net effect.  A displaced purchase of a consumer who had
by then bought more than in the baseline is *pulled forward* (bought earlier instead);
the rest are *suppressed* (e.g. by backlash).  The ledger's ``induced`` flag counts the
purchases due to a contact's persuasion given the campaign world's own state, so it
leaves out purchases the contact caused through awareness or word of mouth; it is
reported beside the cross-world figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.config import MarketConfig
from sim.ledger import Ledger
from sim.market import Market, Strategy
from sim.population import Population, synthesize
from sim.replay import Replay
from sim.streams import Streams


@dataclass(frozen=True)
class Outcomes:
    """Per-consumer outcomes over a window: purchases, revenue and discounts redeemed."""

    conversions: np.ndarray
    revenue: np.ndarray
    discount_cost: np.ndarray
    converted: np.ndarray

    def __sub__(self, other: Outcomes) -> Outcomes:
        return Outcomes(
            self.conversions - other.conversions,
            self.revenue - other.revenue,
            self.discount_cost - other.discount_cost,
            self.converted.astype(np.int8) - other.converted.astype(np.int8),
        )


def outcomes(ledger: Ledger, n: int, t0: float = 0.0, t1: float = np.inf) -> Outcomes:
    """Sum each consumer's purchases with time in [t0, t1)."""
    p = ledger.purchases
    t = p.column("time")
    sel = (t >= t0) & (t < t1)
    who = p.column("consumer")[sel]
    value = p.column("value")[sel].astype(np.float64)
    disc = p.column("discount")[sel].astype(np.float64)
    conv = np.bincount(who, minlength=n).astype(np.float64)
    return Outcomes(
        conv,
        np.bincount(who, value, minlength=n),
        np.bincount(who, value * disc, minlength=n),
        conv > 0,
    )


@dataclass(frozen=True)
class PullForward:
    """How a campaign's purchase bump splits (counts over the window, everyone).

    ``gross``: purchases in intervals where the campaign world has more than the baseline
    (the bump); ``displaced``: purchases the baseline has and the campaign world lacks,
    of which ``pulled_forward`` by consumers who had already bought more than in the
    baseline and ``suppressed`` the rest; ``net = gross - displaced`` (the total effect on
    purchases); ``share``: pulled_forward / gross (None without a bump); ``induced``:
    purchases the ledger flags as induced in the campaign world.
    """

    gross: int
    displaced: int
    pulled_forward: int
    suppressed: int
    net: int
    share: float | None
    induced: int

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "gross": self.gross,
            "displaced": self.displaced,
            "pulled_forward": self.pulled_forward,
            "suppressed": self.suppressed,
            "net": self.net,
            "share": self.share,
            "induced": self.induced,
        }


def _interval_counts(
    ledger: Ledger, step_days: float, n_steps: int, window: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Purchases per (consumer, interval) within the window: sorted keys and counts."""
    p = ledger.purchases
    t = p.column("time")
    sel = (t >= window[0]) & (t < window[1])
    step = np.floor(t[sel] / step_days).astype(np.int64)
    key = p.column("consumer")[sel].astype(np.int64) * (n_steps + 1) + step
    keys, counts = np.unique(key, return_counts=True)
    return keys, counts


def pull_forward(campaign: Market, baseline: Market, window: tuple[float, float]) -> PullForward:
    """Split the campaign world's purchase bump against the baseline (see module doc)."""
    cfg = campaign.cfg
    span = cfg.n_steps + 1
    k1, c1 = _interval_counts(campaign.ledger, cfg.step_days, cfg.n_steps, window)
    k0, c0 = _interval_counts(baseline.ledger, cfg.step_days, cfg.n_steps, window)
    keys = np.union1d(k1, k0)
    diff = np.zeros(keys.size, np.int64)
    diff[np.searchsorted(keys, k1)] += c1
    diff[np.searchsorted(keys, k0)] -= c0
    gross = int(diff[diff > 0].sum())
    displaced = int(-diff[diff < 0].sum())
    # Each consumer's lead over the baseline before each of its intervals (keys are
    # sorted consumer-major, interval-minor).
    consumer = keys // span
    first = np.ones(keys.size, bool)
    first[1:] = consumer[1:] != consumer[:-1]
    before = np.cumsum(diff) - diff
    lead = before - before[first][np.cumsum(first) - 1]
    pulled = int(np.minimum(np.maximum(-diff, 0), np.maximum(lead, 0)).sum())
    t = campaign.ledger.purchases.column("time")
    in_window = (t >= window[0]) & (t < window[1])
    induced = int(campaign.ledger.purchases.column("induced")[in_window].sum())
    return PullForward(
        gross=gross,
        displaced=displaced,
        pulled_forward=pulled,
        suppressed=displaced - pulled,
        net=gross - displaced,
        share=pulled / gross if gross else None,
        induced=induced,
    )


def run_world(
    cfg: MarketConfig,
    seed: int,
    strategy: Strategy | None,
    population: Population,
    wom_override: list | None = None,
) -> Market:
    market = Market(cfg, seed, population=population, wom_override=wom_override)
    if strategy is not None:
        strategy.start(market)
    return market.run()


WORLDS = ("observed", "baseline", "direct", "holdout")


@dataclass
class GroundTruth:
    """The worlds of one campaign.  ``direct_world`` and ``holdout_world`` are None when
    only the total effect was asked for (:func:`twin_worlds` with ``worlds="total"``)."""

    observed: Market
    baseline: Market
    direct_world: Market | None
    window: tuple[float, float]
    holdout_world: Market | None = None

    def outcome(self, world: str) -> Outcomes:
        markets = {
            "observed": self.observed,
            "baseline": self.baseline,
            "direct": self.direct_world,
            "holdout": self.holdout_world,
        }
        m = markets.get(world)
        if m is None:
            raise ValueError(
                f"world {world!r} was not run; worlds: {', '.join(WORLDS)} "
                "(the holdout world only with twin_worlds(..., holdout_world=True))."
            )
        return outcomes(m.ledger, m.pop.n, *self.window)

    @property
    def total(self) -> Outcomes:
        return self.outcome("observed") - self.outcome("baseline")

    @property
    def direct(self) -> Outcomes:
        return self.outcome("direct") - self.outcome("baseline")

    @property
    def spillover(self) -> Outcomes:
        return self.outcome("observed") - self.outcome("direct")

    @property
    def holdout_gap(self) -> Outcomes:
        """``y1 - yh``: own contacts' effect under realised word of mouth (module doc)."""
        return self.outcome("observed") - self.outcome("holdout")

    def pull_forward(self) -> PullForward:
        return pull_forward(self.observed, self.baseline, self.window)


def no_campaign(cfg: MarketConfig, seed: int, population: Population) -> Market:
    """The baseline world: the market without any campaign.  It depends only on the market,
    its seed and population, so several campaigns on one market can share it (read only)."""
    return run_world(cfg, seed, None, population)


def twin_worlds(
    cfg: MarketConfig,
    seed: int,
    make_strategy: Callable[[], Strategy],
    window: tuple[float, float] | None = None,
    population: Population | None = None,
    holdout_world: bool = True,
    baseline: Market | None = None,
    worlds: str = "full",
) -> GroundTruth:
    """Run the observed, baseline, direct and (``holdout_world``) holdout worlds of one
    campaign (see module doc).

    ``baseline``: a no-campaign world of the same market, seed and population already run
    (:func:`no_campaign`), shared instead of run again.  ``worlds="total"`` runs only the
    observed and baseline worlds: enough for the total effect, the headline truth.
    """
    if worlds not in ("full", "total"):
        raise ValueError(f"worlds={worlds!r}; valid choices: full, total")
    pop = population if population is not None else synthesize(cfg, Streams(seed))
    observed = run_world(cfg, seed, make_strategy(), pop)
    if baseline is None:
        baseline = no_campaign(cfg, seed, pop)
    elif baseline.pop is not pop or baseline.seed != seed or baseline.cfg != cfg:
        raise ValueError("twin_worlds: the shared baseline is another market's")
    span = window or (0.0, cfg.horizon_days)
    if worlds == "total":
        return GroundTruth(observed, baseline, None, span, None)
    direct = run_world(
        cfg, seed, Replay(observed.ledger.contacts.frame()), pop, wom_override=baseline.wom_log
    )
    held = run_world(cfg, seed, None, pop, wom_override=observed.wom_log) if holdout_world else None
    return GroundTruth(observed, baseline, direct, span, held)
