"""The paper (``make paper``) builds from the committed results, shows only generated
numbers, and follows its inputs.

The paper is built from ``results/`` when its study tables are there, else from the
committed tiny tables (``results/tiny``), into temporary folders.  Checked: at least 8
pages and no placeholder or unresolved reference in the PDF's text; two builds are
byte-identical; a second build makes nothing; every number the PDF shows (each leaves a
metadata record with its page) is the generated text of its value and, where it is a cell
of an input, equals that cell read back independently (within half a unit of its last
shown digit); changing one result table changes the numbers quoted from it and remakes
only what reads it, never writing into the results; the prose lint passes on the paper
and fails on typed digits.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typst
from pypdf import PdfReader

from experiments.paper import fmt
from experiments.paper.build import Report, build, load_manifest
from experiments.paper.inputs import Inputs, MissingInputs, check, default_calibration
from experiments.paper.lint import lint_text

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDERS = re.compile(r"\?\?|\bTODO\b|\bTBD\b|\bXXX\b|lorem", re.IGNORECASE)


def committed_results() -> Path:
    """The full results when they are committed, else the tiny ones."""
    full = ROOT / "results"
    try:
        check(Inputs(full, default_calibration(full, ROOT)), load_manifest().tables())
    except MissingInputs:
        return ROOT / "results" / "tiny"
    return full


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Report]:
    results = committed_results()
    out = tmp_path_factory.mktemp("paper_a")
    return results, out, build(results, out)


@pytest.fixture(scope="module")
def page_text(built: tuple[Path, Path, Report]) -> list[str]:
    _, out, _ = built
    return [p.extract_text() for p in PdfReader(str(out / "paper.pdf")).pages]


@pytest.fixture(scope="module")
def shown(built: tuple[Path, Path, Report]) -> list[dict[str, Any]]:
    _, out, _ = built
    text = typst.query(
        str(out / "paper.typ"), "<shown>", field="value", root=str(out), ignore_system_fonts=True
    )
    records: list[dict[str, Any]] = json.loads(text)
    return records


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_paper_builds_with_eight_pages_and_no_placeholder(
    built: tuple[Path, Path, Report], page_text: list[str]
) -> None:
    _, out, report = built
    assert report.pdf == out / "paper.pdf"
    assert len(page_text) >= 8
    text = "\n".join(page_text)
    assert not PLACEHOLDERS.search(text), PLACEHOLDERS.search(text)
    for heading in (
        "The question and the debate",
        "The model",
        "Validation",
        "Results",
        "Limitations",
        "Reproducing each result",
        "ODD protocol",
        "References",
    ):
        assert heading in text, heading
    assert "n/a" not in text  # every quoted number is finite


def test_two_builds_are_byte_identical_and_a_rebuild_makes_nothing(
    built: tuple[Path, Path, Report], tmp_path: Path
) -> None:
    results, out, _ = built
    again = build(results, tmp_path / "b")
    assert (tmp_path / "b" / "paper.pdf").read_bytes() == (out / "paper.pdf").read_bytes()
    for name in ("numbers.json", "manifest.json"):
        assert (tmp_path / "b" / "generated" / name).read_bytes() == (
            out / "generated" / name
        ).read_bytes()
    assert "paper.pdf" in again.made
    second = build(results, tmp_path / "b")
    assert second.made == []
    assert "paper.pdf" in second.up_to_date and len(second.up_to_date) >= 30


def _input_value(ref: dict[str, Any], results: Path, calibration: Path) -> float:
    """The cell a number was read from, read back here without the producers' code."""
    if "col" in ref:
        return float(pd.read_csv(results / ref["file"]).loc[ref["row"], ref["col"]])
    if ref["file"] == "preset":
        from sim import presets

        group, name, *path = ref["path"]
        obj: Any = (
            presets.market(name)
            if group == "market"
            else presets.economics(name if name in presets.options("economics") else "default")
        )
        for p in path:
            obj = len(obj) if p == "len" else obj[p] if isinstance(obj, dict) else getattr(obj, p)
        return float(obj)
    data: Any = json.loads(calibration.read_text())
    for p in ref["path"]:
        data = data[p]
    return float(data)


def _check_number(n: dict[str, Any], results: Path, calibration: Path) -> None:
    if n["unit"] not in fmt.NUMERIC_UNITS:
        return
    assert n["text"] == fmt.text(n["value"], n["unit"])
    tol = fmt.tolerance(n["text"], n["unit"])
    assert abs(fmt.parse(n["text"], n["unit"]) - n["value"]) <= tol, n
    if "ref" in n:
        source = _input_value(n["ref"], results, calibration)
        assert abs(fmt.parse(n["text"], n["unit"]) - source) <= tol, (n, source)


