"""The click-through of a contact (:func:`sim.contact.click_through`): a short-lived visit
drawn per delivered contact at the channel's ``click_rate``, logged with the contact, with
no effect of its own on purchases (those come from the persuasion window and awareness).

Known truth: the clicked share of delivered contacts without backlash is a binomial
proportion of ``click_rate`` (tolerance 4 standard errors, seed 11); holdouts, undelivered
and backlash contacts never click; and the click's draw is a stream of its own, so the
market with clicks buys exactly what the market without them buys."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from sim.config import CHANNELS
from sim.ledger import ContactStatus
from sim.market import Market

EMAIL = CHANNELS.index("email")
SMS = CHANNELS.index("sms")
N = 20_000
SEED = 11


def with_click_rate(make_cfg: Any, rate: float) -> Any:
    cfg = make_cfg(n=N, days=6.0)
    email = dataclasses.replace(cfg.channels["email"], click_rate=rate, reach=0.9)
    return dataclasses.replace(cfg, channels={**cfg.channels, "email": email})


def one_email(deep_blast: Any, channel: int = EMAIL) -> Any:
    """Everyone contacted once, day 2 at 09:36, in category 0, 10 % held out (id mod 10)."""
    return deep_blast(days=(2.0,), hour=9.6, channel=channel, depth=0.0, kinds=0, holdout_share=0.1)


@pytest.fixture(scope="module")
def pair(make_cfg: Any, run_market: Any, deep_blast: Any) -> tuple[Market, Market]:
    return (
        run_market(with_click_rate(make_cfg, 0.4), SEED, one_email(deep_blast)),
        run_market(with_click_rate(make_cfg, 0.0), SEED, one_email(deep_blast)),
    )


def test_clicked_share_is_the_click_rate_among_landed_contacts(pair: tuple[Market, Market]) -> None:
    contacts = pair[0].ledger.contacts
    status, clicked = contacts.column("status"), contacts.column("clicked")
    landed = (status == ContactStatus.DELIVERED) & ~contacts.column("backlash")
    m = int(landed.sum())
    assert m > 10_000
    share = clicked[landed].mean()
    se = np.sqrt(0.4 * 0.6 / m)
    assert abs(share - 0.4) < 4 * se, (share, se)
    assert not clicked[~landed].any()  # holdouts, unreachable, opted out, backlash


def test_a_click_buys_nothing_by_itself(pair: tuple[Market, Market]) -> None:
    clicks, none = pair
    assert not none.ledger.contacts.column("clicked").any()
    for col in ("time", "consumer", "category", "value"):
        np.testing.assert_array_equal(
            clicks.ledger.purchases.column(col), none.ledger.purchases.column(col)
        )
    np.testing.assert_array_equal(clicks.state.awareness, none.state.awareness)


def test_a_channel_without_click_rate_never_clicks(
    make_cfg: Any, run_market: Any, deep_blast: Any
) -> None:
    market = run_market(with_click_rate(make_cfg, 0.4), SEED, one_email(deep_blast, SMS))
    assert market.cfg.channels["sms"].click_rate == 0.0
    assert not market.ledger.contacts.column("clicked").any()
