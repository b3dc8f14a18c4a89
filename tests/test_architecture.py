"""The package's shape: data flows one way through the pipeline's stages, with no cycles.

Each module of ``archsolve/`` belongs to a stage; a module may import from its own stage or
from a lower one, never from a higher one (a formatter does not run a check, the encoding does
not import the solver's API).  Imports inside functions count too: they are how a cycle hides.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "archsolve"

# lowest first: a stage may import only from its own row or the rows above it
STAGES = (
    ("archsolve.errors", "archsolve.limits"),
    ("archsolve.lang",),
    ("archsolve.ops",),
    ("archsolve.spec",),
    ("archsolve.shapes",),
    ("archsolve.solve",),
    ("archsolve.check",),
    ("archsolve.planning",),
    ("archsolve.output",),
    ("archsolve.bridge",),
    ("archsolve.cli", "archsolve.api", "archsolve"),
    ("archsolve.__main__",),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _stage(module: str) -> int:
    best = None
    for rank, prefixes in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    assert best is not None, f"{module} belongs to no stage: add it to STAGES"
    return best[0]


def _imports(module: str) -> set[str]:
    """The archsolve modules ``module`` imports, at the top or inside functions."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])])
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = nx.DiGraph((m, i) for m in MODULES for i in _imports(m))
GRAPH.add_nodes_from(MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_pipeline(module: str) -> None:
    upward = sorted(i for i in GRAPH.successors(module) if _stage(i) > _stage(module))
    assert upward == [], f"{module} (stage {_stage(module)}) imports from higher stages: {upward}"


def test_no_import_cycle() -> None:
    cycles = sorted(nx.simple_cycles(GRAPH), key=len)
    assert cycles == [], f"import cycles: {cycles[:5]}"


def test_z3_stays_in_the_smt_layer() -> None:
    users = sorted(m for m in MODULES if "z3" in {n.split(".")[0] for n in _third_party(m)})
    assert users and all(m.startswith("archsolve.solve.smt.") for m in users), users


def _third_party(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module)
    return out


def test_the_checker_sees_a_wrong_way_import(tmp_path: Path) -> None:
    """The stage table itself: an output module importing the CLI, or a lower stage importing a
    higher one, would be reported."""
    assert _stage("archsolve.output.report") > _stage("archsolve.check.api") > _stage("archsolve.solve.api")
    assert _stage("archsolve.spec.domains") < _stage("archsolve.shapes.propagate")
    assert _stage("archsolve") == _stage("archsolve.cli")


def test_a_plain_check_loads_no_heavy_dependency() -> None:
    """`archsolve check` stays quick: neither Z3, NetworkX, torch nor rich (the terminal table
    is only for a terminal) is imported on its way."""
    import subprocess
    import sys

    code = ("import sys\nfrom archsolve.cli import main\ntry:\n    main(['check', 'specs/unet-original.yaml'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('z3', 'networkx', 'torch', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout
    assert out.splitlines()[-1] == "[]"


def _type_only_imports() -> list[tuple[str, str, str]]:
    """(module, imported module, name) for each import under ``if TYPE_CHECKING:``."""
    out = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                out += [(module, sub.module or "", a.name) for sub in node.body
                        if isinstance(sub, ast.ImportFrom) for a in sub.names]
    return out


def test_type_only_imports_name_what_exists() -> None:
    """Imports for type hints alone never run, so a name moved elsewhere would go unnoticed."""
    import importlib

    stale = [f"{m}: {src}.{name}" for m, src, name in _type_only_imports()
             if not hasattr(importlib.import_module(src), name)]
    assert _type_only_imports() and stale == []
