"""Structured configuration: the schema Hydra validates every config file and override against.

Each config group (network, population, behaviour, policy) has one dataclass here; `conf/` holds the
YAML values. Field types are enforced by OmegaConf on load; value ranges and cross-field rules
(dates, targets, probabilities) are checked by `validate_config`, before a run starts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.errors import ConfigError, InputError
from sim.validation import (
    check_finite,
    check_known_keys,
    check_policy_declaration,
    check_resolved_policy,
    describe_composition_error,
)

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
MAX_SHIFT = 10.0  # the largest shift of a country's attractiveness (whose data are 0-1)
MAX_FACTOR = 100.0  # the largest factor on a capacity or on ordinary traffic (config or policy)
# The regions' intensities (about 0.1-30 relative to their mean) are raised to this power: beyond
# it a region's pressure overflows the floats (30 ** 400 is infinite) and the hazard is NaN
MAX_INTENSITY_EXPONENT = 5.0
# days from start to end: the model allocates arrays of [days, exits] and more; a typing error
# of a year (0001-01-01) asked for ~10 GiB before the first day ran
MAX_HORIZON_DAYS = 3 * 366
MAX_SEED = 2**63 - 1  # numpy's SeedSequence takes any non-negative integer; files hold int64


class ActionKind(Enum):
    """What a timed policy action does to its targets (see docs/ODD.md, 'Policies')."""

    close = "close"  # nobody passes; people queued or travelling there re-route
    capacity_factor = "capacity_factor"  # multiply the daily capacity
    restrict = "restrict"  # only the listed categories may pass (checked on arrival)
    draft_office = "draft_office"  # eligible men passing are called up with `probability`
    exit_ban = "exit_ban"  # the listed categories may not leave Russia there
    visa_ban = "visa_ban"  # the destination refuses entry except to exempt travellers


class DrawMode(StrEnum):
    """How a member draws its random numbers (`draws`; docs/ODD.md, 'Randomness')."""

    streams = "streams"  # from named streams per stage, in sequence (the calibrated default)
    keyed = "keyed"  # keyed by (seed, stage, day, place): common random numbers that hold


class PressureCourse(Enum):
    """How mobilisation pressure evolves after its first shock (`behaviour.pressure_course`)."""

    constant = "constant"  # a constant floor (pressure_floor)
    callup = "callup"  # the floor follows the share of the call-up still to come
    callup_pace = "callup_pace"  # the floor follows the call-up's daily pace (summonses served)


@dataclass
class ActionConfig:
    kind: ActionKind = MISSING
    id: str = ""  # optional name, so that a policy built on this one can drop the action
    targets: list[str] = field(default_factory=lambda: ["all"])
    start: str = MISSING  # ISO date, first day in force
    end: str | None = None  # ISO date, last day in force (inclusive); None: to the horizon
    factor: float = 1.0  # capacity_factor
    probability: float = 0.0  # draft_office: chance an eligible man passing is called up
    categories: list[str] = field(default_factory=list)  # restrict / exit_ban
    normal_traffic_factor: float = 1.0  # how ordinary (non-fleeing) traffic changes meanwhile
    note: str = ""
    source: str = ""


@dataclass
class PolicyConfig:
    # no default: an empty policy file must not run silently as the open policy
    name: str = ""
    description: str = ""
    # A policy may build on another file of conf/policy: its own actions come first (so that
    # `policy.actions.0.start` sweeps the counterfactual's day), then the base's, less `drop`.
    base: str | None = None
    drop: list[str] = field(default_factory=list)  # ids of the base's actions to leave out
    actions: list[ActionConfig] = field(default_factory=list)


@dataclass
class NetworkConfig:
    data_dir: str | None = None  # None: the data shipped in sim/data
    road_detour_factor: float = 1.3  # road km per great-circle km
    road_km_per_day: float = 700.0  # door-to-door by car or bus, including rests
    air_overhead_days: float = 0.5  # check-in, security, the flight itself
    exclave_extra_days: float = 0.5  # Kaliningrad: a domestic flight to or from the mainland
    land_cost_rub: float = 5000.0  # fuel, tolls and fees of a land crossing (not distance-based)
    capacity_factor: float = 1.0  # scales every post's capacity (calibrated)
    # scales every air route's seats and, as the data derive them from the seats, its ordinary
    # passengers (calibrated)
    air_capacity_factor: float = 1.0
    normal_traffic_factor: float = 1.0  # scales every land post's ordinary traffic (calibrated)
    # on top of those: a factor per exit, airport or destination country id (calibrated for the
    # countries whose capacities are assumptions), e.g. {KZ: 0.6, GE-01: 1.5}
    capacity_factor_by_exit: dict[str, float] = field(default_factory=dict)
    # Ordinary travellers not served within this many days of joining a queue give up on that
    # crossing (they re-book another day or route, or do not travel: outside the model). Without
    # it, ordinary demand above an exit's capacity would queue for ever (docs/ODD.md 7.4).
    normal_patience_days: int = 3


@dataclass
class PopulationConfig:
    scale: float = 1.0  # 1.0: every man at risk is an agent
    age_bands: list[str] = field(default_factory=lambda: ["16-26", "27-35", "36-49", "50-61"])
    age_shares: list[float] = field(default_factory=lambda: [0.20, 0.24, 0.33, 0.23])
    military_share_by_age: list[float] = field(default_factory=lambda: [0.15, 0.35, 0.40, 0.45])
    low_means_per_poverty_point: float = 0.02  # share with low means per % below subsistence
    high_means_share_at_median_income: float = 0.10
    high_means_income_elasticity: float = 1.5
    passport_share_by_means: list[float] = field(default_factory=lambda: [0.15, 0.35, 0.70])
    visa_share_by_means: list[float] = field(default_factory=lambda: [0.02, 0.08, 0.30])
    visa_region_multiplier: dict[str, float] = field(
        default_factory=lambda: {
            "RU-SPE": 3.0,
            "RU-LEN": 3.0,
            "RU-KR": 2.5,
            "RU-MUR": 2.5,
            "RU-PSK": 2.5,
            "RU-KGD": 3.0,
            "RU-MOW": 1.5,
            "RU-MOS": 1.5,
        }
    )
    exempt_share_of_visa_holders: float = 0.10  # family, work, study or residence in the EU


@dataclass
class RumourConfig:
    start: str = MISSING
    end: str = MISSING
    intensity: float = 1.0
    note: str = ""


@dataclass
class BehaviourConfig:
    announcement: str = "2022-09-21T09:00"  # the decree: mobilisation pressure starts here
    mobilisation_end: str = "2022-10-28"  # Shoigu declares the call-up complete
    # hazard of deciding to flee, per day: hazard_base x pressure x multipliers
    hazard_base: float = 0.0006
    pressure_decay_days: float = 5.0
    pressure_floor: float = 0.15
    pressure_after_end: float = 0.3  # share of the pressure left after mobilisation_end
    # what keeps pressure up after the first shock (docs/ODD.md 7.2): `constant` = a floor of
    # `pressure_floor`; `callup` = the floor times the share of the call-up still to come
    # (sim/data/callup_2022.csv); `callup_pace` = the floor times the call-up's daily pace
    # relative to its fastest; both lowered in regions that declared their quota met
    pressure_course: PressureCourse = PressureCourse.constant
    quota_complete_factor: float = 1.0  # callup: threat left in a region once its quota is met
    # unobserved readiness to leave within a (region, stratum) cell: gamma-distributed with mean
    # 1 and this variance; 0 = identical men. The readiest go first, so the hazard of those who
    # stay falls as the cell's cumulative hazard grows (docs/ODD.md 7.2)
    frailty_variance: float = 0.0
    intensity_exponent: float = 0.5
    intensity_shrinkage: float = 2.0  # deaths per 100k added before normalising (noise)
    age_multiplier: list[float] = field(default_factory=lambda: [1.2, 1.3, 0.9, 0.4])
    military_multiplier: float = 1.5
    means_multiplier: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0])
    # internal passport only, foreign passport, Schengen visa, visa with an exempting reason:
    # those already holding travel documents were readier to leave at once
    documents_multiplier: list[float] = field(default_factory=lambda: [0.6, 1.5, 3.0, 3.0])
    rumour_weight: float = 1.0
    restriction_rumour_weight: float = 0.5  # new restrictions seen raise fear of closure
    rumour_memory_days: float = 3.0
    rumours: list[RumourConfig] = field(default_factory=list)
    peer_weight: float = 10.0
    # the peer term counts departures with a memory of this many days (None: every departure so
    # far, for ever) and saturates at peer_cap (None: linear, unbounded)
    peer_memory_days: float | None = None
    peer_cap: float | None = None
    accessibility_weight: float = 0.5
    # route choice (multinomial logit over exits)
    beta_time: float = 0.5  # per day of travel
    beta_wait: float = 0.4  # per day of expected queue
    beta_money: float = 1.5  # per budget of fare
    budget_rub: list[float] = field(default_factory=lambda: [30000.0, 120000.0, 500000.0])
    beta_attractiveness: float = 4.0
    # added to a destination country's attractiveness (countries.csv, where it is an assumption):
    # alternative-specific constants by country id, e.g. {GE: 0.5, KZ: -1.0}; none by default
    attractiveness_shift: dict[str, float] = field(default_factory=dict)
    # where a country's pull comes from (sim/destinations.py): `table` - the attractiveness of
    # countries.csv; `features` - pull_weights x the features (log share of the ordinary
    # traffic, russian_spoken) + pull_deviation_sd x pull_deviation_z (partially pooled,
    # per country; 0 for a country not named)
    pull: str = "table"
    pull_weights: dict[str, float] = field(
        default_factory=lambda: {"traffic": 1.0, "russian_spoken": 0.0})
    pull_deviation_sd: float = 0.0
    pull_deviation_z: dict[str, float] = field(default_factory=dict)
    beta_air: float = 0.0  # alternative-specific constant of flying
    beta_size: float = 1.0  # on ln(capacity): an exit's "size" as an aggregate alternative
    beta_draft: float = 6.0  # per unit probability of call-up at the post (eligible men)
    # days from the decision to the departure (exponential, mean; 0: the same day): the men who
    # decide get money, papers and a ticket or a car first; they count as travelling meanwhile
    departure_lead_days: float = 0.0
    info_delay_days: int = 1  # queues are known as they were this many days ago
    reconsider_share: float = 0.3  # share of queued people re-evaluating each day
    switch_cost: float = 1.0  # utility of staying in a queue one has joined
    home_utility: float = -8.0  # utility of giving up and going home
    # ordinary travellers (tourists, commuters, visits): the share of their usual trips still
    # made from the announcement on. Men of call-up age are among them; those who travelled
    # now count as fleeing, and queues of days deter the rest (docs/ODD.md 7.6)
    normal_traffic_after_announcement: float = 1.0
    # ordinary trips fall to that share gradually: trips booked before the announcement are still
    # made, new ones are not (exponential, this many days; 0: at once)
    normal_traffic_adjust_days: float = 0.0
    # abroad
    onward_rate_factor: float = 1.0
    return_rate_factor: float = 1.0


@dataclass
class SimConfig:
    seed: int = 1
    draws: DrawMode = DrawMode.streams
    start: str = "2022-09-14"
    end: str = "2022-11-30"
    progress: bool = True
    network: NetworkConfig = field(default_factory=NetworkConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)


@dataclass
class ParallelConfig:
    """Where the runs of an experiment go.

    backend: loky (worker processes on this machine, the default), sequential (this process),
        dask (a dask.distributed scheduler) or ray (a Ray cluster).
    n_jobs: loky - worker processes (joblib's convention: -1 all cores, -2 all but one; 0 is
        an error); dask / ray - jobs in flight at once (-1: as many as the cluster has cores).
    address: dask - the scheduler ('tcp://HOST:8786'; null starts a local cluster); ray - the
        head ('HOST:6379', 'ray://HOST:10001' or 'auto'; null starts a local instance).
    """

    backend: str = "loky"
    n_jobs: int = -1
    address: str | None = None


@dataclass
class RunConfig(SimConfig):
    """`python -m sim`: a model's configuration, and how many runs of it to make and over what
    (conf/config.yaml). The model itself reads only the `SimConfig` part."""

    runs: int = 20  # members of the ensemble: (posterior particle, seed) pairs
    # weighted particles of the calibration; null runs the configured parameters (seed noise only)
    posterior: str | None = "results/calibration/posterior.csv"
    posterior_parameters: str = "conf/calibration/parameters.yaml"  # column -> config path
    parallel: ParallelConfig = field(default_factory=ParallelConfig)


COMMAND_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig)
                       if f.name not in {g.name for g in dataclasses.fields(SimConfig)})


def register_configs() -> None:
    """Register the schemas so that `conf/config.yaml` can name them in its defaults list."""
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=SimConfig)
    cs.store(name="run_config", node=RunConfig)


register_configs()


def model_part(cfg: DictConfig | dict[str, Any]) -> DictConfig | dict[str, Any]:
    """The config without the command's own keys (`runs`, `posterior`, ...: `RunConfig`)."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.masked_copy(cfg, [k for k in cfg if k not in COMMAND_FIELDS])
    return {k: v for k, v in cfg.items() if k not in COMMAND_FIELDS}


