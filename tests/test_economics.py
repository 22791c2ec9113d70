"""The cost model (sim.economics.campaign_costs) on hand-built ledgers.

Every expected number is computed by hand in the test from unit prices chosen to be
exact binary fractions, so equality is checked to 1e-9.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.config import CHANNELS
from sim.economics import EconomicsConfig, campaign_costs
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
    optout_value={
        "email": 4.0,
        "sms": 3.0,
        "push": 2.0,
        "social": 1.0,
        "direct_mail": 2.0,
        "phone": 3.0,
        "display": 0.5,
    },
)
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
    return campaign_costs(ECON, ledger, strategy, CONSENT, kinds, months)


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


def test_undelivered_rows_cost_nothing_variable() -> None:
    led = Ledger()
    add_contacts(
        led,
        [
            {"channel": PHONE, "status": HOLDOUT, "depth": 1.0, "category": 2, "discount": 0.5},
            {"channel": MAIL, "status": UNREACHABLE, "depth": 1.0},
            {"channel": SMS, "status": OPTED_OUT, "depth": 0.5, "arm": 3},
        ],
    )
    c = costs(led)
    assert c["contact"] == 0.0
    assert c["content"] == 0.0  # no variant, no personalisation cost
    assert c["offer"] == 0.0 and c["data"] == 0.0 and c["optout"] == 0.0
    # Whether the fixed platform fee is due for a campaign that recorded only would-be
    # contacts is a policy choice; whatever it is, it is all the total holds.
    assert c["total"] == c["platform"]


# ---------------------------------------------------------------------------- content
def test_variants_are_distinct_arm_channel_category_discount_personalised_combos() -> None:
    led = Ledger()
    base = {"arm": 1, "channel": EMAIL, "category": 0, "discount": 0.25, "depth": 0.5}
    add_contacts(
        led,
        [
            base,  # variant A
            {**base, "depth": 1.0},  # A again: personalised either way
            {**base, "depth": 0.0},  # B: not personalised
            {**base, "arm": 2},  # C: another arm
            {**base, "channel": SMS},  # D: another channel
            {**base, "category": 3},  # E: another category
            {**base, "category": -1},  # F: generic message
            {**base, "discount": 0.5},  # G: another discount
            {**base, "discount": 0.0, "depth": 0.0, "status": HOLDOUT},  # not a variant
            {"arm": 5, "channel": PHONE, "category": 2, "depth": 1.0, "status": UNREACHABLE},
        ],
    )
    c = costs(led)
    variants = 7
    depth_delivered = 0.5 + 1.0 + 0.0 + 0.5 + 0.5 + 0.5 + 0.5 + 0.5
    assert c["content"] == pytest.approx(variants * 100.0 + 4.0 * depth_delivered, abs=1e-9)
    assert c["content"] == pytest.approx(716.0, abs=1e-9)
    check_total(c)


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
    assert c["platform"] == 0.0  # purchases alone are no campaign
    check_total(c)


# ---------------------------------------------------------------------------- data
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
    c = costs(Ledger(), kinds=kinds, months=months)
    assert c["data"] == pytest.approx(expected, abs=1e-12)
    assert c["total"] == pytest.approx(expected, abs=1e-12)  # nothing else on an empty ledger


# ---------------------------------------------------------------------------- platform
@pytest.mark.parametrize("strategy", ["mass", "one_to_one", "hybrid", "none"])
def test_platform_cost_is_zero_without_contacts(strategy: str) -> None:
    assert costs(Ledger(), strategy=strategy)["platform"] == 0.0


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
        "content": 2 * 100.0 + 4.0 * (1.0 + 1.0 + 0.5),
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
        ({"optout_value": {**ECON.optout_value, "sms": -3}}, r"economics\.optout_value\.sms"),
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
