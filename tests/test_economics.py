"""The cost model (sim.economics) on hand-built ledgers, and the opt-out price.

Every expected number of the ledger tests is computed by hand in the test from unit
prices chosen to be exact binary fractions, so equality is checked to 1e-9.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.config import CHANNELS, MarketConfig
from sim.economics import (
    EconomicsConfig,
    campaign_costs,
    optout_prices,
    variant_key,
    window_months,
)
from sim.ledger import Ledger
from sim.schema import ConfigError, build

EMAIL, SMS, PUSH, SOCIAL, MAIL, PHONE, DISPLAY = (
    CHANNELS.index(c) for c in ("email", "sms", "push", "social", "direct_mail", "phone", "display")
)
DELIVERED, HOLDOUT, OPTED_OUT, UNREACHABLE = 0, 1, 2, 3

ECON = EconomicsConfig(
    contact_cost={
        "email": 0.5,
        "sms": 2.0,
        "push": 0.25,
        "social": 1.0,
        "direct_mail": 8.0,
        "phone": 16.0,
        "display": 0.125,
    },
    content_cost_per_variant=100.0,
    personalisation_cost_per_contact=4.0,
    data_cost_per_month={"implicit": 0.5, "explicit": 2.0, "ambient": 8.0},
)
# Value lost per opt-out, by channel (in the market these come from optout_prices).
OPTOUT_PRICE = np.array([4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 0.5])
# Consent of 5 consumers to (implicit, explicit, ambient): 4, 1 and 2 consent.
CONSENT = np.array([[1, 1, 0], [1, 0, 1], [0, 0, 0], [1, 0, 0], [1, 0, 1]], bool)
NONE_USED: tuple[str, ...] = ()


def add_contacts(ledger: Ledger, rows: list[dict[str, Any]]) -> None:
    """Append contact rows; unspecified columns take neutral defaults."""
    n = len(rows)
    defaults: dict[str, Any] = {
        "batch": 0,
        "time": 1.0,
        "consumer": 0,
        "channel": EMAIL,
        "category": -1,
        "discount": 0.0,
        "depth": 0.0,
        "data_kinds": 0,
        "arm": 0,
        "status": DELIVERED,
        "backlash": False,
        "opted_out": False,
        "intrusiveness": 0.0,
        "persuasion": 0.0,
        "clicked": False,
    }
    start = len(ledger.contacts)
    cols = {k: np.array([r.get(k, v) for r in rows]) for k, v in defaults.items()}
    ledger.contacts.append(contact_id=np.arange(start, start + n), **cols)


def add_purchases(ledger: Ledger, rows: list[tuple[float, float]]) -> None:
    """Append purchases given as (value, discount)."""
    n = len(rows)
    ledger.purchases.append(
        time=np.arange(n, dtype=float),
        consumer=np.zeros(n),
        category=np.zeros(n),
        value=np.array([v for v, _ in rows]),
        discount=np.array([d for _, d in rows]),
        offer_contact=np.full(n, -1),
        induced=np.zeros(n, bool),
    )


def add_optouts(ledger: Ledger, channels: list[int]) -> None:
    n = len(channels)
    ledger.optouts.append(time=np.ones(n), consumer=np.arange(n), channel=np.array(channels))


def costs(
    ledger: Ledger, strategy: str = "mass", kinds: tuple[str, ...] = NONE_USED, months: float = 1.0
) -> dict[str, float]:
    return campaign_costs(ECON, ledger, strategy, CONSENT, kinds, months, OPTOUT_PRICE)


def check_total(c: dict[str, float]) -> None:
    parts = [c[k] for k in ("contact", "content", "offer", "data", "platform", "optout")]
    assert c["total"] == pytest.approx(sum(parts), abs=1e-9)


# ---------------------------------------------------------------------------- contact
def test_contact_cost_counts_delivered_rows_only() -> None:
    led = Ledger()
    add_contacts(
        led,
        [
            {"channel": EMAIL},
            {"channel": EMAIL},
            {"channel": EMAIL},  # 3 x 0.5
            {"channel": SMS},  # 2.0
            {"channel": DISPLAY},
            {"channel": DISPLAY},  # 2 x 0.125
            {"channel": PHONE, "status": HOLDOUT},  # free
            {"channel": MAIL, "status": UNREACHABLE},  # free
            {"channel": SMS, "status": OPTED_OUT},  # free
        ],
    )
    c = costs(led)
    assert c["contact"] == pytest.approx(1.5 + 2.0 + 0.25, abs=1e-12)
    check_total(c)


def test_undelivered_rows_cost_only_the_declared_fixed_cost() -> None:
    """Would-be contacts only (holdout, unreachable, opted out): nothing variable, no data
    even for a strategy using every data kind, only the platform fee."""
    led = Ledger()
    add_contacts(
        led,
        [
            {"channel": PHONE, "status": HOLDOUT, "depth": 1.0, "category": 2, "discount": 0.5},
            {"channel": MAIL, "status": UNREACHABLE, "depth": 1.0},
            {"channel": SMS, "status": OPTED_OUT, "depth": 0.5, "arm": 3},
        ],
    )
    c = costs(led, strategy="one_to_one", kinds=("implicit", "explicit", "ambient"), months=2.0)
    assert c["contact"] == 0.0
    assert c["content"] == 0.0  # no creative, no personalisation cost
    assert c["offer"] == 0.0 and c["data"] == 0.0 and c["optout"] == 0.0
    assert c["platform"] == 4000.0
    assert c["total"] == 4000.0


# ---------------------------------------------------------------------------- content
def test_creatives_are_distinct_channel_category_discount_personalised_combos() -> None:
    """The arm label (segment, rule, pilot arm) is no creative of its own; the level of
    personalisation is paid per contact, so any depth > 0 is one personalised template."""
    led = Ledger()
    base = {"arm": 1, "channel": EMAIL, "category": 0, "discount": 0.25, "depth": 0.5}
    add_contacts(
        led,
        [
            base,  # creative A
            {**base, "depth": 1.0},  # A again: personalised either way
            {**base, "depth": 0.0},  # B: not personalised
            {**base, "arm": 2},  # A again: another arm, the same message
            {**base, "channel": SMS},  # C: another channel
            {**base, "category": 3},  # D: another category
            {**base, "category": -1},  # E: generic message
            {**base, "discount": 0.5},  # F: another discount
            {**base, "discount": 0.0, "depth": 0.0, "status": HOLDOUT},  # not delivered
            {"arm": 5, "channel": PHONE, "category": 2, "depth": 1.0, "status": UNREACHABLE},
        ],
    )
    c = costs(led)
    creatives = 6
    depth_delivered = 0.5 + 1.0 + 0.0 + 0.5 + 0.5 + 0.5 + 0.5 + 0.5
    assert c["content"] == pytest.approx(creatives * 100.0 + 4.0 * depth_delivered, abs=1e-9)
    assert c["content"] == pytest.approx(616.0, abs=1e-9)
    check_total(c)


def test_segments_sharing_a_message_share_one_creative() -> None:
    """Ten segments (arms 1-10) whose messages fall on three categories: content is three
    creatives, not ten segments."""
    led = Ledger()
    add_contacts(
        led,
        [
            {"consumer": i, "arm": seg + 1, "category": seg % 3, "depth": 0.25}
            for seg in range(10)
            for i in range(seg * 5, seg * 5 + 5)
        ],
    )
    c = costs(led, strategy="segmented")
    assert c["content"] == pytest.approx(3 * 100.0 + 50 * 0.25 * 4.0, abs=1e-9)


def test_variant_key_separates_exactly_the_creative_dimensions() -> None:
    ch = np.array([0, 0, 0, 0, 0, 0, 6, 0], np.int8)
    cat = np.array([-1, -1, 0, 7, -1, -1, -1, -1], np.int16)
    disc = np.array([0.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.1], np.float32)
    depth = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0, 0.0], np.float32)
    keys = variant_key(ch, cat, disc, depth)
    assert keys[0] == keys[1]
    assert np.unique(keys[1:7]).size == 6
    assert keys[7] == keys[4]  # float32 and float64 discounts agree to the basis point
    assert variant_key(0, -1, 0.1, 0.0) == keys[4]
    assert variant_key(0, -1, 0.0, 1.0) == variant_key(0, -1, 0.0, 0.3)


def test_repeated_contacts_of_one_variant_pay_its_content_once() -> None:
    led = Ledger()
    add_contacts(led, [{"consumer": i, "channel": PUSH, "category": 1} for i in range(40)])
    add_contacts(
        led,
        [
            {"consumer": i, "channel": PUSH, "category": 1, "batch": 1, "time": 8.0}
            for i in range(40)
        ],
    )
    c = costs(led)
    assert c["content"] == 100.0  # one variant, depth 0
    assert c["contact"] == pytest.approx(80 * 0.25, abs=1e-12)


# ---------------------------------------------------------------------------- offer
def test_offer_cost_is_value_times_discount_of_every_purchase() -> None:
    led = Ledger()
    add_purchases(led, [(100.0, 0.25), (40.0, 0.0), (80.0, 0.5), (10.0, 0.125)])
    c = costs(led)
    assert c["offer"] == pytest.approx(25.0 + 0.0 + 40.0 + 1.25, abs=1e-9)
    assert c["total"] == pytest.approx(c["offer"] + c["platform"], abs=1e-9)
    check_total(c)


# ---------------------------------------------------------------------------- data
def delivered_once() -> Ledger:
    led = Ledger()
    add_contacts(led, [{"channel": DISPLAY}])  # 0.125 contact + 100 content
    return led


@pytest.mark.parametrize(
    ("kinds", "months", "expected"),
    [
        ((), 1.5, 0.0),
        (("implicit",), 1.5, 0.5 * 4 * 1.5),
        (("explicit",), 1.5, 2.0 * 1 * 1.5),
        (("ambient",), 1.5, 8.0 * 2 * 1.5),
        (("implicit", "explicit"), 1.5, 0.5 * 4 * 1.5 + 2.0 * 1 * 1.5),
        (("implicit", "explicit", "ambient"), 2.0, 0.5 * 4 * 2 + 2.0 * 1 * 2 + 8.0 * 2 * 2),
        (("implicit", "explicit", "ambient"), 0.0, 0.0),
    ],
)
def test_data_cost_is_price_times_consenting_consumers_times_months(
    kinds: tuple[str, ...], months: float, expected: float
) -> None:
    c = costs(delivered_once(), kinds=kinds, months=months)
    assert c["data"] == pytest.approx(expected, abs=1e-12)
    assert c["total"] == pytest.approx(expected + 100.125 + 200.0, abs=1e-12)


def test_no_data_cost_when_nothing_is_sent() -> None:
    c = costs(Ledger(), strategy="one_to_one", kinds=("implicit", "explicit"), months=2.0)
    assert c["data"] == 0.0
    assert c["total"] == c["platform"] == 4000.0


@pytest.mark.parametrize(
    ("start", "end", "horizon", "months"),
    [
        (0.0, 60.0, 90.0, 2.0),
        (0.0, 60.0, 30.0, 1.0),  # the default window on a 30-day market: one month, not two
        (0.0, 600.0, 90.0, 3.0),  # end_day = 600 charges the 90 days simulated
        (15.0, 600.0, 45.0, 1.0),
        (10.0, 10.0, 90.0, 0.0),
        (95.0, 120.0, 90.0, 0.0),
    ],
)
def test_data_months_are_the_window_as_simulated(
    start: float, end: float, horizon: float, months: float
) -> None:
    assert window_months(start, end, horizon) == pytest.approx(months, abs=1e-12)


# ---------------------------------------------------------------------------- platform
@pytest.mark.parametrize(
    ("strategy", "fee"),
    [
        ("mass", 200.0),
        ("segmented", 800.0),
        ("one_to_one", 4000.0),
        ("hybrid", 3000.0),
        ("none", 0.0),
    ],
)
def test_a_campaign_that_sends_nothing_costs_its_platform_fee_only(
    strategy: str, fee: float
) -> None:
    """The platform is the declared fixed cost: due once the strategy is chosen, whether
    or not it sends; everything else is zero for an empty ledger."""
    c = costs(Ledger(), strategy=strategy, kinds=("implicit", "ambient"), months=3.0)
    assert c["platform"] == fee
    assert c["total"] == fee


@pytest.mark.parametrize(
    ("strategy", "fee"),
    [("mass", 200.0), ("segmented", 800.0), ("one_to_one", 4000.0), ("none", 0.0)],
)
def test_platform_cost_is_the_strategy_fee_once(strategy: str, fee: float) -> None:
    led = Ledger()
    add_contacts(led, [{"consumer": i} for i in range(10)])
    assert costs(led, strategy=strategy)["platform"] == fee


def test_platform_cost_of_an_unknown_strategy_is_a_config_error() -> None:
    led = Ledger()
    add_contacts(led, [{}])
    with pytest.raises(ConfigError, match=r"platform_cost.*'bogus'.*entries: none, mass"):
        costs(led, strategy="bogus")


# ---------------------------------------------------------------------------- opt-outs
def test_optout_cost_is_channel_value_times_optouts() -> None:
    led = Ledger()
    add_optouts(led, [EMAIL, EMAIL, SMS, DISPLAY])
    c = costs(led)
    assert c["optout"] == pytest.approx(2 * 4.0 + 3.0 + 0.5, abs=1e-12)
    check_total(c)


# ---------------------------------------------------------------------------- opt-out price
@pytest.fixture(scope="module")
def opening_market() -> Any:
    from sim.market import Market

    return Market(MarketConfig(n_consumers=4000, horizon_days=10), 3)


def test_optout_price_scales_with_horizon_and_cadence_and_obeys_overrides(
    opening_market: Any,
) -> None:
    econ = EconomicsConfig()
    base = optout_prices(econ, opening_market, 0.0)
    assert base[EMAIL] > 0 and base[DISPLAY] > 0
    # A call (4) costs more than a generic message earns from anyone, a letter (0.9) from
    # all but a few big spenders: the firm would hardly keep using them for generic mail.
    assert base[PHONE] == 0.0 and base[MAIL] < 0.01 * base[EMAIL]
    longer = EconomicsConfig(optout_horizon_months=24.0)
    np.testing.assert_allclose(optout_prices(longer, opening_market, 0.0), 2 * base, rtol=1e-12)
    sends = {**econ.optout_sends_per_month, "email": 2 * econ.optout_sends_per_month["email"]}
    twice = optout_prices(EconomicsConfig(optout_sends_per_month=sends), opening_market, 0.0)
    assert twice[EMAIL] == pytest.approx(2 * base[EMAIL], rel=1e-12)
    np.testing.assert_array_equal(np.delete(twice, EMAIL), np.delete(base, EMAIL))
    fixed = optout_prices(EconomicsConfig(optout_value={"sms": 7.5}), opening_market, 0.0)
    assert fixed[SMS] == 7.5
    np.testing.assert_array_equal(np.delete(fixed, SMS), np.delete(base, SMS))
    assert not optout_prices(EconomicsConfig(optout_horizon_months=0.0), opening_market, 0.0).any()


def test_optout_price_per_send_is_the_closed_form_value_of_an_email() -> None:
    """Seed 4, n = 20000: one generic e-mail to everyone at day 0 (10 % holdout).  The
    price's value per send (V_email / (H·s)) is the closed form's margin on one message
    over the response window (7 days).  Over the twin-world replay's 8 days the closed
    form's value per send lies within 3 standard errors of the realised one (the direct
    effect on margin per delivered e-mail, less its cost; SE from the treated consumers'
    direct effects), and the price's 7-day value is below the 8-day value."""
    from sim.market import Market
    from sim.measure import groups
    from sim.strategies import build_strategy_config, make_strategy
    from sim.truth import twin_worlds

    cfg = MarketConfig(n_consumers=20000, horizon_days=10)
    econ = EconomicsConfig()
    market = Market(cfg, 4)
    per_send = optout_prices(econ, market, 0.0)[EMAIL] / (
        econ.optout_horizon_months * econ.optout_sends_per_month["email"]
    )
    pop = market.pop
    ok = pop.reachable[:, EMAIL] & ~market.state.opted_out[:, EMAIL]
    at = np.floor(pop.active_hour.astype(np.float64)) / 24.0
    uplift = market.expected_uplift(np.flatnonzero(ok), EMAIL, at=at[ok], outcome_days=8.0)
    value = econ.margin_rate * pop.basket_mean[ok].astype(np.float64) * uplift["uplift"]
    closed_8 = float(np.maximum(value - econ.contact_cost["email"], 0.0).mean())

    sc = build_strategy_config({"name": "mass", "channel": "email", "end_day": 1.0})
    gt = twin_worlds(cfg, 4, lambda: make_strategy(sc, 4), window=(0.0, 8.0))
    c = gt.observed.ledger.contacts.frame()
    sent = int((c["status"] == 0).sum())
    g = groups(gt.observed.ledger, cfg.n_consumers)
    direct = econ.margin_rate * gt.direct.revenue[g.treated]
    realised = direct.sum() / sent - econ.contact_cost["email"]
    se = direct.std(ddof=1) * np.sqrt(direct.size) / sent
    assert realised > 3 * se
    assert abs(closed_8 - realised) < 3 * se, (closed_8, realised, se)
    assert 0 < per_send < closed_8


