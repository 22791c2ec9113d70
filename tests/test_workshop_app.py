"""The workshop page through Streamlit's headless app test (``AppTest``): the figures it
shows are the library's own run of the same config, a slider changes them, bad input gives
a message and never a traceback, and team names are shown as inert text.

Runs in the calling thread (``WORKSHOP_WORKERS=0``) on small markets where the page lets
the test choose (2,000 customers, 30 days); exercise and round worlds are the exercises'
own (10,000 customers).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from experiments.workshop.exercises import money
from sim import api

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "experiments" / "workshop" / "app.py"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("WORKSHOP_WORKERS", "0")
    st.cache_resource.clear()  # a fresh runner and fresh rounds for each test
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.session_state["x_default_customers"] = 2_000
    at.session_state["x_default_days"] = 30
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def assert_library_figures(shown: dict[str, str], tribalism: float) -> None:
    market = api.market(
        "default", n_consumers=2_000, horizon_days=30.0, **{"tribes.variance_share": tribalism}
    )
    lib = api.run(market, api.strategy("mass", end_day=30.0), seed=1)
    assert shown["Response rate"] == f"{lib.response_rate:.2%}"
    assert shown["Profit, measured"] == money(lib.incremental_profit.measured)
    assert shown["Profit, true"] == money(lib.incremental_profit.true)
    assert shown["Contacts"] == f"{lib.contacts:,}"


def test_explore_shows_the_librarys_figures_and_follows_a_slider(app: AppTest) -> None:
    app.run()
    assert not app.exception
    before = metrics(app)
    assert_library_figures(before, 0.5)
    assert [e.value for e in app.error] == []
    app.slider(key="x_default_tribalism").set_value(80.0).run()
    assert not app.exception
    after = metrics(app)
    assert after["Profit, true"] != before["Profit, true"]
    assert_library_figures(after, 0.8)


def test_bad_plans_give_messages_not_tracebacks(app: AppTest) -> None:
    app.run()
    app.checkbox(key="x_mass_limit").check().run()
    app.number_input(key="x_mass_budget").set_value(0.0).run()
    assert not app.exception
    assert any("budget of 0" in e.value for e in app.error)
    assert not app.metric  # nothing ran
    app.selectbox(key="x_strategy").set_value("triggered").run()
    app.multiselect(key="x_triggered_events").set_value([]).run()
    assert not app.exception
    assert any("contacts nobody" in e.value for e in app.error)
    app.selectbox(key="x_strategy").set_value("one_to_one").run()
    app.multiselect(key="x_one_to_one_channels").set_value([]).run()
    assert any("contacts nobody" in e.value for e in app.error)


def test_an_exercise_scores_the_measured_figures_then_reveals_the_truth(app: AppTest) -> None:
    app.run()
    app.radio(key="mode").set_value("Exercises").run()
    app.selectbox(key="ex_pick").set_value("propensity_10").run()
    assert not app.exception
    app.button(key="run_propensity_10").click().run()
    shown = metrics(app)
    market = api.market("default", n_consumers=10_000, horizon_days=60.0)
    lib = api.run(
        market,
        api.strategy("one_to_one", scorer="propensity", max_share=0.1, end_day=60.0),
        seed=12,
    )
    assert shown["Score: incremental profit, measured"] == money(lib.incremental_profit.measured)
    assert shown["Response rate"] == f"{lib.response_rate:.2%}"
    text = " ".join(m.value for m in app.markdown)
    assert "twin worlds" not in text  # the truth waits for the reveal
    app.button(key="reveal_propensity_10").click().run()
    assert not app.exception
    text = " ".join(m.value for m in app.markdown)
    assert f"The truth from the twin worlds: {money(lib.incremental_profit.true)}." in text
    assert re.search(r"[\d,]+ sure things", text)


def test_team_names_are_inert_and_bad_ones_are_refused(app: AppTest) -> None:
    app.run()
    app.radio(key="mode").set_value("Team round").run()
    assert any("No round is open" in i.value for i in app.info)
    app.radio(key="mode").set_value("Teacher").run()
    app.selectbox(key="t_ex").set_value("tribal_fmcg").run()
    app.button(key="t_open").click().run()
    app.radio(key="mode").set_value("Team round").run()
    app.button(key="submit_1").click().run()  # no team name yet
    assert any("Enter a team name" in e.value for e in app.error)
    names = ["<script>alert(1)</script>", '=HYPERLINK("http://evil.example","win")']
    for name in names:
        app.text_input(key="team_name").set_value(name).run()
        app.button(key="submit_1").click().run()
        assert not app.exception
    board = app.dataframe[-1].value
    assert set(board["team"]) == set(names)
    shown_as_markdown = " ".join(
        m.value for m in [*app.markdown, *app.success, *app.error, *app.caption]
    )
    assert "<script>" not in shown_as_markdown and "HYPERLINK" not in shown_as_markdown
    assert names[1] in [t.value for t in app.text]  # echoed as plain text only


def test_no_user_text_reaches_html() -> None:
    """The package never renders raw HTML (so no student text can become markup)."""
    source = " ".join(p.read_text() for p in (ROOT / "experiments" / "workshop").glob("*.py"))
    for needle in ("unsafe_allow_html", "st.html", "components.v1", "st.components"):
        assert needle not in source
