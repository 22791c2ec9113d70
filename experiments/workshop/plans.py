"""The world and the plan as a student sets them: marketing terms, units and bounds.

Nothing typed on the page reaches a config key, a file path or a shell: each control is
a field of :class:`World` or :class:`Plan` with its :class:`Bound`, the mapping to the
library's keys is written here in code, and the result is validated by the library's
own schema (:mod:`sim.presets`).  Defaults come from the presets in ``conf/``.  Market
size, horizon and segment count are capped so that one run stays around a second on a
small machine.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, replace
from typing import Any

from sim import presets
from sim.config import CHANNELS, DATA_KINDS, MarketConfig
from sim.economics import EconomicsConfig
from sim.schema import ConfigError
from sim.strategies import StrategyConfig
from sim.strategies.scorers import SCORER_NAMES
from sim.strategies.segmented import BASES
from sim.strategies.triggered import EVENTS

#: Market presets offered on the page, with their names in marketing terms.
MARKETS: dict[str, str] = {
    "default": "Omnichannel retailer",
    "fmcg_tribal": "FMCG brand, tribal tastes",
    "specialty_retail": "Specialty retailer, individual tastes",
    "privacy_regulated": "Privacy-regulated retailer",
    "small_retailer": "Small bakery chain",
    "b2b_high_value": "B2B machinery, high value",
}
STRATEGIES: dict[str, str] = {
    "mass": "Mass broadcast",
    "segmented": "Segments",
    "triggered": "Event triggers",
    "one_to_one": "One-to-one",
}
CHANNEL_LABELS: dict[str, str] = {
    "email": "e-mail",
    "sms": "SMS",
    "push": "app push",
    "social": "social",
    "direct_mail": "direct mail",
    "phone": "phone",
    "display": "display ads",
}
DATA_LABELS: dict[str, str] = {
    "implicit": "implicit (clicks, purchases)",
    "explicit": "explicit (reviews, declared tastes)",
    "ambient": "ambient (location, situation)",
}
BASIS_LABELS: dict[str, str] = {
    "tribe": "declared tribe",
    "kmeans": "clusters of observed interests",
    "rfm": "recency-frequency-value cells",
}
EVENT_LABELS: dict[str, str] = {
    "cart_abandoned": "cart abandoned",
    "browsed_no_buy": "browsed, did not buy",
    "lapsed": "lapsed (no purchase for 90 days)",
    "near_store": "near a store",
}
SCORER_LABELS: dict[str, str] = {
    "oracle": "perfect knowledge (the simulator's truth)",
    "propensity": "propensity model (likely buyers)",
    "causalml": "uplift model learned on a pilot (slow: about 6 s)",
}
#: Segment counts offered (capped: the test wave of a fine segmentation is noise).
K_CHOICES: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256)
#: Discount levels a one-to-one plan may offer, in %.
OFFER_CHOICES: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0, 30.0)
#: Market size the page uses unless the preset is smaller (a run takes about 0.5 s).
DEFAULT_CUSTOMERS = 10_000


@dataclass(frozen=True)
class Bound:
    """A control's label, unit, range and step, as the page shows them."""

    label: str
    unit: str
    lo: float
    hi: float
    step: float
    help: str = ""

    def problem(self, value: float) -> str | None:
        """A readable message if ``value`` is outside the range, else None."""
        if value != value or not self.lo <= value <= self.hi:  # NaN fails both
            return (
                f"{self.label} = {value:g} {self.unit} is outside the allowed range "
                f"{self.lo:g} to {self.hi:g} {self.unit}."
            )
        return None


