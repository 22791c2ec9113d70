"""Hillstrom copy and the validated CSV loader: shapes, published rates, error messages."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.datasets import (
    HILLSTROM_ARMS,
    HILLSTROM_CONTROL,
    DataError,
    experiment_from_frame,
    hillstrom_experiment,
    load_experiment,
    load_hillstrom,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def hillstrom() -> pd.DataFrame:
    return load_hillstrom()


def test_hillstrom_shape_and_published_arm_rates(hillstrom: pd.DataFrame) -> None:
    # The published arm rates of the distributed file, to 4 decimals.
    assert hillstrom.shape == (64_000, 12)
    by_arm = hillstrom.groupby("segment")
    assert by_arm.size().to_dict() == {
        "No E-Mail": 21_306,
        "Womens E-Mail": 21_387,
        "Mens E-Mail": 21_307,
    }
    expected = {
        "No E-Mail": (0.1062, 0.0057),
        "Womens E-Mail": (0.1514, 0.0088),
        "Mens E-Mail": (0.1828, 0.0125),
    }
    for arm, (visit, conversion) in expected.items():
        rows = hillstrom[hillstrom["segment"] == arm]
        assert round(rows["visit"].mean(), 4) == visit
        assert round(rows["conversion"].mean(), 4) == conversion
    assert set(HILLSTROM_ARMS) | {HILLSTROM_CONTROL} == set(expected)


def test_hillstrom_checksum_mismatch_is_refused(tmp_path: Path) -> None:
    shipped = Path(__file__).parents[1] / "sim/datasets/hillstrom.csv.gz"
    raw = gzip.decompress(shipped.read_bytes())
    tampered = raw.replace(b"Surburban", b"Suburban", 1)
    path = tmp_path / "hillstrom.csv.gz"
    path.write_bytes(gzip.compress(tampered))
    with pytest.raises(DataError, match="sha256"):
        load_hillstrom(path)


def test_hillstrom_experiment_drops_other_outcomes(hillstrom: pd.DataFrame) -> None:
    data = hillstrom_experiment("conversion", frame=hillstrom)
    assert data.X.shape == (64_000, 18) and data.X.dtype == np.float64
    assert not {"visit", "spend", "conversion", "segment"} & set(data.feature_names)
    assert "zip_code=Surburban" in data.feature_names
    assert data.arms == ["Mens E-Mail", "Womens E-Mail"]
    assert data.control == "No E-Mail"
    np.testing.assert_array_equal(data.y, hillstrom["conversion"].to_numpy(dtype=float))
    with pytest.raises(DataError, match="visit, conversion, spend"):
        hillstrom_experiment("revenue", frame=hillstrom)


def test_good_csv_is_encoded() -> None:
    data = load_experiment(DATA / "good.csv", "arm", "control", "bought")
    assert data.feature_names == ["age", "member", "city=Lyon", "city=Nice", "city=Paris"]
    assert data.arms == ["A", "B"]
    assert data.treatment.tolist() == ["control", "A", "B", "control", "A", "B"]
    np.testing.assert_array_equal(data.X[:, 1], [1, 0, 1, 0, 1, 0])  # bools to 0/1
    np.testing.assert_array_equal(data.X[:, 2:].sum(axis=1), np.ones(6))  # one-hot
    np.testing.assert_array_equal(data.y, [0, 1, 0, 1, 0, 1])
    picked = load_experiment(DATA / "good.csv", "arm", "control", "bought", feature_cols=["age"])
    assert picked.feature_names == ["age"]
    dropped = load_experiment(DATA / "good.csv", "arm", "control", "bought", drop_cols=["city"])
    assert dropped.feature_names == ["age", "member"]


@pytest.mark.parametrize(
    ("name", "kwargs", "fragments"),
    [
        ("absent.csv", {}, ["absent.csv", "does not exist"]),
        ("empty.csv", {}, ["empty.csv", "empty"]),
        ("header_only.csv", {}, ["no data rows"]),
        ("missing_outcome_column.csv", {}, ["'bought'", "available columns", "'purchased'"]),
        ("no_control.csv", {}, ["'control'", "labels found", "'holdout'", "'A'", "'B'"]),
        ("only_control.csv", {}, ["only the control arm", "'control'"]),
        ("nonbinary_outcome.csv", {}, ["'bought'", "binary", "2", "data row 3", "line 4"]),
        ("non_numeric_feature.csv", {}, ["'age'", "'abc'", "data row 4", "line 5"]),
        ("missing_treatment.csv", {}, ["'arm'", "missing", "data row 2"]),
        ("missing_outcome.csv", {}, ["'bought'", "missing", "data row 3"]),
        ("text_outcome.csv", {"binary_outcome": False}, ["'bought'", "'yes'", "data row 2"]),
        ("good.csv", {"drop_cols": ["town"]}, ["'town'", "available columns", "'city'"]),
        ("good.csv", {"feature_cols": ["age", "bought"]}, ["'bought'", "must not contain"]),
    ],
)
def test_broken_csv_raises_naming_column_or_row(
    name: str, kwargs: dict[str, object], fragments: list[str]
) -> None:
    with pytest.raises(DataError) as info:
        load_experiment(DATA / name, "arm", "control", "bought", **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message


def test_nonbinary_outcome_accepted_when_continuous() -> None:
    data = load_experiment(
        DATA / "nonbinary_outcome.csv", "arm", "control", "bought", binary_outcome=False
    )
    np.testing.assert_array_equal(data.y, [0, 1, 2, 1])


def test_frame_rows_are_numbered_without_file_lines() -> None:
    frame = pd.DataFrame({"arm": ["c", "t", "t"], "x": [1.0, 2.0, 3.0], "y": [0, 1, 5]})
    with pytest.raises(DataError, match=r"has 5 at data row 3;"):
        experiment_from_frame(frame, "arm", "c", "y")
    labels = pd.DataFrame({"arm": ["007", "1", "007"], "x": [1, 2, 3], "y": [0, 1, 1]})
    data = experiment_from_frame(labels, "arm", "007", "y")
    assert data.control == "007" and data.arms == ["1"]


def test_id_like_text_column_is_refused(tmp_path: Path) -> None:
    n = 150
    frame = pd.DataFrame(
        {
            "arm": np.where(np.arange(n) % 2 == 0, "control", "mail"),
            "customer": [f"C{i:04d}" for i in range(n)],
            "age": np.arange(n) % 40 + 20,
            "bought": np.arange(n) % 3 == 0,
        }
    )
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"'customer' has 150 distinct text values.*drop_cols"):
        load_experiment(path, "arm", "control", "bought")
    data = load_experiment(path, "arm", "control", "bought", drop_cols=["customer"])
    assert data.y.sum() == 50  # True/False outcome read as 1/0


# ------------------------------------------------------------------ common CSV shapes (issue 14)


def test_arms_coded_0_1_with_a_numeric_control_label(tmp_path: Path) -> None:
    """``dataset.control_label=0`` reaches the loader as the integer 0 (it used to be
    refused as "not a string"); it matches the text 0 of the treatment column."""
    from experiments.uplift_job import parse_job

    path = tmp_path / "coded.csv"
    path.write_text("treated,bought,age\n0,0,30\n1,1,40\n0,1,50\n1,0,60\n")
    data = load_experiment(path, "treated", 0, "bought")  # type: ignore[arg-type]
    assert data.control == "0" and data.arms == ["1"]
    job = parse_job(
        {
            "dataset": {
                "name": "csv",
                "path": str(path),
                "treatment_col": "treated",
                "control_label": 0,
                "outcome_col": "bought",
            },
            "estimator": {"name": "x"},
            "n_boot": 0,
            "seed": 0,
            "closed_loop": False,
        }
    )
    assert job.dataset is not None and job.dataset.control_label == "0"


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_separators_are_detected_or_given(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "semi.csv"
    lines = ["arm,bought,age,city", "control,0,34,Paris", "A,1,51,Lyon", "control,1,28,Nice"]
    path.write_text("\n".join(ln.replace(",", sep) for ln in lines) + "\n")
    for given in (None, sep):
        data = load_experiment(path, "arm", "control", "bought", sep=given)
        assert data.feature_names == ["age", "city=Lyon", "city=Nice", "city=Paris"]
        np.testing.assert_array_equal(data.y, [0, 1, 1])


@pytest.mark.parametrize(
    ("yes", "no"), [("yes", "no"), ("TRUE", "FALSE"), ("Y", "N"), ("True", "False"), ("t", "f")]
)
def test_text_codings_of_a_binary_outcome(tmp_path: Path, yes: str, no: str) -> None:
    path = tmp_path / "text.csv"
    path.write_text(f"arm,bought,age\ncontrol,{no},34\nA,{yes},51\nB,{no},28\nA,{yes},40\n")
    np.testing.assert_array_equal(load_experiment(path, "arm", "control", "bought").y, [0, 1, 0, 1])


def test_unknown_outcome_coding_lists_the_accepted_ones(tmp_path: Path) -> None:
    path = tmp_path / "maybe.csv"
    path.write_text("arm,bought,age\ncontrol,yes,34\nA,maybe,51\nB,no,28\n")
    with pytest.raises(DataError) as info:
        load_experiment(path, "arm", "control", "bought")
    text = str(info.value)
    assert "'maybe'" in text and "data row 2" in text
    assert "1/0, true/false, yes/no, y/n, t/f" in text
    assert info.value.for_overrides("dataset").endswith("set dataset.binary_outcome=false")


def test_duplicate_column_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("arm,age,bought,age\ncontrol,34,0,35\nA,51,1,50\n")
    with pytest.raises(DataError, match=r"duplicate column names: 'age' \(columns 2, 4\)"):
        load_experiment(path, "arm", "control", "bought")
    frame = pd.DataFrame([["control", 1, 0, 2]], columns=["arm", "x", "bought", "x"])
    with pytest.raises(DataError, match="duplicate column names: 'x'"):
        experiment_from_frame(frame, "arm", "control", "bought")


def test_id_like_feature_is_warned_with_drop_cols(tmp_path: Path) -> None:
    n = 40
    frame = pd.DataFrame(
        {
            "arm": np.where(np.arange(n) % 2 == 0, "control", "mail"),
            "row": np.arange(1000, 1000 + n),  # integers, all distinct
            "customer_id": np.arange(n) % 5,  # an identifier by its name
            "age": np.arange(n) % 7 + 20,
            "bought": np.arange(n) % 3 == 0,
        }
    )
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    data = load_experiment(path, "arm", "control", "bought")
    assert len(data.warnings) == 2
    assert all("drop_cols" in w for w in data.warnings)
    assert {"'row'", "'customer_id'"} == {w.split()[2] for w in data.warnings}
    assert (
        load_experiment(path, "arm", "control", "bought", drop_cols=["row", "customer_id"]).warnings
        == ()
    )


def test_arms_too_small_are_refused_before_fitting() -> None:
    from sim.uplift.real import check_sizes

    frame = pd.DataFrame(
        {"arm": ["c"] * 20 + ["t"] * 3, "x": np.arange(23.0), "y": [0, 1] * 10 + [1, 1, 1]}
    )
    data = experiment_from_frame(frame, "arm", "c", "y")
    with pytest.raises(DataError) as info:
        check_sizes(data, seed=0, test_size=0.3)
    text = str(info.value)
    assert "'t'" in text and "'c'" not in text.split("):", 1)[1]
    assert "all with outcome 1" in text or "test row" in text