# ---------------------------------------------------------------------------- all together
def test_whole_campaign_total_by_hand() -> None:
    led = Ledger()
    add_contacts(
        led,
        [
            {
                "consumer": 0,
                "channel": EMAIL,
                "category": 0,
                "discount": 0.25,
                "depth": 1.0,
                "arm": 1,
            },
            {
                "consumer": 1,
                "channel": EMAIL,
                "category": 0,
                "discount": 0.25,
                "depth": 1.0,
                "arm": 1,
            },
            {"consumer": 2, "channel": SMS, "category": 1, "depth": 0.5, "arm": 1},
            {
                "consumer": 3,
                "channel": SMS,
                "category": 1,
                "depth": 0.5,
                "arm": 1,
                "status": HOLDOUT,
            },
        ],
    )
    add_purchases(led, [(60.0, 0.25), (30.0, 0.0)])
    add_optouts(led, [SMS])
    c = costs(led, strategy="one_to_one", kinds=("implicit", "explicit"), months=2.0)
    expected = {
        "contact": 0.5 + 0.5 + 2.0,
        "content": 2 * 100.0 + 4.0 * (1.0 + 1.0 + 0.5),  # creatives: email cat 0, sms cat 1
        "offer": 60.0 * 0.25,
        "data": 0.5 * 4 * 2.0 + 2.0 * 1 * 2.0,
        "platform": 4000.0,
        "optout": 3.0,
    }
    for key, value in expected.items():
        assert c[key] == pytest.approx(value, abs=1e-9), key
    assert c["total"] == pytest.approx(3.0 + 210.0 + 15.0 + 8.0 + 4000.0 + 3.0, abs=1e-9)


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (
            {"contact_cost": {**ECON.contact_cost, "email": -1}},
            r"economics\.contact_cost\.email = -1",
        ),
        (
            {"data_cost_per_month": {**ECON.data_cost_per_month, "ambient": -0.5}},
            r"economics\.data_cost_per_month\.ambient = -0\.5",
        ),
        ({"optout_value": {"sms": -3}}, r"economics\.optout_value\.sms = -3"),
        ({"optout_value": {"emial": 3}}, r"optout_value: 'emial'.*Did you mean 'email'"),
        ({"optout_horizon_months": -1}, r"economics\.optout_horizon_months = -1"),
        (
            {"optout_sends_per_month": {"email": 4.0}},
            r"optout_sends_per_month: missing entries for sms",
        ),
        ({"platform_cost": {"mass": -200.0}}, r"economics\.platform_cost\.mass"),
        ({"margin_rate": 1.5}, r"economics\.margin_rate = 1\.5.*\[0, 1\]"),
        ({"content_cost_per_variant": -1.0}, r"economics\.content_cost_per_variant"),
        ({"contact_cost": {**ECON.contact_cost, "emial": 0.1}}, r"'emial'.*Did you mean 'email'"),
        ({"contact_cost": {"email": 0.1}}, r"contact_cost: missing entries for sms, push"),
    ],
)
def test_bad_economics_is_rejected_naming_the_key(data: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        build(EconomicsConfig, data, "economics")
