"""Sweep validation: every job of a multirun composed and validated before any starts.

:func:`check_sweep` expands the sweep exactly as Hydra's basic sweeper does (its own
``split_arguments`` on ``hydra.sweeper.params`` followed by the command-line overrides:
a later value of a key replaces an earlier one, the jobs are the cartesian product in
launch order), composes each job's config with Hydra's config loader and validates it
with the entry point's schema (:data:`VALIDATORS`).  It returns one message per distinct
problem, naming the key, with the number of jobs it hits.  :func:`trust_validated` then
lets the sweeper skip its own, slower check of the same jobs.

This is the only module that touches Hydra's internals.  Each is declared in
:data:`HYDRA_INTERNALS` (with the parameters relied on) and fetched through
:func:`hydra_internal`, which names the internal if Hydra no longer has it;
``tests/test_sweep_validation.py`` checks every one, and the behaviour relied on,
against the installed Hydra (written for hydra-core 1.3.8).
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Final

from omegaconf import DictConfig, OmegaConf, open_dict, read_write

_SWEEPER: Final = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
_LOADER: Final = "hydra._internal.config_loader_impl.ConfigLoaderImpl"
_PARSER: Final = "hydra.core.override_parser.overrides_parser.OverridesParser"
_OVERRIDE: Final = "hydra.core.override_parser.types.Override"

#: The Hydra internals this module relies on, with the parameters of each (``None``: an
#: attribute, no call).
HYDRA_INTERNALS: Final[dict[str, tuple[str, ...] | None]] = {
    _SWEEPER: None,
    f"{_SWEEPER}.split_arguments": ("overrides", "max_batch_size"),
    f"{_SWEEPER}.validate_batch_is_legal": ("self", "batch"),
    f"{_LOADER}.load_sweep_config": ("self", "master_config", "sweep_overrides"),
    f"{_LOADER}._apply_overrides_to_config": ("overrides", "cfg"),
    "hydra._internal.config_repository.ConfigRepository.group_exists": ("self", "config_path"),
    "hydra.core.global_hydra.GlobalHydra.config_loader": ("self",),
    f"{_PARSER}.create": ("config_loader",),
    f"{_PARSER}.parse_overrides": ("self", "overrides"),
    f"{_OVERRIDE}.is_sweep_override": ("self",),
    f"{_OVERRIDE}.is_discrete_sweep": ("self",),
    f"{_OVERRIDE}.is_hydra_override": ("self",),
    f"{_OVERRIDE}.get_key_element": ("self",),
    f"{_OVERRIDE}.value": ("self",),
    f"{_OVERRIDE}.key_or_group": None,
    f"{_OVERRIDE}.value_type": None,
    f"{_OVERRIDE}.input_line": None,
    "hydra._internal.utils.get_args_parser": (),
}


class HydraInternalsChanged(RuntimeError):
    """A Hydra internal this module relies on is gone or has changed."""


class SweepConfigError(ValueError):
    """A sweep that cannot run; the message names the key and the jobs concerned."""


def hydra_internal(name: str) -> Any:
    """The object at dotted ``name`` (one of :data:`HYDRA_INTERNALS`).

    Raises :class:`HydraInternalsChanged`, naming it, if the installed Hydra lacks it.
    Dataclass fields without a default (``Override.key_or_group``) resolve to their
    :class:`dataclasses.Field`.
    """
    if name not in HYDRA_INTERNALS:
        raise KeyError(f"{name} is not declared in HYDRA_INTERNALS")
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                fields = getattr(obj, "__dataclass_fields__", {})
                obj = getattr(obj, attr) if hasattr(obj, attr) else fields[attr]
        except KeyError:
            break
        return obj
    import hydra

    raise HydraInternalsChanged(
        f"Hydra internal {name} not found (hydra-core {hydra.__version__}); "
        "experiments/sweep_validation.py relies on it. Skip sweep validation with "
        "hydra.callbacks.sweep.validate=false."
    )


def config_loader() -> Any:
    """The running Hydra app's config loader (the one its sweeper uses)."""
    from hydra.core.global_hydra import GlobalHydra

    return hydra_internal("hydra.core.global_hydra.GlobalHydra.config_loader")(
        GlobalHydra.instance()
    )


# --------------------------------------------------------------------------- expansion