def parse_date(value: str, field_name: str) -> dt.date:
    """An ISO date (a datetime's date part is accepted), or a ConfigError naming the field."""
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ConfigError(field_name, f"'{value}' is not a date (YYYY-MM-DD)") from None


def parse_datetime(value: str, field_name: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(field_name, f"'{value}' is not a date-time (YYYY-MM-DDTHH:MM)") from None


def to_sim_config(cfg: SimConfig | DictConfig | dict[str, Any]) -> SimConfig:
    """Turn a Hydra/OmegaConf config (or a plain dict) into a validated `SimConfig`.

    The one validation pass (sim/validation.py): known keys, finite numbers, ranges, then the
    policy as written and as resolved against its `base`.
    """
    if isinstance(cfg, RunConfig):
        cfg = SimConfig(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(SimConfig)})
    if isinstance(cfg, SimConfig):
        obj = cfg
    else:
        cfg = model_part(cfg)
        check_known_keys(cfg, SimConfig)
        try:
            merged = OmegaConf.merge(OmegaConf.structured(SimConfig), cfg)
            obj = OmegaConf.to_object(merged)
        except OmegaConfBaseException as err:
            key = getattr(err, "full_key", None) or "config"
            raise ConfigError(str(key), str(err).splitlines()[0]) from None
    assert isinstance(obj, SimConfig)
    check_finite(obj)
    validate_config(obj)
    check_policy_declaration(obj.policy)
    obj.policy = resolve_policy(obj.policy)
    check_resolved_policy(obj.policy)
    return obj


