"""The paper's tables, read from the result tables and written as JSON for Typst.

Each function returns a table: ``columns`` (headers), ``align``, ``rows`` of cells and its
``inputs``.  A cell is ``{"text": ..., "nums": [...]}`` where every number it shows is a
record of :func:`experiments.paper.sheet.num` with a ``ref`` to the input cell it was
read from, so the tests can check each shown number against its input independently.
All formatting is :mod:`experiments.paper.fmt`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from experiments.paper.inputs import PROVENANCE_FROM, TABLES, Inputs, provenance
from experiments.paper.numbers import ARM_NAMES, calibration_provenance
from experiments.paper.sheet import cell_ref, json_ref, num
from experiments.studies.plots import FAMILY_LABELS
from experiments.studies.style import MARKET_LABELS, strategy_label

Cell = dict[str, Any]
Table = dict[str, Any]
Producer = Callable[[Inputs], Table]


def text(s: Any) -> Cell:
    return {"text": str(s), "nums": []}


def number(value: Any, unit: str, ref: dict[str, Any]) -> Cell:
    n = num(value, unit, ref)
    return {"text": n["text"], "nums": [n]}


def interval(mean: Cell, lo: Cell, hi: Cell) -> Cell:
    """``mean [lo, hi]`` in one cell."""
    return {
        "text": f"{mean['text']} [{lo['text']}, {hi['text']}]",
        "nums": [*mean["nums"], *lo["nums"], *hi["nums"]],
    }


def _csv(file: str, t: pd.DataFrame, i: int, col: str, unit: str) -> Cell:
    return number(t.loc[i, col], unit, cell_ref(file, i, col))


def _table(
    name: str,
    columns: list[str],
    align: str,
    rows: list[list[Cell]],
    inputs: list[str],
    prov: pd.DataFrame | dict[str, Any] | None = None,
) -> Table:
    if any(len(r) != len(columns) for r in rows):
        raise ValueError(f"table {name}: a row does not have {len(columns)} cells")
    return {
        "name": name,
        "producer": f"experiments/paper/tables.py::{name}",
        "inputs": inputs,
        "columns": columns,
        "align": list(align),
        "rows": rows,
        "provenance": provenance(prov) if isinstance(prov, pd.DataFrame) else prov,
    }


def market(name: Any) -> str:
    return MARKET_LABELS.get(str(name), str(name))


def family(name: Any) -> str:
    return FAMILY_LABELS.get(str(name), str(name))


# ----------------------------------------------------------------------------- model


def presets(inputs: Inputs) -> Table:
    """The market presets' distinguishing constants (``conf/market``, ``conf/economics``)."""
    from sim import presets as pr

    rows = []
    names = pr.options("market")
    for p in sorted(names, key=lambda p: (p != "default", p)):
        m = pr.market(p)
        e = pr.economics(p if p in pr.options("economics") else "default")

        def ref(group: str, *path: str, p: str = p) -> dict[str, Any]:
            return json_ref("preset", group, p, *path)

        rows.append(
            [
                text(market(p)),
                number(len(m.categories), "count", ref("market", "categories", "len")),
                number(m.tribes.n, "count", ref("market", "tribes", "n")),
                number(
                    m.tribes.variance_share, "number", ref("market", "tribes", "variance_share")
                ),
                number(
                    m.creepiness.threshold_median,
                    "number",
                    ref("market", "creepiness", "threshold_median"),
                ),
                number(m.purchase.base_rate, "number", ref("market", "purchase", "base_rate")),
                number(m.purchase.basket_mean, "number", ref("market", "purchase", "basket_mean")),
                number(e.margin_rate, "number", ref("economics", "margin_rate")),
                number(
                    e.content_cost_per_variant,
                    "number",
                    ref("economics", "content_cost_per_variant"),
                ),
                number(
                    e.platform_cost["one_to_one"],
                    "number",
                    ref("economics", "platform_cost", "one_to_one"),
                ),
            ]
        )
    return _table(
        "presets",
        [
            "Market",
            "categories",
            "tribes",
            "tribe share of taste variance ρ",
            "median creepiness threshold",
            "base purchase rate per day",
            "mean basket",
            "margin rate",
            "content cost per creative",
            "one-to-one fixed cost",
        ],
        "lrrrrrrrrr",
        rows,
        ["conf:market/*.yaml", "conf:economics/*.yaml"],
    )


