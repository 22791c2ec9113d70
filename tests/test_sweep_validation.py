"""Sweep validation: the Hydra internals it relies on are still there and behave as
assumed; it expands a sweep into the jobs Hydra launches; it names every problem.

If an upgrade of Hydra breaks an assumption, a test here fails and names the internal
(``experiments/sweep_validation.py`` is the only module that touches them).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import hydra
import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf

from experiments import sweep_validation as sv

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
#: The entry point (primary config) of each study that is not ``experiments.run``'s.
PRIMARY = {"estimators": "uplift"}
TINY = [
    "strategy=segmented",
    "market.n_consumers=600",
    "market.horizon_days=20",
    "strategy.end_day=20",
]
HYDRA = f"hydra-core {hydra.__version__}"


@pytest.fixture
def hydra_loader() -> Iterator[Any]:
    """Hydra's config loader on conf/ (the one a sweep's callback gets)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield sv.config_loader()


def master(loader: Any, overrides: list[str], config_name: str = "config") -> Any:
    """The multirun master config, as ``hydra.main -m`` composes it."""
    return loader.load_configuration(config_name, overrides, run_mode=RunMode.MULTIRUN)


# --------------------------------------------------------------------------- internals


@pytest.mark.parametrize("name", list(sv.HYDRA_INTERNALS))
def test_hydra_internal_is_as_relied_on(name: str) -> None:
    """Each internal exists and takes the parameters passed to it (later parameters, if
    Hydra adds any, must have defaults)."""
    try:
        obj = sv.hydra_internal(name)
    except sv.HydraInternalsChanged as exc:
        pytest.fail(str(exc))
    expected = sv.HYDRA_INTERNALS[name]
    if expected is None:
        return
    params = list(inspect.signature(obj).parameters.values())
    found = tuple(p.name for p in params)
    assert found[: len(expected)] == expected and all(
        p.default is not p.empty for p in params[len(expected) :]
    ), (
        f"Hydra internal {name} changed ({HYDRA}): parameters {found}, relied on "
        f"{expected} (experiments/sweep_validation.py)"
    )


def test_a_missing_internal_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper.no_such_method"
    monkeypatch.setitem(sv.HYDRA_INTERNALS, gone, ("self",))
    with pytest.raises(sv.HydraInternalsChanged, match=re.escape(gone)):
        sv.hydra_internal(gone)


class _RecordingLauncher:
    """Stands in for the sweeper's launcher: records the jobs, runs nothing."""

    def __init__(self) -> None:
        self.jobs: list[list[str]] = []

    def launch(self, batch: Sequence[Sequence[str]], initial_job_idx: int) -> list[Any]:
        self.jobs.extend(list(job) for job in batch)
        return [type("Done", (), {"return_value": None})() for _ in batch]


def test_expansion_is_what_the_basic_sweeper_launches(hydra_loader: Any, tmp_path: Path) -> None:
    """Hydra's own sweeper, set up as ``hydra.main -m`` sets it up, launches exactly the
    expanded jobs in the same order (so job numbers agree), with the command line
    replacing a key of hydra.sweeper.params, and checks each batch with
    ``validate_batch_is_legal`` before launching it (what :func:`trust_validated`
    short-cuts)."""
    from hydra.core.plugins import Plugins
    from hydra.core.utils import setup_globals
    from hydra.types import HydraContext

    setup_globals()
    cfg = master(
        hydra_loader,
        ["experiment=granularity", "market=default", "seed=3,4", f"hydra.sweep.dir={tmp_path}"],
    )
    assert sv.is_basic_sweeper(cfg), f"{cfg.hydra.sweeper._target_} is not the basic sweeper"
    sweeper = Plugins.instance().instantiate_sweeper(
        config=cfg,
        hydra_context=HydraContext(config_loader=hydra_loader, callbacks=None),
        task_function=lambda _: None,
    )
    launcher = _RecordingLauncher()
    checked: list[list[str]] = []
    sweeper.launcher = launcher
    sweeper.validate_batch_is_legal = lambda batch: checked.extend(map(list, batch))
    task = OmegaConf.to_container(cfg.hydra.overrides.task, resolve=False)
    sweeper.sweep(arguments=task)

    jobs = sv.expand_sweep(sv.sweep_arguments(cfg), hydra_loader)
    assert launcher.jobs == jobs, f"BasicSweeper ({HYDRA}) launches other jobs than expanded"
    assert checked == jobs, f"BasicSweeper.sweep ({HYDRA}) no longer calls validate_batch_is_legal"
    assert len(jobs) == 9 * 2
    assert {j[0] for j in jobs} == {"market=default"}


