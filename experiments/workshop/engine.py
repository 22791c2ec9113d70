"""Runs for the workshop: one plan in one world, measured and true, plus who it reached.

:func:`evaluate` calls :func:`sim.experiment.run_experiment` (the same function as every
entry point) and reads its typed :class:`~sim.experiment.RunResult` into the slim,
picklable :class:`Figures` the page shows.  Beside it, :func:`evaluate` classifies the
contacted customers into the four types of uplift modelling by comparing their
purchases in the campaign world with the *shared baseline world* (the same market and
seed without any campaign; it depends on the world only, so it is computed once per
world and process and reused by every plan):

=================  ==========================  ======================
type               bought with the campaign    bought without it
=================  ==========================  ======================
persuadable        yes                         no
sure thing         yes                         yes
lost cause         no                          no
sleeping dog       no                          yes
=================  ==========================  ======================

(Radcliffe & Surry, 2011).  "Bought" is at least one purchase over the horizon; the
campaign world includes word of mouth, so a type is the campaign's total effect on that
customer.  The spend on each type is what the campaign paid to reach them (contact and
personalisation) plus the discounts they redeemed.

:class:`Runner` runs jobs on a small, shared pool of worker processes (one queue for the
whole classroom, so no student can starve the others) and keeps a bounded cache of
finished jobs for everyone; each session's unfinished jobs are cancelled when it asks
for new ones (one run at a time per session).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import multiprocessing
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.workshop.plans import Plan, World
from sim.config import CHANNELS
from sim.experiment import RunConfig, RunResult, run_experiment
from sim.ledger import ContactStatus
from sim.market import Market
from sim.population import synthesize
from sim.schema import ConfigError
from sim.strategies import make_strategy
from sim.streams import Streams
from sim.truth import outcomes, run_world

log = logging.getLogger(__name__)

TYPES: tuple[str, ...] = ("persuadable", "sure_thing", "lost_cause", "sleeping_dog")
TYPE_LABELS: dict[str, str] = {
    "persuadable": "persuadables (bought because of it)",
    "sure_thing": "sure things (would have bought anyway)",
    "lost_cause": "lost causes (bought neither way)",
    "sleeping_dog": "sleeping dogs (bought only without it)",
}
#: Optional truths a result may carry beside the headline ``true`` (read if present).
EXTRA_TRUTHS: dict[str, str] = {
    "true_total": "market-wide, word of mouth included",
    "direct": "own contacts only",
    "true_direct": "own contacts only",
    "spillover": "word-of-mouth spillover",
}


@dataclass(frozen=True)
class Estimate:
    """An incremental figure: measured by the holdout (with its standard error) and the
    headline truth from the twin worlds; ``extra``: further truths the library reports."""

    measured: float
    se: float
    true: float | None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ci95(self) -> tuple[float, float]:
        """The holdout's 95 % interval (normal approximation)."""
        return self.measured - 1.96 * self.se, self.measured + 1.96 * self.se


@dataclass(frozen=True)
class ConsumerTypes:
    """Contacted customers by type (counts) and what the campaign spent on each type."""

    counts: dict[str, int]
    spend: dict[str, float]

    @property
    def contacted(self) -> int:
        return sum(self.counts.values())

    def share(self, kind: str) -> float:
        return self.counts[kind] / self.contacted if self.contacted else 0.0


@dataclass(frozen=True)
class Figures:
    """What the page shows of one run (picklable, no arrays)."""

    strategy: str
    customers: int
    contacts: int
    treated: int
    holdout: int
    response_rate: float
    conversions: Estimate
    revenue: Estimate
    profit: Estimate
    roi_measured: float | None
    roi_true: float | None
    cost: dict[str, float]
    variable_spend: float
    opt_outs: int
    backlash: int
    types: ConsumerTypes | None
    seconds: float = field(default=0.0, compare=False)

    @property
    def cost_total(self) -> float:
        return float(self.cost.get("total", sum(self.cost.values())))


@dataclass(frozen=True)
class Job:
    """One run to do: a plan in a world at a seed (``types``: classify the contacted)."""

    world: World
    plan: Plan
    seed: int
    types: bool = True

    def key(self) -> str:
        return json.dumps(
            [self.world.key(), self.plan.key(), int(self.seed), self.types], sort_keys=True
        )


@dataclass(frozen=True)
class Failure:
    """A job that could not run, with a message for the student."""

    message: str


Outcome = Figures | Failure


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _estimate(effect: Any) -> Estimate:
    extra = {}
    for name in EXTRA_TRUTHS:
        value = getattr(effect, name, None)
        if isinstance(value, int | float) and math.isfinite(value):
            extra[name] = float(value)
    true = getattr(effect, "true", None)
    return Estimate(float(effect.measured), float(effect.measured_se), _finite(true), extra)


