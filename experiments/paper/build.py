"""Build the paper: make what is stale, then typeset ``paper.pdf`` with Typst.

``python -m experiments.paper [--results DIR] [--calibration FILE] [--out DIR]`` (``make
paper``, ``make paper RESULTS=results/tiny``).  The manifest (``paper/manifest.yaml``)
names every piece (number groups, tables, figures), its producer and its inputs.  A piece
is stale when the stamp of its inputs' and producers' content (sha256 of each input file
and each source file the manifest lists, plus the library versions that draw it) differs
from the one recorded in ``generated/stamp.json`` when it was last made, or when its
output is missing or was changed since; only stale pieces are made again, and the PDF
only when a source or a generated file changed.  Before anything is made the sources
pass the prose lint (:mod:`experiments.paper.lint`) and the inputs are checked
(:mod:`experiments.paper.inputs`): every problem is reported at once, exit status 2.

Everything is written under the build folder (``paper/`` by default; another folder
receives a copy of the sources), never into the results folder.  Two builds from the same
inputs are byte-identical: Typst's own fonts only, no date in the document, figures saved
without metadata.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from experiments.paper import lint
from experiments.paper.inputs import Inputs, MissingInputs, check, default_calibration
from experiments.store import atomic_write_bytes

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "paper"
KINDS = {"numbers": ("groups", "json"), "tables": ("items", "json"), "figures": ("items", "png")}


class ManifestError(ValueError):
    """The manifest names a producer or input that does not exist (every problem listed)."""


class LintError(ValueError):
    """The sources type a digit in prose (every finding listed)."""


@dataclass(frozen=True)
class Piece:
    """One generated file: its producer (``module:function``) and inputs."""

    kind: str
    name: str
    producer: str
    inputs: tuple[str, ...]
    code: tuple[str, ...]
    draws_with: str | None = None

    @property
    def output(self) -> str:
        return f"generated/{self.kind}/{self.name}.{KINDS[self.kind][1]}"

    def function(self) -> Callable[..., Any]:
        module, _, name = self.producer.partition(":")
        fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return fn


@dataclass(frozen=True)
class Manifest:
    document: str
    sources: tuple[str, ...]
    pieces: tuple[Piece, ...]
    text: str

    def tables(self) -> list[str]:
        """Result tables the pieces read (``results:<table>``)."""
        return sorted(
            {i.split(":", 1)[1] for p in self.pieces for i in p.inputs if i.startswith("results:")}
        )


def load_manifest(path: Path = SOURCE / "manifest.yaml") -> Manifest:
    """The manifest, checked: every producer importable and every registered producer
    named, every input of a known kind."""
    from experiments.paper.figures import FIGURE_PRODUCERS
    from experiments.paper.numbers import GROUPS
    from experiments.paper.tables import TABLE_PRODUCERS

    text = path.read_text()
    data = yaml.safe_load(text)
    problems: list[str] = []
    pieces: list[Piece] = []
    registries: dict[str, dict[str, Any]] = {
        "numbers": GROUPS,
        "tables": TABLE_PRODUCERS,
        "figures": FIGURE_PRODUCERS,
    }
    for kind, (key, _) in KINDS.items():
        section = data.get(kind) or {}
        code = tuple(section.get("code", ()))
        for c in code:
            if not (REPO / c).is_file():
                problems.append(f"{kind}.code: {c} is not a file of the repository")
        entries = section.get(key) or {}
        for name, spec in entries.items():
            piece = Piece(
                kind,
                name,
                str(spec.get("producer", "")),
                tuple(spec.get("inputs", ())),
                code,
                spec.get("draws_with"),
            )
            try:
                fn = piece.function()
            except (ImportError, AttributeError, ValueError) as exc:
                problems.append(f"{kind}.{name}: producer {piece.producer!r} not found ({exc})")
            else:
                if registries[kind].get(name) is not fn:
                    problems.append(
                        f"{kind}.{name}: producer {piece.producer!r} is not the registered one"
                    )
            for i in piece.inputs:
                if i.split(":", 1)[0] not in ("results", "calibration", "conf"):
                    problems.append(
                        f"{kind}.{name}: input {i!r} must start with results:, calibration: "
                        "or conf:"
                    )
            pieces.append(piece)
        missing = sorted(set(registries[kind]) - set(entries))
        if missing:
            problems.append(f"{kind}: producers not in the manifest: {', '.join(missing)}")
    if problems:
        raise ManifestError(f"{path}:\n  - " + "\n  - ".join(problems))
    return Manifest(
        str(data.get("document", "paper.typ")), tuple(data.get("sources", ())), tuple(pieces), text
    )


# ----------------------------------------------------------------------------- hashing


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha(path: Path) -> str:
    return sha(path.read_bytes())


def input_files(label: str, inputs: Inputs) -> list[tuple[str, Path]]:
    """(stable name, path) of the files an input label stands for."""
    kind, _, rest = label.partition(":")
    if kind == "results":
        return [(label, inputs.results / rest)]
    if kind == "calibration":
        return [(label, inputs.calibration)]
    paths = sorted(Path(p) for p in glob.glob(str(REPO / "conf" / rest)))
    return [(f"conf:{p.relative_to(REPO / 'conf')}", p) for p in paths]


def versions(kind: str) -> dict[str, str]:
    names = {"figures": ("matplotlib", "numpy", "pandas"), "pdf": ("typst",)}.get(kind, ("pandas",))
    return {n: metadata.version(n) for n in names}


def piece_stamp(piece: Piece, inputs: Inputs) -> str:
    record = {
        "producer": piece.producer,
        "draws_with": piece.draws_with,
        "inputs": [(n, file_sha(p)) for i in piece.inputs for n, p in input_files(i, inputs)],
        "code": [(c, file_sha(REPO / c)) for c in piece.code],
        "versions": versions(piece.kind),
    }
    return sha(json.dumps(record, sort_keys=True).encode())


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


# ----------------------------------------------------------------------------- build


@dataclass
class Report:
    """What a build did."""

    made: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    pdf: Path | None = None
    seconds: float = 0.0


class Build:
    def __init__(self, inputs: Inputs, out: Path, manifest: Manifest) -> None:
        self.inputs = inputs
        self.out = out
        self.manifest = manifest
        self.stamp_path = out / "generated" / "stamp.json"
        self.stamps: dict[str, dict[str, str]] = (
            json.loads(self.stamp_path.read_text()) if self.stamp_path.exists() else {}
        )
        self.report = Report()

    def fresh(self, output: str, stamp: str) -> bool:
        rec = self.stamps.get(output)
        path = self.out / output
        return bool(
            rec and rec["stamp"] == stamp and path.exists() and file_sha(path) == rec["output"]
        )

    def record(self, output: str, stamp: str) -> None:
        self.stamps[output] = {"stamp": stamp, "output": file_sha(self.out / output)}

    def make(self, output: str, stamp: str, write: Callable[[Path], None]) -> None:
        if self.fresh(output, stamp):
            self.report.up_to_date.append(output)
            return
        path = self.out / output
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        self.record(output, stamp)
        self.report.made.append(output)

    def piece(self, p: Piece) -> None:
        fn = p.function()

        def write(path: Path) -> None:
            if p.kind == "figures":
                tmp = path.with_name(f".{path.name}.tmp.png")
                fn(self.inputs, tmp)
                atomic_write_bytes(path, tmp.read_bytes())
                tmp.unlink()
                return
            made = fn(self.inputs)
            obj = made.entries if p.kind == "numbers" else made
            atomic_write_bytes(path, _json_bytes(obj))

        self.make(p.output, piece_stamp(p, self.inputs), write)

    def numbers(self) -> None:
        groups = [p for p in self.manifest.pieces if p.kind == "numbers"]
        stamp = sha(
            json.dumps([(p.output, file_sha(self.out / p.output)) for p in groups]).encode()
        )

        def write(path: Path) -> None:
            merged: dict[str, Any] = {}
            for p in groups:
                entries = json.loads((self.out / p.output).read_text())
                twice = sorted(set(merged) & set(entries))
                if twice:
                    raise ManifestError(f"numbers {twice} are written by two groups")
                merged.update(entries)
            atomic_write_bytes(path, _json_bytes({"numbers": merged}))

        self.make("generated/numbers.json", stamp, write)

    def provenance(self) -> None:
        """``generated/manifest.json``: each piece with its producer, inputs and the git
        commits of the rows it comes from (the paper's reproduction table)."""
        outs = [(p.output, piece_stamp(p, self.inputs)) for p in self.manifest.pieces]
        stamp = sha(
            json.dumps(
                [self.manifest.text, [(o, s, file_sha(self.out / o)) for o, s in outs]]
            ).encode()
        )

        def write(path: Path) -> None:
            rows = []
            for p in self.manifest.pieces:
                commits: set[str] = set()
                if p.kind != "figures":
                    made = json.loads((self.out / p.output).read_text())
                    records = made.values() if p.kind == "numbers" else [made.get("provenance")]
                    for r in records:
                        c = (r or {}).get("git_commit")
                        commits.update([c] if isinstance(c, str) else (c or []))
                else:
                    commits.update(self.input_commits(p))
                rows.append(
                    {
                        "kind": p.kind,
                        "name": p.name,
                        "output": p.output,
                        "producer": p.producer,
                        "draws_with": p.draws_with,
                        "inputs": list(p.inputs),
                        "git_commits": sorted(commits),
                    }
                )
            atomic_write_bytes(path, _json_bytes({"pieces": rows}))

        self.make("generated/manifest.json", stamp, write)

    def input_commits(self, p: Piece) -> set[str]:
        """Git commits recorded in a piece's inputs (a table's ``git_rev`` column, the
        calibration file's provenance)."""
        from experiments.paper.numbers import calibration_provenance

        out: set[str] = set()
        for label in p.inputs:
            for _, path in input_files(label, self.inputs):
                if label.startswith("calibration:"):
                    c = calibration_provenance(json.loads(path.read_text()))["git_commit"]
                    out.update([c] if c else [])
                elif path.suffix == ".csv":
                    header = pd.read_csv(path, nrows=0).columns
                    if "git_rev" in header:
                        out.update(str(c) for c in pd.read_csv(path)["git_rev"].dropna())
        return out

    def sources(self) -> list[Path]:
        """The Typst sources and bibliography, copied into the build folder if it is not
        the source folder."""
        files = sorted(
            {Path(f) for pattern in self.manifest.sources for f in glob.glob(str(SOURCE / pattern))}
        )
        if self.out.resolve() != SOURCE.resolve():
            for f in files:
                dest = self.out / f.relative_to(SOURCE)
                if not dest.exists() or dest.read_bytes() != f.read_bytes():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(f, dest)
        return files

    def pdf(self, sources: list[Path]) -> None:
        import typst

        generated = sorted(
            p
            for p in (self.out / "generated").rglob("*")
            if p.is_file() and p.name != "stamp.json" and not p.name.startswith(".")
        )
        stamp = sha(
            json.dumps(
                {
                    "sources": [(str(s.relative_to(SOURCE)), file_sha(s)) for s in sources],
                    "generated": [(str(g.relative_to(self.out)), file_sha(g)) for g in generated],
                    "versions": versions("pdf"),
                }
            ).encode()
        )

        def write(path: Path) -> None:
            pdf = typst.compile(
                str(self.out / self.manifest.document),
                root=str(self.out),
                ignore_system_fonts=True,
            )
            atomic_write_bytes(path, pdf)

        self.make("paper.pdf", stamp, write)
        self.report.pdf = self.out / "paper.pdf"

    def run(self) -> Report:
        tic = time.perf_counter()
        sources = self.sources()
        for p in self.manifest.pieces:
            self.piece(p)
        self.numbers()
        self.provenance()
        self.stamp_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.stamp_path, _json_bytes(self.stamps))
        self.pdf(sources)
        atomic_write_bytes(self.stamp_path, _json_bytes(self.stamps))
        self.report.seconds = time.perf_counter() - tic
        return self.report


