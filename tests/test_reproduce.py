"""`python -m experiments.reproduce profile=tiny` reruns every study and reproduces the
committed tiny tables exactly (results/tiny/), whatever the number of workers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments.reproduce import UsageError, load_profile, main

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "results" / "tiny"
PROVENANCE = ("git_rev",)  # the commit that produced a row: differs once code is committed


def test_tiny_profile_reproduces_the_committed_tables(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["profile=tiny", f"out={out}", f"work={tmp_path / 'work'}", "n_jobs=2"]) == 0
    names = sorted(p.name for p in COMMITTED.glob("*.csv"))
    assert names == sorted(p.name for p in out.glob("*.csv"))
    assert len(names) >= 12
    for name in names:
        fresh, committed = pd.read_csv(out / name), pd.read_csv(COMMITTED / name)
        keep = [c for c in committed.columns if c not in PROVENANCE]
        pd.testing.assert_frame_equal(fresh[keep], committed[keep], obj=name)
        assert committed["git_rev"].notna().all() if "git_rev" in committed else True
    assert (out / "figures" / "tuned_comparison.png").stat().st_size > 10_000


def test_bad_profile_and_keys_are_named() -> None:
    with pytest.raises(UsageError, match="valid choices: full, tiny"):
        load_profile(["profile=huge"])
    with pytest.raises(UsageError, match="unknown key"):
        load_profile(["profile=tiny", "seeds=3"])
    with pytest.raises(UsageError, match="studies"):
        load_profile(["profile=tiny", "studies=tuned,phse"])


def test_help_prints_the_usage_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` prints the module's usage (naming ``profile=``) and runs nothing; a bare
    word is refused with exit 2."""
    assert main(["--help"]) == 0
    assert "profile=full" in capsys.readouterr().out
    assert main(["tiny"]) == 2
    assert "key=value" in capsys.readouterr().err
