"""The prose lint: no digit is typed in the paper's prose.

A result quoted in the paper must come from ``generated/numbers.json`` (``#num("key")``)
or a generated table, so the Typst sources may hold a digit only where it is not prose.
Precisely, a digit is allowed

* in **math** (``$k = 1$``: equations, indices, model notation);
* in **code**: anything after ``#`` that Typst evaluates (function arguments, lengths,
  ``#set``/``#let``/``#show`` rules, loops), except a string literal holding a digit,
  which Typst could show as text: that is allowed only in a styling rule (``#set``,
  ``#show``, ``#import``, ``#include``), as a ``numbering:`` pattern, as a file path (it
  contains ``/``) or as the key that is the first argument of a function that looks up
  ``numbers.json`` (:data:`KEY_FUNCTIONS`: ``#num("morris.1.mu_star")`` shows the
  generated number, not the key);
* in **raw text** (backticks: commands, file names, config keys);
* in **labels and references** (``<sec-model>``, ``@grimm2006``: Typst writes the section,
  figure and table numbers and the citations' years itself), comments and URLs;
* inside the two explicit wrappers ``#lit[...]`` (a figure quoted from the literature or
  from the debate's sources, e.g. their claimed response rates) and ``#const[...]`` (a
  constant fixed by the model's or the analysis's design, e.g. the confidence level).

Everything else is markup (prose, headings, lists, captions and every content block
``[...]``, also inside code) and may not contain a digit.  Section and list numbers are
Typst's (``=`` headings, ``+`` lists), never typed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Wrappers whose content may hold digits (see the module docstring).
WRAPPERS = ("lit", "const")
#: Keywords that start a statement running to the end of the line.
STATEMENTS = ("let", "set", "show", "import", "include", "if", "for", "while", "return")
#: Functions of paper/lib.typ and paper/prose.typ whose first argument is a key of
#: numbers.json (never shown).
KEY_FUNCTIONS = ("num", "val", "has", "entry", "ival", "count", "plural", "fams")
#: Statements that style or include: their strings are never shown.
STYLING = ("set", "show", "import", "include")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_LABEL = re.compile(r"<[A-Za-z0-9_:.\-]+>")
_REF = re.compile(r"@[A-Za-z0-9_:.\-]*[A-Za-z0-9_]")
_URL = re.compile(r"https?://[^\s\]\)]+")
#: Markup that is not prose, by its first character: references, labels, URLs.
SKIPPED = {"@": _REF, "<": _LABEL, "h": _URL}


@dataclass(frozen=True)
class Finding:
    """A digit typed in prose."""

    file: str
    line: int
    col: int
    word: str
    why: str = "a digit in prose"

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}:{self.col}: {self.why}: {self.word!r} "
            '(quote results with #num("key"); wrap a quoted literature figure in #lit[...] '
            "or a design constant in #const[...]; use math for notation)"
        )


class _Scanner:
    def __init__(self, src: str, file: str) -> None:
        self.s = src
        self.n = len(src)
        self.i = 0
        self.file = file
        self.findings: list[Finding] = []
        self.styling = 0  # depth of styling statements being read

    # -------------------------------------------------------------- helpers
    def _pos(self, i: int) -> tuple[int, int]:
        line = self.s.count("\n", 0, i) + 1
        return line, i - (self.s.rfind("\n", 0, i) + 1) + 1

    def _flag(self, i: int, why: str = "a digit in prose") -> None:
        a = i
        while a > 0 and not self.s[a - 1].isspace():
            a -= 1
        b = i
        while b < self.n and not self.s[b].isspace():
            b += 1
        line, col = self._pos(i)
        self.findings.append(Finding(self.file, line, col, self.s[a:b], why))

    def _skip_comment(self) -> bool:
        s, i = self.s, self.i
        if s.startswith("//", i):
            j = s.find("\n", i)
            self.i = self.n if j < 0 else j
            return True
        if s.startswith("/*", i):
            depth, j = 0, i
            while j < self.n:
                if s.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif s.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                    if depth == 0:
                        break
                else:
                    j += 1
            self.i = j
            return True
        return False

    def _skip_raw(self) -> None:
        s, i = self.s, self.i
        run = len(s[i:]) - len(s[i:].lstrip("`"))
        if run == 2:  # empty raw
            self.i = i + 2
            return
        fence = "`" * run
        j = s.find(fence, i + run)
        self.i = self.n if j < 0 else j + run

    def _skip_math(self) -> None:
        j = self.i + 1
        while j < self.n and self.s[j] != "$":
            j += 2 if self.s[j] == "\\" else 1
        self.i = j + 1

    def _skip_balanced(self, open_: str, close: str) -> None:
        """Skip a bracketed group (wrappers' content), escapes and raw respected."""
        depth = 0
        while self.i < self.n:
            c = self.s[self.i]
            if c == "\\":
                self.i += 2
                continue
            if c == "`":
                self._skip_raw()
                continue
            if c == open_:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return
            self.i += 1

    # -------------------------------------------------------------- markup
    def markup(self, closing: bool) -> None:
        """Prose until the ``]`` that closes this content block (or the end)."""
        depth = 0
        s = self.s
        while self.i < self.n:
            c = s[self.i]
            if self._skip_comment():
                continue
            if c == "\\":
                if self.i + 1 < self.n and s[self.i + 1].isdigit():
                    self._flag(self.i + 1)
                self.i += 2
            elif c == "`":
                self._skip_raw()
            elif c == "$":
                self._skip_math()
            elif c == "#":
                self.i += 1
                self.embedded()
            elif c in SKIPPED and (m := SKIPPED[c].match(s, self.i)):
                self.i = m.end()  # a reference, a label or a URL
            elif c == "[":
                depth += 1
                self.i += 1
            elif c == "]":
                self.i += 1
                if depth == 0 and closing:
                    return
                depth = max(0, depth - 1)
            else:
                if c.isdigit():
                    self._flag(self.i)
                    while self.i < self.n and not s[self.i].isspace():
                        self.i += 1
                    continue
                self.i += 1

    # -------------------------------------------------------------- code
    def embedded(self) -> None:
        """An expression after ``#`` in markup."""
        s = self.s
        if self.i >= self.n:
            return
        c = s[self.i]
        if c == "(":
            self.code(")")
            return
        if c == "{":
            self.code("}")
            return
        if c == "[":
            self.i += 1
            self.markup(closing=True)
            return
        if c == '"':
            self.string()
            return
        m = _IDENT.match(s, self.i)
        if not m:
            return  # a lone '#': text
        name = m.group(0)
        self.i = m.end()
        if name in STATEMENTS:
            self.styling += name in STYLING
            self.code("\n")
            self.styling -= name in STYLING
            return
        if name == "context":
            while self.i < self.n and s[self.i] == " ":
                self.i += 1
            self.embedded()
            return
        exempt = name in WRAPPERS
        while self.i < self.n:
            c = s[self.i]
            if c == "(":
                if exempt:
                    self._skip_balanced("(", ")")
                else:
                    self.code(")", key_call=name in KEY_FUNCTIONS)
            elif c == "[":
                if exempt:
                    self._skip_balanced("[", "]")
                else:
                    self.i += 1
                    self.markup(closing=True)
            elif c == "." and (m2 := _IDENT.match(s, self.i + 1)):
                self.i = m2.end()
            else:
                return

    def string(self, key: bool = False) -> None:
        """A string literal in code: a digit in it must be a numbering pattern, a path or a
        key of numbers.json (``key``)."""
        s, start = self.s, self.i
        j = start + 1
        while j < self.n and s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        body = s[start + 1 : j]
        self.i = j + 1
        if key or "/" in body or self.styling or not any(ch.isdigit() for ch in body):
            return
        if not re.search(r"numbering\s*:\s*$", s[max(0, start - 40) : start]):
            self._flag(start + 1, "a digit in a string Typst may show")

    def code(self, closing: str, key_call: bool = False) -> None:
        """Code until ``closing`` (``)``, ``}`` or the end of the line of a statement);
        ``key_call``: the arguments of a :data:`KEY_FUNCTIONS` call (its first is a key)."""
        s = self.s
        first = key_call
        if closing != "\n":
            self.i += 1  # the opening bracket
        while self.i < self.n:
            c = s[self.i]
            if self._skip_comment():
                continue
            if c == closing:
                self.i += 1
                return
            if closing == "\n" and c == ";":
                self.i += 1
                return
            if c == '"':
                self.string(key=first)
            elif c == ",":
                first = False
                self.i += 1
            elif c == "(":
                self.code(")")
            elif c == "{":
                self.code("}")
            elif c == "[":
                self.i += 1
                styling, self.styling = self.styling, 0  # content is prose again
                self.markup(closing=True)
                self.styling = styling
            elif c == "$":
                self._skip_math()
            elif c == "`":
                self._skip_raw()
            elif c in ")}]":
                return  # closes an enclosing group: leave it to the caller
            elif (m := _IDENT.match(s, self.i)) and not (
                self.i > 0 and (s[self.i - 1].isalnum() or s[self.i - 1] in "_-.")
            ):
                self.i = m.end()
                if m.group(0) in WRAPPERS and self.i < self.n and s[self.i] in "[(":
                    self._skip_balanced(s[self.i], "]" if s[self.i] == "[" else ")")
                elif m.group(0) in KEY_FUNCTIONS and self.i < self.n and s[self.i] == "(":
                    self.code(")", key_call=True)
            else:
                self.i += 1


def lint_text(src: str, file: str = "<text>") -> list[Finding]:
    """Every digit typed in the prose of the Typst source ``src``."""
    scanner = _Scanner(src, file)
    scanner.markup(closing=False)
    return scanner.findings


def lint_paths(paths: Iterable[Path], root: Path | None = None) -> list[Finding]:
    out: list[Finding] = []
    for p in sorted(paths):
        name = str(p.relative_to(root)) if root else str(p)
        out.extend(lint_text(p.read_text(encoding="utf-8"), name))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.paper.lint [files]``: lint the paper's sources."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[2]
    paths = [Path(a) for a in args] or sorted((root / "paper").rglob("*.typ"))
    findings = lint_paths(paths)
    for f in findings:
        print(f, file=sys.stderr)
    print(f"{len(findings)} digit(s) in prose in {len(paths)} file(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
