"""The house has no import loops and its layers import only downwards.

Every ``import`` statement of ``sim/`` and ``experiments/`` is read from the source (at
module level, inside functions and under ``TYPE_CHECKING`` alike: a lazy import that hides
a loop is still a loop), and the graph of modules is checked for cycles with Tarjan's
algorithm.  The library never imports Hydra or OmegaConf, nor anything in ``experiments/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sim", "experiments")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules (and third-party top-level names) that ``path`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            # ``from sim.strategies import causalml`` imports the submodule.
            out.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        targets = set()
        for imported in imports_of(path, name, known):
            # Resolve to the deepest project module named (a package's __init__ otherwise).
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph with ``sim.strategies.*`` folded into ``sim.strategies`` etc."""

    def room(m: str) -> str:
        parts = m.split(".")
        return ".".join(parts[:2]) if parts[0] == "sim" else parts[0]

    out: dict[str, set[str]] = {}
    for a, targets in edges.items():
        out.setdefault(room(a), set()).update(room(b) for b in targets if room(b) != room(a))
    return out


def test_the_import_graph_is_read() -> None:
    """Guard against a walker that sees nothing: known edges must be found."""
    edges = graph()
    assert "sim.market" in edges["sim.truth"]
    assert "sim.strategies.base" in edges["sim.strategies.mass"]
    assert "sim.strategies.causalml" in edges["sim.strategies"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_loop_between_modules() -> None:
    loops = strongly_connected(graph())
    assert loops == [], f"import loops: {loops}"


def test_no_import_loop_between_folders() -> None:
    loops = strongly_connected(package_edges(graph()))
    assert loops == [], f"import loops between folders: {loops}"


def test_the_library_never_imports_hydra_nor_experiments() -> None:
    bad = {}
    mods = modules()
    for name, path in mods.items():
        if not name.startswith("sim"):
            continue
        hits = {
            i
            for i in imports_of(path, name, set(mods))
            if i.split(".")[0] in {"hydra", "omegaconf", "experiments"}
        }
        if hits:
            bad[name] = sorted(hits)
    assert bad == {}, f"library modules importing Hydra, OmegaConf or experiments: {bad}"