def test_every_shown_number_is_its_generated_value(
    built: tuple[Path, Path, Report], shown: list[dict[str, Any]], page_text: list[str]
) -> None:
    results, out, _ = built
    calibration = default_calibration(results, ROOT)
    numbers = json.loads((out / "generated" / "numbers.json").read_text())["numbers"]
    pages = [squash(t) for t in page_text]
    kinds = {"num": 0, "cell": 0}
    for rec in shown:
        kinds[rec["kind"]] += 1
        page = pages[rec["page"] - 1]
        if rec["kind"] == "num":
            entry = numbers[rec["key"]]
            assert rec["text"] == entry["text"]
            _check_number(entry, results, calibration)
            assert squash(rec["text"]) in page, (rec, "not on its page")
        else:
            for n in rec["nums"]:
                assert n["text"] in rec["text"]
                _check_number(n, results, calibration)
                assert squash(n["text"]) in page, (rec["table"], n, "not on its page")
    assert kinds["num"] >= 100 and kinds["cell"] >= 100, kinds
    # every numeric cell of every table the paper shows left its record
    tables = {rec["table"] for rec in shown if rec["kind"] == "cell"}
    for name in tables:
        t = json.loads((out / "generated" / "tables" / f"{name}.json").read_text())
        cells = sum(1 for row in t["rows"] for c in row if c["nums"])
        assert cells == sum(1 for r in shown if r["kind"] == "cell" and r["table"] == name)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_changed_result_table_changes_its_numbers_and_only_what_reads_it(
    built: tuple[Path, Path, Report], tmp_path: Path
) -> None:
    results, out, _ = built
    copy = tmp_path / "results"
    copy.mkdir()
    for name in load_manifest().tables():
        shutil.copyfile(results / name, copy / name)
    calibration = default_calibration(results, ROOT)
    v = pd.read_csv(copy / "verdicts.csv")
    i = v.index[v["comparison"] == "best one-to-one vs best alternative"][0]
    preset = v.loc[i, "preset"]
    won = bool(v.loc[i, "lo"] > 0)  # one-to-one won there: make it lose, and vice versa
    sign = -1 if won else 1
    lo_hi = [120001.2, 126543.9] if not won else [-126543.9, -120001.2]
    v.loc[i, ["mean_diff", "lo", "hi"]] = [sign * 123456.7, *lo_hi]
    v.to_csv(copy / "verdicts.csv", index=False)
    before = _digest(copy)
    rebuilt = tmp_path / "paper"
    shutil.copytree(out, rebuilt)
    report = build(copy, rebuilt, calibration)
    assert _digest(copy) == before  # nothing written into the results
    assert set(report.made) == {
        "generated/numbers/tuned.json",
        "generated/tables/verdicts.json",
        "generated/numbers.json",
        "generated/manifest.json",
        "paper.pdf",
    }
    text = squash(" ".join(p.extract_text() for p in PdfReader(str(rebuilt / "paper.pdf")).pages))
    key = f"tuned.{preset}.one_vs_alt"
    m = "\u2212" if won else ""
    records = json.loads(
        typst.query(
            str(rebuilt / "paper.typ"),
            "<shown>",
            field="value",
            root=str(rebuilt),
            ignore_system_fonts=True,
        )
    )
    quoted = {r["key"]: r["text"] for r in records if r["kind"] == "num"}
    assert quoted[f"{key}.mean"] == f"{m}123,457"
    lo, hi = (f"{m}126,544", f"{m}120,001") if won else ("120,001", "126,544")
    assert (quoted[f"{key}.lo"], quoted[f"{key}.hi"]) == (lo, hi)
    assert f"{m}123,457[{lo},{hi}]" in text
    old = json.loads((out / "generated" / "numbers.json").read_text())["numbers"]
    assert old[f"{key}.mean"]["text"] != f"{m}123,457"
    # the verdict's words follow the table: the winner of that market changes sides
    new = json.loads((rebuilt / "generated" / "numbers.json").read_text())["numbers"]
    assert old[f"{key}.a_wins"]["value"] is won
    assert new[f"{key}.a_wins"]["value"] is not won
    assert new[f"{key}.b_wins"]["value"] is won


def test_missing_tables_and_columns_are_named_with_the_command(tmp_path: Path) -> None:
    copy = tmp_path / "results"
    shutil.copytree(ROOT / "results" / "tiny", copy, ignore=shutil.ignore_patterns("figures"))
    (copy / "phase.csv").unlink()
    pd.read_csv(copy / "morris.csv").drop(columns=["sigma"]).to_csv(copy / "morris.csv")
    with pytest.raises(MissingInputs) as err:
        build(copy, tmp_path / "paper", ROOT / "results" / "calibration.json")
    message = str(err.value)
    assert "phase.csv is missing (study 'phase')" in message
    assert "morris.csv lacks column(s) sigma" in message
    assert "python -m experiments.reproduce profile=full" in message
    assert "studies=phase,sensitivity" in message
    assert not (tmp_path / "paper" / "paper.pdf").exists()


def test_the_paper_sources_type_no_digit_in_prose() -> None:
    from experiments.paper.build import lint_sources

    lint_sources()  # raises LintError listing every finding


@pytest.mark.parametrize(
    "snippet",
    [
        "Mass wins by 8,208 in the default market.",
        "= Results for 2 markets",
        "1. first item",
        "#let s = [one-to-one loses 40 % of its margin]",
        '#let s = "wins by 12"',
        "#strong[3 of 5 presets]",
        "#if x [the margin is 0.31 points] else [none]",
        "Grimm et al. (2006) wrote it.",
    ],
)
def test_lint_finds_a_typed_digit(snippet: str) -> None:
    assert lint_text(snippet), snippet