def is_basic_sweeper(config: DictConfig) -> bool:
    """Whether the multirun's sweeper is Hydra's basic one (the one expanded here)."""
    target = str(OmegaConf.select(config, "hydra.sweeper._target_", default=""))
    return target.endswith("BasicSweeper")


def sweep_arguments(config: DictConfig) -> list[str]:
    """The override strings the basic sweeper combines: ``hydra.sweeper.params`` first
    (``key=v1,v2`` each), then the command-line task overrides (``hydra.overrides.task``)."""
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None)
    out: list[str] = []
    if params:
        container = OmegaConf.to_container(params, resolve=False)
        assert isinstance(container, dict)
        out.extend(f"{key!s}={value!s}" for key, value in container.items())
    task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
    assert isinstance(task, list)
    out.extend(str(t) for t in task)
    return out


def expand_sweep(arguments: Sequence[str], loader: Any = None) -> list[list[str]]:
    """Every job's overrides, in the order the basic sweeper launches them (job 0, 1, ...).

    Raises :class:`SweepConfigError` on syntax errors and on sweeps the basic sweeper
    does not support (``interval(...)``).
    """
    from hydra.errors import HydraException, OverrideParseException

    parser = hydra_internal(f"{_PARSER}.create")(config_loader=loader)
    try:
        overrides = parser.parse_overrides(list(arguments))
    except (OverrideParseException, HydraException) as exc:
        raise SweepConfigError(f"cannot parse the sweep overrides: {exc}") from None
    for ov in overrides:
        if ov.is_sweep_override() and not ov.is_discrete_sweep():
            raise SweepConfigError(
                f"{ov.get_key_element()}: the basic sweeper cannot expand a "
                f"{getattr(ov.value_type, 'name', 'non-discrete')} sweep "
                "(use a list of values, range(...) or choice(...))"
            )
    split = hydra_internal(f"{_SWEEPER}.split_arguments")
    (jobs,) = split(overrides, None)  # no batch size: one batch of every job
    return [list(job) for job in jobs]


# --------------------------------------------------------------------------- composition


class JobComposer:
    """Each job's task config (no ``hydra`` node), as ``load_sweep_config`` composes it,
    with a cache keyed by the config-group overrides.

    Hydra composes a job in two steps: the defaults list (decided by the overrides that
    select config-group options, e.g. ``market=fmcg_tribal`` or ``experiment=phase``),
    then the value overrides applied to the result in order
    (``ConfigLoaderImpl._apply_overrides_to_config``).  Jobs that differ only in values
    share the first step, so it is done once per group combination; overrides of
    ``hydra.*`` do not change the task and are not applied.  Errors carry Hydra's own
    messages; if the loader is not Hydra's usual one, every job is composed in full.
    """

    def __init__(self, master: DictConfig, loader: Any) -> None:
        self.master, self.loader = master, loader
        self.cache: dict[tuple[str, ...], DictConfig | Exception] = {}
        self.fast = hasattr(loader, "repository") and hasattr(
            type(loader), "_apply_overrides_to_config"
        )

    @staticmethod
    def strip_hydra(cfg: DictConfig) -> DictConfig:
        with read_write(cfg), open_dict(cfg):
            cfg.pop("hydra", None)
        return cfg

    def full(self, overrides: Sequence[str]) -> DictConfig:
        return self.strip_hydra(self.loader.load_sweep_config(self.master, list(overrides)))

    def __call__(self, overrides: Sequence[str]) -> DictConfig:
        if not self.fast:
            return self.full(overrides)
        parsed = hydra_internal(f"{_PARSER}.create")().parse_overrides(list(overrides))
        group, value = [], []
        for ov in parsed:
            is_group = self.loader.repository.group_exists(ov.key_or_group)
            if isinstance(ov.value(), dict) or not is_group:
                if not ov.is_hydra_override():
                    value.append(ov)
            else:
                group.append(ov)
        key = tuple(str(ov.input_line) for ov in group)
        if key not in self.cache:
            try:
                self.cache[key] = self.full(list(key))
            except Exception as exc:  # remembered: every job of this combination fails
                self.cache[key] = exc
        base = self.cache[key]
        if isinstance(base, Exception):
            raise base
        cfg = base.copy()
        type(self.loader)._apply_overrides_to_config(value, cfg)
        return cfg


# --------------------------------------------------------------------------- validation


