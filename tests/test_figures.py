"""Study figures: compute functions return the right tables, plot functions draw on an
Axes, the CLI writes one PNG (and its numbers as CSV) per study the table holds."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from experiments import figures as fg
from experiments.studies import estimators, granularity, phase, roi_curves
from experiments.studies.sweep_table import load_table
from sim.report import ROI_LABEL


def rows(**fixed: object) -> dict[str, object]:
    base: dict[str, object] = {
        "status": "ok",
        "cfg.market.name": "default",
        "cfg.market.n_consumers": 5000,
        "cfg.strategy.name": "segmented",
        "cfg.strategy.k": 4,
        "cfg.strategy.budget": None,
        "cfg.market.tribes.variance_share": 0.5,
        "cfg.market.creepiness.threshold_median": 1.0,
        "cfg.economics.data_cost_per_month.implicit": 0.02,
        "cfg.economics.data_cost_per_month.explicit": 0.03,
        "cfg.economics.data_cost_per_month.ambient": 0.08,
        "cost.total": 1000.0,
        "cost.contact": 100.0,
    }
    base.update(fixed)
    return base


def with_metrics(r: dict[str, object], profit: float, roi: float) -> dict[str, object]:
    r = dict(r)
    r.update(
        {
            "incremental_profit.true": profit,
            "incremental_profit.measured": profit + 5,
            "roi.true": roi,
            "roi.measured": roi + 0.01,
        }
    )
    return r


@pytest.fixture
def granularity_df() -> pd.DataFrame:
    out = []
    for market in ("default", "fmcg_tribal"):
        for k in (1, 4, 16, 20000):
            for seed in (0, 1, 2):
                profit = 1000.0 - 10 * k + seed * 100
                out.append(
                    with_metrics(
                        rows(**{"cfg.market.name": market, "cfg.strategy.k": k}, seed=seed),
                        profit,
                        profit / 1000,
                    )
                )
    out.append({**rows(), "status": "failed", "seed": 9})  # failures are ignored
    return pd.DataFrame(out)


@pytest.fixture
def phase_df() -> pd.DataFrame:
    out = []
    for vs in (0.1, 0.9):
        for th in (0.35, 3.0):
            for dc in (0.02, 0.08):
                for strat in ("mass", "segmented", "one_to_one"):
                    for seed in (0, 1):
                        # one_to_one wins at low tribalism and high tolerance with cheap
                        # data, mass wins at high tribalism, nothing pays at (0.1, 0.35)
                        if vs == 0.1 and th == 0.35:
                            p = -100.0 - seed
                        elif strat == "one_to_one":
                            p = 500.0 if (vs == 0.1 and dc == 0.02) else 50.0
                        elif strat == "mass":
                            p = 300.0 if vs == 0.9 else 100.0
                        else:
                            p = 200.0
                        out.append(
                            with_metrics(
                                rows(
                                    **{
                                        "cfg.strategy.name": strat,
                                        "cfg.market.tribes.variance_share": vs,
                                        "cfg.market.creepiness.threshold_median": th,
                                        "cfg.economics.data_cost_per_month.implicit": dc,
                                    },
                                    seed=seed,
                                ),
                                p,
                                p / 1000,
                            )
                        )
    return pd.DataFrame(out)


@pytest.fixture
def roi_df() -> pd.DataFrame:
    out = []
    for strat in ("one_to_one", "segmented"):
        for b in (10.0, 100.0, 1000.0):
            for seed in (0, 1, 2):
                p = np.log10(b) * (200 if strat == "one_to_one" else 100) + seed
                out.append(
                    with_metrics(
                        rows(**{"cfg.strategy.name": strat, "cfg.strategy.budget": b}, seed=seed),
                        p,
                        p / b,
                    )
                )
    return pd.DataFrame(out)


def test_granularity_table_means_and_bands(granularity_df: pd.DataFrame) -> None:
    df = load_table(granularity_df)
    assert (
        granularity.has_granularity(df)
        and not phase.has_phase(df)
        and not roi_curves.has_roi_curves(df)
    )
    t = granularity.granularity_table(df)
    assert len(t) == 2 * 4 and set(t["market"]) == {"default", "fmcg_tribal"}
    row = t[(t["market"] == "default") & (t["k"] == 4)].iloc[0]
    assert row["profit_mean"] == pytest.approx(1000 - 40 + 100)
    assert (row["profit_min"], row["profit_max"]) == (960.0, 1160.0)
    assert row["n_seeds"] == 3 and row["n_consumers"] == 5000
    measured = granularity.granularity_table(df, "measured")
    assert measured["profit_mean"].iloc[0] == pytest.approx(t["profit_mean"].iloc[0] + 5)


def test_phase_table_winner_and_no_campaign(phase_df: pd.DataFrame) -> None:
    df = load_table(phase_df)
    assert phase.has_phase(df)
    t = phase.phase_table(df)
    assert len(t) == 2 * 2 * 2
    cheap = t["data_cost"].str.endswith(": 0.02/0.03/0.08")

    def winner(vs: float, th: float, cheap_data: bool) -> str:
        sel = t[(t["variance_share"] == vs) & (t["threshold_median"] == th) & (cheap == cheap_data)]
        assert len(sel) == 1
        return str(sel["winner"].iloc[0])

    assert winner(0.1, 0.35, True) == "none"
    assert winner(0.1, 3.0, True) == "one_to_one"
    assert winner(0.1, 3.0, False) == "segmented"
    assert winner(0.9, 3.0, True) == "mass"
    lead = t[(t["variance_share"] == 0.1) & (t["threshold_median"] == 3.0) & cheap]["lead"]
    assert lead.iloc[0] == pytest.approx(300.0)


def test_roi_table(roi_df: pd.DataFrame) -> None:
    df = load_table(roi_df)
    assert roi_curves.has_roi_curves(df) and not granularity.has_granularity(df)
    t = roi_curves.roi_table(df)
    assert len(t) == 6 and set(t["strategy"]) == {"one_to_one", "segmented"}
    r = t[(t["strategy"] == "one_to_one") & (t["budget"] == 100.0)].iloc[0]
    assert r["profit_mean"] == pytest.approx(401.0)
    assert r["contact_cost_mean"] == pytest.approx(100.0)


def _legend_texts(ax: plt.Axes) -> list[str]:
    """The texts of the axes' legend, or of its figure's legends (drawn outside)."""
    legends = [ax.get_legend()] if ax.get_legend() is not None else ax.figure.legends
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def test_propensity_rows_are_labelled_as_propensity(roi_df: pd.DataFrame) -> None:
    """A sweep over ``strategy=one_to_one,one_to_one_propensity`` collects rows that both
    say ``cfg.strategy.name = one_to_one``; the scorer column keeps them apart, and the
    propensity rows are labelled and coloured as propensity, not as the oracle."""
    df = roi_df[roi_df["cfg.strategy.name"] == "one_to_one"]
    oracle = df.assign(**{"cfg.strategy.scorer": "oracle"})
    propensity = df.assign(
        **{"cfg.strategy.scorer": "propensity", "incremental_profit.true": -50.0}
    )
    t = roi_curves.roi_table(load_table(pd.concat([oracle, propensity], ignore_index=True)))
    assert set(t["strategy"]) == {"one_to_one", "one_to_one_propensity"}
    prop = t[t["strategy"] == "one_to_one_propensity"]
    assert (prop["profit_mean"] == -50.0).all()  # not averaged with the oracle's rows

    fig = roi_curves.figure_roi(t)
    texts = _legend_texts(fig.axes[0])
    assert "One-to-one (propensity)" in texts and "One-to-one (oracle)" in texts
    colors = {line.get_label(): line.get_color() for line in fig.axes[0].lines}
    assert colors["One-to-one (propensity)"] != colors["One-to-one (oracle)"]
    plt.close(fig)

    # a sweep of the propensity option alone is still not the oracle
    alone = roi_curves.roi_table(load_table(propensity))
    assert set(alone["strategy"]) == {"one_to_one_propensity"}
    fig = roi_curves.figure_roi(alone)
    assert "One-to-one (oracle)" not in _legend_texts(fig.axes[0])
    plt.close(fig)


def test_phase_winner_is_the_variant(phase_df: pd.DataFrame) -> None:
    """The phase map's winner is the variant the row's config describes."""
    df = phase_df.assign(**{"cfg.strategy.scorer": "propensity"})
    df.loc[df["cfg.strategy.name"] != "one_to_one", "cfg.strategy.scorer"] = None
    t = phase.phase_table(load_table(df))
    assert "one_to_one_propensity" in set(t["winner"])
    assert "profit_mean.one_to_one_propensity" in t.columns
    fig = phase.figure_phase(t)
    assert "One-to-one (propensity)" in [x.get_text() for x in fig.legends[0].get_texts()]
    plt.close(fig)


def test_granularity_keeps_segmentation_bases_apart(granularity_df: pd.DataFrame) -> None:
    """Rows of the preset basis give the plain table; another basis adds a variant column
    and a line of its own."""
    plain = granularity.granularity_table(load_table(granularity_df))
    assert "strategy" not in plain.columns
    tribe = granularity_df.assign(**{"cfg.strategy.basis": "tribe"})
    both = pd.concat(
        [granularity_df.assign(**{"cfg.strategy.basis": "kmeans"}), tribe], ignore_index=True
    )
    t = granularity.granularity_table(load_table(both))
    assert set(t["strategy"]) == {"segmented", "segmented_tribe"} and len(t) == 2 * len(plain)
    fig, ax = plt.subplots()
    granularity.plot_granularity(t, ax, "default")
    assert {line.get_label() for line in ax.lines} >= {
        "segmented, mean (true)",
        "Segmented (tribes), mean (true)",
    }
    plt.close(fig)


def test_plot_functions_draw_on_a_given_axes(
    granularity_df: pd.DataFrame, phase_df: pd.DataFrame, roi_df: pd.DataFrame
) -> None:
    fig, axes = plt.subplots(1, 4)
    g = granularity.granularity_table(load_table(granularity_df))
    assert granularity.plot_granularity(g, axes[0], "default", "profit") is axes[0]
    assert axes[0].get_xscale() == "log" and "profit" in axes[0].get_ylabel()
    granularity.plot_granularity(g, axes[1], "default", "roi")
    assert ROI_LABEL in axes[1].get_ylabel() and axes[1].get_yscale() == "symlog"
    p = phase.phase_table(load_table(phase_df))
    phase.plot_phase(p, axes[2], data_cost=p["data_cost"].iloc[0])
    assert "tribe" in axes[2].get_xlabel() and len(axes[2].images) == 1
    roi_curves.plot_roi_curve(roi_curves.roi_table(load_table(roi_df)), axes[3], "profit")
    assert axes[3].get_xscale() == "log" and len(axes[3].lines) >= 2
    plt.close(fig)


@pytest.fixture
def estimators_df() -> pd.DataFrame:
    """Two estimators x two market sizes x three seeds, arms a and b (uplift-lab rows)."""
    out = []
    for est, qini in (("x_lgbm", 0.10), ("t_lgbm", 0.05)):
        for n in (1000, 4000):
            for seed in range(3):
                r: dict[str, object] = {
                    "status": "ok",
                    "seed": seed,
                    "primary.estimator": est,
                    "n_rows": n - seed,  # the realised pilot size varies by seed
                    "cfg.market.n_consumers": n,
                    "cfg.pilot.sample_share": 1.0,
                }
                for arm in ("a", "b"):
                    r |= {
                        f"primary.{arm}.qini_true": qini + 0.01 * seed,
                        f"primary.{arm}.pehe_ratio": 1.2 - 0.1 * seed,
                        f"primary.{arm}.profit_oracle": 100.0,
                        f"primary.{arm}.profit_regret": 30.0,
                        f"primary.{arm}.profit_top20_model": 50.0 + seed,
                        f"primary.{arm}.profit_top20_oracle": 80.0,
                        f"primary.{arm}.profit_top20_random": 20.0,
                    }
                out.append(r)
    return pd.DataFrame(out)


def test_estimators_table(estimators_df: pd.DataFrame) -> None:
    t = estimators.estimators_table(estimators_df)
    assert len(t) == 2 * 2 * 2  # arms x estimators x pilot sizes
    assert sorted(t["pilot_size"].unique()) == [1000, 4000]  # nominal, not per seed
    assert (t["n_seeds"] == 3).all()
    x = t[(t["estimator"] == "x_lgbm") & (t["arm"] == "a") & (t["pilot_size"] == 1000)].iloc[0]
    assert x["qini_true_mean"] == pytest.approx(0.11)
    assert x["pehe_ratio_min"] == pytest.approx(1.0)
    assert x["regret_share_mean"] == pytest.approx(0.3)
    assert x["captured_top20_mean"] == pytest.approx((30 + 31 + 32) / 3 / 60)


def test_cli_writes_each_study(
    tmp_path: Path,
    granularity_df: pd.DataFrame,
    phase_df: pd.DataFrame,
    roi_df: pd.DataFrame,
    estimators_df: pd.DataFrame,
) -> None:
    table = pd.concat([granularity_df, phase_df, roi_df, estimators_df], ignore_index=True)
    src = tmp_path / "results.parquet"
    table.to_parquet(src)
    out = tmp_path / "fig"
    assert fg.main([str(src), "--out", str(out)]) == 0
    for study in fg.STUDIES:
        png = out / f"{study}.png"
        assert png.is_file() and png.stat().st_size > 10_000
        assert (out / f"{study}.csv").is_file()
    only = tmp_path / "only"
    assert fg.main([str(src), "--out", str(only), "--study", "phase"]) == 0
    assert sorted(p.name for p in only.iterdir()) == ["phase.csv", "phase.png"]


def test_cli_rejects_a_table_without_studies(tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    pd.DataFrame([with_metrics(rows(seed=0), 1.0, 0.1)]).to_csv(src, index=False)
    assert fg.main([str(src), "--out", str(tmp_path / "o")]) == 2


def test_export_writes_slim_table(tmp_path: Path, granularity_df: pd.DataFrame) -> None:
    src = tmp_path / "results.parquet"
    granularity_df.assign(wall_seconds=1.0, config_json="{}").to_parquet(src)
    dest = tmp_path / "slim.csv"
    assert fg.main([str(src), "--out", str(tmp_path / "f"), "--export", str(dest)]) == 0
    slim = pd.read_csv(dest)
    assert len(slim) == 2 * 4 * 3  # ok rows only
    assert "wall_seconds" not in slim.columns and "config_json" not in slim.columns
    assert {"cfg.strategy.k", "incremental_profit.true", "roi.true"} <= set(slim.columns)


def test_export_keeps_what_tells_variants_apart(tmp_path: Path, roi_df: pd.DataFrame) -> None:
    """The slim table keeps the scorer column, so figures drawn from it label the
    variants as the full table does."""
    src = tmp_path / "results.parquet"
    roi_df.assign(**{"cfg.strategy.scorer": "propensity"}).to_parquet(src)
    dest = tmp_path / "slim.csv"
    assert fg.main([str(src), "--out", str(tmp_path / "f"), "--export", str(dest)]) == 0
    again = roi_curves.roi_table(load_table(dest))
    assert "one_to_one_propensity" in set(again["strategy"])


# ------------------------------------------------ figures a strategist reads (issue 14)


def _b2b_table() -> pd.DataFrame:
    """The b2b comparison of the issue: mass ROI 1,456 beside one-to-one 9 and hybrid 17,
    profits in millions."""
    return pd.DataFrame(
        {
            "strategy": ["mass", "one_to_one", "hybrid"],
            "incr_profit_measured": [2.9e6, 1.05e6, 2.1e6],
            "incr_profit_se": [2.4e5, 2.1e5, 3.0e5],
            "incr_profit_true": [2.7e6, 1.08e6, 2.6e6],
            "roi_measured": [1456.0, 8.8, 12.6],
            "roi_true": [1456.0, 9.1, 17.0],
            "cost_total": [1990.0, 118_837.0, 167_242.0],
        },
        index=pd.Index(["Mass", "One-to-one (oracle)", "Hybrid"], name="label"),
    )


def test_comparison_figure_reads_at_a_glance() -> None:
    from matplotlib.container import ErrorbarContainer

    from sim.report import plot_profit_by_strategy, plot_roi_by_strategy

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    plot_profit_by_strategy(_b2b_table(), a)
    plot_roi_by_strategy(_b2b_table(), b)
    fig.canvas.draw()
    # ROI: one definition, a scale where 9 and 17 are readable beside 1,456
    assert ROI_LABEL in b.get_ylabel() and b.get_yscale() == "symlog"
    from matplotlib.container import BarContainer

    heights = {}
    true_bars = [c for c in b.containers if isinstance(c, BarContainer)][1]
    for bar in true_bars:
        (_, y0), (_, y1) = b.transData.transform([(0, 0), (0, bar.get_height())])
        heights[round(bar.get_height(), 1)] = y1 - y0
    assert heights[9.1] > 0.25 * heights[1456.0]  # on a linear axis: 0.6 %
    assert {t.get_text() for t in b.texts} >= {"1,456", "9.1", "17"}  # values written
    # measured figures carry their intervals, on both panels
    for ax in (a, b):
        assert any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    # no axis offsets ("1e6") and legends outside the data area
    for ax in (a, b):
        assert ax.yaxis.get_offset_text().get_text() == ""
        legend = ax.get_legend().get_window_extent()
        assert legend.y0 >= ax.get_window_extent().y1 - 1
    assert "M" in "".join(t.get_text() for t in a.get_yticklabels())
    plt.close(fig)


def test_study_figures_name_market_and_size_and_keep_legends_outside(
    granularity_df: pd.DataFrame, phase_df: pd.DataFrame, roi_df: pd.DataFrame
) -> None:
    from experiments.studies.style import STYLE

    cases = [
        (granularity.figure_granularity, granularity.granularity_table(load_table(granularity_df))),
        (phase.figure_phase, phase.phase_table(load_table(phase_df))),
        (roi_curves.figure_roi, roi_curves.roi_table(load_table(roi_df))),
    ]
    for figure, table in cases:
        with plt.rc_context(STYLE):  # type: ignore[arg-type]
            fig = figure(table, "true")
            fig.canvas.draw()
        titles = [fig.get_suptitle(), *(ax.get_title() for ax in fig.axes)]
        text = " ".join(titles)
        assert "Omnichannel retailer" in text and "5,000 customers" in text, text
        assert all(ax.get_legend() is None for ax in fig.axes) and fig.legends
        for ax in fig.axes:
            assert ax.yaxis.get_offset_text().get_text() == ""
            if "ROI" in ax.get_ylabel():
                assert ROI_LABEL in ax.get_ylabel() and ax.get_yscale() == "symlog"
        plt.close(fig)


def test_one_roi_definition_everywhere() -> None:
    """ROMI in %, in some figures, beside a ratio ROI in others: now the ratio only."""
    root = Path(__file__).resolve().parent.parent
    for path in [*(root / "experiments").rglob("*.py"), root / "sim" / "report.py"]:
        assert not re.search(r"\bROMI\b", path.read_text()), path
