"""The numbers the paper quotes, by group: each group is computed from its input tables
by one function here and written to ``generated/numbers/<group>.json``.

Keys are dotted (``tuned.default.one_vs_alt.mean``); every entry carries its value, unit
and shown text, this module's function as producer, its input files and the provenance
of the rows it comes from (:mod:`experiments.paper.sheet`).  The paper's prose never
types a result: it shows these texts (``#num("...")``) and builds its verdict sentences
from them, so a new results folder rewrites every quoted number.  Flags (``resolved``,
``interior``, ``all_within``) are decided here, by the rule stated beside each, so the
prose only chooses its wording from them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from experiments.paper.inputs import PROVENANCE_FROM, Inputs
from experiments.paper.sheet import Numbers, cell_ref, json_ref
from experiments.studies.paired import NO_CLEAR_WINNER
from experiments.studies.plots import FAMILY_LABELS
from experiments.studies.style import MARKET_LABELS, strategy_label
from experiments.studies.validation import OPTIONS

Producer = Callable[[Inputs], Numbers]

#: Short keys of the tuned comparison's verdicts (``verdicts.csv``, column ``comparison``).
COMPARISONS = {
    "best one-to-one vs best alternative": "one_vs_alt",
    "winner vs runner-up": "winner",
    "perfect information": "perfect_info",
}
#: The estimand study's test: the holdout is unbiased for its own estimand when every
#: strategy's |z| is at most this (set before the study: ``experiments.studies.validation``).
Z_UNBIASED = 3.0
#: A bias against the total effect is called significant beyond this |z| (two-sided 5 %).
Z_SIGNIFICANT = 1.959964


def _producer(name: str) -> str:
    return f"experiments/paper/numbers.py::{name}"


def _size(
    n: Numbers, key: str, series: pd.Series, inputs: tuple[str, ...], rows: pd.DataFrame
) -> None:
    """A study size: one value, or "lo to hi" where the study used several."""
    values = sorted({int(v) for v in series.dropna()})
    if len(values) == 1:
        n.put(key, values[0], "count", inputs, rows)
    else:
        n.put(key, f"{values[0]:,} to {values[-1]:,}", "label", inputs, rows)


def _names(values: pd.Series) -> list[str]:
    return [str(v) for v in dict.fromkeys(values)]


def labels(inputs: Inputs) -> Numbers:
    """Names in marketing terms: strategy families, strategy options and markets (the
    figures' labels)."""
    n = Numbers(_producer("labels"))
    for fam, label in FAMILY_LABELS.items():
        n.put(f"label.family.{fam}", label, "label", ())
    for market, label in MARKET_LABELS.items():
        n.put(f"label.market.{market}", label, "label", ())
    for option in OPTIONS:
        n.put(f"label.strategy.{option}", strategy_label(option), "label", ())
    return n


def estimand(inputs: Inputs) -> Numbers:
    """The holdout against the truths (``estimand.csv``)."""
    src = ("results:estimand.csv",)
    t = inputs.table("estimand.csv")
    n = Numbers(_producer("estimand"))
    n.put("estimand.preset", str(t["preset"].iloc[0]), "label", src, t)
    _size(n, "estimand.n_seeds", t["n_seeds"], src, t)
    _size(n, "estimand.n_consumers", t["n_consumers"], src, t)
    n.put("estimand.strategies", _names(t["strategy"]), "list", src, t)
    for i, r in enumerate(t.to_dict("records")):
        rows = t.iloc[[i]]
        for col, unit, name in (
            ("measured_mean", "currency", "measured"),
            ("holdout_estimand_mean", "currency", "estimand"),
            ("direct_mean", "currency", "direct"),
            ("total_mean", "currency", "total"),
            ("z_estimand", "z", "z_estimand"),
            ("bias_vs_total", "currency", "bias"),
            ("z_total", "z", "z_total"),
        ):
            ref = cell_ref("estimand.csv", i, col)
            n.put(f"estimand.{r['strategy']}.{name}", r[col], unit, src, rows, ref)
    z = t["z_estimand"].abs()
    n.put("estimand.max_abs_z", float(z.max()), "index", src, t)
    n.put("estimand.z_threshold", Z_UNBIASED, "count", ())
    n.put("estimand.unbiased", bool((z <= Z_UNBIASED).all()), "flag", src, t)
    worst = t["strategy"].iloc[int(np.argmax(z.to_numpy()))]
    n.put("estimand.worst", str(worst), "label", src, t)
    significant = t[t["z_total"].abs() > Z_SIGNIFICANT]
    n.put("estimand.n_biased", len(significant), "count", src, t)
    n.put("estimand.biased", _names(significant["strategy"]), "list", src, t)
    return n


def step_size(inputs: Inputs) -> Numbers:
    """Step-size invariance (``step_size.csv``): halving the step against the seed-to-seed
    standard error of each strategy's true total profit."""
    src = ("results:step_size.csv",)
    t = inputs.table("step_size.csv")
    n = Numbers(_producer("step_size"))
    _size(n, "step.n_seeds", t["n_seeds"], src, t)
    _size(n, "step.n_consumers", t["n_consumers"], src, t)
    n.put("step.coarse", float(t["step_coarse"].iloc[0]), "number", src, t)
    n.put("step.fine", float(t["step_fine"].iloc[0]), "number", src, t)
    ratio = (t["difference"].abs() / t["seed_se"]).replace([np.inf], np.nan)
    n.put("step.max_ratio", float(ratio.max()), "index", src, t)
    worst = t["strategy"].iloc[int(np.nanargmax(ratio.to_numpy(float)))]
    n.put("step.worst", str(worst), "label", src, t)
    n.put("step.all_within", bool(t["within_seed_se"].astype(bool).all()), "flag", src, t)
    n.put("step.n_strategies", len(t), "count", src, t)
    return n


def _verdict_rows(rows: pd.DataFrame, preset: str, a: str, b: str) -> pd.DataFrame:
    names = {f"{a}|measured", f"{b}|measured"}
    return rows[(rows["preset"] == preset) & rows["contender"].isin(names)]


def tuned(inputs: Inputs) -> Numbers:
    """The tuned comparison's paired verdicts per preset (``verdicts.csv``; provenance
    from the per-seed rows they are computed from, ``tuned_rows.csv``)."""
    src = ("results:verdicts.csv", "results:tuned_rows.csv", "results:tuned_comparison.csv")
    v = inputs.table("verdicts.csv")
    rows = inputs.table(PROVENANCE_FROM["verdicts.csv"])
    comp = inputs.table("tuned_comparison.csv")
    n = Numbers(_producer("tuned"))
    presets = _names(v["preset"])
    n.put("tuned.presets", presets, "list", src, rows)
    _size(n, "tuned.n_consumers", comp["n_consumers"], src, comp)
    _size(n, "tuned.n_seeds", comp["n_seeds"], src, comp)
    n.put("tuned.families", _names(comp["family"]), "list", src, comp)
    wins = resolved = 0
    for i, r in enumerate(v.to_dict("records")):
        c = COMPARISONS.get(str(r["comparison"]))
        if c is None:
            raise ValueError(
                f"verdicts.csv row {i}: unknown comparison {r['comparison']!r}; "
                f"known: {', '.join(COMPARISONS)}"
            )
        key = f"tuned.{r['preset']}.{c}"
        prov = _verdict_rows(rows, str(r["preset"]), str(r["a"]), str(r["b"]))
        n.put(f"{key}.a", str(r["a"]), "label", src, prov)
        n.put(f"{key}.b", str(r["b"]), "label", src, prov)
        for col, unit, name in (
            ("mean_diff", "currency", "mean"),
            ("lo", "currency", "lo"),
            ("hi", "currency", "hi"),
            ("se", "currency", "se"),
            ("n_seeds", "count", "n_seeds"),
            ("seeds_needed", "count", "seeds_needed"),
        ):
            ref = cell_ref("verdicts.csv", i, col)
            n.put(f"{key}.{name}", r[col], unit, src, prov, ref)
        a_wins, b_wins = bool(r["lo"] > 0), bool(r["hi"] < 0)
        n.put(f"{key}.a_wins", a_wins, "flag", src, prov)
        n.put(f"{key}.b_wins", b_wins, "flag", src, prov)
        if c == "one_vs_alt":
            wins += a_wins
            resolved += a_wins or b_wins
    n.put("tuned.n_one_to_one_wins", wins, "count", src, rows)
    n.put("tuned.n_one_to_one_losses", resolved - wins, "count", src, rows)
    n.put("tuned.n_unresolved", len(presets) - resolved, "count", src, rows)
    n.put("tuned.n_presets", len(presets), "count", src, rows)
    return n


def phase(inputs: Inputs) -> Numbers:
    """The phase diagram (``phase.csv``): winners per cell of taste tribalism x tolerance."""
    src = ("results:phase.csv",)
    t = inputs.table("phase.csv")
    n = Numbers(_producer("phase"))
    n.put("phase.preset", str(t["preset"].iloc[0]), "label", src, t)
    _size(n, "phase.n_consumers", t["n_consumers"], src, t)
    _size(n, "phase.n_seeds", t["n_seeds"], src, t)
    n.put("phase.n_cells", len(t), "count", src, t)
    for col, name in (("tag.tribalism", "tribalism"), ("tag.tolerance", "tolerance")):
        vals = sorted(set(t[col].astype(float)))
        n.put(f"phase.{name}_lo", vals[0], "number", src, t)
        n.put(f"phase.{name}_hi", vals[-1], "number", src, t)
        n.put(f"phase.n_{name}", len(vals), "count", src, t)
    winners = sorted(set(t["winner"]), key=lambda w: (w == NO_CLEAR_WINNER, w))
    n.put("phase.winners", [w for w in winners if w != NO_CLEAR_WINNER], "list", src, t)
    for w in winners:
        g = t[t["winner"] == w]
        key = "phase.n_unclear" if w == NO_CLEAR_WINNER else f"phase.count.{w}"
        n.put(key, len(g), "count", src, g)
    if NO_CLEAR_WINNER not in winners:
        n.put("phase.n_unclear", 0, "count", src, t)
    ahead = t[t["diff_lo"] > 0]
    behind = t[t["diff_hi"] < 0]
    n.put("phase.n_one_to_one_ahead", len(ahead), "count", src, t)
    n.put("phase.n_one_to_one_behind", len(behind), "count", src, t)
    n.put("phase.n_one_to_one_tied", len(t) - len(ahead) - len(behind), "count", src, t)
    tribes = t[t["winner"] == "tribes"]
    n.put("phase.n_tribes_win", len(tribes), "count", src, t)
    return n


def _pair(text: Any) -> list[float] | None:
    value = json.loads(text) if isinstance(text, str) else None
    return [float(x) for x in value] if value else None


def granularity(inputs: Inputs) -> Numbers:
    """Profit against granularity k (``granularity.csv``): the best k per preset and
    whether it is an interior optimum (beats both ends by paired intervals above 0)."""
    src = ("results:granularity.csv",)
    t = inputs.table("granularity.csv")
    n = Numbers(_producer("granularity"))
    presets = _names(t["preset"])
    n.put("granularity.presets", presets, "list", src, t)
    n.put("granularity.ks", [int(k) for k in sorted(set(t["k"]))], "list", src, t)
    n.put("granularity.k_lo", int(t["k"].min()), "count", src, t)
    n.put("granularity.k_hi", int(t["k"].max()), "count", src, t)
    _size(n, "granularity.n_consumers", t["n_consumers"], src, t)
    _size(n, "granularity.n_seeds", t["n_seeds"], src, t)
    interior = 0
    for p in presets:
        g = t[t["preset"] == p]
        i = int(g.index[0])
        key = f"granularity.{p}"
        n.put(
            f"{key}.best_k",
            int(g["best_k"].iloc[0]),
            "count",
            src,
            g,
            cell_ref("granularity.csv", i, "best_k"),
        )
        flag = bool(str(g["interior_optimum"].iloc[0]).lower() == "true")
        interior += flag
        n.put(f"{key}.interior", flag, "flag", src, g)
        best = g[g["k"] == g["best_k"].iloc[0]]
        j = int(best.index[0])
        for col, name in (
            ("profit_true_mean", "best_mean"),
            ("profit_true_lo", "best_lo"),
            ("profit_true_hi", "best_hi"),
        ):
            n.put(
                f"{key}.{name}",
                best[col].iloc[0],
                "currency",
                src,
                g,
                cell_ref("granularity.csv", j, col),
            )
        for col, name in (("best_vs_k1", "vs_lo"), ("best_vs_kmax", "vs_hi")):
            pair = _pair(g[col].iloc[0])
            n.put(f"{key}.{name}.present", pair is not None, "flag", src, g)
            if pair is not None:
                for part, value in zip(("mean", "lo", "hi"), pair, strict=True):
                    n.put(f"{key}.{name}.{part}", value, "currency", src, g)
    n.put("granularity.n_interior", interior, "count", src, t)
    return n


def sensitivity(inputs: Inputs) -> Numbers:
    """Morris screening, Sobol indices and the decision map (``morris.csv``,
    ``sobol.csv``, ``decision_map.csv``; provenance from the decision map's rows)."""
    src = ("results:morris.csv", "results:sobol.csv", "results:decision_map.csv")
    mo = inputs.table("morris.csv")
    so = inputs.table("sobol.csv")
    dm = inputs.table("decision_map.csv")
    n = Numbers(_producer("sensitivity"))
    n.put("morris.n_params", len(mo), "count", src, dm)
    for i, r in enumerate(mo.to_dict("records")):
        key = f"morris.{i + 1}"
        n.put(f"{key}.name", str(r["parameter"]), "label", src, dm)
        for col in ("mu_star", "mu_star_conf", "sigma"):
            ref = cell_ref("morris.csv", i, col)
            n.put(f"{key}.{col}", r[col], "currency", src, dm, ref)
    n.put("sobol.n_params", len(so), "count", src, dm)
    n.put("sobol.names", _names(so["parameter"]), "list", src, dm)
    for i, r in enumerate(so.to_dict("records")):
        key = f"sobol.{i + 1}"
        n.put(f"{key}.name", str(r["parameter"]), "label", src, dm)
        for col in ("S1", "S1_conf", "ST", "ST_conf"):
            ref = cell_ref("sobol.csv", i, col)
            n.put(f"{key}.{col}", r[col], "index", src, dm, ref)
        n.put(f"{key}.resolved", bool(r["ST"] - r["ST_conf"] > 0), "flag", src, dm)
    n.put("decision.preset", str(dm["preset"].iloc[0]), "label", src, dm)
    n.put("decision.x", str(dm["x_parameter"].iloc[0]), "label", src, dm)
    n.put("decision.y", str(dm["y_parameter"].iloc[0]), "label", src, dm)
    for col, name in (("tag.x", "x"), ("tag.y", "y")):
        n.put(f"decision.{name}_lo", float(dm[col].min()), "number", src, dm)
        n.put(f"decision.{name}_hi", float(dm[col].max()), "number", src, dm)
        n.put(f"decision.n_{name}", int(dm[col].nunique()), "count", src, dm)
    n.put("decision.n_cells", len(dm), "count", src, dm)
    _size(n, "decision.n_seeds", dm["n_seeds"], src, dm)
    _size(n, "decision.n_consumers", dm["n_consumers"], src, dm)
    winners = [w for w in sorted(set(dm["winner"])) if w != NO_CLEAR_WINNER]
    n.put("decision.winners", winners, "list", src, dm)
    for w in winners:
        n.put(f"decision.count.{w}", int((dm["winner"] == w).sum()), "count", src, dm)
    n.put("decision.n_unclear", int((dm["winner"] == NO_CLEAR_WINNER).sum()), "count", src, dm)
    n.put("decision.n_one_to_one_ahead", int((dm["diff_lo"] > 0).sum()), "count", src, dm)
    return n


def attribution(inputs: Inputs) -> Numbers:
    """One trait at a time and mechanisms off (``attribution.csv``): which change flips
    the winner or the one-to-one verdict of its preset."""
    src = ("results:attribution.csv",)
    t = inputs.table("attribution.csv")
    n = Numbers(_producer("attribution"))
    changes = t[t["tag.trait"] != "preset"]
    n.put("attribution.presets", _names(t["preset"]), "list", src, t)
    n.put("attribution.n_variants", len(changes), "count", src, changes)
    _size(n, "attribution.n_seeds", t["n_seeds"], src, t)
    _size(n, "attribution.n_consumers", t["n_consumers"], src, t)
    for col, name in (("winner_flips", "winner"), ("verdict_flips", "verdict")):
        flipped = changes[changes[col].astype(str).str.lower() == "true"]
        n.put(f"attribution.n_{name}_flips", len(flipped), "count", src, changes)
        n.put(
            f"attribution.{name}_flips",
            [
                f"{r['preset']}: {r['tag.trait']} ({r['tag.level']})"
                for r in flipped.to_dict("records")
            ],
            "list",
            src,
            changes,
        )
    mechanisms = changes[changes["tag.level"] == "off"]
    n.put("attribution.n_mechanisms", int(mechanisms["tag.trait"].nunique()), "count", src, t)
    n.put("attribution.mechanisms", _names(mechanisms["tag.trait"]), "list", src, t)
    traits = changes[changes["tag.level"] != "off"]
    n.put("attribution.n_traits", int(traits["tag.trait"].nunique()), "count", src, t)
    return n


def claims(inputs: Inputs) -> Numbers:
    src = ("results:claims.csv",)
    t = inputs.table("claims.csv")
    rows = inputs.table(PROVENANCE_FROM["claims.csv"])
    n = Numbers(_producer("claims"))
    n.put("claims.n", len(t), "count", src, rows)
    n.put("claims.n_not_run", int((t["verdict"] == "not run").sum()), "count", src, rows)
    return n


def tuning(inputs: Inputs) -> Numbers:
    """The tuner's budget (``tuning.csv``): trials per family and objective, training seeds."""
    src = ("results:tuning.csv",)
    t = inputs.table("tuning.csv")
    n = Numbers(_producer("tuning"))
    per = t.groupby(["preset", "family", "objective"])["trial"].nunique()
    _size(n, "tuning.n_trials", per, src, t)
    seeds = sorted({int(s) for v in t["train_seeds"] for s in str(v).split()})
    n.put("tuning.n_train_seeds", len(seeds), "count", src, t)
    _size(n, "tuning.n_consumers", t["n_consumers"], src, t)
    n.put("tuning.n_runs", len(t), "count", src, t)
    return n


def calibration_provenance(d: dict[str, Any]) -> dict[str, Any]:
    """The calibration's provenance: its seeds (search, verification, held-out) and commit."""
    seeds = [*d.get("seeds", []), d.get("verify_seed"), (d.get("heldout") or {}).get("seed")]
    return {
        "config_hash": [],
        "seeds": sorted({int(s) for s in seeds if s is not None}),
        "git_commit": (d.get("provenance") or {}).get("git_rev"),
    }


ARM_NAMES = {"control": "no e-mail", "womens": "women's e-mail", "mens": "men's e-mail"}


def calibration(inputs: Inputs) -> Numbers:
    """The Hillstrom calibration (``calibration.json``): the six arm rates in the data and
    simulated at an unseen seed, the fitted parameters, the held-out moments if the file
    has them."""
    src = ("calibration:calibration.json",)
    d = inputs.calibration_data()
    file = inputs.calibration.name
    n = Numbers(_producer("calibration"), prov=calibration_provenance(d))
    n.put("calibration.preset", str(d["preset"]), "label", src)
    targets = {(t["arm"], t["metric"]): (i, t) for i, t in enumerate(d["targets"])}
    n.put(
        "calibration.n_file",
        sum(t["n"] for t in d["targets"] if t["metric"] == "visit"),
        "count",
        src,
    )
    for (arm, metric), (i, t) in targets.items():
        key = f"calibration.{arm}.{metric}"
        n.put(f"{key}.data", t["rate"], "percent2", src, ref=json_ref(file, "targets", i, "rate"))
        n.put(f"{key}.n", t["n"], "count", src, ref=json_ref(file, "targets", i, "n"))
        if arm != "control":
            base = targets[("control", metric)][1]["rate"]
            n.put(f"{key}.uplift", t["rate"] - base, "pp", src)
    for i, r in enumerate(d["verify_table"]):
        key = f"calibration.{r['arm']}.{r['metric']}"
        n.put(
            f"{key}.sim",
            r["sim_rate"],
            "percent2",
            src,
            ref=json_ref(file, "verify_table", i, "sim_rate"),
        )
        n.put(f"{key}.z", r["z"], "z", src, ref=json_ref(file, "verify_table", i, "z"))
    zs = [abs(r["z"]) for r in d["verify_table"]]
    n.put("calibration.max_abs_z", max(zs), "index", src)
    n.put("calibration.all_within_ci", all(r["within_ci"] for r in d["verify_table"]), "flag", src)
    n.put("calibration.verify_n", d["verify_n"], "count", src)
    n.put("calibration.verify_seed", d["verify_seed"], "count", src)
    for name, value in d["params"].items():
        n.put(f"calibration.param.{name}", value, "number", src, ref=json_ref(file, "params", name))
    held = d.get("heldout")
    n.put("calibration.heldout.present", bool(held and held.get("moments")), "flag", src)
    if held and held.get("moments"):
        moments = held["moments"]
        n.put("calibration.heldout.n", len(moments), "count", src)
        n.put("calibration.heldout.n_hold", sum(bool(m["holds"]) for m in moments), "count", src)
        n.put(
            "calibration.heldout.n_within_ci",
            sum(bool(m["within_ci"]) for m in moments),
            "count",
            src,
        )
        n.put("calibration.heldout.seed", held["seed"], "count", src)
        n.put("calibration.heldout.n_consumers", held["n"], "count", src)
        if "file" in held:
            n.put("calibration.heldout.file", held["file"], "count", src)
        misses = [m for m in moments if not m["holds"]]
        n.put(
            "calibration.heldout.misses",
            [f"{m['group']}, {ARM_NAMES.get(m['arm'], m['arm'])}, {m['metric']}" for m in misses],
            "list",
            src,
        )
    return n


def model(inputs: Inputs) -> Numbers:
    """Constants of the default market the prose names (``conf/market/default.yaml``,
    ``conf/economics/default.yaml``, validated by :mod:`sim.presets`)."""
    from sim import presets

    src = ("conf:market/default.yaml", "conf:economics/default.yaml")
    m = presets.market("default")
    e = presets.economics("default")
    n = Numbers(_producer("model"))
    n.put("model.n_tribes", m.tribes.n, "count", src)
    n.put("model.variance_share", m.tribes.variance_share, "number", src)
    n.put("model.n_categories", len(m.categories), "count", src)
    n.put("model.n_channels", len(m.channels), "count", src)
    n.put("model.horizon_days", m.horizon_days, "count", src)
    n.put("model.window_days", m.response.window_days, "count", src)
    n.put("model.dip_depth", m.purchase.dip_depth, "number", src)
    n.put("model.margin_rate", e.margin_rate, "share", src)
    n.put("model.optout_horizon_months", e.optout_horizon_months, "count", src)
    return n


GROUPS: dict[str, Producer] = {
    "labels": labels,
    "model": model,
    "calibration": calibration,
    "estimand": estimand,
    "step_size": step_size,
    "tuning": tuning,
    "tuned": tuned,
    "phase": phase,
    "granularity": granularity,
    "sensitivity": sensitivity,
    "attribution": attribution,
    "claims": claims,
}
"""Every number group, by the name the manifest gives it."""
