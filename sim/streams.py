"""Named, counter-keyed random streams: the basis of common random numbers.

Every random number in a run is a pure function of the run's seed, of a ``purpose``
naming what the numbers are for (browsing, purchases, responses, ...) and of a ``key``,
usually the simulation step: it does not depend on what else was drawn before, on how
many workers run the sweep, or on whether a campaign exists.  Two kinds of stream
serve the two ways numbers are used.

*Whole-population arrays* (:meth:`Streams.uniform`, :meth:`Streams.rng`) come from
``SeedSequence(seed, spawn_key=(purpose, *key))``; element i belongs to consumer i.
Organic events every consumer may have at every step (purchase, browse, store visit,
ping, lapse) draw such an array for the whole population whether or not a consumer
needs it.

*Consumer-keyed uniforms* (:meth:`Streams.uniform_at`) are counter-based: consumer i's
number is the splitmix64 finaliser (Steele, Lea & Flood, 2014) of ``K + i·γ``, where
``K`` is a 64-bit key drawn from the same ``SeedSequence(seed, spawn_key=(purpose,
*key))`` and γ is the golden-ratio increment, and the top 24 bits give a float32 exactly
uniform on the grid ``{0, 2^-24, ..., 1 - 2^-24}``.  They are evaluated only for the
consumers that need them (the step's buyers for the category, basket and review, its
sessions for the category, hour, cart and wish list, open carts for abandonment), yet a
consumer's number is the same whoever else is in the subset.

Either way a consumer's number is a pure function of (seed, purpose, step, consumer id),
so two worlds that differ only in a campaign consume identical organic numbers for every
consumer, and per-consumer differences in outcome are caused by the campaign alone.

Responses to contacts are keyed by (step, k) where k counts the contacts a consumer
has had within the step, and indexed by consumer id: a consumer's response uniform is
the same whichever batch or position the contact comes in, which keeps the observed
outcome equal to the potential outcome under the arm received (consistency).
"""

from __future__ import annotations

import enum
import math
from functools import lru_cache

import numpy as np

# splitmix64: the golden-ratio increment γ and the finaliser's multipliers and shifts.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S27, _S30, _S31, _S40 = (np.uint64(s) for s in (27, 30, 31, 40))
_S8_32 = np.uint32(8)


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
    RESPONSE_CLICK = 22
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
        """``n`` float32 uniforms on [0, 1) for this purpose and key.

        Number i is the top 24 bits of the i-th 32-bit word of the generator's raw
        PCG64 output (each 64-bit output low half first), times 2^-24: on little-endian
        machines exactly ``self.rng(purpose, *key).random(n, dtype=np.float32)``, made
        without numpy's per-number conversion loop.
        """
        raw = self._raw(purpose, n, *key)
        words = raw.view(np.uint32)[:n]
        words >>= _S8_32
        # int32 to float32 (< 2^24: exact) written over the words themselves (each in its
        # own place: no second array of n), then the scaling in place.  (One ufunc with
        # dtype= casting into this aliased output goes through buffers: 3x slower.)
        out = raw.view(np.float32)[:n]
        out[...] = words.view(np.int32)
        out *= np.float32(2.0**-24)
        return out

    def below(self, purpose: Purpose, n: int, x: np.float32, *key: int) -> np.ndarray:
        """The consumers i < n whose :meth:`uniform` (same purpose and key) is below the
        float32 ``x``, found on the raw words: the same set, without the conversion.

        ``u = w·2^-24 < x`` (w: the word's top 24 bits) holds exactly when
        ``w < ceil(x·2^24)``, that is when the whole 32-bit word is below ``ceil(x·2^24)·2^8``.
        """
        words = self._raw(purpose, n, *key).view(np.uint32)[:n]
        k = math.ceil(float(x) * 2.0**24)  # exact: x has a 24-bit significand
        if k >= 1 << 24:
            return np.arange(n)
        return np.flatnonzero(words < np.uint32(max(k, 0) << 8))

    def _raw(self, purpose: Purpose, n: int, *key: int) -> np.ndarray:
        """The generator's first ``ceil(n/2)`` raw 64-bit outputs (n 32-bit words)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(int(purpose), *map(int, key)))
        raw: np.ndarray = np.random.PCG64(ss).random_raw((n + 1) // 2)
        return raw

    def key64(self, purpose: Purpose, *key: int) -> np.uint64:
        """A 64-bit key for this purpose and key (the ``K`` of :meth:`uniform_at`)."""
        return _key64(self.seed, int(purpose), tuple(map(int, key)))

    def uniform_at(self, purpose: Purpose, ids: np.ndarray, *key: int) -> np.ndarray:
        """float32 uniforms on [0, 1) for the consumers ``ids`` (non-negative integers).

        Counter-based (see the module doc): the number of consumer i depends only on
        (seed, purpose, key, i), so it is the same in any subset that contains i, and
        the cost is proportional to ``len(ids)``, not to the population.
        """
        z = np.asarray(ids).astype(np.uint64)  # a copy, worked on in place; wraps mod 2^64
        z *= _GOLDEN
        z += self.key64(purpose, *key)
        z ^= z >> _S30
        z *= _MIX1
        z ^= z >> _S27
        z *= _MIX2
        z ^= z >> _S31
        z >>= _S40  # the top 24 bits, exactly representable in float32
        out = z.view(np.int64).astype(np.float32)
        out *= np.float32(2.0**-24)
        return out

    def child_seed(self, purpose: Purpose, *key: int) -> int:
        """A 32-bit integer seed for libraries that want one (scikit-learn, LightGBM)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(int(purpose), *map(int, key)))
        return int(ss.generate_state(1, dtype=np.uint32)[0])


@lru_cache(maxsize=4096)
def _key64(seed: int, purpose: int, key: tuple[int, ...]) -> np.uint64:
    """:meth:`Streams.key64`, memoised: building a ``SeedSequence`` costs more than drawing
    a few thousand numbers, and an interval asks for the same day's keys several times."""
    ss = np.random.SeedSequence(seed, spawn_key=(purpose, *key))
    return ss.generate_state(1, dtype=np.uint64)[0]