def _task_config(job_cfg: DictConfig) -> dict[str, Any]:
    """The job's config (already without its ``hydra`` node), resolved, as plain Python."""
    data = OmegaConf.to_container(job_cfg, resolve=True)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}


def validate_run(data: dict[str, Any]) -> None:
    """``experiments.run`` (config ``config``): the whole config is a ``RunConfig``."""
    from sim.experiment import build_run_config

    build_run_config(data)


def validate_compare(data: dict[str, Any]) -> None:
    """``experiments.compare``: the base run, and every listed strategy names an option
    of ``conf/strategy/`` (each is composed and validated when the job starts)."""
    from pathlib import Path

    from sim.schema import ConfigError

    data = dict(data)
    names = [str(n) for n in data.pop("strategies", None) or []]
    options = Path(__file__).resolve().parent.parent / "conf" / "strategy"
    valid = sorted(p.stem for p in options.glob("*.yaml"))
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ConfigError(
            f"strategies: unknown option(s) {unknown}; valid choices: {', '.join(valid)}."
        )
    validate_run(data)


def validate_uplift(data: dict[str, Any]) -> None:
    """``experiments.uplift``: dataset, estimators, and for ``dataset=sim`` the market run."""
    from experiments.uplift_job import validate_uplift as check

    check(data)


#: Validator per primary config name; others get the Hydra composition check only.
VALIDATORS: Final[dict[str, Callable[[dict[str, Any]], None]]] = {
    "config": validate_run,
    "compare": validate_compare,
    "uplift": validate_uplift,
}


def _short(exc: BaseException) -> str:
    """First paragraph of Hydra's (often multi-line) message, on one line."""
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[:4]) if lines else type(exc).__name__


def _did_you_mean(config: DictConfig, message: str) -> str:
    """`` Did you mean 'market.n_consumers'?`` for Hydra's "Could not override 'x.y'"."""
    m = re.search(r"Could not override '([^']+)'", message)
    if not m:
        return ""
    parent, _, leaf = m.group(1).lstrip("+~").rpartition(".")
    node = OmegaConf.select(config, parent) if parent else config
    if not isinstance(node, DictConfig):
        return ""
    close = difflib.get_close_matches(leaf, [str(k) for k in node], n=1, cutoff=0.6)
    return f" | Did you mean '{parent + '.' if parent else ''}{close[0]}'?" if close else ""


def validate_sweep(
    config: DictConfig,
    jobs: Sequence[Sequence[str]],
    loader: Any,
    validator: Callable[[dict[str, Any]], None] | None,
) -> list[str]:
    """Compose (Hydra) and validate every job; return one message per distinct problem.

    Each message names the key (Hydra's composition errors and
    :class:`sim.schema.ConfigError` both do), the number of jobs it hits and the
    overrides of the first such job.  Compositions are cached by the overrides that
    select config-group options (see :class:`JobComposer`), so a large sweep over values
    is checked quickly.
    """
    from sim.schema import ConfigError

    problems: OrderedDict[str, list[int]] = OrderedDict()
    first: dict[str, Sequence[str]] = {}
    compose = JobComposer(config, loader)
    for num, overrides in enumerate(jobs):
        try:
            job_cfg = compose(overrides)
            if validator is not None:
                validator(_task_config(job_cfg))
            continue
        except ConfigError as exc:
            msg = f"invalid value: {exc}"
        except Exception as exc:  # Hydra's composition errors name the key
            msg = f"cannot compose: {_short(exc)}{_did_you_mean(config, str(exc))}"
            # "Could not override 'market.n_consumerz'." is the same problem for each value
            head = str(exc).strip().splitlines()[0] if str(exc).strip() else msg
            msg = next((m for m in problems if m.startswith(f"cannot compose: {head}")), msg)
        problems.setdefault(msg, []).append(num)
        first.setdefault(msg, overrides)
    out = []
    for msg, nums in problems.items():
        shown = " ".join(first[msg])
        out.append(f"{msg}\n    in {len(nums)} of {len(jobs)} jobs, e.g. job {nums[0]}: {shown}")
    return out


def check_sweep(config: DictConfig, config_name: str | None) -> tuple[list[list[str]], list[str]]:
    """Expand the multirun of the running app (primary config ``config_name``), compose
    and validate every job: ``(jobs, problems)``, no problems when all is well."""
    loader = config_loader()
    try:
        jobs = expand_sweep(sweep_arguments(config), loader)
    except SweepConfigError as exc:
        return [], [str(exc)]
    validator = VALIDATORS.get(str(config_name)) if config_name is not None else None
    return jobs, validate_sweep(config, jobs, loader, validator)


