"""The workshop in a real browser: helpers for the browser test, and a check that prints
end-to-end seconds per interaction and saves a screenshot of the page.

    python -m experiments.workshop.browser [--screenshot docs/workshop.png]

Playwright drives Debian's chromium (never a downloaded browser), launched with
:data:`~experiments.workshop.serve.CHROMIUM_FLAGS`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from experiments.workshop.serve import CHROMIUM_FLAGS, chromium_path, serving

TIMEOUT_MS = 180_000


@contextmanager
def browser_page(url: str, width: int = 1400, height: int = 1600) -> Iterator[Page]:
    """A headless chromium page on ``url``."""
    path = chromium_path()
    if path is None:
        raise FileNotFoundError("no chromium binary (Debian: apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=list(CHROMIUM_FLAGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            yield page
        finally:
            browser.close()


def metrics(page: Page) -> dict[str, str]:
    """Every metric on the page: label -> value as shown."""
    out = {}
    for m in page.locator('[data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def settled(page: Page) -> dict[str, str]:
    """Wait until the page has its figures and curves and no run is in progress."""
    page.get_by_text("Granularity curve of this world").wait_for()
    page.locator('[data-testid="stMetric"]').first.wait_for()
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stProgress\"]')"
        " && document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') !== 'running'"
    )
    return metrics(page)


def move_slider(page: Page, label: str, steps: int) -> None:
    """Move the slider named ``label`` by ``steps`` (arrow keys, one step each)."""
    slider = page.get_by_role("slider", name=label)
    slider.focus()
    key = "ArrowRight" if steps > 0 else "ArrowLeft"
    for _ in range(abs(steps)):
        slider.press(key)


def changed(page: Page, before: dict[str, str]) -> dict[str, str]:
    """Wait until some metric shows another value than in ``before``, then settle."""
    page.wait_for_function(
        """(old) => [...document.querySelectorAll('[data-testid="stMetric"]')].some(m => {
            const label = m.querySelector('[data-testid="stMetricLabel"]')?.innerText.trim();
            const value = m.querySelector('[data-testid="stMetricValue"]')?.innerText.trim();
            return label in old && value !== old[label];
        })""",
        arg=before,
    )
    return settled(page)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.workshop.browser")
    parser.add_argument("--screenshot", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--moves", type=int, default=3, help="slider moves to time")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    with serving(workers=args.workers) as url:
        print(f"server answering: {time.perf_counter() - t0:.1f} s")
        with browser_page(url) as page:
            t1 = time.perf_counter()
            before = settled(page)
            print(f"first page with figures and curves: {time.perf_counter() - t1:.1f} s")
            moves = [("Taste tribalism (%)", "world changed")] * args.moves
            moves += [("Frequency (days between waves)", "plan changed")] * args.moves
            for label, what in moves:
                t = time.perf_counter()
                move_slider(page, label, 1)
                before = changed(page, before)
                print(f"{what} ({label} +1 step): {time.perf_counter() - t:.1f} s")
            if args.moves:
                t = time.perf_counter()
                move_slider(page, "Frequency (days between waves)", -1)
                before = changed(page, before)
                print(f"back to a plan seen before (cached): {time.perf_counter() - t:.1f} s")
            if args.screenshot:
                page.screenshot(path=str(args.screenshot), full_page=False)
                print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
