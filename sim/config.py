"""Typed configuration of the synthetic market.

Every knob of the model lives here with its unit and valid range; ``conf/market/*.yaml``
sets them and :func:`sim.schema.build` checks them before any work starts.  The
equations that use each knob are documented in :mod:`sim.population`,
:mod:`sim.behaviour`, :mod:`sim.response` and :mod:`sim.word_of_mouth`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.schema import ConfigError, check_range, suggest

CHANNELS: tuple[str, ...] = ("email", "sms", "push", "social", "direct_mail", "phone", "display")
"""Contact channels, in the fixed order used by every per-channel array."""

DATA_KINDS: tuple[str, ...] = ("implicit", "explicit", "ambient")
"""Kinds of consumer data (Weigend): clicks and purchases; reviews, wish lists and
declared preferences; location, time and situation."""

LIFECYCLE: tuple[str, ...] = ("new", "active", "lapsed")


def _check_keys(where: str, mapping: dict[str, object], valid: tuple[str, ...]) -> None:
    for key in mapping:
        if key not in valid:
            raise ConfigError(
                f"{where}: unknown name {key!r}; valid choices: {', '.join(valid)}."
                f"{suggest(key, valid)}"
            )
    missing = [k for k in valid if k not in mapping]
    if missing:
        raise ConfigError(f"{where}: missing entries for {', '.join(missing)}.")


@dataclass
class ChannelConfig:
    """One contact channel as the market sees it.

    ``reach``: share of consumers with an address on the channel.  ``preference_mean``:
    mean affinity (0-1) of consumers for the channel.  ``intimacy``: how personal the
    channel feels (multiplies intrusiveness).  ``lift``: persuasion hazard (purchases per
    day) a neutral, generic message adds during the response window.  ``awareness_gain``:
    share of the awareness gap a contact closes.  ``timing_weight``: how much the hour of
    delivery matters (0 for direct mail).
    """

    reach: float = 0.5
    preference_mean: float = 0.5
    intimacy: float = 1.0
    lift: float = 0.002
    awareness_gain: float = 0.05
    timing_weight: float = 0.5

    def __post_init__(self) -> None:
        check_range("reach", self.reach, 0.0, 1.0)
        check_range("preference_mean", self.preference_mean, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("intimacy", self.intimacy, 0.0)
        check_range("lift", self.lift, 0.0)
        check_range("awareness_gain", self.awareness_gain, 0.0, 1.0)
        check_range("timing_weight", self.timing_weight, 0.0, 1.0)


def _default_channels() -> dict[str, ChannelConfig]:
    return {
        "email": ChannelConfig(0.85, 0.55, 0.6, 0.0012, 0.06, 0.3),
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

    n: int = 12
    size_concentration: float = 2.0
    variance_share: float = 0.5
    declared_share: float = 0.4

    def __post_init__(self) -> None:
        check_range("n", self.n, 1)
        check_range("size_concentration", self.size_concentration, 0.0, lo_open=True)
        check_range("variance_share", self.variance_share, 0.0, 1.0)
        check_range("declared_share", self.declared_share, 0.0, 1.0)


@dataclass
class PurchaseConfig:
    """Organic demand: base purchase hazard and basket values.

    ``base_rate``: mean organic purchases per consumer-day at full awareness;
    ``rate_shape``: gamma shape of its spread across consumers; ``basket_mean`` (currency)
    and ``basket_sigma`` (log-normal spread); ``discount_sensitivity``: mean response
    multiplier per unit discount (gamma distributed across consumers);
    ``preference_temperature``: how sharply tastes concentrate on favourite categories.
    """

    base_rate: float = 0.0025
    rate_shape: float = 1.5
    basket_mean: float = 60.0
    basket_sigma: float = 0.5
    discount_sensitivity: float = 3.0
    preference_temperature: float = 2.0

    def __post_init__(self) -> None:
        check_range("base_rate", self.base_rate, 0.0, 1.0, lo_open=True)
        check_range("rate_shape", self.rate_shape, 0.0, lo_open=True)
        check_range("basket_mean", self.basket_mean, 0.0, lo_open=True)
        check_range("basket_sigma", self.basket_sigma, 0.0, 3.0)
        check_range("discount_sensitivity", self.discount_sensitivity, 0.0)
        check_range("preference_temperature", self.preference_temperature, 0.0)


@dataclass
class LifecycleConfig:
    """Lifecycle stages new, active, lapsed and their dynamics.

    ``shares``: initial share in each stage; ``rate_multiplier``: organic purchase hazard
    multiplier per stage; ``response_multiplier``: persuasion multiplier per stage (new
    customers welcome contact, lapsed ones need more); ``new_days``: days a new customer
    stays new; ``lapse_rate``: daily hazard an active customer lapses.
    """

    shares: list[float] = field(default_factory=lambda: [0.15, 0.65, 0.20])
    rate_multiplier: list[float] = field(default_factory=lambda: [1.2, 1.0, 0.3])
    response_multiplier: list[float] = field(default_factory=lambda: [1.3, 1.0, 0.8])
    new_days: float = 60.0
    lapse_rate: float = 0.002

    def __post_init__(self) -> None:
        for name in ("shares", "rate_multiplier", "response_multiplier"):
            values = getattr(self, name)
            if len(values) != len(LIFECYCLE):
                raise ConfigError(f"{name}: needs one value per stage ({', '.join(LIFECYCLE)}).")
            for i, v in enumerate(values):
                check_range(f"{name}[{i}]", v, 0.0)
        if abs(sum(self.shares) - 1.0) > 1e-6:
            raise ConfigError(f"shares: must sum to 1, got {sum(self.shares):g}.")
        check_range("new_days", self.new_days, 0.0)
        check_range("lapse_rate", self.lapse_rate, 0.0, 1.0)


@dataclass
class BehaviourConfig:
    """Daily hazards of organic behaviour (per consumer-day).

    Browsing, cart adds (per session), cart abandonment and the return of abandoners,
    reviews (per purchase) and wish lists (per session), store visits and location pings.
    """

    browse_rate: float = 0.04
    cart_add_prob: float = 0.25
    cart_purchase_rate: float = 0.2
    cart_abandon_rate: float = 0.5
    abandoner_return_rate: float = 0.012
    abandoner_memory_days: float = 14.0
    review_prob: float = 0.15
    wishlist_prob: float = 0.05
    store_visit_rate: float = 0.01
    store_purchase_prob: float = 0.3
    ping_rate: float = 0.05

    def __post_init__(self) -> None:
        for name in (
            "browse_rate",
            "cart_add_prob",
            "cart_purchase_rate",
            "cart_abandon_rate",
            "abandoner_return_rate",
            "review_prob",
            "wishlist_prob",
            "store_visit_rate",
            "store_purchase_prob",
            "ping_rate",
        ):
            check_range(name, getattr(self, name), 0.0, 1.0)
        check_range("abandoner_memory_days", self.abandoner_memory_days, 0.0, lo_open=True)


@dataclass
class ConsentConfig:
    """Share of consumers consenting to the use of each data kind, and how sensitive
    each kind is when used in a message (multiplies intrusiveness)."""

    share: dict[str, float] = field(
        default_factory=lambda: {"implicit": 0.8, "explicit": 0.5, "ambient": 0.3}
    )
    sensitivity: dict[str, float] = field(
        default_factory=lambda: {"implicit": 0.4, "explicit": 0.6, "ambient": 1.0}
    )

    def __post_init__(self) -> None:
        _check_keys("share", self.share, DATA_KINDS)  # type: ignore[arg-type]
        _check_keys("sensitivity", self.sensitivity, DATA_KINDS)  # type: ignore[arg-type]
        for k, v in self.share.items():
            check_range(f"share.{k}", v, 0.0, 1.0)
        for k, v in self.sensitivity.items():
            check_range(f"sensitivity.{k}", v, 0.0)


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

    threshold_median: float = 1.0
    tribe_sd: float = 0.5
    individual_sd: float = 0.4
    softness: float = 0.08
    generic_intrusiveness: float = 0.05
    frequency_weight: float = 0.15
    purchase_penalty: float = 0.5
    attitude_hit: float = 0.4
    optout_prob: float = 0.4

    def __post_init__(self) -> None:
        check_range("threshold_median", self.threshold_median, 0.0, lo_open=True)
        check_range("tribe_sd", self.tribe_sd, 0.0)
        check_range("individual_sd", self.individual_sd, 0.0)
        check_range("softness", self.softness, 0.0, lo_open=True)
        check_range("generic_intrusiveness", self.generic_intrusiveness, 0.0)
        check_range("frequency_weight", self.frequency_weight, 0.0)
        check_range("purchase_penalty", self.purchase_penalty, 0.0, 1.0)
        check_range("attitude_hit", self.attitude_hit, 0.0)
        check_range("optout_prob", self.optout_prob, 0.0, 1.0)


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

    window_days: float = 7.0
    depth_gain: float = 2.0
    fatigue_penalty: float = 0.25
    fatigue_half_life_days: float = 7.0
    fatigue_annoyance: float = 3.0
    annoyance_attitude_cost: float = 0.05
    attitude_effect: float = 0.5
    attitude_half_life_days: float = 60.0
    timing_sd_hours: float = 2.5
    awareness_floor: float = 0.1

    def __post_init__(self) -> None:
        check_range("window_days", self.window_days, 0.0, lo_open=True)
        check_range("depth_gain", self.depth_gain, 0.0)
        check_range("fatigue_penalty", self.fatigue_penalty, 0.0)
        check_range("fatigue_half_life_days", self.fatigue_half_life_days, 0.0, lo_open=True)
        check_range("fatigue_annoyance", self.fatigue_annoyance, 0.0)
        check_range("annoyance_attitude_cost", self.annoyance_attitude_cost, 0.0)
        check_range("attitude_effect", self.attitude_effect, 0.0)
        check_range("attitude_half_life_days", self.attitude_half_life_days, 0.0, lo_open=True)
        check_range("timing_sd_hours", self.timing_sd_hours, 0.0, lo_open=True)
        check_range("awareness_floor", self.awareness_floor, 0.0, 1.0)


@dataclass
class AwarenessConfig:
    """The purchase funnel's first stage, per consumer and category.

    ``initial_mean`` (Beta-distributed with ``initial_concentration``), daily ``decay``
    of awareness towards ``floor``, and word of mouth: ``wom_gain`` is the awareness a
    tribe-mate's purchase passes on (Bass's imitation coefficient, per purchase per tribe
    member), ``distrust_gain`` the attitude a tribe-mate's backlash takes away.
    """

    initial_mean: float = 0.25
    initial_concentration: float = 4.0
    decay: float = 0.005
    floor: float = 0.05
    wom_gain: float = 2.0
    distrust_gain: float = 5.0

    def __post_init__(self) -> None:
        check_range("initial_mean", self.initial_mean, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("initial_concentration", self.initial_concentration, 0.0, lo_open=True)
        check_range("decay", self.decay, 0.0, 1.0)
        check_range("floor", self.floor, 0.0, 1.0)
        check_range("wom_gain", self.wom_gain, 0.0)
        check_range("distrust_gain", self.distrust_gain, 0.0)


@dataclass
class MarketConfig:
    """A whole market preset (``conf/market/<name>.yaml``)."""

    name: str = "default"
    n_consumers: int = 20_000
    horizon_days: float = 90.0
    step_days: float = 1.0
    history_days: float = 365.0
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
    channels: dict[str, ChannelConfig] = field(default_factory=_default_channels)
    consent: ConsentConfig = field(default_factory=ConsentConfig)
    creepiness: CreepinessConfig = field(default_factory=CreepinessConfig)
    response: ResponseConfig = field(default_factory=ResponseConfig)
    awareness: AwarenessConfig = field(default_factory=AwarenessConfig)

    def __post_init__(self) -> None:
        check_range("n_consumers", self.n_consumers, 1)
        check_range("horizon_days", self.horizon_days, 0.0, lo_open=True)
        check_range("step_days", self.step_days, 0.0, 30.0, lo_open=True)
        check_range("history_days", self.history_days, 0.0)
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
        _check_keys("channels", self.channels, CHANNELS)  # type: ignore[arg-type]

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def n_steps(self) -> int:
        return round(self.horizon_days / self.step_days)