BOUNDS: dict[str, Bound] = {
    # The world.
    "customers": Bound(
        "Market size", "customers", 1_000, 20_000, 1_000, "Capped so one run takes about a second."
    ),
    "days": Bound("Horizon", "days", 30, 90, 30, "The campaign runs over the whole horizon."),
    "tribalism": Bound(
        "Taste tribalism",
        "%",
        0,
        100,
        5,
        "Share of the differences in taste explained by the tribe (beer: high; furniture: low).",
    ),
    "privacy": Bound(
        "Privacy sensitivity",
        "x preset",
        0.25,
        4.0,
        0.25,
        "How easily customers feel a message is creepy, relative to the preset "
        "(2 = backlash at half the intrusiveness).",
    ),
    "consent_implicit": Bound("Consent to implicit data", "% of customers", 0, 100, 5),
    "consent_explicit": Bound("Consent to explicit data", "% of customers", 0, 100, 5),
    "consent_ambient": Bound("Consent to ambient data", "% of customers", 0, 100, 5),
    "margin": Bound("Gross margin", "% of revenue", 5, 80, 1),
    "basket": Bound("Average basket value", "currency", 1, 20_000, 5),
    "data_implicit": Bound("Implicit data cost", "per consenting customer per month", 0, 2, 0.01),
    "data_explicit": Bound("Explicit data cost", "per consenting customer per month", 0, 2, 0.01),
    "data_ambient": Bound("Ambient data cost", "per consenting customer per month", 0, 2, 0.01),
    "content": Bound("Content cost", "per message variant", 0, 5_000, 50),
    **{
        f"contact_{ch}": Bound(f"{CHANNEL_LABELS[ch]} contact cost", "per contact", 0, 20, 0.005)
        for ch in CHANNELS
    },
    # The plan.
    "holdout": Bound(
        "Holdout", "% of customers", 5, 50, 5, "Kept uncontacted to measure the campaign."
    ),
    "every_days": Bound("Frequency", "days between waves", 1, 30, 1),
    "discount": Bound("Discount", "% off", 0, 50, 5),
    "depth": Bound(
        "Personalisation depth", "%", 0, 100, 10, "0 = generic message, 100 = fully personal."
    ),
    "k": Bound("Segments", "segments", 1, max(K_CHOICES), 1),
    "delay_hours": Bound("Delay after the event", "hours", 1, 72, 1),
    "share": Bound(
        "Most customers contacted per wave", "% of customers", 1, 100, 1, "The scorer's top share."
    ),
    "budget": Bound("Budget", "currency (contact and personalisation)", 1, 1_000_000, 100),
}


def _pct(x: float) -> float:
    return round(float(x) * 100.0, 6)


@dataclass(frozen=True)
class World:
    """A market and its economics in the page's terms (percentages as shown)."""

    preset: str = "default"
    customers: int = DEFAULT_CUSTOMERS
    days: int = 60
    tribalism: float = 50.0
    privacy: float = 1.0
    consent_implicit: float = 80.0
    consent_explicit: float = 50.0
    consent_ambient: float = 30.0
    margin: float = 35.0
    basket: float = 60.0
    data_implicit: float = 0.02
    data_explicit: float = 0.03
    data_ambient: float = 0.08
    content: float = 300.0
    contact_email: float = 0.01
    contact_sms: float = 0.05
    contact_push: float = 0.005
    contact_social: float = 0.02
    contact_direct_mail: float = 0.9
    contact_phone: float = 4.0
    contact_display: float = 0.004

    @classmethod
    def for_preset(cls, preset: str, **changes: Any) -> World:
        """The preset's own values (market size capped at :data:`DEFAULT_CUSTOMERS`)."""
        if preset not in MARKETS:
            raise ConfigError(
                f"market preset {preset!r} is not offered; choose one of {', '.join(MARKETS)}."
            )
        m = presets.market(preset)
        e = presets.economics(_economics_name(preset))
        values: dict[str, Any] = {
            "preset": preset,
            "customers": min(m.n_consumers, DEFAULT_CUSTOMERS),
            "tribalism": _pct(m.tribes.variance_share),
            "consent_implicit": _pct(m.consent.share["implicit"]),
            "consent_explicit": _pct(m.consent.share["explicit"]),
            "consent_ambient": _pct(m.consent.share["ambient"]),
            "margin": _pct(e.margin_rate),
            "basket": float(m.purchase.basket_mean),
            "data_implicit": e.data_cost_per_month["implicit"],
            "data_explicit": e.data_cost_per_month["explicit"],
            "data_ambient": e.data_cost_per_month["ambient"],
            "content": e.content_cost_per_variant,
            **{f"contact_{ch}": e.contact_cost[ch] for ch in CHANNELS},
        }
        values.update(changes)
        return cls(**values)

    def problems(self) -> list[str]:
        """Every value outside its bounds, in the page's words (empty: usable)."""
        out = [] if self.preset in MARKETS else [f"Unknown market preset {self.preset!r}."]
        for f in dataclasses.fields(self):
            if f.name in BOUNDS:
                msg = BOUNDS[f.name].problem(float(getattr(self, f.name)))
                if msg:
                    out.append(msg)
        return out

    def configs(self) -> tuple[MarketConfig, EconomicsConfig]:
        """The library's validated market and economics configs for this world."""
        check(self.problems())
        base = presets.market(self.preset)
        market = presets.market(
            self.preset,
            n_consumers=int(self.customers),
            horizon_days=float(self.days),
            **{
                "tribes.variance_share": self.tribalism / 100.0,
                "creepiness.threshold_median": base.creepiness.threshold_median / self.privacy,
                "consent.share": {
                    "implicit": self.consent_implicit / 100.0,
                    "explicit": self.consent_explicit / 100.0,
                    "ambient": self.consent_ambient / 100.0,
                },
                "purchase.basket_mean": float(self.basket),
            },
        )
        econ = presets.economics(
            _economics_name(self.preset),
            margin_rate=self.margin / 100.0,
            content_cost_per_variant=float(self.content),
            data_cost_per_month={
                "implicit": float(self.data_implicit),
                "explicit": float(self.data_explicit),
                "ambient": float(self.data_ambient),
            },
            contact_cost={ch: float(getattr(self, f"contact_{ch}")) for ch in CHANNELS},
        )
        return market, econ

    def key(self) -> str:
        return _key(self)

    def describe(self) -> str:
        return (
            f"{MARKETS.get(self.preset, self.preset)}: {self.customers:,} customers, "
            f"{self.days} days, tribalism {self.tribalism:g} %, privacy sensitivity "
            f"{self.privacy:g}x, margin {self.margin:g} %, basket {self.basket:,.0f}"
        )