# ----------------------------------------------------------------------------- validation


def calibration_rates(inputs: Inputs) -> Table:
    d = inputs.calibration_data()
    f = inputs.calibration.name
    targets = {(t["arm"], t["metric"]): (i, t) for i, t in enumerate(d["targets"])}
    rows = []
    for j, r in enumerate(d["verify_table"]):
        i, _ = targets[(r["arm"], r["metric"])]
        rows.append(
            [
                text(ARM_NAMES.get(r["arm"], r["arm"])),
                text(r["metric"]),
                interval(
                    number(r["target"], "percent2", json_ref(f, "verify_table", j, "target")),
                    number(
                        r["target_ci_low"],
                        "percent2",
                        json_ref(f, "verify_table", j, "target_ci_low"),
                    ),
                    number(
                        r["target_ci_high"],
                        "percent2",
                        json_ref(f, "verify_table", j, "target_ci_high"),
                    ),
                ),
                number(d["targets"][i]["n"], "count", json_ref(f, "targets", i, "n")),
                interval(
                    number(r["sim_rate"], "percent2", json_ref(f, "verify_table", j, "sim_rate")),
                    number(
                        r["sim_ci_low"], "percent2", json_ref(f, "verify_table", j, "sim_ci_low")
                    ),
                    number(
                        r["sim_ci_high"], "percent2", json_ref(f, "verify_table", j, "sim_ci_high")
                    ),
                ),
                number(r["z"], "z", json_ref(f, "verify_table", j, "z")),
                text("yes" if r["within_ci"] else "no"),
            ]
        )
    return _table(
        "calibration_rates",
        [
            "Arm",
            "Outcome",
            "Hillstrom [95 % CI]",
            "customers",
            "simulated [95 % CI]",
            "z",
            "inside Hillstrom's CI",
        ],
        "llrrrrc",
        rows,
        ["calibration:calibration.json"],
        calibration_provenance(d),
    )


PARAM_LABELS = {
    "lift": "e-mail persuasion lift (purchases per day)",
    "awareness_gain": "e-mail awareness gain",
    "click_rate": "e-mail click-through rate (share of e-mails delivered)",
    "base_rate": "organic purchase rate per day",
    "browse_rate": "browsing rate per day",
    "womens_engagement": "engagement of the women's e-mail (men's = 1)",
}


def calibration_params(inputs: Inputs) -> Table:
    d = inputs.calibration_data()
    f = inputs.calibration.name
    start = d.get("start", {})
    rows = [
        [
            text(PARAM_LABELS.get(k, k)),
            number(v, "number", json_ref(f, "params", k)),
            number(start[k], "number", json_ref(f, "start", k)) if k in start else text("preset"),
        ]
        for k, v in d["params"].items()
    ]
    return _table(
        "calibration_params",
        ["Parameter", "fitted", "start of the search"],
        "lrr",
        rows,
        ["calibration:calibration.json"],
        calibration_provenance(d),
    )


def heldout(inputs: Inputs) -> Table:
    """The held-out moments (uplift by subgroup), if the calibration file has them."""
    d = inputs.calibration_data()
    f = inputs.calibration.name
    moments = (d.get("heldout") or {}).get("moments") or []
    rows = []
    for j, m in enumerate(moments):

        def n(col: str, unit: str, j: int = j, m: dict[str, Any] = m) -> Cell:
            return number(m[col], unit, json_ref(f, "heldout", "moments", j, col))

        rows.append(
            [
                text(m["group"]),
                text(ARM_NAMES.get(m["arm"], m["arm"])),
                text(m["metric"]),
                interval(n("data", "pp"), n("data_ci_low", "pp"), n("data_ci_high", "pp")),
                n("sim", "pp"),
                n("z", "z"),
                text("yes" if m["holds"] else "no"),
            ]
        )
    return _table(
        "heldout",
        [
            "Customers",
            "Arm",
            "Outcome",
            "Hillstrom uplift, pp [95 % CI]",
            "simulated, pp",
            "z",
            "holds",
        ],
        "lllrrrc",
        rows,
        ["calibration:calibration.json"],
        calibration_provenance(d),
    )


