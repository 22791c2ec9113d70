"""The uplift lab: ``python -m experiments.uplift dataset=<sim|hillstrom|csv> estimator=<name>``.

Real data (``hillstrom``, ``csv``): a seeded train/test split, the difference in means per
arm over the whole file, and Qini/AUUC with bootstrap intervals on the test part.
Simulated data (``sim``): a randomised pilot in ``market`` with true uplift, the same
metrics plus true Qini, PEHE and the profit curve, and the closed loop (pilot -> CausalML
scorer -> fresh one-to-one campaign; predicted vs realised profit, regret vs the oracle).
Writes ``metrics.json`` and the Qini (and profit) figures into the run folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from experiments._common import output_dir, plain
from experiments.store import atomic_write_json
from sim.experiment import build_run_config
from sim.population import synthesize
from sim.schema import ConfigError, build
from sim.streams import Streams
from sim.uplift.config import DatasetConfig, EstimatorConfig
from sim.uplift.evaluation import plot_profit
from sim.uplift.pilot import PilotConfig
from sim.uplift.real import evaluate_experiment, load_dataset, results_table

CONF = Path(__file__).resolve().parent.parent / "conf"


def estimator_configs(cfg: DictConfig) -> list[EstimatorConfig]:
    """The selected estimator plus ``compare`` options, validated before any work."""
    out = [EstimatorConfig.from_dict(plain(cfg.estimator))]
    for name in cfg.compare:
        path = CONF / "estimator" / f"{name}.yaml"
        if not path.exists():
            valid = sorted(p.stem for p in (CONF / "estimator").glob("*.yaml"))
            raise ConfigError(
                f"compare: unknown estimator {name!r}; valid choices: {', '.join(valid)}."
            )
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
        assert isinstance(data, dict)
        out.append(EstimatorConfig.from_dict({str(k): v for k, v in data.items()}))
    return out


def run_uplift(cfg: DictConfig, out: Path) -> dict[str, Any]:
    data_cfg = plain(cfg.dataset)
    try:
        estimators = estimator_configs(cfg)
        if data_cfg.get("name") == "sim":
            run_cfg = build_run_config(
                {k: plain(cfg)[k] for k in ("seed", "market", "strategy", "economics")}
            )
            pilot_cfg = build(PilotConfig, plain(cfg.pilot), "pilot")
            test_size = float(data_cfg.get("test_size", 0.3))
        else:
            dataset = DatasetConfig(**data_cfg)
    except (ConfigError, TypeError) as exc:
        print(f"Invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

    if data_cfg.get("name") != "sim":
        data = load_dataset(dataset)
        result = evaluate_experiment(
            data,
            estimators,
            int(cfg.seed),
            dataset.test_size,
            n_boot=int(cfg.n_boot),
            figure_dir=out,
        )
        result["dataset"] = dataset.name
        return result

    from sim.uplift.lab import closed_loop, evaluate_pilot
    from sim.uplift.pilot import run_pilot

    pop = synthesize(run_cfg.market, Streams(run_cfg.seed))
    pilot = run_pilot(run_cfg.market, run_cfg.seed, pilot_cfg, population=pop)
    result = evaluate_pilot(
        pilot,
        estimators,
        run_cfg.economics,
        run_cfg.seed,
        test_size,
        n_boot=int(cfg.n_boot),
        figure_dir=str(out),
    )
    result["dataset"] = "sim"
    result["market"] = run_cfg.market.name
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
            pd.DataFrame(curves[f"{estimators[0].name}|{arm}"]),
            ax,
            title=f"{arm}: {estimators[0].name} vs oracle and random",
        )
    fig.savefig(out / "profit_curves.png", dpi=120)
    result["figures"] = {**result.get("figures", {}), "profit": str(out / "profit_curves.png")}
    if cfg.closed_loop:
        result["closed_loop"] = closed_loop(
            run_cfg, pilot, estimators[0], pop, campaign_seed=run_cfg.seed + 1000
        )
    return result


@hydra.main(version_base="1.3", config_path="../conf", config_name="uplift")
def main(cfg: DictConfig) -> None:
    out = output_dir()
    result = run_uplift(cfg, out)
    atomic_write_json(out / "metrics.json", result)
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
    print(f"metrics: {out / 'metrics.json'}")


if __name__ == "__main__":
    main()
