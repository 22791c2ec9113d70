"""Every strategy at its own best: each family's knobs tuned with Optuna, as a marketer could.

A *family* is a strategy with the knobs a marketer would turn (mass: channel, frequency and
offer; segmented: basis, number of segments, depth, channel and offer; triggered: events,
delay, channel and offer; contextual: channel, offer and cooldown; one-to-one: scorer,
share, depth, offers and channels; hybrid: the mass part and the follow-up).  A trial is a
setting of those knobs run on the *training* seeds; its objective is either what the
marketer measures (the holdout's incremental profit, pilots' and tests' costs included:
they are in the campaign's ledger) or, for the upper bound, the true total incremental
profit that only the simulator knows.  Optuna's TPE sampler (seeded) proposes the
settings; the best setting is then judged on *fresh* seeds by the tuned comparison, so the
winner's curse of a noisy objective does not flatter it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

CHANNELS_BROADCAST = ["email", "sms", "push", "social", "direct_mail", "display"]
CHANNELS_DIRECT = ["email", "sms", "push", "direct_mail"]
OFFERS = [0.0, 0.1, 0.2]
EVENTS = ["cart_abandoned", "browsed_no_buy", "lapsed", "near_store"]

LEARNED_ESTIMATOR: dict[str, Any] = {
    "name": "x_lightgbm_fast",
    "learner": "x",
    "base": "lightgbm",
    "n_estimators": 60,
    "max_depth": 2,
    "learning_rate": 0.1,
    "min_samples_leaf": 500,
    "n_jobs": 1,
}
"""The learned scorer's estimator in the studies: ``conf/estimator/x_lightgbm_fast.yaml``
(an X-learner of shallow boosted trees: as accurate as the shallow one on simulated pilots
and fast enough to rescore every wave; see the estimators study)."""

Space = Callable[[optuna.Trial], dict[str, Any]]
"""Maps a trial to the strategy option's overrides (dotted keys, as :mod:`sim.presets`)."""


def _every(trial: optuna.Trial, name: str = "every_days") -> float:
    return float(trial.suggest_int(name, 3, 28, log=True))


def mass_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "channel": trial.suggest_categorical("channel", CHANNELS_BROADCAST),
        "every_days": _every(trial),
        "discount": trial.suggest_categorical("discount", OFFERS),
    }


def segmented_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "basis": trial.suggest_categorical("basis", ["tribe", "kmeans", "rfm"]),
        "k": trial.suggest_int("k", 2, 64, log=True),
        "depth": trial.suggest_float("depth", 0.0, 1.0),
        "channel": trial.suggest_categorical("channel", CHANNELS_DIRECT),
        "every_days": _every(trial),
        "discount": trial.suggest_categorical("discount", OFFERS),
    }


def tribe_space(trial: optuna.Trial) -> dict[str, Any]:
    """Tribe marketing ("identify the tribes and market to them"): segments are tribes."""
    out = segmented_space(trial)
    out["basis"] = "tribe"
    return out


def triggered_space(trial: optuna.Trial) -> dict[str, Any]:
    chosen = [e for e in EVENTS if trial.suggest_categorical(f"use_{e}", [True, False])]
    rule = {
        "channel": trial.suggest_categorical("channel", CHANNELS_DIRECT),
        "delay_days": trial.suggest_float("delay_days", 0.0, 3.0),
        "discount": trial.suggest_categorical("discount", OFFERS),
        "depth": trial.suggest_float("depth", 0.0, 1.0),
        "cooldown_days": trial.suggest_float("cooldown_days", 1.0, 30.0, log=True),
    }
    return {"rules": [{"event": e, **rule} for e in (chosen or ["cart_abandoned"])]}


def contextual_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "channel": trial.suggest_categorical("channel", ["display", "push"]),
        "discount": trial.suggest_categorical("discount", OFFERS),
        "depth": trial.suggest_float("depth", 0.0, 1.0),
        "cooldown_days": trial.suggest_float("cooldown_days", 1.0, 30.0, log=True),
    }


def one_to_one_space(trial: optuna.Trial) -> dict[str, Any]:
    n_offers = trial.suggest_int("n_offers", 1, 3)
    return {
        "max_share": trial.suggest_float("max_share", 0.02, 1.0, log=True),
        "every_days": _every(trial),
        "depth": trial.suggest_float("depth", 0.0, 1.0),
        "discounts": OFFERS[:n_offers],
        "channels": ["email", "sms", "push"][: trial.suggest_int("n_channels", 1, 3)],
    }


def hybrid_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "mass.channel": trial.suggest_categorical("mass_channel", ["display", "email", "social"]),
        "mass.every_days": _every(trial, "mass_every_days"),
        "one_to_one.max_share": trial.suggest_float("max_share", 0.02, 1.0, log=True),
        "one_to_one.depth": trial.suggest_float("depth", 0.0, 1.0),
    }


@dataclass(frozen=True)
class Family:
    """A strategy family: the option it starts from, its fixed settings and its knobs."""

    name: str
    option: str
    space: Space
    fixed: tuple[tuple[str, Any], ...] = ()

    def overrides(self, trial: optuna.Trial) -> dict[str, Any]:
        return {**dict(self.fixed), **self.space(trial)}


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("mass", "mass", mass_space),
        Family("segmented", "segmented", segmented_space),
        Family("tribes", "segmented", tribe_space),
        Family("triggered", "triggered", triggered_space),
        Family("contextual", "contextual", contextual_space),
        Family(
            "one_to_one_learned",
            "one_to_one_causalml",
            one_to_one_space,
            (("estimator", LEARNED_ESTIMATOR),),
        ),
        Family("one_to_one_propensity", "one_to_one_propensity", one_to_one_space),
        Family("one_to_one_oracle", "one_to_one", one_to_one_space),
        Family(
            "hybrid",
            "hybrid",
            hybrid_space,
            (("one_to_one.scorer", "causalml"), ("one_to_one.estimator", LEARNED_ESTIMATOR)),
        ),
    )
}
"""The contenders of the tuned comparison.  ``one_to_one_oracle`` is the value of perfect
information, never a contender a marketer could field."""

MARKETER_FAMILIES = tuple(n for n in FAMILIES if n != "one_to_one_oracle")


def tune(
    family: Family,
    objective: Callable[[dict[str, Any]], float],
    n_trials: int,
    seed: int,
) -> optuna.Study:
    """Maximise ``objective(overrides)`` over ``family``'s knobs with seeded TPE.

    Trials run one after another, so the study (and its best setting) depends only on
    ``seed`` and the objective's values.  A trial whose objective is not finite counts as
    the worst possible.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(3, n_trials // 3))
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def run(trial: optuna.Trial) -> float:
        overrides = family.overrides(trial)
        trial.set_user_attr("overrides", overrides)
        value = objective(overrides)
        return value if math.isfinite(value) else -1e18

    study.optimize(run, n_trials=n_trials, n_jobs=1)
    return study
