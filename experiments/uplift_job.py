"""A job of the uplift lab, parsed and validated without running it.

:func:`parse_job` turns a composed ``uplift`` config into an :class:`UpliftJob` (every
key checked, a CSV data set's required keys and file first); :func:`load_data` loads and
checks its data set, including arms too small to fit; :func:`validate_uplift` is the
check the sweep validation (:mod:`experiments.sweep_validation`) and the single-run
pre-check run for every job before any work.  :mod:`experiments.uplift` runs the job.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from sim.datasets import DataError, ExperimentData
from sim.experiment import RunConfig, build_run_config
from sim.schema import ConfigError, build
from sim.uplift.config import DatasetConfig, EstimatorConfig
from sim.uplift.pilot import PilotConfig
from sim.uplift.real import check_sizes, load_dataset

CONF = Path(__file__).resolve().parent.parent / "conf"


def estimator_configs(data: dict[str, Any]) -> list[EstimatorConfig]:
    """The selected estimator plus ``compare`` options, validated before any work."""
    out = [EstimatorConfig.from_dict(data["estimator"])]
    for name in data.get("compare") or []:
        path = CONF / "estimator" / f"{name}.yaml"
        if not path.exists():
            valid = sorted(p.stem for p in (CONF / "estimator").glob("*.yaml"))
            raise ConfigError(
                f"compare: unknown estimator {name!r}; valid choices: {', '.join(valid)}."
            )
        loaded = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
        assert isinstance(loaded, dict)
        out.append(EstimatorConfig.from_dict({str(k): v for k, v in loaded.items()}))
    return out


@dataclass(frozen=True)
class UpliftJob:
    """A validated uplift-lab job: what :func:`run_uplift` needs, nothing left to check."""

    seed: int
    n_boot: int
    closed_loop: bool
    estimators: list[EstimatorConfig]
    dataset: DatasetConfig | None = None  # real data (hillstrom, csv)
    run: RunConfig | None = None  # simulated pilot: market, economics, strategy
    pilot: PilotConfig | None = None
    test_size: float = 0.3


#: What a ``???`` key of ``conf/dataset/csv.yaml`` holds, for the message that asks for it.
_REQUIRED: dict[str, str] = {
    "path": "<file.csv>",
    "treatment_col": "<column of the arm labels>",
    "control_label": "<label of the control arm>",
    "outcome_col": "<column of the outcome>",
}


def _dataset_keys(data_cfg: dict[str, Any]) -> dict[str, Any]:
    """Check the keys a CSV data set must set, the file first (so that a missing file
    is reported as a path problem), and read labels written as numbers as text."""
    unset = [k for k in _REQUIRED if data_cfg.get(k) in (None, "???")]
    name = data_cfg.get("name")
    if name == "csv":
        errors = []
        path = data_cfg.get("path")
        if "path" not in unset and not Path(str(path)).is_file():
            where = "is a directory" if Path(str(path)).is_dir() else "does not exist"
            rel = "" if Path(str(path)).is_absolute() else f" (relative to {Path.cwd()})"
            errors.append(f"dataset.path = {path!r}: the file {where}{rel}")
        missing = [k for k in unset if not (k == "path" and errors)]
        if missing:
            errors.append(
                "dataset=csv needs "
                + " ".join(f"dataset.{k}={_REQUIRED[k]}" for k in missing)
                + f" (not set: {', '.join(missing)})"
            )
        if errors:
            raise ConfigError(errors)
    label = data_cfg.get("control_label")
    if isinstance(label, bool):
        data_cfg["control_label"] = str(label).lower()
    elif isinstance(label, int | float):
        data_cfg["control_label"] = str(int(label)) if float(label).is_integer() else str(label)
    return data_cfg


def parse_job(data: dict[str, Any]) -> UpliftJob:
    """Validate a composed ``uplift`` config (plain dict); raise ``ConfigError`` naming the key."""
    data_cfg = _dataset_keys(dict(data["dataset"]))
    estimators = estimator_configs(data)
    n_boot = int(data["n_boot"])
    if n_boot < 0:
        raise ConfigError(f"n_boot={n_boot} is invalid: must be >= 0")
    base = UpliftJob(
        seed=int(data["seed"]),
        n_boot=n_boot,
        closed_loop=bool(data["closed_loop"]),
        estimators=estimators,
    )
    if data_cfg.get("name") != "sim":
        return replace(base, dataset=DatasetConfig.from_dict(data_cfg))
    test_size = float(data_cfg.pop("test_size", 0.3))
    data_cfg.pop("name")
    if data_cfg:
        raise ConfigError(f"dataset (sim): unknown keys {sorted(data_cfg)}; valid: name, test_size")
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"dataset.test_size={test_size!r} is invalid: must be in (0, 1)")
    run_cfg = build_run_config({k: data[k] for k in ("seed", "market", "strategy", "economics")})
    pilot = build(PilotConfig, data["pilot"], "pilot")
    return replace(base, run=run_cfg, pilot=pilot, test_size=test_size)


def load_data(job: UpliftJob) -> ExperimentData | None:
    """The job's real data set, loaded and validated (``None`` for a simulated pilot).

    Raises ``ConfigError`` naming the file and the column or row at fault, with the
    override that fixes it, so that a malformed file, or arms too small to fit
    (:func:`sim.uplift.real.check_sizes`), stop the job (and, at sweep validation, the
    sweep) before any work.
    """
    if job.dataset is None:
        return None
    try:
        data = load_dataset(job.dataset)
        check_sizes(data, job.seed, job.dataset.test_size)
    except DataError as exc:
        raise ConfigError(f"dataset: {exc.for_overrides('dataset')}") from None
    return data


#: Data sets already loaded and validated in this process (sweep validation checks each
#: distinct dataset config once, not once per job).
_VALID_DATASETS: set[str] = set()


def validate_uplift(data: dict[str, Any]) -> None:
    """Sweep-time check of one job's config and data file (see :mod:`experiments.callbacks`)."""
    job = parse_job(data)
    if job.dataset is None:
        return
    key = json.dumps(asdict(job.dataset), sort_keys=True)
    if key not in _VALID_DATASETS:
        load_data(job)
        _VALID_DATASETS.add(key)


__all__ = ["UpliftJob", "estimator_configs", "load_data", "parse_job", "validate_uplift"]
