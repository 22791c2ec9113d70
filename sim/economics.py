"""Campaign economics: one cost model for every strategy.

Costs of a campaign (all in the market's currency):

* **contact**: ``c_k`` per delivered contact on channel k;
* **content**: ``c_variant`` per distinct *creative* (:func:`variant_key`: channel x
  category x discount x personalised or not) that reached anyone, plus ``c_module·p`` per
  delivered contact of personalisation depth p (modules assembled per consumer);
* **offer**: the discount paid on every redemption, by persuadables and sure things alike;
* **data**: ``c_kind`` per consenting consumer per month for each data kind the strategy
  uses, over the campaign window as simulated (clipped to the horizon), and only if the
  campaign delivered anything;
* **platform**: the strategy's *declared fixed cost* (tools, decision time, staff), due
  once the strategy is chosen, whether or not it ends up sending;
* **opt-out**: the channel's forward value per consumer (:func:`optout_prices`) for every
  consumer who opts out of it.

So a campaign that sends nothing costs its platform fee and nothing else.  Incremental
profit = margin_rate x incremental revenue - offer - (other costs); ROI = incremental
profit / total cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.config import CHANNELS, DATA_KINDS
from sim.ledger import ContactStatus, Ledger
from sim.schema import ConfigError, check_fields, choice_error, spec

if TYPE_CHECKING:
    from sim.market import Market

WEEKLY = 4.33  # sends per month of a weekly programme (52 / 12)


@dataclass
class EconomicsConfig:
    """Unit costs and margins (``conf/economics/<name>.yaml``).

    ``optout_sends_per_month`` and ``optout_horizon_months`` declare how the firm would
    use a channel address it keeps (generic messages at that cadence over that horizon);
    they price an opt-out (:func:`optout_prices`).  ``optout_value``: fixed prices per
    opt-out for the channels it names (an override for sensitivity analyses; channels not
    named are priced from the market).
    """

    name: str = "default"
    margin_rate: float = spec(0.35, lo=0.0, hi=1.0)
    contact_cost: dict[str, float] = spec(
        keys=CHANNELS,
        lo=0.0,
        each=True,
        factory=lambda: {
            "email": 0.01,
            "sms": 0.05,
            "push": 0.005,
            "social": 0.02,
            "direct_mail": 0.9,
            "phone": 4.0,
            "display": 0.004,
        },
    )
    content_cost_per_variant: float = spec(300.0, lo=0.0)
    personalisation_cost_per_contact: float = spec(0.03, lo=0.0)
    data_cost_per_month: dict[str, float] = spec(
        keys=DATA_KINDS,
        lo=0.0,
        each=True,
        factory=lambda: {"implicit": 0.02, "explicit": 0.03, "ambient": 0.08},
    )
    platform_cost: dict[str, float] = spec(
        lo=0.0,
        each=True,
        factory=lambda: {
            "none": 0.0,
            "mass": 200.0,
            "segmented": 800.0,
            "triggered": 1500.0,
            "one_to_one": 4000.0,
            "contextual": 1000.0,
            "hybrid": 3000.0,
        },
    )
    optout_sends_per_month: dict[str, float] = spec(
        keys=CHANNELS,
        lo=0.0,
        each=True,
        factory=lambda: {
            "email": WEEKLY,
            "sms": 2.0,
            "push": WEEKLY,
            "social": WEEKLY,
            "direct_mail": 1.0,
            "phone": 1.0,
            "display": WEEKLY,
        },
    )
    optout_horizon_months: float = spec(12.0, lo=0.0)
    optout_value: dict[str, float] = spec(factory=dict, lo=0.0, each=True)

    def __post_init__(self) -> None:
        check_fields(self)
        bad = [
            choice_error("optout_value", k, CHANNELS)
            for k in self.optout_value
            if k not in CHANNELS
        ]
        if bad:
            raise ConfigError(bad)

    def platform(self, strategy: str) -> float:
        if strategy not in self.platform_cost:
            raise ConfigError(
                f"economics.platform_cost: no entry for strategy {strategy!r}; "
                f"entries: {', '.join(self.platform_cost)}."
            )
        return self.platform_cost[strategy]

    def contact_costs(self) -> np.ndarray:
        return np.array([self.contact_cost[c] for c in CHANNELS])

    def unit_costs(self, channel: np.ndarray | int, depth: np.ndarray | float) -> np.ndarray:
        """Variable cost of one delivered contact: contact price + personalisation."""
        return self.contact_costs()[channel] + self.personalisation_cost_per_contact * np.asarray(
            depth, np.float64
        )


def variant_key(
    channel: np.ndarray | int,
    category: np.ndarray | int,
    discount: np.ndarray | float,
    depth: np.ndarray | float,
) -> np.ndarray:
    """The creative a contact uses, as one int64 per contact: channel x category (-1 for a
    generic message) x discount (to the basis point) x personalised or not.

    A creative is what content costs are paid for: its copy, layout and offer.  The
    *level* of personalisation is left out: depth p selects how many per-consumer modules
    fill a personalised template's slots, and modules are paid per contact
    (``personalisation_cost_per_contact``), so one personalised template serves every
    depth > 0.  Segments or rules that send the same message share one creative; the arm
    label a strategy records (segment, rule, pilot arm) does not make a new one.
    """
    ch = np.asarray(channel).astype(np.int64)
    cat = np.asarray(category).astype(np.int64) + 1
    bp = np.round(np.asarray(discount, np.float64) * 10_000).astype(np.int64)
    personalised = (np.asarray(depth) > 0).astype(np.int64)
    return ((ch * 65_536 + cat) * 10_001 + bp) * 2 + personalised


def optout_prices(econ: EconomicsConfig, market: Market, day: float) -> np.ndarray:
    """Value lost per consumer opting out of each channel (array in ``CHANNELS`` order).

    The channel's simulated forward value per consumer, from the model's closed form at
    ``day`` (the campaign's start; no campaign has acted yet):

        V_k = H · s_k · mean_{i ∈ A_k} max(0, m · b_i · u_ik - c_k)

    with H = ``optout_horizon_months``, s_k = ``optout_sends_per_month[k]``, A_k the
    consumers addressable on k, m the margin rate, b_i the consumer's mean basket, c_k the
    contact cost and u_ik :meth:`Market.expected_uplift` of a generic message (no
    category, discount, personalisation or data) on k at the consumer's active hour.
    Assumptions: the firm keeps sending only where a message pays (the positive part);
    the state at ``day`` persists over the horizon (no fatigue build-up, no awareness
    saturation, no churn, no discounting); effects end with the response window (awareness
    lasting beyond it and word of mouth are left out).  Channels named in
    ``econ.optout_value`` take that price.
    Reads latent state: ground-truth accounting and the oracle scorer only.
    """
    pop, n = market.pop, market.pop.n
    everyone = np.arange(n)
    at = day + np.floor(pop.active_hour.astype(np.float64)) / 24.0
    value_per_sale = econ.margin_rate * pop.basket_mean.astype(np.float64)
    costs = econ.contact_costs()
    prices = np.zeros(len(CHANNELS))
    for k, name in enumerate(CHANNELS):
        if name in econ.optout_value:
            prices[k] = econ.optout_value[name]
            continue
        ok = pop.reachable[:, k] & ~market.state.opted_out[:, k]
        if not ok.any():
            continue
        who = everyone[ok]
        uplift = market.expected_uplift(who, k, at=at[ok])["uplift"].astype(np.float64)
        per_send = np.maximum(value_per_sale[ok] * uplift - costs[k], 0.0).mean()
        prices[k] = econ.optout_horizon_months * econ.optout_sends_per_month[name] * per_send
    return prices


def window_months(start_day: float, end_day: float, horizon_days: float) -> float:
    """Months of a campaign window as simulated: [start, end) clipped to [0, horizon)."""
    return max(min(end_day, horizon_days) - min(start_day, horizon_days), 0.0) / 30.0


def campaign_costs(
    econ: EconomicsConfig,
    ledger: Ledger,
    strategy: str,
    consent: np.ndarray,
    data_kinds: tuple[str, ...],
    months: float,
    optout_price: np.ndarray,
) -> dict[str, float]:
    """Costs by type and their total for a campaign recorded in ``ledger``.

    ``months``: the campaign window as simulated (:func:`window_months`); ``optout_price``:
    value per opt-out by channel (:func:`optout_prices`).
    """
    c = ledger.contacts
    delivered = c.column("status") == ContactStatus.DELIVERED
    ch = c.column("channel")[delivered]
    contact = float(econ.contact_costs()[ch].sum())
    depth = c.column("depth")[delivered]
    keys = variant_key(ch, c.column("category")[delivered], c.column("discount")[delivered], depth)
    creatives = int(np.unique(keys).size)
    content = creatives * econ.content_cost_per_variant + float(
        depth.astype(np.float64).sum() * econ.personalisation_cost_per_contact
    )
    p = ledger.purchases
    offer = float((p.column("value").astype(np.float64) * p.column("discount")).sum())
    data = 0.0
    if delivered.any():
        for kind in data_kinds:
            j = DATA_KINDS.index(kind)
            data += econ.data_cost_per_month[kind] * float(consent[:, j].sum()) * months
    optout = float(np.asarray(optout_price, np.float64)[ledger.optouts.column("channel")].sum())
    costs = {
        "contact": contact,
        "content": content,
        "offer": offer,
        "data": data,
        "platform": econ.platform(strategy),
        "optout": optout,
    }
    costs["total"] = float(sum(costs.values()))
    return costs
