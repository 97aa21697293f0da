"""The package's layers (london_llm/__init__.py): imports flow one way, never into a `cli` module, never in a cycle.

Every import is read with `ast`, including those inside functions (a late import is still a
dependency, and the old trainer -> train_cli cycle hid in one), and those under TYPE_CHECKING.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = "london_llm"
# lowest first; a module may import its own layer and those before it
LAYERS = ("basics", "collect", "cleaning", "tokenization", "pretokenize", "training", "inference",
          "evaluation", "publishing", "pipeline")


def module_sources(root: Path = REPO / PACKAGE) -> dict[str, str]:
    """{dotted module name: source} for every .py file of the package (a package is its __init__)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path.read_text(encoding="utf-8")
    return out


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "basics"  # the package's own __init__
    if parts[1] in LAYERS:
        return parts[1]
    return "basics"  # top-level modules other than pipeline: atomic, errors, hashing, ...


def is_cli(module: str) -> bool:
    leaf = module.rsplit(".", 1)[-1]
    return leaf == "cli" or leaf.endswith("_cli")


def imports_of(module: str, source: str, known: set[str], is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported module of the package) for every import statement in `source`.

    Relative imports resolve against the containing package (a package's __init__ is its own).
    """
    package = module if is_package else module.rpartition(".")[0] or module
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:  # `from pkg import module` imports the module
                sub = f"{target}.{alias.name}"
                out.append((node.lineno, sub if sub in known else target))
    return out


def graph(sources: dict[str, str]) -> dict[str, list[tuple[int, str]]]:
    """{module: [(line, imported module)]}, leaving out a module's imports of itself."""
    known = set(sources)
    edges = {}
    for module, source in sources.items():
        is_package = any(other.startswith(module + ".") for other in known)
        edges[module] = [(line, t) for line, t in imports_of(module, source, known, is_package) if t != module]
    return edges


def layer_violations(edges: dict[str, list[tuple[int, str]]]) -> list[str]:
    problems = []
    for module, targets in edges.items():
        for line, target in targets:
            if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(module)):
                problems.append(f"{module}:{line} imports {target} ({layer_of(module)} may not import "
                                f"{layer_of(target)}: the order is {' -> '.join(LAYERS)})")
            if is_cli(target) and not is_cli(module):
                problems.append(f"{module}:{line} imports the command-line module {target}: move what it "
                                "needs into a library module")
    return problems


def cycles(edges: dict[str, list[tuple[int, str]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a cycle to break."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for _, w in edges.get(v, []):
            if w not in edges:
                continue
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
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


# --- the package as it is ------------------------------------------------------------------------

def test_every_import_follows_the_stage_order_and_avoids_cli_modules():
    problems = layer_violations(graph(module_sources()))
    assert not problems, "\n".join(problems)


def test_the_package_has_no_import_cycle():
    found = cycles(graph(module_sources()))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_every_stage_has_its_subpackage_and_the_walk_sees_them():
    sources = module_sources()
    for stage in LAYERS[1:-1]:
        assert f"{PACKAGE}.{stage}" in sources, f"london_llm/{stage}/__init__.py is missing"
    assert f"{PACKAGE}.pipeline" in sources
    edges = graph(sources)
    assert ("london_llm.training.checkpoint" in {t for _, t in edges["london_llm.training.loop"]}
            or "london_llm.training.saving" in {t for _, t in edges["london_llm.training.loop"]})


def test_the_package_docstring_names_every_layer():
    doc = ast.get_docstring(ast.parse((REPO / PACKAGE / "__init__.py").read_text(encoding="utf-8")))
    for layer in LAYERS:
        assert layer in doc, f"london_llm/__init__.py does not name the {layer} layer"


# --- the checker itself, on made-up packages: each rule can fail -----------------------------------

def _fake(**modules: str) -> dict[str, str]:
    return {name.replace("__", "."): src for name, src in modules.items()}


def test_checker_catches_an_import_against_the_order():
    edges = graph(_fake(london_llm="", london_llm__collect="", london_llm__training="",
                        london_llm__collect__fetch="from london_llm.training import loop\n",
                        london_llm__training__loop=""))
    assert any("collect may not import training" in p for p in layer_violations(edges))


def test_checker_catches_a_library_module_importing_a_cli_module_even_inside_a_function():
    edges = graph(_fake(london_llm="", london_llm__training="",
                        london_llm__training__loop="def f():\n    from .cli import TrainingError\n",
                        london_llm__training__cli=""))
    assert any("command-line module london_llm.training.cli" in p for p in layer_violations(edges))


def test_checker_allows_a_basic_below_and_a_cli_importing_its_library():
    edges = graph(_fake(london_llm="", london_llm__atomic="", london_llm__training="",
                        london_llm__training__cli="from london_llm import atomic\nfrom . import loop\n",
                        london_llm__training__loop="from london_llm.atomic import write_json\n"))
    assert layer_violations(edges) == []
    assert ("london_llm.training.loop" in {t for _, t in edges["london_llm.training.cli"]})


def test_checker_catches_a_cycle():
    edges = graph(_fake(london_llm="", london_llm__training="",
                        london_llm__training__a="from london_llm.training import b\n",
                        london_llm__training__b="def late():\n    from london_llm.training.a import x\n"))
    assert cycles(edges) == [["london_llm.training.a", "london_llm.training.b"]]


@pytest.mark.parametrize("module, layer", [("london_llm", "basics"), ("london_llm.atomic", "basics"),
                                           ("london_llm.pipeline", "pipeline"),
                                           ("london_llm.inference.check_cli", "inference")])
def test_layer_of(module, layer):
    assert layer_of(module) == layer