def figures(result: RunResult, types: ConsumerTypes | None = None, spend: float = 0.0) -> Figures:
    """The page's figures from a run's typed result (further fields are ignored)."""
    return Figures(
        strategy=result.strategy,
        customers=result.n_consumers,
        contacts=int(result.contacts),
        treated=int(result.treated_consumers),
        holdout=int(result.holdout_consumers),
        response_rate=float(result.response_rate),
        conversions=_estimate(result.incremental_conversions),
        revenue=_estimate(result.incremental_revenue),
        profit=_estimate(result.incremental_profit),
        roi_measured=_finite(result.roi.measured),
        roi_true=_finite(result.roi.true),
        cost={k: float(v) for k, v in result.cost.items()},
        variable_spend=float(spend),
        opt_outs=int(result.opt_outs),
        backlash=int(result.backlash_events),
        types=types,
        seconds=float(result.run_seconds),
    )


class Recorded:
    """A strategy that remembers the markets it was started in (the observed world), so
    the workshop can read the campaign world's ledger after the run."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.markets: list[Market] = []

    def start(self, market: Market) -> None:
        self.markets.append(market)
        self.inner.start(market)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@functools.lru_cache(maxsize=8)
def baseline(world_key: str, seed: int) -> tuple[np.ndarray, int]:
    """The shared baseline world (no campaign), once per world and seed in each process:
    per customer, did they buy over the horizon; and all its purchases (which equal the
    library's own baseline count when the worlds agree)."""
    market, _ = World(**json.loads(world_key)).configs()
    pop = synthesize(market, Streams(seed))
    ledger = run_world(market, seed, None, pop).ledger
    bought = outcomes(ledger, pop.n, 0.0, market.horizon_days).converted
    return bought, int(outcomes(ledger, pop.n).conversions.sum())


def spend_per_customer(world: World, observed: Market) -> tuple[np.ndarray, float]:
    """What the campaign paid per customer (contacts, personalisation, redeemed
    discounts) and its variable spend (contact and personalisation, what a budget caps)."""
    _, econ = world.configs()
    n = observed.pop.n
    c = observed.ledger.contacts
    delivered = c.column("status") == ContactStatus.DELIVERED
    who = c.column("consumer")[delivered]
    unit = np.array([econ.contact_cost[ch] for ch in CHANNELS])[c.column("channel")[delivered]]
    unit = unit + econ.personalisation_cost_per_contact * c.column("depth")[delivered]
    p = observed.ledger.purchases
    offer = p.column("value").astype(np.float64) * p.column("discount")
    per = np.bincount(who, unit, minlength=n) + np.bincount(
        p.column("consumer"), offer, minlength=n
    )
    return per, float(unit.sum())


def consumer_types(
    bought_with: np.ndarray, bought_without: np.ndarray, contacted: np.ndarray, spend: np.ndarray
) -> ConsumerTypes:
    """Count the contacted customers of each type and sum the spend on them."""
    kinds = {
        "persuadable": bought_with & ~bought_without,
        "sure_thing": bought_with & bought_without,
        "lost_cause": ~bought_with & ~bought_without,
        "sleeping_dog": ~bought_with & bought_without,
    }
    return ConsumerTypes(
        counts={k: int((m & contacted).sum()) for k, m in kinds.items()},
        spend={k: float(spend[m & contacted].sum()) for k, m in kinds.items()},
    )


def evaluate(job: Job) -> Figures:
    """Run one plan in one world with its twin-world truth (see the module doc)."""
    world, plan, seed = job.world, job.plan, int(job.seed)
    market, econ = world.configs()
    strategy = plan.config(world.days)
    cfg = RunConfig(seed=seed, market=market, strategy=strategy, economics=econ, truth=True)
    pop = synthesize(market, Streams(seed))
    recorded: list[Recorded] = []

    def make() -> Recorded:
        r = Recorded(make_strategy(strategy, seed, econ))
        recorded.append(r)
        return r

    result = run_experiment(cfg, strategy_factory=make, population=pop)
    observed = recorded[0].markets[0]
    per, variable = spend_per_customer(world, observed)
    types = None
    if job.types:
        n = pop.n
        with_ = outcomes(observed.ledger, n, 0.0, market.horizon_days).converted
        without, purchases = baseline(world.key(), seed)
        if result.baseline_purchases not in (None, purchases):
            log.warning("the baseline world differs from the library's: types not shown")
        else:
            c = observed.ledger.contacts
            delivered = c.column("status") == ContactStatus.DELIVERED
            contacted = np.zeros(n, bool)
            contacted[c.column("consumer")[delivered]] = True
            types = consumer_types(with_, without, contacted, per)
    return figures(result, types, variable)


def run_job(job: Job) -> Outcome:
    """:func:`evaluate`, with a bad plan or world turned into a message (never raised)."""
    try:
        return evaluate(job)
    except ConfigError as exc:
        return Failure("This plan cannot run: " + "; ".join(exc.errors))
    except Exception as exc:  # a bug: logged in full on the server, short on the page
        log.exception("workshop run failed: %s", job.key())
        return Failure(f"The simulation failed ({type(exc).__name__}); the teacher's log has it.")


def _warm() -> None:
    """Worker start-up: one thread per worker, the library imported before the first job."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import sklearn.cluster  # noqa: F401  (segments; imported once, not on the first run)

    import sim.strategies  # noqa: F401


def _nothing() -> None:
    return None


Progress = Callable[[int, int], None]


class Busy(RuntimeError):
    """Too many jobs are queued on the server; the student should retry shortly."""


def _done(outcome: Outcome) -> Future[Outcome]:
    fut: Future[Outcome] = Future()
    fut.set_result(outcome)
    return fut


class Runner:
    """A bounded cache of finished jobs and a small pool of worker processes.

    ``workers = 0`` runs jobs in the calling thread (tests, debugging).  At most
    ``max_pending`` jobs wait on the pool at once, for everyone together; a session
    (``owner``) that submits a new batch cancels its own jobs that have not started.
    """

    def __init__(self, workers: int = 2, cache_size: int = 1024, max_pending: int = 48) -> None:
        self.workers = max(0, int(workers))
        self.cache_size = cache_size
        self.max_pending = max_pending
        self._cache: OrderedDict[str, Outcome] = OrderedDict()
        self._owned: dict[str, list[Future[Outcome]]] = {}
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        if self.workers:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm
            )
            for _ in range(self.workers):  # start the workers now, not on the first click
                self._pool.submit(_nothing)

    def cached(self, job: Job) -> Outcome | None:
        key = job.key()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def _store(self, key: str, outcome: Outcome) -> None:
        if isinstance(outcome, Failure) and outcome.message.startswith("The simulation failed"):
            return  # not cached: it may be a passing fault
        with self._lock:
            self._cache[key] = outcome
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _keep(self, key: str, fut: Future[Outcome]) -> None:
        if not fut.cancelled() and fut.exception() is None:
            self._store(key, fut.result())

    def cancel(self, owner: str) -> None:
        """Drop ``owner``'s jobs that have not started."""
        with self._lock:
            for fut in self._owned.pop(owner, []):
                fut.cancel()

    def pending(self) -> int:
        with self._lock:
            return sum(1 for futs in self._owned.values() for f in futs if not f.done())

    def submit(
        self, jobs: Sequence[Job], owner: str = "", *, more: bool = False
    ) -> list[Future[Outcome]]:
        """Futures of the jobs' outcomes: cached ones done at once, the rest queued (or,
        without workers, computed now).  ``more``: add to the owner's current batch
        instead of replacing it.  Raises :class:`Busy` when the server's queue is full."""
        if not more:
            self.cancel(owner)
        out: list[Future[Outcome]] = []
        todo = [j for j in jobs if self.cached(j) is None]
        if self._pool is not None and todo and self.pending() + len(todo) > self.max_pending:
            raise Busy("The server is busy with other teams' runs; try again in a few seconds.")
        for job in jobs:
            hit = self.cached(job)
            if hit is not None:
                out.append(_done(hit))
            elif self._pool is None:
                outcome = run_job(job)
                self._store(job.key(), outcome)
                out.append(_done(outcome))
            else:
                fut = self._pool.submit(run_job, job)
                fut.add_done_callback(functools.partial(self._keep, job.key()))
                out.append(fut)
        with self._lock:
            self._owned.setdefault(owner, []).extend(f for f in out if not f.done())
        return out

    def run(
        self, jobs: Sequence[Job], owner: str = "", progress: Progress | None = None
    ) -> list[Outcome]:
        """Every job's outcome (see :meth:`submit`); ``progress(done, total)`` as they end."""
        return gather(self.submit(jobs, owner), progress)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def outcome_of(fut: Future[Outcome]) -> Outcome:
    if fut.cancelled():
        return Failure("Cancelled: a newer run of this session replaced it.")
    exc = fut.exception()
    if exc is not None:  # the worker process died (run_job itself never raises)
        log.error("workshop worker failed: %r", exc)
        return Failure(f"The simulation failed ({type(exc).__name__}); please retry.")
    return fut.result()


def gather(
    futures: Sequence[Future[Outcome]],
    progress: Progress | None = None,
    offset: int = 0,
    total: int | None = None,
) -> list[Outcome]:
    """Wait for ``futures``; ``progress(offset + done, total)`` each time some end."""
    total = offset + len(futures) if total is None else total
    remaining = {f for f in futures if not f.done()}
    while True:
        if progress:
            progress(offset + len(futures) - len(remaining), total)
        if not remaining:
            break
        _, remaining = wait(remaining, return_when="FIRST_COMPLETED")
    return [outcome_of(f) for f in futures]
