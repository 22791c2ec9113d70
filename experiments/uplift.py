"""The uplift lab: ``python -m experiments.uplift dataset=<sim|hillstrom|csv> estimator=<name>``.

Real data (``hillstrom``, ``csv``): a seeded train/test split, the difference in means per
arm over the whole file, and Qini/AUUC with bootstrap intervals on the test part.
Simulated data (``sim``): a randomised pilot in ``market`` with true uplift, the same
metrics plus true Qini, PEHE and the profit curve, and the closed loop (pilot -> CausalML
scorer -> fresh one-to-one campaign; predicted vs realised profit, regret vs the oracle).
Writes ``metrics.json`` and a one-row ``result.parquet`` (through the results store, so a
sweep over estimators, pilot sizes and seeds resumes and collects like any other) and the
Qini (and profit) figures into the run folder.  ``primary.<arm>.*`` holds the selected
estimator's truth metrics under the same keys whatever the estimator.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import hydra
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from experiments._common import output_dir, plain
from experiments.store import run_job
from sim.datasets import DataError, ExperimentData
from sim.experiment import RunConfig, build_run_config
from sim.population import synthesize
from sim.schema import ConfigError, build
from sim.streams import Streams
from sim.uplift.config import DatasetConfig, EstimatorConfig
from sim.uplift.evaluation import plot_profit
from sim.uplift.pilot import PilotConfig
from sim.uplift.real import evaluate_experiment, load_dataset, results_table

CONF = Path(__file__).resolve().parent.parent / "conf"


def estimator_configs(data: dict[str, Any]) -> list[EstimatorConfig]:
    """The selected estimator plus ``compare`` options, validated before any work."""
    out = [EstimatorConfig.from_dict(data["estimator"])]
    for name in data.get("compare") or []:
        path = CONF / "estimator" / f"{name}.yaml"
        if not path.exists():
            valid = sorted(p.stem for p in (CONF / "estimator").glob("*.yaml"))
            raise ConfigError(
                f"compare: unknown estimator {name!r}; valid choices: {', '.join(valid)}."
            )
        loaded = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
        assert isinstance(loaded, dict)
        out.append(EstimatorConfig.from_dict({str(k): v for k, v in loaded.items()}))
    return out


@dataclass(frozen=True)
class UpliftJob:
    """A validated uplift-lab job: what :func:`run_uplift` needs, nothing left to check."""

    seed: int
    n_boot: int
    closed_loop: bool
    estimators: list[EstimatorConfig]
    dataset: DatasetConfig | None = None  # real data (hillstrom, csv)
    run: RunConfig | None = None  # simulated pilot: market, economics, strategy
    pilot: PilotConfig | None = None
    test_size: float = 0.3


def parse_job(data: dict[str, Any]) -> UpliftJob:
    """Validate a composed ``uplift`` config (plain dict); raise ``ConfigError`` naming the key."""
    data_cfg = dict(data["dataset"])
    estimators = estimator_configs(data)
    n_boot = int(data["n_boot"])
    if n_boot < 0:
        raise ConfigError(f"n_boot={n_boot} is invalid: must be >= 0")
    base = UpliftJob(
        seed=int(data["seed"]),
        n_boot=n_boot,
        closed_loop=bool(data["closed_loop"]),
        estimators=estimators,
    )
    if data_cfg.get("name") != "sim":
        return replace(base, dataset=DatasetConfig.from_dict(data_cfg))
    test_size = float(data_cfg.pop("test_size", 0.3))
    data_cfg.pop("name")
    if data_cfg:
        raise ConfigError(f"dataset (sim): unknown keys {sorted(data_cfg)}; valid: name, test_size")
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"dataset.test_size={test_size!r} is invalid: must be in (0, 1)")
    run_cfg = build_run_config({k: data[k] for k in ("seed", "market", "strategy", "economics")})
    pilot = build(PilotConfig, data["pilot"], "pilot")
    return replace(base, run=run_cfg, pilot=pilot, test_size=test_size)


def load_data(job: UpliftJob) -> ExperimentData | None:
    """The job's real data set, loaded and validated (``None`` for a simulated pilot).

    Raises ``ConfigError`` naming the file and the column or row at fault, so that a
    malformed file stops the job (and, at sweep validation, the sweep) before any work.
    """
    if job.dataset is None:
        return None
    try:
        return load_dataset(job.dataset)
    except DataError as exc:
        raise ConfigError(f"dataset: {exc}") from None


#: Data sets already loaded and validated in this process (sweep validation checks each
#: distinct dataset config once, not once per job).
_VALID_DATASETS: set[str] = set()


def validate_uplift(data: dict[str, Any]) -> None:
    """Sweep-time check of one job's config and data file (see :mod:`experiments.callbacks`)."""
    job = parse_job(data)
    if job.dataset is None:
        return
    key = json.dumps(asdict(job.dataset), sort_keys=True)
    if key not in _VALID_DATASETS:
        load_data(job)
        _VALID_DATASETS.add(key)


