"""Synthesis of the consumer population: a struct of numpy arrays, one entry per consumer.

Preferences follow a two-level (tribe + individual) Gaussian model:

    u_ic = sqrt(ρ)·μ_{tribe(i),c} + sqrt(1-ρ)·ε_ic,      μ, ε ~ N(0, 1)

so ρ (``tribes.variance_share``) is exactly the share of preference variance explained
by the tribe (ρ = 1: identical tastes inside a tribe).  Category shares are the softmax
``s_ic = exp(τ u_ic) / Σ_c' exp(τ u_ic')`` with temperature τ; the *relevance* of an
offer in category c is ``C·s_ic`` (1 for an average category).  Creepiness thresholds
are log-normal with a tribe component (tribes differ in privacy sensitivity; the same
component raises their consent rates), after Aguirre et al. (2015) and van Doorn &
Hoekstra (2013): tolerance of personalisation is a trait that clusters socially.

Only :class:`Population` holds latent traits; the marketer never reads them
(:mod:`sim.observe` is the marketer's view).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from scipy.special import expit, logit

from sim.config import CHANNELS, DATA_KINDS, MarketConfig
from sim.streams import Purpose, Streams


class Stage(IntEnum):
    """Lifecycle stage codes (``initial_lifecycle``, ``MarketState.lifecycle``), in the
    order of ``sim.config.LIFECYCLE`` and of the per-stage config values.

    Code run every step compares arrays with ``Stage.X.value`` (a plain int): numpy
    treats an enum member as an int64 operand, which is about ten times slower on int8.
    """

    NEW = 0
    ACTIVE = 1
    LAPSED = 2


@dataclass(frozen=True)
class Population:
    """Static latent traits of N consumers (arrays with a leading consumer axis)."""

    tribe: np.ndarray  # (N,) int16
    tribe_sizes: np.ndarray  # (T,) int64
    utility: np.ndarray  # (N, C) float32 latent preference
    share: np.ndarray  # (N, C) float32 softmax category shares
    base_rate: np.ndarray  # (N,) float32 organic purchases per day at full awareness
    basket_mean: np.ndarray  # (N,) float32 currency per purchase
    discount_sensitivity: np.ndarray  # (N,) float32
    reachable: np.ndarray  # (N, K) bool
    channel_pref: np.ndarray  # (N, K) float32 in (0, 1)
    consent: np.ndarray  # (N, 3) bool, columns as DATA_KINDS
    declared_tribe: np.ndarray  # (N,) bool: declared its tribe (explicit data)
    active_hour: np.ndarray  # (N,) float32 in [0, 24)
    creepiness_threshold: np.ndarray  # (N,) float32
    tribe_log_threshold: np.ndarray  # (T,) float32 tribe mean of log threshold
    initial_awareness: np.ndarray  # (N, C) float32
    initial_lifecycle: np.ndarray  # (N,) int8 Stage code
    initial_tenure: np.ndarray  # (N,) float32 days since first purchase

    @property
    def n(self) -> int:
        return int(self.tribe.shape[0])

    @property
    def n_categories(self) -> int:
        return int(self.utility.shape[1])

    @property
    def n_tribes(self) -> int:
        return int(self.tribe_sizes.shape[0])

    def tribe_slices(self) -> list[slice]:
        """Contiguous slice of each tribe (consumers are stored sorted by tribe)."""
        ends = np.cumsum(self.tribe_sizes)
        starts = ends - self.tribe_sizes
        return [slice(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def softmax_rows(x: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of ``temperature * x`` in float32."""
    z = x * np.float32(temperature)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def synthesize(cfg: MarketConfig, streams: Streams) -> Population:
    """Draw a population from its preset.  Each trait has its own keyed stream, so
    changing one trait's distribution leaves the others' draws untouched."""
    n, c, k = cfg.n_consumers, cfg.n_categories, len(CHANNELS)
    t = cfg.tribes.n
    f32 = np.float32

    def rng(key: int) -> np.random.Generator:
        return streams.rng(Purpose.POPULATION, key)

    sizes_p = rng(1).dirichlet(np.full(t, cfg.tribes.size_concentration))
    # Consumers are stored tribe by tribe, so tribe-level updates work on contiguous slices.
    tribe = np.sort(rng(2).choice(t, size=n, p=sizes_p)).astype(np.int16)
    tribe_sizes = np.bincount(tribe, minlength=t)

    rho = cfg.tribes.variance_share
    tribe_mu = rng(3).standard_normal((t, c), dtype=f32)
    utility = rng(4).standard_normal((n, c), dtype=f32)
    utility *= f32(np.sqrt(1.0 - rho))
    utility += f32(np.sqrt(rho)) * tribe_mu[tribe]
    share = softmax_rows(utility, cfg.purchase.preference_temperature)

    p = cfg.purchase
    base_rate = rng(5).gamma(p.rate_shape, p.base_rate / p.rate_shape, n).astype(f32)
    basket = (p.basket_mean * rng(6).lognormal(-0.5 * p.basket_sigma**2, p.basket_sigma, n)).astype(
        f32
    )
    disc = rng(7).gamma(1.0, p.discount_sensitivity, n).astype(f32)

    cr = cfg.creepiness
    tribe_z = rng(8).standard_normal(t)
    tribe_log_thr = (np.log(cr.threshold_median) + cr.tribe_sd * tribe_z).astype(f32)
    log_thr = tribe_log_thr[tribe] + f32(cr.individual_sd) * rng(9).standard_normal(n, dtype=f32)
    threshold = np.exp(log_thr).astype(f32)

    reach = np.array([cfg.channels[ch].reach for ch in CHANNELS])
    reachable = rng(10).random((n, k), dtype=f32) < reach.astype(f32)
    pref_mean = np.array([cfg.channels[ch].preference_mean for ch in CHANNELS])
    tribe_tilt = rng(11).standard_normal((t, k), dtype=f32)
    z = rng(12).standard_normal((n, k), dtype=f32)
    z *= f32(0.7)
    z += f32(0.7) * tribe_tilt[tribe]
    z += logit(pref_mean).astype(f32)
    channel_pref = expit(z).astype(f32)

    # Privacy-tolerant tribes (high thresholds) consent more often.
    tolerance = tribe_z if cr.tribe_sd > 0 else np.zeros(t)
    consent_share = np.array([cfg.consent.share[kind] for kind in DATA_KINDS])
    with np.errstate(divide="ignore"):
        consent_logit = logit(consent_share)[None, :] + 0.5 * tolerance[tribe][:, None]
    consent = rng(13).random((n, len(DATA_KINDS)), dtype=f32) < expit(consent_logit).astype(f32)
    declared = rng(14).random(n, dtype=f32) < f32(cfg.tribes.declared_share)

    tribe_hour = rng(15).uniform(9.0, 22.0, t)
    active_hour = np.mod(tribe_hour[tribe] + 2.5 * rng(16).standard_normal(n), 24.0).astype(f32)

    aw = cfg.awareness
    a = aw.initial_mean * aw.initial_concentration
    b = (1.0 - aw.initial_mean) * aw.initial_concentration
    awareness = rng(17).beta(a, b, (n, c)).astype(f32)

    lc = cfg.lifecycle
    lifecycle = (
        rng(18).choice(len(Stage), size=n, p=np.asarray(lc.shares) / sum(lc.shares)).astype(np.int8)
    )
    u = rng(19).random(n, dtype=f32)
    span = max(cfg.history_days, lc.new_days)
    tenure = np.where(
        lifecycle == Stage.NEW, u * lc.new_days, lc.new_days + u * (span - lc.new_days + 1.0)
    )

    return Population(
        tribe=tribe,
        tribe_sizes=tribe_sizes,
        utility=utility,
        share=share,
        base_rate=base_rate,
        basket_mean=basket,
        discount_sensitivity=disc,
        reachable=reachable,
        channel_pref=channel_pref,
        consent=consent,
        declared_tribe=declared,
        active_hour=active_hour,
        creepiness_threshold=threshold,
        tribe_log_threshold=tribe_log_thr,
        initial_awareness=awareness,
        initial_lifecycle=lifecycle,
        initial_tenure=tenure.astype(f32),
    )