# --------------------------------------------------------------------------- one run


#: Command-line flags after which Hydra runs no job of the app's own config (help,
#: printing the config, completion, another config), so there is nothing to pre-check.
_NO_RUN_FLAGS: Final = (
    "help",
    "hydra_help",
    "cfg",
    "info",
    "shell_completion",
    "config_path",
    "config_name",
    "config_dir",
    "experimental_rerun",
)


def parse_command_line(argv: Sequence[str]) -> Any:
    """Hydra's own parse of an app's command line (``argparse.Namespace``)."""
    return hydra_internal("hydra._internal.utils.get_args_parser")().parse_args(list(argv))


def check_command_line(conf_dir: str, config_name: str, argv: Sequence[str]) -> list[str]:
    """Compose and validate the job of a single run's command line, as a sweep's jobs are
    checked, before Hydra starts; one message per problem (none for a valid run).

    Sweeps (``-m``) are left to :func:`check_sweep` and commands that run no job (help,
    ``--cfg``, completion, another config) to Hydra.  A key that does not exist gets the
    same "Did you mean ...?" as in a sweep; a value out of range names its key.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sim.schema import ConfigError

    args = parse_command_line(argv)
    if args.multirun or any(getattr(args, flag, None) for flag in _NO_RUN_FLAGS):
        return []
    try:
        parsed = hydra_internal(f"{_PARSER}.create")().parse_overrides(list(args.overrides))
    except Exception as exc:
        return [f"cannot parse the overrides: {_short(exc)}"]
    if any(ov.get_key_element().lstrip("+~") == "hydra.mode" for ov in parsed):
        return []  # a sweep chosen in the config: checked by the sweep callback
    task = [str(ov.input_line) for ov in parsed if not ov.is_hydra_override()]
    groups = [
        str(ov.input_line)
        for ov in parsed
        if not ov.is_hydra_override()
        and "." not in ov.get_key_element()
        and isinstance(ov.value(), str)
    ]
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        try:
            job_cfg = compose(config_name, overrides=task)
        except Exception as exc:  # Hydra's composition errors name the key
            try:
                base = compose(config_name, overrides=groups)
            except Exception:
                base = compose(config_name)
            return [f"cannot compose: {_short(exc)}{_did_you_mean(base, str(exc))}"]
    validator = VALIDATORS.get(config_name)
    if validator is None:
        return []
    try:
        validator(_task_config(job_cfg))
    except ConfigError as exc:
        return [f"invalid value: {exc}"]
    return []


# --------------------------------------------------------------------------- the sweeper

_VALIDATED: set[tuple[str, ...]] = set()


def trust_validated(jobs: Sequence[Sequence[str]]) -> None:
    """Let the basic sweeper skip its own check of batches made of ``jobs``.

    ``Sweeper.validate_batch_is_legal`` composes every job again, serially and in full
    (0.2-0.5 s a job here), in the launching process, before launching: for a 240-job
    sweep that is a minute or two during which no job runs.  Batches whose every job was
    checked by :func:`check_sweep` are passed; anything else still gets Hydra's check.
    """
    _VALIDATED.update(tuple(job) for job in jobs)
    sweeper = hydra_internal(_SWEEPER)
    original = hydra_internal(f"{_SWEEPER}.validate_batch_is_legal")
    if getattr(original, "_one2one", False):
        return

    def validate_batch_is_legal(self: Any, batch: Sequence[Sequence[str]]) -> None:
        if all(tuple(job) in _VALIDATED for job in batch):
            return
        original(self, batch)

    validate_batch_is_legal._one2one = True  # type: ignore[attr-defined]
    sweeper.validate_batch_is_legal = validate_batch_is_legal


__all__ = [
    "HYDRA_INTERNALS",
    "VALIDATORS",
    "HydraInternalsChanged",
    "JobComposer",
    "SweepConfigError",
    "check_command_line",
    "check_sweep",
    "expand_sweep",
    "hydra_internal",
    "is_basic_sweeper",
    "parse_command_line",
    "sweep_arguments",
    "trust_validated",
    "validate_sweep",
]