def primary_summary(result: dict[str, Any], estimator: str) -> dict[str, Any]:
    """The first estimator's truth metrics per arm under fixed keys (``primary.<arm>.*``).

    A sweep over estimators then has the same columns in every job: true Qini, PEHE and
    its ratio to the constant prediction, and the true profit of targeting by the score
    against the oracle ranking and random targeting, both at each ranking's own best
    depth (``profit_*``, ``profit_regret``) and at a fixed budget of the top 20 %
    (``profit_top20_*``, ``regret_top20``).
    """
    out: dict[str, Any] = {"estimator": estimator}
    for arm, m in result["estimators"][estimator]["arms"].items():
        best = m["profit_at_best_depth"]
        out[arm] = {
            "qini": m["qini"],
            "qini_true": m["qini_true"],
            "pehe": m["pehe"],
            "pehe_ratio": m["pehe"] / m["pehe_constant"] if m["pehe_constant"] else None,
            "uplift_top10_true": m["uplift_top10_true"],
            "profit_model": best["model"],
            "profit_oracle": best["oracle"],
            "profit_random": best["random"],
            "profit_regret": best["oracle"] - best["model"],
            "profit_top20_model": m["profit_at_depth"]["model"],
            "profit_top20_oracle": m["profit_at_depth"]["oracle"],
            "profit_top20_random": m["profit_at_depth"]["random"],
            "regret_top20": m["profit_at_depth"]["oracle"] - m["profit_at_depth"]["model"],
        }
    return out


def run_uplift(job: UpliftJob, out: Path, data: ExperimentData | None = None) -> dict[str, Any]:
    """Run a validated job (``data``: its loaded real data set, if any, else loaded here);
    figures go to ``out``; returns the metrics (JSON types)."""
    if job.dataset is not None:
        data = data if data is not None else load_dataset(job.dataset)
        result = evaluate_experiment(
            data,
            job.estimators,
            job.seed,
            job.dataset.test_size,
            n_boot=job.n_boot,
            figure_dir=out,
        )
        result["dataset"] = job.dataset.name
        return result

    from sim.lab import closed_loop, evaluate_pilot
    from sim.uplift.pilot import run_pilot

    assert job.run is not None and job.pilot is not None
    run_cfg = job.run
    tic = time.perf_counter()
    pop = synthesize(run_cfg.market, Streams(run_cfg.seed))
    pilot = run_pilot(run_cfg.market, run_cfg.seed, job.pilot, population=pop)
    pilot_s = time.perf_counter() - tic
    result = evaluate_pilot(
        pilot,
        job.estimators,
        run_cfg.economics,
        run_cfg.seed,
        job.test_size,
        n_boot=job.n_boot,
        figure_dir=str(out),
    )
    result["dataset"] = "sim"
    result["market"] = run_cfg.market.name
    result["pilot_seconds"] = pilot_s
    result["primary"] = primary_summary(result, job.estimators[0].name)
    curves = result.pop("profit_curves")
    fig, axes = plt.subplots(
        1,
        len(pilot.arms),
        figsize=(6 * len(pilot.arms), 4.2),
        constrained_layout=True,
        squeeze=False,
    )
    for ax, arm in zip(axes[0], pilot.arms, strict=True):
        plot_profit(
            pd.DataFrame(curves[f"{job.estimators[0].name}|{arm}"]),
            ax,
            title=f"{arm}: {job.estimators[0].name} vs oracle and random",
        )
    fig.savefig(out / "profit_curves.png", dpi=120)
    plt.close(fig)
    result["figures"] = {**result.get("figures", {}), "profit": str(out / "profit_curves.png")}
    if job.closed_loop:
        result["closed_loop"] = closed_loop(
            run_cfg, pilot, job.estimators[0], pop, campaign_seed=run_cfg.seed + 1000
        )
    return result


def report(result: dict[str, Any]) -> None:
    """Print the run's table, the ATEs and the closed loop."""
    table = results_table(result)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False))
    for arm, a in result["arms"].items():
        lo, hi = a["ate_ci"]
        print(f"ATE {arm}: {a['ate']:+.4f} [{lo:+.4f}, {hi:+.4f}]")
    if "closed_loop" in result:
        cl = result["closed_loop"]
        print(
            f"closed loop: predicted {cl['predicted_profit_before_fixed_costs']:,.0f}, realised "
            f"{cl['realised_profit_before_fixed_costs']:,.0f} (before fixed costs); "
            f"true profit {cl['realised_profit']:,.0f} vs oracle {cl['oracle_profit']:,.0f}; "
            f"regret {cl['regret']:,.0f}"
        )


@hydra.main(version_base="1.3", config_path="../conf", config_name="uplift")
def main(cfg: DictConfig) -> None:
    data = plain(cfg)
    try:
        job = parse_job(data)
        experiment = load_data(job)
    except (ConfigError, TypeError) as exc:
        print(f"Invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    out = output_dir()
    metrics = run_job(out, data, job.seed, lambda: run_uplift(job, out, experiment))
    if metrics.get("status") == "failed":
        print(f"run failed: {metrics.get('error')}", file=sys.stderr)
        return
    report(metrics)
    print(f"metrics: {out / 'metrics.json'}")


if __name__ == "__main__":
    main()
