"""Real randomised experiments: the shipped Hillstrom copy and a validated CSV loader."""

from sim.datasets.csv import (
    MAX_CATEGORIES,
    DataError,
    ExperimentData,
    experiment_from_frame,
    load_experiment,
)
from sim.datasets.hillstrom import (
    HILLSTROM_ARMS,
    HILLSTROM_CONTROL,
    HILLSTROM_MENS,
    HILLSTROM_OUTCOMES,
    HILLSTROM_SHA256,
    HILLSTROM_TREATMENT_COL,
    HILLSTROM_WOMENS,
    hillstrom_experiment,
    load_hillstrom,
)

__all__ = [
    "HILLSTROM_ARMS",
    "HILLSTROM_CONTROL",
    "HILLSTROM_MENS",
    "HILLSTROM_OUTCOMES",
    "HILLSTROM_SHA256",
    "HILLSTROM_TREATMENT_COL",
    "HILLSTROM_WOMENS",
    "MAX_CATEGORIES",
    "DataError",
    "ExperimentData",
    "experiment_from_frame",
    "hillstrom_experiment",
    "load_experiment",
    "load_hillstrom",
]
