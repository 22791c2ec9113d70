"""Typed configuration of the synthetic market.

Every knob of the model lives here with its unit and valid range; ``conf/market/*.yaml``
sets them and :func:`sim.schema.build` checks them before any work starts.  The
equations that use each knob are documented in :mod:`sim.population`,
:mod:`sim.behaviour`, :mod:`sim.response` and :mod:`sim.word_of_mouth`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.schema import ConfigError, check_fields, choice, spec

CHANNELS: tuple[str, ...] = ("email", "sms", "push", "social", "direct_mail", "phone", "display")
"""Contact channels, in the fixed order used by every per-channel array."""

DATA_KINDS: tuple[str, ...] = ("implicit", "explicit", "ambient")
"""Kinds of consumer data (Weigend): clicks and purchases; reviews, wish lists and
declared preferences; location, time and situation."""

LIFECYCLE: tuple[str, ...] = ("new", "active", "lapsed")


def channel_code(name: str, where: str = "channel") -> int:
    """Index of a channel name in :data:`CHANNELS`; a clear error names the valid choices."""
    return CHANNELS.index(choice(where, name, CHANNELS))


@dataclass
class ChannelConfig:
    """One contact channel as the market sees it.

    ``reach``: share of consumers with an address on the channel.  ``preference_mean``:
    mean affinity (0-1) of consumers for the channel.  ``intimacy``: how personal the
    channel feels (multiplies intrusiveness).  ``lift``: persuasion hazard (purchases per
    day) a neutral, generic message adds during the response window.  ``awareness_gain``:
    share of the awareness gap a contact closes (lasting: it fades only with
    ``awareness.decay``).  ``timing_weight``: how much the hour of delivery matters (0 for
    direct mail).  ``click_rate``: share of delivered contacts (without backlash) that
    click through to the site at once: a short-lived visit, logged with the contact
    (``clicked`` in the ledger), whose purchase effect is the persuasion window (``lift``).
    """

    reach: float = spec(0.5, lo=0.0, hi=1.0)
    preference_mean: float = spec(0.5, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    intimacy: float = spec(1.0, lo=0.0)
    lift: float = spec(0.002, lo=0.0)
    awareness_gain: float = spec(0.05, lo=0.0, hi=1.0)
    timing_weight: float = spec(0.5, lo=0.0, hi=1.0)
    click_rate: float = spec(0.0, lo=0.0, hi=1.0)

    def __post_init__(self) -> None:
        check_fields(self)


def _default_channels() -> dict[str, ChannelConfig]:
    # E-mail lift and awareness_gain: the Hillstrom calibration (sim/calibration.py,
    # conf/market/hillstrom_like.yaml), carried into every preset that does not override
    # them.  The other channels' values are set by hand.
    return {
        "email": ChannelConfig(0.85, 0.55, 0.6, 0.00271623, 0.05, 0.3, 0.0768557),
        "sms": ChannelConfig(0.55, 0.35, 1.4, 0.0025, 0.05, 0.8),
        "push": ChannelConfig(0.35, 0.40, 1.1, 0.0020, 0.05, 0.8),
        "social": ChannelConfig(0.60, 0.45, 0.7, 0.0008, 0.08, 0.4),
        "direct_mail": ChannelConfig(0.90, 0.40, 0.8, 0.0030, 0.10, 0.0),
        "phone": ChannelConfig(0.50, 0.20, 2.0, 0.0050, 0.05, 0.9),
        "display": ChannelConfig(0.95, 0.30, 0.3, 0.0003, 0.12, 0.2),
    }


@dataclass
class TribeConfig:
    """Tribes: groups whose members share preferences and privacy attitudes.

    ``n``: number of tribes.  ``size_concentration``: Dirichlet concentration of tribe
    sizes (large = equal sizes).  ``variance_share``: share of each consumer's preference
    variance explained by the tribe (1 = identical tastes inside a tribe).
    ``declared_share``: share of consumers who declare their tribe (explicit data).
    """

    n: int = spec(12, lo=1)
    size_concentration: float = spec(2.0, lo=0.0, lo_open=True)
    variance_share: float = spec(0.5, lo=0.0, hi=1.0)
    declared_share: float = spec(0.4, lo=0.0, hi=1.0)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class PurchaseConfig:
    """Organic demand: base purchase hazard and basket values.

    ``base_rate``: mean organic purchases per consumer-day at full awareness;
    ``rate_shape``: gamma shape of its spread across consumers; ``basket_mean`` (currency)
    and ``basket_sigma`` (log-normal spread); ``discount_sensitivity``: mean response
    multiplier per unit discount (gamma distributed across consumers);
    ``preference_temperature``: how sharply tastes concentrate on favourite categories.

    Inter-purchase dependence (:mod:`sim.dip`): a purchase in category c satisfies part
    of the consumer's demand in c, which comes back as the purchase is used up.  The
    category's weight in every hazard is multiplied by ``1 - dip_depth·max(0, 1 - age /
    R_c)`` (age: days since the consumer's last purchase in c), a linear recovery over
    the category's ``replenishment_days`` R_c: the inventory a purchase brings is
    consumed at a constant rate (Blattberg, Eppen & Lieberman, 1981; Neslin, Henderson
    & Quelch, 1985).  ``dip_depth`` (0: no dependence) is the share of the category's
    demand a purchase satisfies at once; ``replenishment_days`` holds one value per
    category, in the order of ``categories``, or one value for all.  The defaults are
    assumed usage cycles of a general retailer's categories (a week or two for
    groceries, about a month and a half for beauty, a season for apparel and toys,
    half a year for shoes, a year for electronics), not estimates.
    """

    base_rate: float = spec(0.0025, lo=0.0, hi=1.0, lo_open=True)
    rate_shape: float = spec(1.5, lo=0.0, lo_open=True)
    basket_mean: float = spec(60.0, lo=0.0, lo_open=True)
    basket_sigma: float = spec(0.5, lo=0.0, hi=3.0)
    discount_sensitivity: float = spec(3.0, lo=0.0)
    preference_temperature: float = spec(2.0, lo=0.0)
    dip_depth: float = spec(0.8, lo=0.0, hi=1.0)
    replenishment_days: list[float] = spec(
        factory=lambda: [90.0, 180.0, 45.0, 120.0, 365.0, 120.0, 90.0, 10.0],
        lo=0.0,
        lo_open=True,
        each=True,
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class LifecycleConfig:
    """Lifecycle stages new, active, lapsed and their dynamics.

    ``shares``: initial share in each stage; ``rate_multiplier``: organic purchase hazard
    multiplier per stage; ``response_multiplier``: persuasion multiplier per stage (new
    customers welcome contact, lapsed ones need more); ``new_days``: days a new customer
    stays new; ``lapse_rate``: daily hazard an active customer lapses.
    """

    shares: list[float] = spec(factory=lambda: [0.15, 0.65, 0.20], lo=0.0, each=True)
    rate_multiplier: list[float] = spec(factory=lambda: [1.2, 1.0, 0.3], lo=0.0, each=True)
    response_multiplier: list[float] = spec(factory=lambda: [1.3, 1.0, 0.8], lo=0.0, each=True)
    new_days: float = spec(60.0, lo=0.0)
    lapse_rate: float = spec(0.002, lo=0.0, hi=1.0)

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("shares", "rate_multiplier", "response_multiplier"):
            values = getattr(self, name)
            if len(values) != len(LIFECYCLE):
                raise ConfigError(f"{name}: needs one value per stage ({', '.join(LIFECYCLE)}).")
        if abs(sum(self.shares) - 1.0) > 1e-6:
            raise ConfigError(f"shares: must sum to 1, got {sum(self.shares):g}.")


@dataclass
class BehaviourConfig:
    """Daily hazards of organic behaviour (per consumer-day).

    Browsing, cart adds (per session), cart abandonment and the return of abandoners,
    reviews (per purchase) and wish lists (per session), store visits and location pings.
    """

    browse_rate: float = spec(0.04, lo=0.0, hi=1.0)
    cart_add_prob: float = spec(0.25, lo=0.0, hi=1.0)
    cart_purchase_rate: float = spec(0.2, lo=0.0, hi=1.0)
    cart_abandon_rate: float = spec(0.5, lo=0.0, hi=1.0)
    abandoner_return_rate: float = spec(0.012, lo=0.0, hi=1.0)
    abandoner_memory_days: float = spec(14.0, lo=0.0, lo_open=True)
    review_prob: float = spec(0.15, lo=0.0, hi=1.0)
    wishlist_prob: float = spec(0.05, lo=0.0, hi=1.0)
    store_visit_rate: float = spec(0.01, lo=0.0, hi=1.0)
    store_purchase_prob: float = spec(0.3, lo=0.0, hi=1.0)
    ping_rate: float = spec(0.05, lo=0.0, hi=1.0)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class ConsentConfig:
    """Share of consumers consenting to the use of each data kind, and how sensitive
    each kind is when used in a message (multiplies intrusiveness)."""

    share: dict[str, float] = spec(
        factory=lambda: {"implicit": 0.8, "explicit": 0.5, "ambient": 0.3},
        keys=DATA_KINDS,
        lo=0.0,
        hi=1.0,
        each=True,
    )
    sensitivity: dict[str, float] = spec(
        factory=lambda: {"implicit": 0.4, "explicit": 0.6, "ambient": 1.0},
        keys=DATA_KINDS,
        lo=0.0,
        each=True,
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class CreepinessConfig:
    """Privacy thresholds and backlash.

    Thresholds are log-normal: ``log θ_i = log(threshold_median) + tribe_sd·z_tribe +
    individual_sd·z_i``.  ``softness`` smooths the step at the threshold.  A backlash
    multiplies the purchase hazard by ``1 - purchase_penalty`` for the response window,
    lowers attitude by ``attitude_hit``, and opts the consumer out of the channel with
    probability ``optout_prob``.  ``generic_intrusiveness`` is the intrusiveness of an
    unpersonalised message; ``frequency_weight`` scales intrusiveness by recent contacts.
    """

    threshold_median: float = spec(1.0, lo=0.0, lo_open=True)
    tribe_sd: float = spec(0.5, lo=0.0)
    individual_sd: float = spec(0.4, lo=0.0)
    softness: float = spec(0.08, lo=0.0, lo_open=True)
    generic_intrusiveness: float = spec(0.05, lo=0.0)
    frequency_weight: float = spec(0.15, lo=0.0)
    purchase_penalty: float = spec(0.5, lo=0.0, hi=1.0)
    attitude_hit: float = spec(0.4, lo=0.0)
    optout_prob: float = spec(0.4, lo=0.0, hi=1.0)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class ResponseConfig:
    """Response to a contact (see :mod:`sim.response` for the equation).

    ``window_days``: how long a contact's persuasion and offer last.  ``depth_gain``:
    response gain of a fully personalised message.  ``fatigue_penalty``: response loss
    per unit of fatigue; ``fatigue_half_life_days``.  ``attitude_effect``: elasticity of
    hazards to brand attitude; ``attitude_half_life_days``: mean reversion of attitude.
    ``timing_sd_hours``: tolerance around a consumer's active hour.  ``awareness_floor``:
    response of a wholly unaware consumer relative to a fully aware one.
    """

    window_days: float = spec(7.0, lo=0.0, lo_open=True)
    depth_gain: float = spec(2.0, lo=0.0)
    fatigue_penalty: float = spec(0.25, lo=0.0)
    fatigue_half_life_days: float = spec(7.0, lo=0.0, lo_open=True)
    fatigue_annoyance: float = spec(3.0, lo=0.0)
    annoyance_attitude_cost: float = spec(0.05, lo=0.0)
    attitude_effect: float = spec(0.5, lo=0.0)
    attitude_half_life_days: float = spec(60.0, lo=0.0, lo_open=True)
    timing_sd_hours: float = spec(2.5, lo=0.0, lo_open=True)
    awareness_floor: float = spec(0.1, lo=0.0, hi=1.0)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class AwarenessConfig:
    """The purchase funnel's first stage, per consumer and category.

    ``initial_mean`` (Beta-distributed with ``initial_concentration``), daily ``decay``
    of awareness towards ``floor``, and word of mouth: ``wom_gain`` is the awareness a
    tribe-mate's purchase passes on (Bass's imitation coefficient, per purchase per tribe
    member), ``distrust_gain`` the attitude a tribe-mate's backlash takes away.
    """

    initial_mean: float = spec(0.25, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    initial_concentration: float = spec(4.0, lo=0.0, lo_open=True)
    decay: float = spec(0.005, lo=0.0, hi=1.0)
    floor: float = spec(0.05, lo=0.0, hi=1.0)
    wom_gain: float = spec(2.0, lo=0.0)
    distrust_gain: float = spec(5.0, lo=0.0)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class MarketConfig:
    """A whole market preset (``conf/market/<name>.yaml``)."""

    name: str = "default"
    n_consumers: int = spec(20_000, lo=1)
    horizon_days: float = spec(90.0, lo=0.0, lo_open=True)
    step_days: float = spec(1.0, lo=0.0, hi=30.0, lo_open=True)
    history_days: float = spec(365.0, lo=0.0)
    categories: list[str] = field(
        default_factory=lambda: [
            "apparel",
            "shoes",
            "beauty",
            "home",
            "electronics",
            "sports",
            "toys",
            "grocery",
        ]
    )
    tribes: TribeConfig = field(default_factory=TribeConfig)
    purchase: PurchaseConfig = field(default_factory=PurchaseConfig)
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    channels: dict[str, ChannelConfig] = spec(factory=_default_channels, keys=CHANNELS)
    consent: ConsentConfig = field(default_factory=ConsentConfig)
    creepiness: CreepinessConfig = field(default_factory=CreepinessConfig)
    response: ResponseConfig = field(default_factory=ResponseConfig)
    awareness: AwarenessConfig = field(default_factory=AwarenessConfig)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.horizon_days < self.step_days:
            raise ConfigError(
                f"horizon_days = {self.horizon_days:g} is shorter than one step "
                f"(step_days = {self.step_days:g})."
            )
        if not self.categories:
            raise ConfigError("categories: at least one product category is needed.")
        if len(set(self.categories)) != len(self.categories):
            raise ConfigError("categories: names must be unique.")
        if len(self.categories) > 64:
            raise ConfigError("categories: at most 64 categories are supported.")
        per_day = 1.0 / self.step_days
        if (
            abs(per_day - round(per_day)) > 1e-9
            and abs(self.step_days - round(self.step_days)) > 1e-9
        ):
            raise ConfigError(
                f"step_days = {self.step_days:g} must be a whole number of days or divide a "
                "day (1, 0.5, 0.25, ...): the organic model's random draws are kept by day."
            )
        if len(self.purchase.replenishment_days) not in (1, len(self.categories)):
            raise ConfigError(
                f"purchase.replenishment_days: needs one value per category "
                f"({', '.join(self.categories)}) or one value for all; got "
                f"{len(self.purchase.replenishment_days)}."
            )

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def n_steps(self) -> int:
        return round(self.horizon_days / self.step_days)
