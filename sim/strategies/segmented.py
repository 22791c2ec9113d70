"""Segmented(k): one message per segment, for segments a test wave shows to pay.

Segments come from an observable basis: ``tribe`` (the declared tribe, explicit data:
the k-1 largest declared tribes, the rest pooled), ``kmeans`` (k-means on the observed
interest profile, implicit and explicit data; scikit-learn) or ``rfm`` (recency,
frequency and monetary quantile cells, transactional data; ⌈k^{1/3}⌉ bins each).  k = 1
is mass; k ≥ N gives every consumer a segment of one.  Each segment's message is about
the category its members show most interest in, so segments that favour the same
category share one message and one creative (:func:`sim.economics.variant_key`, what
content is charged by): a campaign's content cost is its number of distinct creatives
(:attr:`Segmented.creatives`, at most channel x categories) times the unit cost, not its
number of segments.

A **test wave** first contacts ``test_share`` of every segment; after the response
window the marketer compares the test group's spend with the rest of the segment and
keeps only segments whose estimated incremental margin per contact exceeds its cost
(contact and personalisation; the creatives were made for the test, so content is sunk
by then).  The **roll-out** then contacts the paying segments every ``every_days``.  Fine
segments are precise but their tests are noisy, and finer segments need more distinct
messages: the granularity trade-off (stylised fact 4).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.config import CHANNELS, channel_code
from sim.economics import EconomicsConfig, variant_key
from sim.market import Market
from sim.observe import interest
from sim.schema import spec
from sim.strategies.base import Campaign, CommonControls, StrategyConfig, register
from sim.streams import Purpose

BASES = ("tribe", "kmeans", "rfm")
BASIS_KINDS = {"tribe": ("explicit",), "kmeans": ("implicit", "explicit"), "rfm": ()}


@dataclass
class SegmentedConfig(StrategyConfig, CommonControls):
    name: str = "segmented"
    k: int = spec(4, lo=1)
    basis: str = spec("kmeans", choices=BASES)
    channel: str = spec("email", choices=CHANNELS)
    every_days: float = spec(7.0, lo=0.0, lo_open=True)
    discount: float = spec(0.0, lo=0.0, hi=1.0, hi_open=True)
    depth: float = spec(0.3, lo=0.0, hi=1.0)
    test_share: float = spec(0.3, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    min_segment_size: int = spec(30, lo=1)

    def __post_init__(self) -> None:
        self.check_common()


def assign_segments(market: Market, basis: str, k: int, seed: int) -> np.ndarray:
    """Segment id per consumer (0..k'-1) from observed data only."""
    obs, n = market.obs, market.pop.n
    if k == 1:
        return np.zeros(n, np.int64)
    if basis == "tribe":
        declared = np.where(obs.consent[:, 1], obs.declared_tribe, -1).astype(np.int64)
        tribes, counts = np.unique(declared[declared >= 0], return_counts=True)
        top = tribes[np.argsort(-counts, kind="stable")[: k - 1]]
        seg = np.full(n, len(top), np.int64)
        for j, t in enumerate(top):
            seg[declared == t] = j
        return seg
    if basis == "rfm":
        f = market.features(kinds=())
        bins = max(1, round(k ** (1 / 3)))
        cols = [
            f["recency_days"].fillna(1e4).to_numpy(),
            -f["frequency"].to_numpy(),
            -f["monetary"].to_numpy(),
        ]
        cell = np.zeros(n, np.int64)
        for x in cols:
            ranks = np.argsort(np.argsort(x, kind="stable"), kind="stable")
            cell = cell * bins + (ranks * bins // n)
        return np.unique(cell, return_inverse=True)[1]
    profile = interest(obs, BASIS_KINDS["kmeans"])
    if k >= n:
        return np.arange(n)
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(n_clusters=k, random_state=seed % 2**31, n_init=3, batch_size=4096)
    return km.fit_predict(profile).astype(np.int64)


@register("segmented", SegmentedConfig)
class Segmented(Campaign):
    def __init__(
        self, cfg: SegmentedConfig, seed: int, econ: EconomicsConfig, key: int = 1
    ) -> None:
        super().__init__(cfg, seed, econ, key=key)
        self.cfg = cfg
        self.data_kinds = BASIS_KINDS[cfg.basis]
        self.paying: np.ndarray | None = None
        self.creatives: np.ndarray = np.zeros(0, np.int64)  # variant keys of the messages

    def start(self, market: Market) -> None:
        market.env.process(self._run(market))

    def _run(self, market: Market) -> Generator[simpy.Event, Any, None]:
        cfg, obs, n = self.cfg, market.obs, market.pop.n
        ch = channel_code(cfg.channel)
        yield market.env.timeout(self.at_send_hour(market, cfg.start_day))
        seg = assign_segments(
            market, cfg.basis, cfg.k, market.streams.child_seed(Purpose.STRATEGY, 1)
        )
        n_seg = int(seg.max()) + 1
        prof = interest(obs, self.data_kinds)
        weight = np.zeros((n_seg, prof.shape[1]))
        np.add.at(weight, seg, prof)
        seg_cat = np.where(weight.sum(axis=1) > 0, weight.argmax(axis=1), -1)
        category = seg_cat[seg].astype(np.int16)
        self.creatives = np.unique(variant_key(ch, seg_cat, cfg.discount, cfg.depth))
        kinds = sum(
            1 << i
            for i, k in enumerate(("implicit", "explicit", "ambient"))
            if k in self.data_kinds
        )
        msg: dict[str, Any] = {
            "channel": ch,
            "discount": cfg.discount,
            "depth": cfg.depth,
            "data_kinds": kinds,
        }

        # Test wave.
        u = market.streams.uniform(Purpose.STRATEGY, n, 2)
        test = u < cfg.test_share
        spend0 = obs.spend.astype(np.float64).copy()
        who = np.flatnonzero(test)
        self.send(
            market,
            who,
            ranked=False,
            category=category[who],
            arm=(seg[who] % 30000) + 1,
            **msg,
        )
        yield market.env.timeout(market.cfg.response.window_days)
        gain = obs.spend - spend0
        sizes = np.bincount(seg, minlength=n_seg)
        # The campaign holdout stays out of the test's comparison, so that choosing
        # segments never looks at the consumers that later measure the campaign.
        hold = self.holdout_mask(market)
        contacted = test & ~hold & self.addressable(market, np.arange(n), ch)
        rest = ~test & ~hold
        n_t = np.bincount(seg[contacted], minlength=n_seg)
        n_r = np.bincount(seg[rest], minlength=n_seg)
        s_t = np.bincount(seg[contacted], gain[contacted], minlength=n_seg)
        s_r = np.bincount(seg[rest], gain[rest], minlength=n_seg)
        with np.errstate(invalid="ignore", divide="ignore"):
            lift = s_t / n_t - s_r / n_r
        unit_cost = float(self.econ.unit_costs(ch, cfg.depth))
        value = self.econ.margin_rate * (1 - cfg.discount) * lift - unit_cost
        big = (n_t >= 1) & (sizes >= min(cfg.min_segment_size, max(n // n_seg, 1)))
        self.paying = np.nan_to_num(value) > 0
        self.paying &= big
        self.segments = seg

        # Roll-out to paying segments.
        day = cfg.start_day + max(cfg.every_days, market.cfg.response.window_days)
        while day < cfg.end_day:
            yield market.env.timeout(self.at_send_hour(market, day))
            who = np.flatnonzero(self.paying[seg])
            self.send(
                market,
                who,
                ranked=False,
                category=category[who],
                arm=(seg[who] % 30000) + 1,
                **msg,
            )
            day += cfg.every_days
