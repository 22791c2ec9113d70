"""Run one strategy on one market: ``python -m experiments.run market=<preset> strategy=<name>``.

Prints a short table (also written to the run's log) and writes ``metrics.json`` and a
``result.parquet`` row into the run folder (``hydra.run.dir``); re-running the same config
into a finished folder skips the work, and a different config is refused there.  A job
that fails exits with status 1 after one line saying what failed and where its traceback
is; a bad config exits 2 before any work.
"""

from __future__ import annotations

import sys
from typing import Any

import hydra
from omegaconf import DictConfig

from experiments._common import (
    echo,
    failure_line,
    finish,
    fmt,
    is_multirun,
    on_conflict,
    output_dir,
    refuse,
    validated,
)
from experiments.explain import run_notes, undefined_reasons
from experiments.store import ResultConflict, run_job
from sim.experiment import RunConfig, run_experiment
from sim.schema import to_dict


def run_metrics(run_cfg: RunConfig, ledger_dir: str | None = None) -> dict[str, Any]:
    """One run's metrics (``RunResult.to_dict``) with ``notes`` where its figures need
    an explanation (a campaign that contacted nobody says why) and, under ``undefined``,
    the reason of every figure left undefined (``null`` in ``metrics.json``)."""
    result = run_experiment(run_cfg, ledger_dir=ledger_dir)
    metrics = result.to_dict()
    notes = run_notes(metrics, run_cfg.strategy, result.campaign, run_cfg.economics)
    if notes:
        metrics["notes"] = notes
    reasons = undefined_reasons(metrics)
    if reasons:
        metrics["undefined"] = reasons
    return metrics


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None
    return d


def summary(m: dict[str, Any]) -> str:
    """The run's figures as an aligned two-column text table, then its notes."""
    if m.get("status") == "failed":
        return f"run failed: {m.get('error')}"
    ic, ip, roi = (m.get(k) or {} for k in ("incremental_conversions", "incremental_profit", "roi"))
    undefined = m.get("undefined") or {}

    def val(d: dict[str, Any], key: str, digits: int = 1, where: str = "") -> str:
        v = d.get(key)
        if v is None and f"{where}.{key}" in undefined:
            return "undefined (see below)"
        return fmt(v, digits)

    def pm(d: dict[str, Any], where: str) -> str:
        se = d.get("measured_se")
        v = val(d, "measured", where=where)
        return f"{v} ± {fmt(se)}" if se is not None and d.get("measured") is not None else v

    true_extra = [f"{k} {fmt(ic[k])}" for k in ("true_total", "spillover") if k in ic]
    rows = [
        ("market / strategy / seed", f"{m.get('market')} / {m.get('strategy')} / {m.get('seed')}"),
        ("consumers x days", f"{m.get('n_consumers', 0):,} x {m.get('horizon_days', 0):g}"),
        ("purchases (revenue)", f"{m.get('purchases', 0):,} ({fmt(m.get('revenue'), 0)})"),
        ("contacts delivered", f"{m.get('contacts', 0):,} {m.get('contacts_by_channel', {})}"),
        (
            "treated / holdout",
            f"{m.get('treated_consumers', 0):,} / {m.get('holdout_consumers', 0):,}",
        ),
        ("response rate", f"{100 * (m.get('response_rate') or 0.0):.2f} %"),
        ("incr. conversions measured", pm(ic, "incremental_conversions")),
        (
            "incr. conversions true",
            val(ic, "true", where="incremental_conversions")
            + (f" ({', '.join(true_extra)})" if true_extra else ""),
        ),
        ("incr. profit measured", pm(ip, "incremental_profit")),
        ("incr. profit true", val(ip, "true", where="incremental_profit")),
        (
            "ROI measured / true",
            f"{val(roi, 'measured', 2, 'roi')} / {val(roi, 'true', 2, 'roi')}",
        ),
        ("cost total", fmt(_get(m, "cost", "total"))),
        ("opt-outs / backlash", f"{m.get('opt_outs', 0):,} / {m.get('backlash_events', 0):,}"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    lines += [f"note: {n}" for n in m.get("notes") or []]
    for why in dict.fromkeys(undefined.values()):
        keys = ", ".join(k for k, v in undefined.items() if v == why)
        lines.append(f"undefined: {keys}: {why}")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    run_cfg = validated(cfg)
    out = output_dir()
    ledger_dir = str(out / "ledger") if run_cfg.save_ledger else None
    m = run_cfg.market
    if not is_multirun():
        worlds = "observed, no-campaign and direct worlds" if run_cfg.truth else "observed world"
        print(
            f"[run] {run_cfg.strategy.name} on {m.name}: {m.n_consumers:,} consumers x "
            f"{m.horizon_days:g} days, {worlds} ...",
            file=sys.stderr,
            flush=True,
        )
    try:
        metrics = run_job(
            out,
            to_dict(run_cfg),
            run_cfg.seed,
            lambda: run_metrics(run_cfg, ledger_dir),
            on_conflict=on_conflict(),
        )
    except ResultConflict as exc:
        refuse(f"Refused: {exc}")
        return
    if metrics.get("status") == "failed":
        finish([failure_line("run", metrics, out)])
        return
    console = not is_multirun()  # a sweep prints one progress line per job instead
    echo(summary(metrics), console=console)
    echo(f"metrics: {out / 'metrics.json'}", console=console)


def cli(argv: list[str] | None = None) -> None:
    """``python -m experiments.run`` / ``one2one run`` (see :mod:`experiments.launch`)."""
    from experiments.launch import launch

    launch(main, "config", argv)


if __name__ == "__main__":
    cli()
