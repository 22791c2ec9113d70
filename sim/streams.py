"""Named, counter-keyed random streams: the basis of common random numbers.

Every random number in a run comes from ``SeedSequence(seed, spawn_key=(purpose, *key))``
where ``purpose`` names what the numbers are for (browsing, purchases, responses, ...)
and ``key`` is usually the simulation step.  A stream is therefore a pure function of
(seed, purpose, step): it does not depend on what else was drawn before, on how many
workers run the sweep, or on whether a campaign exists.  Organic behaviour draws a
whole-population array at every step whether or not a consumer needs it, so two worlds
that differ only in a campaign consume identical organic numbers for every consumer,
and per-consumer differences in outcome are caused by the campaign alone.

Responses to contacts are keyed by (step, k) where k counts the contacts a consumer
has had within the step, and indexed by consumer id: a consumer's response uniform is
the same whichever batch or position the contact comes in, which keeps the observed
outcome equal to the potential outcome under the arm received (consistency).
"""

from __future__ import annotations

import enum

import numpy as np


class Purpose(enum.IntEnum):
    """What a stream is for; the integer is part of the stream's key, never reorder."""

    POPULATION = 1
    BROWSE = 2
    BROWSE_CATEGORY = 3
    CART = 4
    ABANDON = 5
    PURCHASE = 6
    PURCHASE_CATEGORY = 7
    BASKET = 8
    REVIEW = 9
    WISHLIST = 10
    STORE_VISIT = 11
    PING = 12
    LAPSE = 13
    SESSION_HOUR = 14
    RESPONSE_BACKLASH = 20
    RESPONSE_OPTOUT = 21
    ASSIGNMENT = 30
    STRATEGY = 31
    PILOT = 32
    SPLIT = 33


class Streams:
    """Factory of reproducible generators keyed by (seed, purpose, *key)."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}.")
        self.seed = int(seed)

    def rng(self, purpose: Purpose, *key: int) -> np.random.Generator:
        """A fresh generator for this purpose and key; same inputs, same numbers."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(int(purpose), *map(int, key)))
        return np.random.Generator(np.random.PCG64(ss))

    def uniform(self, purpose: Purpose, n: int, *key: int) -> np.ndarray:
        """``n`` float32 uniforms on [0, 1) for this purpose and key."""
        return self.rng(purpose, *key).random(n, dtype=np.float32)

    def child_seed(self, purpose: Purpose, *key: int) -> int:
        """A 32-bit integer seed for libraries that want one (scikit-learn, LightGBM)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(int(purpose), *map(int, key)))
        return int(ss.generate_state(1, dtype=np.uint32)[0])