def estimand(inputs: Inputs) -> Table:
    f = "estimand.csv"
    t = inputs.table(f)
    rows = []
    for i in t.index:
        rows.append(
            [
                text(strategy_label(str(t.loc[i, "strategy"]))),
                _csv(f, t, i, "measured_mean", "currency"),
                _csv(f, t, i, "holdout_estimand_mean", "currency"),
                _csv(f, t, i, "direct_mean", "currency"),
                _csv(f, t, i, "total_mean", "currency"),
                _csv(f, t, i, "z_estimand", "z"),
                _csv(f, t, i, "bias_vs_total", "currency"),
                _csv(f, t, i, "z_total", "z"),
                _csv(f, t, i, "pulled_forward_share_mean", "share"),
            ]
        )
    return _table(
        "estimand",
        [
            "Strategy (preset setting)",
            "measured",
            "holdout's estimand",
            "direct",
            "total (true)",
            "z, measured − estimand",
            "bias vs total",
            "z",
            "pulled forward",
        ],
        "lrrrrrrrr",
        rows,
        [f"results:{f}"],
        t,
    )


def step_size(inputs: Inputs) -> Table:
    f = "step_size.csv"
    t = inputs.table(f)
    rows = [
        [
            text(strategy_label(str(t.loc[i, "strategy"]))),
            _csv(f, t, i, "profit_true_coarse", "currency"),
            _csv(f, t, i, "profit_true_fine", "currency"),
            _csv(f, t, i, "difference", "currency"),
            _csv(f, t, i, "seed_se", "currency"),
            _csv(f, t, i, "paired_se", "currency"),
            text("yes" if str(t.loc[i, "within_seed_se"]).lower() == "true" else "no"),
        ]
        for i in t.index
    ]
    return _table(
        "step_size",
        [
            "Strategy (preset setting)",
            "true profit, coarse step",
            "fine step",
            "difference",
            "SE over seeds",
            "paired SE",
            "within the SE",
        ],
        "lrrrrrc",
        rows,
        [f"results:{f}"],
        t,
    )


# ----------------------------------------------------------------------------- studies


def tuned(inputs: Inputs) -> Table:
    """Each family's true total profit at its measured-tuned setting, with the truth-tuned
    upper bound beside it."""
    f = "tuned_comparison.csv"
    t = inputs.table(f)
    rows = []
    for i in t.index[t["objective"] == "measured"]:
        r = t.loc[i]
        twin = t.index[
            (t["preset"] == r["preset"])
            & (t["family"] == r["family"])
            & (t["objective"] == "truth")
        ]
        rows.append(
            [
                text(market(r["preset"])),
                text(family(r["family"])),
                interval(
                    _csv(f, t, i, "profit_true_mean", "currency"),
                    _csv(f, t, i, "profit_true_lo", "currency"),
                    _csv(f, t, i, "profit_true_hi", "currency"),
                ),
                _csv(f, t, i, "profit_measured_mean", "currency"),
                _csv(f, t, int(twin[0]), "profit_true_mean", "currency") if len(twin) else text(""),
                _csv(f, t, i, "response_rate_mean", "share"),
                _csv(f, t, i, "contacts_mean", "count"),
            ]
        )
    return _table(
        "tuned",
        [
            "Market",
            "Strategy",
            "true total profit [95 % CI]",
            "measured profit",
            "tuned on the truth: true profit",
            "response",
            "contacts",
        ],
        "llrrrrr",
        rows,
        [f"results:{f}"],
        t,
    )


