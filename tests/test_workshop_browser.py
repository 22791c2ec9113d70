"""The workshop in a real browser: Debian's chromium driven by Playwright.

The test starts the app on a free port (``python -m experiments.workshop``, two worker
processes), waits for the figures, moves the "Taste tribalism" slider one step (50 % to
55 %), waits for the new figures and checks that they changed and equal the library's
own run of the same config (default market, 10,000 customers, 60 days, weekly e-mail,
seed 1).

Skipping policy: without a chromium binary (or the ``playwright`` package) the test
fails, with the command that installs it, unless ``ALLOW_NO_BROWSER=1`` allows a skip;
``REQUIRE_BROWSER=1`` makes it fail even then.  ``make test`` installs chromium where it
can (as root on Debian), so CI never skips it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from experiments.workshop.exercises import money
from experiments.workshop.serve import chromium_path, serving
from sim import api


def _missing(what: str) -> None:
    message = (
        f"{what} is needed for the browser test (Debian: apt-get install -y chromium; "
        "pip install playwright, no browser download)"
    )
    if os.environ.get("ALLOW_NO_BROWSER") == "1" and os.environ.get("REQUIRE_BROWSER") != "1":
        pytest.skip(message + "; skipped because ALLOW_NO_BROWSER=1")
    pytest.fail(message + "; set ALLOW_NO_BROWSER=1 to skip it outside CI", pytrace=False)


def test_a_slider_in_a_real_browser_updates_the_librarys_figures(tmp_path: Path) -> None:
    if importlib.util.find_spec("playwright") is None:
        _missing("the playwright package")
    if chromium_path() is None:
        _missing("a chromium binary")
    from experiments.workshop.browser import browser_page, changed, move_slider, settled

    with serving(workers=2, log=tmp_path / "server.log") as url, browser_page(url) as page:
        before = settled(page)
        assert (
            page.get_by_role("slider", name="Taste tribalism (%)").get_attribute("aria-valuetext")
            == "50"
        )
        move_slider(page, "Taste tribalism (%)", 1)
        after = changed(page, before)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(tmp_path / "workshop.png"))
    market = api.market(
        "default", n_consumers=10_000, horizon_days=60.0, **{"tribes.variance_share": 0.55}
    )
    lib = api.run(market, api.strategy("mass", end_day=60.0), seed=1)
    assert after != before
    assert after["Response rate"] == f"{lib.response_rate:.2%}"
    assert after["Profit, measured"] == money(lib.incremental_profit.measured)
    assert after["Profit, true"] == money(lib.incremental_profit.true)
    assert after["Contacts"] == f"{lib.contacts:,}"
