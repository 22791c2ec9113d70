"""Per-e-mail magnitude of the calibrated e-mail in the default world (issue 10, item 3).

Hillstrom's single sends raised two-week conversion by 0.31 (women's) and 0.68 (men's)
points: 0.31 and 0.68 incremental conversions per 100 e-mails.  A weekly e-mail programme
should not do better per send.  Check: the default market (its e-mail is the Hillstrom
calibration), 20,000 consumers, the ``mass`` option (a generic e-mail every 7 days on days
0-56, 10 % holdout), seeds 0-2, twin worlds on; the mean over the seeds of 100 x true
incremental conversions (the total effect) / delivered e-mails must be at most 1.0 (the
issue's bound; the seed-to-seed standard error is about 0.04), and a share of the bump
must be reported as pulled forward (``RunResult.pull_forward``).

The bound holds: 0.64 +- 0.03 incremental conversions per 100 e-mails (seeds
0-2), pulled forward 5.4 %.  Before, with the e-mail's Hillstrom visit uplift carried by a
lasting awareness gain at its bound (0.998), it failed at 3.11 (a strict expected failure);
the e-mail's fit now carries that uplift by click-throughs, and its lasting awareness gain
(0.05) is an assumption Hillstrom cannot check (docs/MODEL.md, "Calibration").  With the
new fit and the former gain of 0.998 the programme gives 3.52 per 100: the bound rests on
that assumption, which the sensitivity study varies (0 to 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim import api

SEEDS = (0, 1, 2)
N = 20_000
BOUND_PER_100 = 1.0


@pytest.fixture(scope="module")
def runs() -> list[Any]:
    market = api.market("default", n_consumers=N)
    return [api.run(market, "mass", seed=s) for s in SEEDS]


def _per_100(r: Any) -> float:
    return 100.0 * r.incremental_conversions.true / r.contacts


def test_weekly_mass_email_stays_within_hillstroms_single_send_range(runs: list[Any]) -> None:
    per_100 = np.array([_per_100(r) for r in runs])
    assert per_100.mean() <= BOUND_PER_100, per_100


def test_weekly_mass_email_reports_a_pulled_forward_share(runs: list[Any]) -> None:
    """Every seed reports the split of the bump; some of it is pulled forward (the dip)."""
    for r in runs:
        pf = r.pull_forward
        assert pf is not None and pf.gross > 0
        assert pf.pulled_forward > 0 and pf.share is not None and 0 < pf.share < 1
        assert pf.net == pf.gross - pf.displaced
        assert pf.net == pytest.approx(r.incremental_conversions.true)
