"""Run one strategy on one market: ``python -m experiments.run market=<preset> strategy=<name>``.

Prints a short table and writes ``metrics.json`` and a ``result.parquet`` row into the run
folder (``hydra.run.dir``); re-running into a finished folder skips the work.
"""

from __future__ import annotations

from typing import Any

import hydra
from omegaconf import DictConfig

from experiments._common import fmt, output_dir, validated
from experiments.store import run_job
from sim.experiment import run_experiment
from sim.schema import to_dict


def summary(m: dict[str, Any]) -> str:
    if m.get("status") == "failed":
        return f"run failed: {m.get('error')}"
    ic, ip, roi = m["incremental_conversions"], m["incremental_profit"], m["roi"]

    def pm(d: dict[str, Any], key: str = "measured") -> str:
        se = d.get("measured_se")
        return f"{fmt(d.get(key))} ± {fmt(se)}" if se is not None else fmt(d.get(key))

    rows = [
        ("market / strategy / seed", f"{m['market']} / {m['strategy']} / {m['seed']}"),
        ("consumers x days", f"{m['n_consumers']:,} x {m['horizon_days']:g}"),
        ("purchases (revenue)", f"{m['purchases']:,} ({fmt(m['revenue'], 0)})"),
        ("contacts delivered", f"{m['contacts']:,} {m['contacts_by_channel']}"),
        ("treated / holdout", f"{m['treated_consumers']:,} / {m['holdout_consumers']:,}"),
        ("response rate", f"{100 * m['response_rate']:.2f} %"),
        ("incr. conversions measured", pm(ic)),
        ("incr. conversions true", f"{fmt(ic.get('true'))} (spillover {fmt(ic.get('spillover'))})"),
        ("incr. profit measured", pm(ip)),
        ("incr. profit true", fmt(ip.get("true"))),
        ("ROI measured / true", f"{fmt(roi.get('measured'), 2)} / {fmt(roi.get('true'), 2)}"),
        ("cost total", fmt(m["cost"]["total"])),
        ("opt-outs / backlash", f"{m['opt_outs']:,} / {m['backlash_events']:,}"),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    run_cfg = validated(cfg)
    out = output_dir()
    ledger_dir = str(out / "ledger") if run_cfg.save_ledger else None
    metrics = run_job(
        out,
        to_dict(run_cfg),
        run_cfg.seed,
        lambda: run_experiment(run_cfg, ledger_dir=ledger_dir).to_dict(),
    )
    print(summary(metrics))
    print(f"metrics: {out / 'metrics.json'}")


if __name__ == "__main__":
    main()
