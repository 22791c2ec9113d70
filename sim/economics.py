"""Campaign economics: one cost model for every strategy.

Costs of a campaign over its window (all in the market's currency):

* **contact**: ``c_k`` per delivered contact on channel k;
* **content**: ``c_variant`` per distinct message variant (channel x category x discount x
  personalised or not) plus ``c_module·p`` per delivered contact of personalisation
  depth p (modular content assembled per consumer);
* **offer**: the discount paid on every redemption, by persuadables and sure things alike;
* **data**: ``c_kind`` per consenting consumer per month for each data kind the strategy
  uses (collection, storage, processing);
* **platform**: a fixed cost per strategy (tools, decision time, staff);
* **opt-out**: the value lost per consumer opting out of a channel.

Incremental profit = margin_rate x incremental revenue - offer - (other costs);
ROI = incremental profit / total cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import CHANNELS, DATA_KINDS
from sim.ledger import ContactStatus, Ledger
from sim.schema import ConfigError, check_fields, spec


@dataclass
class EconomicsConfig:
    """Unit costs and margins (``conf/economics/<name>.yaml``)."""

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
    optout_value: dict[str, float] = spec(
        keys=CHANNELS,
        lo=0.0,
        each=True,
        factory=lambda: {
            "email": 4.0,
            "sms": 3.0,
            "push": 2.0,
            "social": 1.0,
            "direct_mail": 2.0,
            "phone": 3.0,
            "display": 0.5,
        },
    )

    def __post_init__(self) -> None:
        check_fields(self)

    def platform(self, strategy: str) -> float:
        if strategy not in self.platform_cost:
            raise ConfigError(
                f"economics.platform_cost: no entry for strategy {strategy!r}; "
                f"entries: {', '.join(self.platform_cost)}."
            )
        return self.platform_cost[strategy]

    def contact_costs(self) -> np.ndarray:
        return np.array([self.contact_cost[c] for c in CHANNELS])


def campaign_costs(
    econ: EconomicsConfig,
    ledger: Ledger,
    strategy: str,
    consent: np.ndarray,
    data_kinds: tuple[str, ...],
    months: float,
) -> dict[str, float]:
    """Costs by type and their total for a campaign recorded in ``ledger``."""
    c = ledger.contacts
    delivered = c.column("status") == ContactStatus.DELIVERED
    ch = c.column("channel")[delivered]
    contact = float(econ.contact_costs()[ch].sum())
    depth = c.column("depth")[delivered]
    variants = 0
    if delivered.any():
        combo = np.stack(
            [
                c.column("arm")[delivered].astype(np.int64),
                ch.astype(np.int64),
                c.column("category")[delivered].astype(np.int64),
                np.round(c.column("discount")[delivered] * 1000).astype(np.int64),
                (depth > 0).astype(np.int64),
            ],
            axis=1,
        )
        variants = int(np.unique(combo, axis=0).shape[0])
    content = variants * econ.content_cost_per_variant + float(
        depth.sum() * econ.personalisation_cost_per_contact
    )
    p = ledger.purchases
    offer = float((p.column("value").astype(np.float64) * p.column("discount")).sum())
    data = 0.0
    for kind in data_kinds:
        j = DATA_KINDS.index(kind)
        data += econ.data_cost_per_month[kind] * float(consent[:, j].sum()) * months
    optouts = ledger.optouts
    optout_values = np.array([econ.optout_value[ch] for ch in CHANNELS])
    optout = float(optout_values[optouts.column("channel")].sum())
    platform = econ.platform(strategy) if len(c) else 0.0
    costs = {
        "contact": contact,
        "content": content,
        "offer": offer,
        "data": data,
        "platform": platform,
        "optout": optout,
    }
    costs["total"] = float(sum(costs.values()))
    return costs