def verdicts(inputs: Inputs) -> Table:
    f = "verdicts.csv"
    t = inputs.table(f)
    rows = []
    shown: set[tuple[str, str, str]] = set()
    for i in t.index:
        r = t.loc[i]
        pair = (r["preset"], r["a"], r["b"])
        if pair in shown:  # the winner is also the best one-to-one: one row says both
            continue
        shown.add(pair)
        rows.append(
            [
                text(market(r["preset"])),
                text(f"{family(r['a'])} − {family(r['b'])}"),
                interval(
                    _csv(f, t, i, "mean_diff", "currency"),
                    _csv(f, t, i, "lo", "currency"),
                    _csv(f, t, i, "hi", "currency"),
                ),
                _csv(f, t, i, "n_seeds", "count"),
                _csv(f, t, i, "seeds_needed", "count"),
                text(_verdict_words(r)),
            ]
        )
    return _table(
        "verdicts",
        [
            "Market",
            "Paired difference (A − B)",
            "mean [95 % CI]",
            "seeds",
            "seeds needed",
            "verdict",
        ],
        "llrrrl",
        rows,
        [f"results:{f}", f"results:{PROVENANCE_FROM[f]}"],
        inputs.table(PROVENANCE_FROM[f]),
    )


def _verdict_words(r: pd.Series) -> str:
    if r["lo"] > 0:
        return f"{family(r['a'])} wins"
    if r["hi"] < 0:
        return f"{family(r['b'])} wins"
    return "no clear winner"


def morris(inputs: Inputs) -> Table:
    f = "morris.csv"
    t = inputs.table(f)
    rows = [
        [
            text(t.loc[i, "parameter"]),
            _csv(f, t, i, "mu_star", "currency"),
            _csv(f, t, i, "mu_star_conf", "currency"),
            _csv(f, t, i, "sigma", "currency"),
        ]
        for i in t.index
    ]
    return _table(
        "morris",
        ["Parameter", "μ*", "± (95 % bootstrap)", "σ"],
        "lrrr",
        rows,
        [f"results:{f}"],
        inputs.table(PROVENANCE_FROM[f]),
    )


def sobol(inputs: Inputs) -> Table:
    f = "sobol.csv"
    t = inputs.table(f)
    rows = [
        [
            text(t.loc[i, "parameter"]),
            _csv(f, t, i, "S1", "index"),
            _csv(f, t, i, "S1_conf", "index"),
            _csv(f, t, i, "ST", "index"),
            _csv(f, t, i, "ST_conf", "index"),
        ]
        for i in t.index
    ]
    return _table(
        "sobol",
        ["Parameter", "first order S1", "±", "total ST", "±"],
        "lrrrr",
        rows,
        [f"results:{f}"],
        inputs.table(PROVENANCE_FROM[f]),
    )


def attribution(inputs: Inputs) -> Table:
    f = "attribution.csv"
    t = inputs.table(f)
    rows = []
    for i in t.index:
        r = t.loc[i]
        change = (
            "as preset" if r["tag.trait"] == "preset" else f"{r['tag.trait']}: {r['tag.level']}"
        )
        flips = [
            w
            for w, col in (("winner", "winner_flips"), ("1:1 verdict", "verdict_flips"))
            if str(r[col]).lower() == "true"
        ]
        rows.append(
            [
                text(market(r["preset"])),
                text(change),
                text(family(r["winner"])),
                interval(
                    _csv(f, t, i, "one_to_one_minus_alternative", "currency"),
                    _csv(f, t, i, "diff_lo", "currency"),
                    _csv(f, t, i, "diff_hi", "currency"),
                ),
                text(", ".join(flips) if flips else "none"),
            ]
        )
    return _table(
        "attribution",
        ["Market", "Change", "winner", "best 1:1 − best alternative [95 % CI]", "flips"],
        "lllrl",
        rows,
        [f"results:{f}"],
        t,
    )