def test_trusted_jobs_skip_the_sweepers_check(hydra_loader: Any) -> None:
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    jobs = [["seed=0"], ["seed=1"]]
    sv.trust_validated(jobs)
    assert BasicSweeper.validate_batch_is_legal(object(), jobs) is None
    with pytest.raises(AttributeError):  # anything else goes to Hydra's own check
        BasicSweeper.validate_batch_is_legal(object(), [["seed=99"]])


def test_fast_composition_equals_hydra(hydra_loader: Any) -> None:
    """The cached composition used for validation gives Hydra's own job configs (this
    relies on ``ConfigLoaderImpl.repository`` and ``_apply_overrides_to_config``)."""
    for experiment in EXPERIMENTS:
        cfg = master(hydra_loader, [f"experiment={experiment}"], PRIMARY.get(experiment, "config"))
        jobs = sv.expand_sweep(sv.sweep_arguments(cfg), hydra_loader)
        composer = sv.JobComposer(cfg, hydra_loader)
        assert composer.fast, (
            f"{type(hydra_loader).__name__} ({HYDRA}) has no repository or "
            "_apply_overrides_to_config: validation composes every job in full"
        )
        for job in (jobs[0], jobs[len(jobs) // 2], jobs[-1]):
            fast = OmegaConf.to_container(composer(job), resolve=True)
            full = hydra_loader.load_sweep_config(cfg, list(job))
            full = {
                k: v for k, v in OmegaConf.to_container(full, resolve=False).items() if k != "hydra"
            }
            assert fast == OmegaConf.to_container(OmegaConf.create(full), resolve=True), job


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_file_expands_and_every_job_validates(
    experiment: str, hydra_loader: Any
) -> None:
    """Each study file: a package-global override set with its sweep in
    hydra.sweeper.params (explicit seeds), a unique sweep dir, >= 40 jobs, all valid."""
    text = (CONF / "experiment" / f"{experiment}.yaml").read_text()
    assert text.startswith("# @package _global_")
    primary = PRIMARY.get(experiment, "config")
    cfg = master(hydra_loader, [f"experiment={experiment}"], primary)
    params = cfg.hydra.sweeper.params
    assert "seed" in params and "," in str(params.seed), "seeds must be explicit sweep values"
    assert re.search(rf"multirun/{experiment}/.*_\d{{6}}$", str(cfg.hydra.sweep.dir)), (
        "sweep dirs need sub-second time so that two sweeps never share one"
    )
    jobs = sv.expand_sweep(sv.sweep_arguments(cfg), hydra_loader)
    assert len(jobs) >= 40
    assert sv.validate_sweep(cfg, jobs, hydra_loader, sv.VALIDATORS[primary]) == []


def test_validation_names_unknown_option_and_key(hydra_loader: Any) -> None:
    cfg = master(hydra_loader, [*TINY, "strategy=mass,one_to_oen", "market.n_consumerz=1,2"])
    jobs = sv.expand_sweep(sv.sweep_arguments(cfg), hydra_loader)
    problems = sv.validate_sweep(cfg, jobs, hydra_loader, sv.validate_run)
    text = "\n".join(problems)
    assert "one_to_oen" in text and "market.n_consumerz" in text
    assert "Did you mean 'market.n_consumers'" in text
    # one line per problem, not one per job
    assert len(problems) == 2, problems


def test_check_sweep_reports_bad_values_and_unsupported_sweeps(hydra_loader: Any) -> None:
    cfg = master(hydra_loader, [*TINY, "seed=0,1", "market.tribes.variance_share=0.5,1.5"])
    jobs, problems = sv.check_sweep(cfg, "config")
    assert len(jobs) == 4 and len(problems) == 1
    assert "market.tribes.variance_share = 1.5" in problems[0] and "in 2 of 4 jobs" in problems[0]
    cfg = master(hydra_loader, [*TINY, "seed=interval(0,1)"])
    jobs, problems = sv.check_sweep(cfg, "config")
    assert jobs == [] and "seed: the basic sweeper cannot expand" in problems[0]
