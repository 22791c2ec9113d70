"""Every strategy on one market and seed: ``python -m experiments.compare market=<preset>``.

All strategies run on the same population and random streams (common random numbers),
so their differences are the strategies'.  Prints the comparison table (measured beside
true) and saves ``comparison.csv``, ``comparison.png`` and ``metrics.json``.
"""

from __future__ import annotations

import sys
from typing import Any

import hydra
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from hydra import compose
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from experiments._common import output_dir, plain, validated
from experiments.store import atomic_write_bytes, atomic_write_json
from sim.experiment import build_run_config, run_experiment
from sim.report import comparison_table, format_table, plot_profit_by_strategy, plot_roi_by_strategy
from sim.schema import ConfigError


def strategy_configs(cfg: DictConfig) -> dict[str, Any]:
    """Compose and validate every listed strategy before any work starts."""
    task = [
        o
        for o in HydraConfig.get().overrides.task
        if not o.startswith(("strategy=", "strategies="))
    ]
    runs = {}
    for name in cfg.strategies:
        try:
            composed = compose("config", overrides=[*task, f"strategy={name}"])
        except Exception as exc:  # Hydra names the missing option and lists the valid ones
            print(f"Invalid strategy {name!r}: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        data = plain(composed)
        data.pop("strategies", None)
        try:
            runs[name] = build_run_config(data)
        except ConfigError as exc:
            print(f"Invalid configuration for strategy {name!r}: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    return runs


@hydra.main(version_base="1.3", config_path="../conf", config_name="compare")
def main(cfg: DictConfig) -> None:
    base = dict(plain(cfg))
    base.pop("strategies", None)
    validated(DictConfig(base))
    runs = strategy_configs(cfg)
    out = output_dir()
    results = {}
    for name, run_cfg in runs.items():
        result = run_experiment(run_cfg)
        results[name] = result.to_dict()
        print(f"  {name:<24} done in {result.run_seconds:.1f} s", flush=True)
    table = comparison_table(results, {name: c.strategy for name, c in runs.items()})
    print(f"\nmarket={cfg.market.name} seed={cfg.seed} consumers={cfg.market.n_consumers:,}")
    print(format_table(table))
    atomic_write_bytes(out / "comparison.csv", table.to_csv(index=False).encode())
    atomic_write_json(
        out / "metrics.json", {"market": cfg.market.name, "seed": cfg.seed, "strategies": results}
    )
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    plot_profit_by_strategy(table, axes[0])
    plot_roi_by_strategy(table, axes[1])
    fig.suptitle(
        f"Strategies compared on market '{cfg.market.name}' (seed {cfg.seed}, "
        f"{cfg.market.n_consumers:,} consumers, common random numbers)"
    )
    fig.savefig(out / "comparison.png", dpi=120)
    print(f"\ntable: {out / 'comparison.csv'}\nfigure: {out / 'comparison.png'}")


if __name__ == "__main__":
    main()