def granularity(inputs: Inputs) -> Table:
    f = "granularity.csv"
    t = inputs.table(f)
    rows = [
        [
            text(market(t.loc[i, "preset"])),
            _csv(f, t, i, "k", "count"),
            interval(
                _csv(f, t, i, "profit_true_mean", "currency"),
                _csv(f, t, i, "profit_true_lo", "currency"),
                _csv(f, t, i, "profit_true_hi", "currency"),
            ),
            _csv(f, t, i, "profit_measured_mean", "currency"),
            _csv(f, t, i, "cost_mean", "currency"),
        ]
        for i in t.index
    ]
    return _table(
        "granularity",
        ["Market", "segments k", "true total profit [95 % CI]", "measured profit", "cost"],
        "lrrrr",
        rows,
        [f"results:{f}"],
        t,
    )


#: The debate's sources (the claims table names them by number) by their titles.
SOURCES = {
    "000": "BrainTrust Query",
    "001": "“1:1 Marketing is Wrong”",
    "002": "“Marketing to the Segment of One”",
    "003": "“One to One Marketing”",
    "004": "O'Connell, “Is One-To-One Communication Worth It?”",
}


def source_titles(text: str) -> str:
    """The claims table's source column with the sources' titles for their numbers."""
    return re.sub(r"\b00[0-4]\b", lambda m: SOURCES[m.group(0)], text)


def relabel(text: str) -> str:
    """Strategy and market identifiers of the claims study in marketing terms: names with
    an underscore, and a preset that opens a clause (``default: ...``)."""
    names = {**{k: v for k, v in FAMILY_LABELS.items() if "_" in k}, **MARKET_LABELS}
    for key in sorted(names, key=len, reverse=True):
        if "_" in key:
            text = re.sub(rf"\b{key}\b", names[key], text)
    return re.sub(
        r"(^|; )([a-z]+)(?=:)",
        lambda m: m.group(1) + MARKET_LABELS.get(m.group(2), m.group(2)),
        text,
    )


def claims(inputs: Inputs) -> Table:
    f = "claims.csv"
    t = inputs.table(f).fillna("")
    rows = [
        [
            text(f"{t.loc[i, 'claim']} (source: {source_titles(str(t.loc[i, 'source']))})"),
            text(relabel(str(t.loc[i, "verdict"]))),
            text(relabel(str(t.loc[i, "evidence"]))),
            text(f"{t.loc[i, 'interval']}; {t.loc[i, 'conditions']}".strip("; ")),
        ]
        for i in t.index
    ]
    return _table(
        "claims",
        ["Claim (source)", "Model's verdict", "Evidence", "Interval and conditions"],
        "llll",
        rows,
        [f"results:{f}"],
        inputs.table(PROVENANCE_FROM[f]),
    )


#: The module of ``experiments/studies`` that computes each study's tables.
STUDY_MODULES = {
    "estimand": "validation.py",
    "step_size": "validation.py",
    "tuning": "tuning.py",
    "tuned": "tuned.py",
    "phase": "variants.py",
    "attribution": "variants.py",
    "sensitivity": "sensitivity.py",
    "granularity": "segments.py",
    "claims": "claims.py",
}


def reproduce(inputs: Inputs) -> Table:
    """Each result table: the study that writes it, its module and the command."""
    rows = [
        [
            text(name),
            text(study),
            text(f"experiments/studies/{STUDY_MODULES[study]}"),
            text(f"python -m experiments.reproduce profile=full studies={study}"),
        ]
        for name, (study, _) in TABLES.items()
    ]
    return _table(
        "reproduce",
        ["Table in results/", "study", "computed by", "command"],
        "llll",
        rows,
        [],
    )


TABLE_PRODUCERS: dict[str, Producer] = {
    "presets": presets,
    "calibration_rates": calibration_rates,
    "calibration_params": calibration_params,
    "heldout": heldout,
    "estimand": estimand,
    "step_size": step_size,
    "tuned": tuned,
    "verdicts": verdicts,
    "morris": morris,
    "sobol": sobol,
    "attribution": attribution,
    "granularity": granularity,
    "claims": claims,
    "reproduce": reproduce,
}
"""Every table, by the name the manifest gives it."""