def _economics_name(preset: str) -> str:
    return preset if preset in presets.options("economics") else "default"


@dataclass(frozen=True)
class Plan:
    """The strategy a student plays, with the knobs of every strategy (only the chosen
    strategy's knobs are used).  Percentages as shown on the page; ``budget`` None: no
    limit."""

    strategy: str = "mass"
    holdout: float = 10.0
    channel: str = "email"
    every_days: float = 7.0
    discount: float = 0.0
    depth: float = 100.0
    basis: str = "kmeans"
    k: int = 4
    events: tuple[str, ...] = ("cart_abandoned",)
    trigger_channel: str = "email"
    delay_hours: float = 3.0
    scorer: str = "oracle"
    share: float = 20.0
    budget: float | None = None
    offers: tuple[float, ...] = (0.0, 10.0, 20.0)
    channels: tuple[str, ...] = ("email", "sms", "push")
    data_kinds: tuple[str, ...] = ("implicit", "explicit")

    @classmethod
    def default(cls, strategy: str) -> Plan:
        """The strategy's preset (``conf/strategy``) in the page's terms."""
        if strategy not in STRATEGIES:
            raise ConfigError(
                f"strategy {strategy!r} is not offered; choose one of {', '.join(STRATEGIES)}."
            )
        cfg = presets.strategy(strategy)
        c: Any = cfg
        values: dict[str, Any] = {"strategy": strategy, "holdout": _pct(c.holdout_share)}
        if strategy in ("mass", "segmented"):
            values.update(channel=c.channel, every_days=c.every_days, discount=_pct(c.discount))
        if strategy == "segmented":
            values.update(basis=c.basis, k=c.k, depth=_pct(c.depth))
        if strategy == "triggered":
            rule = c.rules[0]
            values.update(
                events=tuple(r.event for r in c.rules),
                trigger_channel=rule.channel,
                delay_hours=round(rule.delay_days * 24.0, 6),
                discount=_pct(rule.discount),
                depth=_pct(rule.depth),
            )
        if strategy == "one_to_one":
            values.update(
                scorer=c.scorer,
                share=_pct(c.max_share),
                offers=tuple(_pct(d) for d in c.discounts),
                channels=tuple(c.channels),
                data_kinds=tuple(c.data_kinds),
                depth=_pct(c.depth),
            )
        return cls(**values)

    def problems(self) -> list[str]:
        """Every reason the plan cannot run, in the page's words (empty: usable)."""
        out: list[str] = []
        if self.strategy not in STRATEGIES:
            return [f"Unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}."]
        used = {"holdout"} | set(USED[self.strategy])
        for name in sorted(used & set(BOUNDS)):
            value = getattr(self, name)
            if name == "budget" and value is None:
                continue
            if name == "budget" and value <= 0:
                out.append(
                    "A budget of 0 buys no contact: enter a positive budget, or untick "
                    "'Limit the budget' to run without a cap."
                )
                continue
            msg = BOUNDS[name].problem(float(value))
            if msg:
                out.append(msg)
        s = self.strategy
        if s in ("mass", "segmented") and self.channel not in CHANNELS:
            out.append(f"Unknown channel {self.channel!r}.")
        if s == "segmented":
            if self.basis not in BASES:
                out.append(f"Unknown segmentation basis {self.basis!r}.")
            if self.k not in K_CHOICES:
                out.append(f"Segments: choose one of {', '.join(map(str, K_CHOICES))}.")
        if s == "triggered":
            if not self.events:
                out.append(
                    "This plan contacts nobody: pick at least one trigger event "
                    f"({', '.join(EVENT_LABELS.values())})."
                )
            out += [f"Unknown trigger event {e!r}." for e in self.events if e not in EVENTS]
            if self.trigger_channel not in CHANNELS:
                out.append(f"Unknown channel {self.trigger_channel!r}.")
        if s == "one_to_one":
            if self.scorer not in SCORER_NAMES:
                out.append(f"Unknown scorer {self.scorer!r}.")
            if not self.channels:
                out.append("This plan contacts nobody: pick at least one channel.")
            if not self.offers:
                out.append("Pick at least one offer (0 % is a message without discount).")
            out += [f"Unknown channel {c!r}." for c in self.channels if c not in CHANNELS]
            out += [f"Offer {o:g} % is not offered." for o in self.offers if o not in OFFER_CHOICES]
            out += [f"Unknown data kind {d!r}." for d in self.data_kinds if d not in DATA_KINDS]
        return out

    def config(self, days: float) -> StrategyConfig:
        """The library's validated strategy config, contacting over ``days``."""
        check(self.problems())
        common: dict[str, Any] = {
            "holdout_share": self.holdout / 100.0,
            "start_day": 0.0,
            "end_day": float(days),
            "budget": None if self.budget is None else float(self.budget),
        }
        s = self.strategy
        if s == "mass":
            return presets.strategy(
                "mass",
                channel=self.channel,
                every_days=float(self.every_days),
                discount=self.discount / 100.0,
                **common,
            )
        if s == "segmented":
            return presets.strategy(
                "segmented",
                k=int(self.k),
                basis=self.basis,
                channel=self.channel,
                every_days=float(self.every_days),
                discount=self.discount / 100.0,
                depth=self.depth / 100.0,
                **common,
            )
        if s == "triggered":
            rules = [
                {
                    "event": e,
                    "channel": self.trigger_channel,
                    "delay_days": self.delay_hours / 24.0,
                    "discount": self.discount / 100.0,
                    "depth": self.depth / 100.0,
                }
                for e in self.events
            ]
            return presets.strategy("triggered", rules=rules, **common)
        return presets.strategy(
            "one_to_one",
            scorer=self.scorer,
            max_share=self.share / 100.0,
            discounts=[o / 100.0 for o in sorted(self.offers)],
            channels=list(self.channels),
            data_kinds=list(self.data_kinds),
            depth=self.depth / 100.0,
            **common,
        )

    def key(self) -> str:
        """A canonical text of the knobs the strategy uses (cache key, CSV column)."""
        used = {"strategy", "holdout", "budget", *USED[self.strategy]}
        data = {k: v for k, v in dataclasses.asdict(self).items() if k in used}
        return json.dumps(data, sort_keys=True)

    def with_budget(self, budget: float | None) -> Plan:
        return replace(self, budget=budget)

    def describe(self) -> str:
        """The plan in one line of marketing terms."""
        s = self.strategy
        if s == "mass":
            text = (
                f"Mass {CHANNEL_LABELS.get(self.channel, self.channel)} every "
                f"{self.every_days:g} days, {self.discount:g} % off"
            )
        elif s == "segmented":
            text = (
                f"{self.k} segments by {BASIS_LABELS.get(self.basis, self.basis)}, "
                f"{CHANNEL_LABELS.get(self.channel, self.channel)} every {self.every_days:g} "
                f"days, {self.discount:g} % off, personalisation {self.depth:g} %"
            )
        elif s == "triggered":
            events = ", ".join(EVENT_LABELS.get(e, e) for e in self.events) or "no event"
            text = (
                f"Triggers on {events}: {CHANNEL_LABELS.get(self.trigger_channel, '?')} after "
                f"{self.delay_hours:g} h, {self.discount:g} % off, personalisation {self.depth:g} %"
            )
        else:
            scorer = {"oracle": "perfect knowledge", "propensity": "propensity model"}.get(
                self.scorer, "uplift model"
            )
            offers = "/".join(f"{o:g}" for o in sorted(self.offers)) or "none"
            channels = ", ".join(CHANNEL_LABELS.get(c, c) for c in self.channels) or "none"
            kinds = "+".join(self.data_kinds) or "no stored data"
            text = (
                f"One-to-one by {scorer}, top {self.share:g} % per week, offers {offers} %, "
                f"{channels}, personalisation {self.depth:g} %, data {kinds}"
            )
        budget = "no budget limit" if self.budget is None else f"budget {self.budget:,.0f}"
        return f"{text}; {budget}; holdout {self.holdout:g} %"


#: The plan fields each strategy uses (besides holdout and budget).
USED: dict[str, tuple[str, ...]] = {
    "mass": ("channel", "every_days", "discount", "budget"),
    "segmented": ("channel", "every_days", "discount", "depth", "basis", "k", "budget"),
    "triggered": ("events", "trigger_channel", "delay_hours", "discount", "depth", "budget"),
    "one_to_one": (
        "scorer",
        "share",
        "offers",
        "channels",
        "data_kinds",
        "depth",
        "budget",
    ),
}


def check(problems: list[str]) -> None:
    if problems:
        raise ConfigError(problems)


def _key(obj: Any) -> str:
    return json.dumps(dataclasses.asdict(obj), sort_keys=True)
