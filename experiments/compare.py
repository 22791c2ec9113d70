"""Every strategy on one market and seed: ``python -m experiments.compare market=<preset>``.

All strategies run on the same population and random streams (common random numbers),
so their differences are the strategies'.  Each strategy is one job of the results
store, in a sub-folder named after its option (``<run dir>/<strategy>/metrics.json`` and
``result.parquet``: the same row, columns and job id as ``experiments.run`` with that
strategy), so a comparison resumes (finished strategies are skipped), sweeps over seeds
and presets (``-m seed=0,1,2 market=default,b2b_high_value``) and is gathered by
``experiments.collect`` into one row per (strategy, market, seed).  The run folder also
holds the comparison table (``comparison.csv``, printed and logged), its figure
(``comparison.png``) and ``metrics.json`` (every strategy's metrics, strict JSON).  A
strategy that fails leaves its failure row; the others go on, and the command then
exits with status 1.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import hydra
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from hydra import compose
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from experiments._common import (
    echo,
    failure_line,
    finish,
    is_multirun,
    on_conflict,
    output_dir,
    plain,
    quiet_console_for,
    refuse,
    validated,
)
from experiments.run import run_metrics
from experiments.store import (
    ResultConflict,
    atomic_write_bytes,
    atomic_write_json,
    check_folder,
    conflict_message,
    finite,
    is_done,
    job_id_for,
    run_job,
)
from sim.experiment import RunConfig, build_run_config
from sim.report import comparison_table, format_table, plot_profit_by_strategy, plot_roi_by_strategy
from sim.schema import ConfigError, to_dict


def strategy_configs(cfg: DictConfig) -> dict[str, RunConfig]:
    """Compose and validate every listed strategy before any work starts."""
    names = [str(n) for n in cfg.strategies]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        refuse(f"Invalid strategies: {repeated} listed more than once.")
    task = [
        o
        for o in HydraConfig.get().overrides.task
        if not o.startswith(("strategy=", "strategies="))
    ]
    runs = {}
    for name in names:
        try:
            composed = compose("config", overrides=[*task, f"strategy={name}"])
        except Exception as exc:  # Hydra names the missing option and lists the valid ones
            refuse(f"Invalid strategy {name!r}: {exc}")
        data = plain(composed)
        data.pop("strategies", None)
        try:
            runs[name] = build_run_config(data)
        except ConfigError as exc:
            refuse(f"Invalid configuration for strategy {name!r}: {exc}")
    return runs


def _figure(table: Any, title: str) -> Any:
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    plot_profit_by_strategy(table, axes[0], legend=False)
    plot_roi_by_strategy(table, axes[1], legend=False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False)
    fig.suptitle(title)
    return fig


@hydra.main(version_base="1.3", config_path="../conf", config_name="compare")
def main(cfg: DictConfig) -> None:
    base = dict(plain(cfg))
    base.pop("strategies", None)
    validated(DictConfig(base))
    runs = strategy_configs(cfg)
    out = output_dir()
    multirun = is_multirun()
    jobs = {name: (to_dict(rc), job_id_for(to_dict(rc), rc.seed)) for name, rc in runs.items()}
    if not multirun:  # refuse before any work, not after the first strategies
        for name, (_, jid) in jobs.items():
            other = check_folder(out / name, jid)
            if other is not None:
                refuse(f"Refused: {conflict_message(out / name, other)}")
    quiet_console_for("experiments.store")  # one line per strategy below instead
    results: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    lines: list[str] = []
    for i, (name, run_cfg) in enumerate(runs.items(), start=1):
        folder = out / name
        resumed = is_done(folder, jobs[name][1])
        tic = time.perf_counter()
        try:
            metrics = run_job(
                folder,
                jobs[name][0],
                run_cfg.seed,
                lambda run_cfg=run_cfg: run_metrics(run_cfg),  # type: ignore[misc]
                on_conflict=on_conflict(),
            )
        except ResultConflict as exc:  # only with on_conflict="refuse", checked above
            refuse(f"Refused: {exc}")
        if metrics.get("status") == "failed":
            failures.append(failure_line(f"strategy {name}", metrics, folder))
            status = "FAILED"
        else:
            results[name] = metrics
            status = (
                "done (earlier run)" if resumed else f"done in {time.perf_counter() - tic:.1f} s"
            )
        line = f"  [{i}/{len(runs)}] {name:<24} {status}"
        lines.append(line)
        if not multirun:
            print(line, file=sys.stderr, flush=True)

    n = cfg.market.n_consumers
    where = (
        f"market={cfg.market.name} seed={cfg.seed} consumers={n:,} days={cfg.market.horizon_days:g}"
    )
    report = [where]
    payload: dict[str, Any] = {
        "market": cfg.market.name,
        "seed": cfg.seed,
        "n_consumers": n,
        "horizon_days": cfg.market.horizon_days,
        "strategies": results,
        "failed": {
            name: line for name, line in zip(runs, lines, strict=True) if name not in results
        },
    }
    if results:
        table = comparison_table(results, {name: runs[name].strategy for name in results})
        report.append(format_table(table))
        for name, m in results.items():
            report += [f"note ({name}): {note}" for note in m.get("notes") or []]
        atomic_write_bytes(out / "comparison.csv", table.to_csv(index=False).encode())
        fig = _figure(
            table,
            f"Strategies compared: {cfg.market.name} market, {n:,} consumers, "
            f"{cfg.market.horizon_days:g} days, seed {cfg.seed} (common random numbers)",
        )
        fig.savefig(out / "comparison.png", dpi=120)
        plt.close(fig)
        report.append(f"table: {out / 'comparison.csv'}\nfigure: {out / 'comparison.png'}")
    atomic_write_json(out / "metrics.json", finite(payload))
    echo("\n".join(["", *report]), console=not multirun)
    echo("\n".join(lines), console=False)
    finish(failures)


def cli(argv: list[str] | None = None) -> None:
    """``python -m experiments.compare`` / ``one2one compare`` (see :mod:`experiments.launch`)."""
    from experiments.launch import launch

    launch(main, "compare", argv)


if __name__ == "__main__":
    cli()
