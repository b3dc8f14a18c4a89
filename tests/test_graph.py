"""The network graph, and what the check path imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from archsolve.check.api import check_spec
from archsolve.errors import SpecError
from archsolve.shapes.graph import build_network
from archsolve.spec.load import load_text

from .conftest import SPECS

RESIDUAL = """
input: [3, 8, 8]
layers:
  - {name: a, op: conv, out: 3, kernel: 3, padding: 1}
  - {name: b, op: relu}
  - {name: sum, op: add, from: [input, b]}
"""


def test_networkx_graph_carries_shapes_on_edges() -> None:
    report = check_spec(load_text(RESIDUAL))
    shapes = {name: res.shape for name, res in report.prop.layers.items()} | {"input": report.prop.input}
    g = report.prop.network.to_networkx(shapes)
    assert sorted(g.edges) == [("a", "b"), ("b", "sum"), ("input", "a"), ("input", "sum")]
    assert g.edges["a", "b"]["shape"] == (3, 8, 8)
    assert g.nodes["sum"]["layer"].op == "add"


def test_spec_order_is_kept_where_it_is_valid() -> None:
    net = build_network(load_text("""
input: [1, 8]
layers:
  - {name: late, op: relu, from: early}
  - {name: early, op: relu, from: input}
  - {name: out, op: add, from: [late, early]}
"""))
    assert [lay.name for lay in net.order] == ["early", "late", "out"]


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("[{name: a, op: relu, from: b}, {name: b, op: relu, from: a}]", "the layers form a cycle: a -> b -> a"),
        ("[{name: a, op: relu, from: a}]", "layer 'a' reads its own output"),
    ],
    ids=["two-cycle", "self-loop"],
)
def test_cycles_are_spec_errors(layers: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        build_network(load_text(f"input: [1, 8]\nlayers: {layers}\n"))


def test_check_imports_neither_z3_torch_nor_networkx() -> None:
    code = (
        "import sys, json\n"
        "from archsolve.cli import main\n"
        "try:\n"
        f"    main(['check', {str(SPECS / 'resnet50.yaml')!r}, '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('z3', 'torch', 'networkx', 'rich', 'jsonschema', 'numpy') if m in sys.modules]\n"
        "print(json.dumps(heavy), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stderr.strip().splitlines()[-1]) == []