def lint_sources() -> None:
    findings = lint.lint_paths(sorted(SOURCE.rglob("*.typ")), root=REPO)
    if findings:
        raise LintError(
            f"{len(findings)} digit(s) typed in the paper's prose:\n  "
            + "\n  ".join(str(f) for f in findings)
        )


def build(results: Path, out: Path = SOURCE, calibration: Path | None = None) -> Report:
    """Check, make what is stale, typeset; see the module docstring."""
    manifest = load_manifest()
    lint_sources()
    inputs = Inputs(results, calibration or default_calibration(results, REPO))
    check(inputs, manifest.tables())
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve().is_relative_to(results.resolve()):
        raise ValueError(f"--out {out} lies inside the results folder {results}: refused")
    return Build(inputs, out, manifest).run()


def pages(pdf: Path) -> str:
    """ "N pages" (pypdf, a test dependency, reads the PDF; without it, nothing)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return "built"
    return f"{len(PdfReader(str(pdf)).pages)} pages"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.paper", description=__doc__)
    ap.add_argument("--results", type=Path, default=REPO / "results", help="study tables")
    ap.add_argument("--calibration", type=Path, default=None, help="calibration.json")
    ap.add_argument("--out", type=Path, default=SOURCE, help="build folder (default paper/)")
    args = ap.parse_args(argv)
    import typst

    try:
        report = build(args.results, args.out, args.calibration)
    except (MissingInputs, ManifestError, LintError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    except typst.TypstError as exc:
        print(f"Typst could not typeset the paper:\n{exc.diagnostic}", file=sys.stderr)
        return 1
    for name in report.made:
        print(f"made       {name}")
    print(f"up to date {len(report.up_to_date)} piece(s)")
    assert report.pdf is not None
    print(f"{report.pdf}: {pages(report.pdf)}, {report.seconds:.1f} s")
    return 0
