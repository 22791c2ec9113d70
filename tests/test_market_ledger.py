"""The run's columnar record (sim.ledger): schemas, appends and Parquet round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.ledger import (
    CONTACT_SCHEMA,
    OPTOUT_SCHEMA,
    PURCHASE_SCHEMA,
    ContactStatus,
    Ledger,
    Table,
)


def test_to_parquet_round_trip(tmp_path: Path, make_cfg, run_market, deep_blast) -> None:
    m = run_market(make_cfg(n=3000, days=10), 41, deep_blast(days=(1.0, 2.0)))
    tables = m.ledger.tables()
    assert all(len(t) > 0 for t in tables.values())
    paths = m.ledger.to_parquet(tmp_path / "run")
    assert sorted(p.name for p in paths) == [
        "contacts.parquet",
        "optouts.parquet",
        "purchases.parquet",
    ]
    assert not list((tmp_path / "run").glob("*.tmp"))
    for name, table in tables.items():
        back = pd.read_parquet(tmp_path / "run" / f"{name}.parquet")
        pd.testing.assert_frame_equal(back, table.frame(), check_exact=True)
        assert list(back.columns) == list(table.schema)
        for col, dtype in table.schema.items():
            assert back[col].dtype == np.dtype(dtype), (name, col)


def test_empty_ledger_round_trips_with_its_schema(tmp_path: Path) -> None:
    led = Ledger()
    led.to_parquet(tmp_path)
    for name, table in led.tables().items():
        back = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert len(back) == 0
        assert list(back.columns) == list(table.schema)
        pd.testing.assert_frame_equal(back, table.frame(), check_exact=True, check_index_type=False)


def test_overwriting_replaces_previous_files(tmp_path: Path) -> None:
    led = Ledger()
    led.optouts.append(
        time=np.array([1.0, 2.0]), consumer=np.array([3, 4]), channel=np.array([0, 1])
    )
    led.to_parquet(tmp_path)
    led.optouts.append(time=np.array([5.0]), consumer=np.array([6]), channel=np.array([2]))
    led.to_parquet(tmp_path)
    back = pd.read_parquet(tmp_path / "optouts.parquet")
    assert back["consumer"].tolist() == [3, 4, 6]


def test_append_with_a_wrong_length_raises() -> None:
    t = Table(OPTOUT_SCHEMA)
    with pytest.raises(ValueError, match="column consumer has 3 rows, expected 2"):
        t.append(time=np.array([1.0, 2.0]), consumer=np.array([1, 2, 3]), channel=np.array([0, 0]))
    assert len(t) == 0


def test_append_with_missing_or_extra_columns_raises() -> None:
    t = Table(OPTOUT_SCHEMA)
    with pytest.raises(ValueError, match="missing \\['channel'\\]"):
        t.append(time=np.array([1.0]), consumer=np.array([1]))
    with pytest.raises(ValueError, match="unexpected \\['colour'\\]"):
        t.append(
            time=np.array([1.0]),
            consumer=np.array([1]),
            channel=np.array([0]),
            colour=np.array([1]),
        )
    assert len(t) == 0


def test_append_casts_broadcasts_scalars_and_concatenates() -> None:
    t = Table(PURCHASE_SCHEMA)
    t.append(
        time=np.array([0.5, 0.7]),
        consumer=np.array([1, 2]),
        category=np.array([0, 3]),
        value=np.array([10.0, 20.0]),
        discount=0.0,
        offer_contact=-1,
        induced=np.array([False, True]),
    )
    t.append(
        time=np.array([], float),
        consumer=np.array([], int),
        category=np.array([], int),
        value=np.array([], float),
        discount=np.array([], float),
        offer_contact=np.array([], int),
        induced=np.array([], bool),
    )  # no-op
    t.append(
        time=np.array([1.5]),
        consumer=np.array([7]),
        category=np.array([2]),
        value=np.array([5.0]),
        discount=np.array([0.2]),
        offer_contact=np.array([9]),
        induced=np.array([False]),
    )
    assert len(t) == 3
    f = t.frame()
    assert f["consumer"].tolist() == [1, 2, 7]
    assert f["discount"].tolist() == pytest.approx([0.0, 0.0, 0.2])
    assert f["offer_contact"].tolist() == [-1, -1, 9]
    for col, dtype in PURCHASE_SCHEMA.items():
        assert f[col].dtype == np.dtype(dtype), col
    # The cached frame is refreshed by a later append.
    t.append(
        time=np.array([2.0]),
        consumer=np.array([8]),
        category=np.array([1]),
        value=np.array([1.0]),
        discount=np.array([0.0]),
        offer_contact=np.array([-1]),
        induced=np.array([False]),
    )
    assert len(t.frame()) == 4


def test_status_codes_are_those_written_in_ledgers() -> None:
    """Saved ledgers hold the codes, so they must never change."""
    assert {s.name.lower(): int(s) for s in ContactStatus} == {
        "delivered": 0,
        "holdout": 1,
        "opted_out": 2,
        "unreachable": 3,
    }


def test_market_ledger_is_consistent(make_cfg, run_market, deep_blast) -> None:
    m = run_market(make_cfg(n=3000, days=10), 42, deep_blast(days=(1.0, 2.0), holdout_share=0.2))
    c = m.ledger.contacts.frame()
    assert list(c.columns) == list(CONTACT_SCHEMA)
    assert (c["contact_id"].to_numpy() == np.arange(len(c))).all()
    assert c["status"].isin(list(ContactStatus)).all()
    assert set(c["status"].unique()) >= {
        ContactStatus.DELIVERED,
        ContactStatus.HOLDOUT,
        ContactStatus.UNREACHABLE,
    }
    undelivered = c["status"] != ContactStatus.DELIVERED
    assert not c.loc[undelivered, ["backlash", "opted_out"]].any().any()
    assert (c.loc[undelivered, "persuasion"] == 0).all()
    assert (c["opted_out"] <= c["backlash"]).all()
    o = m.ledger.optouts.frame()
    assert len(o) == int(c["opted_out"].sum())
    p = m.ledger.purchases.frame()
    assert (np.diff(np.floor(p["time"].to_numpy())) >= 0).all()  # appended step by step
    assert ((p["time"] >= 0) & (p["time"] < m.cfg.horizon_days)).all()
    # No discount was offered, so nothing was redeemed.
    assert (p["offer_contact"] == -1).all() and (p["discount"] == 0).all()
    hit = (c["status"] == ContactStatus.DELIVERED) & ~c["backlash"]
    assert (c.loc[hit, "persuasion"] > 0).all()