def resolve_policy(policy: PolicyConfig, chain: tuple[str, ...] = ()) -> PolicyConfig:
    """Expand `base` and `drop` into one flat list of actions (a resolved policy has no base)."""
    if not policy.base:
        return policy
    if policy.base in chain or policy.base == policy.name:
        raise ConfigError("policy.base", f"circular: {' -> '.join([*chain, policy.name])} -> "
                          f"{policy.base}")
    from sim.policy_file import policy_path, read_policy_file

    written = read_policy_file(policy.base, "policy.base", schema=PolicyConfig)  # as data
    where = f"policy '{policy.base}' ({policy_path(policy.base, 'policy.base')})"
    try:
        loaded = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(PolicyConfig),
                                                     written))
    except OmegaConfBaseException as err:
        raise ConfigError(where, str(err).splitlines()[0]) from None
    assert isinstance(loaded, PolicyConfig)
    base = resolve_policy(loaded, (*chain, policy.name))
    ids = {a.id for a in base.actions if a.id}
    unknown = [d for d in policy.drop if d not in ids]
    if unknown:
        raise ConfigError("policy.drop", f"{unknown} are not action ids of policy "
                          f"'{policy.base}' (ids: {sorted(ids)})")
    kept = [a for a in base.actions if not a.id or a.id not in policy.drop]
    return PolicyConfig(name=policy.name, description=policy.description,
                        actions=[*policy.actions, *kept])