def test_lint_allows_digits_outside_prose() -> None:
    ok = "\n".join(
        [
            "The estimand is $Delta = sum_(i=1)^N y_i$ and `n_jobs=2` runs two workers.",
            'The margin is #num("tuned.default.one_vs_alt.mean") (#num("morris.1.mu_star")).',
            "See @sec-model, @grimm2006 and <tab-2x>.",
            "Advocates claim #lit[40 %]; intervals are #const[95 %].",
            '#set heading(numbering: "1.1")',
            '#set page(paper: "a4")',
            '#fig("phase", [Who wins.], width: 85%)',
            "// a comment with 3 digits",
            "```sh\npython -m experiments.reproduce n_jobs=32\n```",
            '#image("generated/figures/x2.png")',
        ]
    )
    assert lint_text(ok) == []


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (-8207.89, "currency", "\u22128,208"),
        (0.0348598, "share", "3.5 %"),
        (0.0031, "pp", "+0.31"),
        (-0.0829, "z", "\u22120.08"),
        (0.5, "number", "0.5"),
        (0.00147080, "number", "0.00147"),
        (1.0, "number", "1"),
        (-0.2, "currency", "0"),
        (21306, "count", "21,306"),
    ],
)
def test_numbers_are_written_and_read_back(value: float, unit: str, text: str) -> None:
    assert fmt.text(value, unit) == text
    assert abs(fmt.parse(text, unit) - value) <= fmt.tolerance(text, unit)


def test_numbers_carry_their_provenance(built: tuple[Path, Path, Report]) -> None:
    _, out, _ = built
    numbers = json.loads((out / "generated" / "numbers.json").read_text())["numbers"]
    fields = {"value", "unit", "text", "producer", "inputs", "config_hash", "seeds", "git_commit"}
    for key, entry in numbers.items():
        assert fields <= set(entry), key
        assert entry["producer"].startswith("experiments/paper/numbers.py::"), key
    from_results = [
        e for e in numbers.values() if any(i.startswith("results:") for i in e["inputs"])
    ]
    assert len(from_results) > 100
    for e in from_results:  # every number read from result rows names their commit
        assert e["git_commit"], e


def _heldout_moments() -> list[dict[str, Any]]:
    """Twenty held-out moments in the calibration file's format, one of them a miss."""
    out = []
    groups = ("newbie=1", "newbie=0", "history T1", "history T2", "history T3")
    for g in groups:
        for arm in ("womens", "mens"):
            for metric, base in (("visit", 0.05), ("conversion", 0.004)):
                miss = (g, arm, metric) == ("history T3", "mens", "conversion")
                sim = base * (2.0 if miss else 1.05)
                out.append(
                    {
                        "group": g,
                        "arm": arm,
                        "metric": metric,
                        "data": base,
                        "data_se": base / 10,
                        "data_ci_low": base * 0.8,
                        "data_ci_high": base * 1.2,
                        "sim": sim,
                        "sim_se": base / 20,
                        "z": (sim - base) / (base / 10),
                        "holds": not miss,
                        "within_ci": not miss,
                    }
                )
    return out


def test_held_out_moments_are_reported_when_the_calibration_has_them(
    built: tuple[Path, Path, Report], tmp_path: Path
) -> None:
    results, out, _ = built
    data = json.loads(default_calibration(results, ROOT).read_text())
    data["heldout"] = {"seed": 2024, "n": 2_000_000, "file": 200_000, "moments": _heldout_moments()}
    calibration = tmp_path / "calibration.json"
    calibration.write_text(json.dumps(data))
    rebuilt = tmp_path / "paper"
    shutil.copytree(out, rebuilt)
    report = build(results, rebuilt, calibration)
    assert "generated/tables/heldout.json" in report.made
    assert not any(
        m.startswith("generated/figures/") and "calibration" not in m for m in report.made
    )
    text = squash(" ".join(p.extract_text() for p in PdfReader(str(rebuilt / "paper.pdf")).pages))
    assert "19of20momentshold" in text
    assert "historyT3,men'se-mail,conversion" in text
    table = json.loads((rebuilt / "generated" / "tables" / "heldout.json").read_text())
    assert len(table["rows"]) == 20


def test_figures_of_many_markets_are_drawn_in_rows(tmp_path: Path) -> None:
    from PIL import Image

    from experiments.paper.figures import PER_ROW, _stacked

    def draw(table: pd.DataFrame, path: Path) -> None:  # one 10 x 10 block per market
        Image.new("RGB", (10 * table["preset"].nunique(), 10), "black").save(path)

    table = pd.DataFrame({"preset": [f"p{i}" for i in range(PER_ROW + 1)]})
    _stacked(draw, table, tmp_path / "f.png")
    with Image.open(tmp_path / "f.png") as im:
        assert im.size == (10 * PER_ROW, 20)
        assert im.getpixel((10 * PER_ROW - 1, 15)) == (255, 255, 255)  # padded row
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png"]