MIN_POSITIVE = 1e-6  # the smallest value a field that must be > 0 may take


def _check_range(name: str, value: float, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> None:
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(name, f"{value} must be {'>' if low_open else '>='} {low}")
    # a positive divisor the arithmetic can use: 5e-324 is > 0 but its inverse is infinite
    if low_open and low is not None and value < low + MIN_POSITIVE:
        raise ConfigError(name, f"{value} is too small (at least {MIN_POSITIVE:g})")
    if high is not None and value > high:
        raise ConfigError(name, f"{value} must be <= {high}")


def validate_config(cfg: SimConfig) -> None:
    """Range and consistency checks that types alone cannot express. Policies are checked
    against the network when they are compiled (`sim.policy.compile_policy`)."""
    start = parse_date(cfg.start, "start")
    end = parse_date(cfg.end, "end")
    if end < start:
        raise ConfigError("end", f"{cfg.end} is before start {cfg.start}")
    if (end - start).days + 1 > MAX_HORIZON_DAYS:
        raise ConfigError("start", f"{cfg.start} to {cfg.end} is {(end - start).days + 1} days: "
                          f"the horizon is at most {MAX_HORIZON_DAYS} days")
    if not 0 <= cfg.seed <= MAX_SEED:
        raise ConfigError("seed", f"{cfg.seed} must be a whole number from 0 to 2**63 - 1")
    net, pop, beh = cfg.network, cfg.population, cfg.behaviour
    for name in ("road_detour_factor", "road_km_per_day"):
        _check_range(f"network.{name}", getattr(net, name), 0.0, low_open=True)
    for name in ("air_overhead_days", "exclave_extra_days", "land_cost_rub"):
        _check_range(f"network.{name}", getattr(net, name), 0.0)
    # factors on capacities and traffic: at most MAX_FACTOR, so that their products with the
    # policies' stay within what numpy's Poisson and integer draws can hold
    for name in ("capacity_factor", "air_capacity_factor", "normal_traffic_factor"):
        _check_range(f"network.{name}", getattr(net, name), 0.0, MAX_FACTOR)
    _check_range("network.normal_patience_days", net.normal_patience_days, 1)
    for target, factor in net.capacity_factor_by_exit.items():
        _check_range(f"network.capacity_factor_by_exit.{target}", factor, 0.0, MAX_FACTOR)
    _check_range("population.scale", pop.scale, 0.0, 1.0, low_open=True)
    n_bands = len(pop.age_bands)
    for name in ("age_shares", "military_share_by_age"):
        if len(getattr(pop, name)) != n_bands:
            raise ConfigError(f"population.{name}", f"needs one value per age band ({n_bands})")
    if abs(sum(pop.age_shares) - 1.0) > 1e-6:
        raise ConfigError("population.age_shares", f"sum to {sum(pop.age_shares)}, not 1")
    for name in ("military_share_by_age", "passport_share_by_means", "visa_share_by_means"):
        for i, v in enumerate(getattr(pop, name)):
            _check_range(f"population.{name}[{i}]", v, 0.0, 1.0)
    for name in ("passport_share_by_means", "visa_share_by_means"):
        if len(getattr(pop, name)) != 3:
            raise ConfigError(f"population.{name}", "needs three values (low, mid, high means)")
    for i, (v, p) in enumerate(zip(pop.visa_share_by_means, pop.passport_share_by_means,
                                   strict=True)):
        if v > p:
            raise ConfigError(f"population.visa_share_by_means[{i}]",
                              f"{v} exceeds population.passport_share_by_means[{i}] = {p}: a visa "
                              "needs a passport")
    _check_range("population.exempt_share_of_visa_holders", pop.exempt_share_of_visa_holders,
                 0.0, 1.0)
    for region, m in pop.visa_region_multiplier.items():
        _check_range(f"population.visa_region_multiplier.{region}", m, 0.0)
    parse_datetime(beh.announcement, "behaviour.announcement")
    parse_date(beh.mobilisation_end, "behaviour.mobilisation_end")
    if len(beh.age_multiplier) != n_bands:
        raise ConfigError("behaviour.age_multiplier", f"needs one value per age band ({n_bands})")
    if len(beh.means_multiplier) != 3 or len(beh.budget_rub) != 3:
        raise ConfigError("behaviour.means_multiplier", "means_multiplier and budget_rub need "
                          "three values (low, mid, high means)")
    for name in ("hazard_base", "pressure_after_end", "intensity_exponent",
                 "intensity_shrinkage", "military_multiplier", "rumour_weight",
                 "restriction_rumour_weight", "peer_weight", "accessibility_weight", "beta_time",
                 "beta_wait", "beta_money", "beta_draft", "beta_size", "onward_rate_factor",
                 "return_rate_factor", "info_delay_days"):
        _check_range(f"behaviour.{name}", getattr(beh, name), 0.0)
    for name in ("pressure_decay_days", "rumour_memory_days"):
        _check_range(f"behaviour.{name}", getattr(beh, name), 0.0, low_open=True)
    _check_range("behaviour.intensity_exponent", beh.intensity_exponent, 0.0,
                 MAX_INTENSITY_EXPONENT)
    _check_range("behaviour.pressure_floor", beh.pressure_floor, 0.0, 1.0)
    _check_range("behaviour.quota_complete_factor", beh.quota_complete_factor, 0.0, 1.0)
    _check_range("behaviour.normal_traffic_after_announcement",
                 beh.normal_traffic_after_announcement, 0.0, 2.0)
    _check_range("behaviour.normal_traffic_adjust_days", beh.normal_traffic_adjust_days, 0.0,
                 365.0)
    _check_range("behaviour.departure_lead_days", beh.departure_lead_days, 0.0, 365.0)
    if 0.0 < beh.normal_traffic_adjust_days < MIN_POSITIVE:  # its inverse would overflow
        raise ConfigError("behaviour.normal_traffic_adjust_days",
                          f"{beh.normal_traffic_adjust_days} is too small (0, or at least "
                          f"{MIN_POSITIVE:g})")
    _check_range("behaviour.frailty_variance", beh.frailty_variance, 0.0, 1e4)
    for name in ("peer_memory_days", "peer_cap"):
        value = getattr(beh, name)
        if value is not None and not (MIN_POSITIVE <= value < float("inf")):
            raise ConfigError(f"behaviour.{name}", f"{value} must be a positive number, or "
                              "null for no limit")
    _check_range("behaviour.reconsider_share", beh.reconsider_share, 0.0, 1.0)
    for country, shift in beh.attractiveness_shift.items():
        _check_range(f"behaviour.attractiveness_shift.{country}", shift, -MAX_SHIFT, MAX_SHIFT)
    if beh.pull not in ("table", "features"):
        raise ConfigError("behaviour.pull", f"'{beh.pull}' is not one of ['table', 'features']")
    _check_range("behaviour.pull_deviation_sd", beh.pull_deviation_sd, 0.0, MAX_SHIFT)
    for country, z in beh.pull_deviation_z.items():
        _check_range(f"behaviour.pull_deviation_z.{country}", z, -MAX_SHIFT, MAX_SHIFT)
    for i, b in enumerate(beh.budget_rub):  # fares are divided by it: a rouble at least
        _check_range(f"behaviour.budget_rub[{i}]", b, 1.0)
    if len(beh.documents_multiplier) != 4:
        raise ConfigError("behaviour.documents_multiplier", "needs four values (internal "
                          "passport, foreign passport, Schengen visa, exempt)")
    for name in ("age_multiplier", "means_multiplier", "documents_multiplier"):
        for i, m in enumerate(getattr(beh, name)):
            _check_range(f"behaviour.{name}[{i}]", m, 0.0)
    for i, rumour in enumerate(beh.rumours):
        r_start = parse_date(rumour.start, f"behaviour.rumours[{i}].start")
        r_end = parse_date(rumour.end, f"behaviour.rumours[{i}].end")
        if r_end < r_start:
            raise ConfigError(f"behaviour.rumours[{i}].end", f"{rumour.end} is before its start")
        _check_range(f"behaviour.rumours[{i}].intensity", rumour.intensity, 0.0)


def load_config(overrides: list[str] | None = None, config_name: str = "config") -> SimConfig:
    """Compose `conf/` with Hydra overrides (as on the command line) into a validated config.

    The one config composer: from Python, tests and inside a running Hydra app alike (an
    experiment command composes the simulation's config of each scenario; Hydra's global
    instance is set aside meanwhile and restored). `python -m sim` gets the same config from
    `@hydra.main`. Every error is the project's own (`ConfigError`, `DataError`), one line.
    """
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    from sim.policy_file import check_overrides_literal, check_policy_choices, search_dirs

    overrides = [str(o) for o in overrides or []]
    check_overrides_literal(overrides)
    if config_name == "config":  # policy files are read as data before Hydra sees them
        check_policy_choices(overrides, search_dirs(overrides), PolicyConfig)
    global_hydra = GlobalHydra.instance()
    saved = global_hydra.hydra if global_hydra.is_initialized() else None
    global_hydra.clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException, yaml.YAMLError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(describe_composition_error(err)) from None
    finally:
        if saved is not None:
            GlobalHydra.instance().initialize(saved)
    return to_sim_config(cfg)
