"""The op table is the one place for op facts: every op has them all, and an op added to the
table alone is checked, exported and drawn with nothing else to change."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from archsolve.check.api import check_spec
from archsolve.check.known import export_check, known_shapes
from archsolve.lang.expr import eq, fdiv
from archsolve.ops.base import Args, FieldDef, Kind, Req, Shape, Window
from archsolve.ops.rules import add_shape, merge_reach, same_shape
from archsolve.ops.table import OPS, Family, OpDef, Resample
from archsolve.ops.torchform import Infix, NNModule, TorchForm, inline, nn_module
from archsolve.output.draw import dot_source, mermaid_source
from archsolve.output.export import class_name, torch_source
from archsolve.spec.load import load_text

PACKAGE = Path(__file__).resolve().parent.parent / "archsolve"


# -- every op has its facts ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_has_a_torch_form_and_a_family(name: str) -> None:
    op = OPS[name]
    assert isinstance(op.torch, TorchForm) and str(op.torch)
    assert isinstance(op.family, Family)
    if op.resample is not None:
        assert op.resample.field in op.field_map
    if op.merge:
        assert not op.torch.module and op.family in (Family.CONCAT, Family.SUM)


@pytest.mark.parametrize("name", sorted(n for n in OPS if OPS[n].torch.module))
def test_every_field_of_a_module_reaches_its_constructor(name: str) -> None:
    """A field the constructor does not take would be dropped from the export without a word."""
    op = OPS[name]
    how = op.torch.how
    assert isinstance(how, NNModule)
    taken = ([p for p in how.positional if isinstance(p, str)] + [f for _, f in how.keywords]
             + [switch for _, _, switch in how.sizes])
    if op.torch.like is not None:  # `like` chooses the other form (written in forward)
        taken.append("like")
    if how.unpool:  # forward takes the pool's indices, and the output size that `size` sets
        taken += [how.unpool, "size"]
    # a borrowed field is another layer's, copied for the rules: the constructor need not take it
    assert sorted(taken) == sorted(f.name for f in op.fields if not f.borrowed or f.name in taken)


def _strings(path: Path) -> set[str]:
    """The string constants of a module's code (docstrings left out)."""
    tree = ast.parse(path.read_text())
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs}


@pytest.mark.parametrize("module", ["output/export.py", "output/draw.py"])
def test_export_and_draw_name_no_op(module: str) -> None:
    # a family may share its name with an op (conv): draw's Mermaid classes are named after families
    assert _strings(PACKAGE / module) & (set(OPS) - {f.value for f in Family}) == set()


# -- an op added to the table alone ----------------------------------------------------------------

def _unshuffle_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    (x,) = inputs
    r = args["factor"]
    for v in x[1:]:
        req.need(eq(v % r, 0), "unshuffle", "factor", lambda: f"the size is not divisible by {r}", fatal=True)
    return (x[0] * r * r, *(fdiv(v, r) for v in x[1:]))


def _unshuffle_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    r = args["factor"]
    return [[(o * r, o * r + r - 1, 1) for o in range(int(out[axis + 1]))]]


NEW_OPS = [
    OpDef("unshuffle", (FieldDef("factor", Kind.INT, minimum=1, domain=("1", "8")),), _unshuffle_shape,
          reach=_unshuffle_reach, torch=nn_module("nn.PixelUnshuffle", "factor"), family=Family.POOL,
          resample=Resample("factor")),
    OpDef("hardtanh", (FieldDef("min_val", Kind.NUMBER, -1.0), FieldDef("max_val", Kind.NUMBER, 1.0)), same_shape,
          torch=nn_module("nn.Hardtanh", min_val="min_val", max_val="max_val"), family=Family.ACTIVATION),
    OpDef("mul", (), add_shape, reach=merge_reach, merge=True, torch=inline("*", lambda *_: Infix("*")),
          family=Family.SUM),
]

NEW_SPEC = """
name: new ops
input: [3, 16, 16]
layers:
  - {name: down, op: unshuffle, factor: 2}
  - {name: clip, op: hardtanh, min_val: -2.0}
  - {name: up, op: pixel_shuffle, factor: 2}
  - {name: gate, op: mul, from: [up, input]}
"""


@pytest.fixture
def new_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    for op in NEW_OPS:
        monkeypatch.setitem(OPS, op.name, op)


@pytest.mark.usefixtures("new_ops")
def test_a_new_op_is_checked_exported_and_drawn() -> None:
    spec = load_text(NEW_SPEC)
    report = check_spec(spec, repairs=False)
    assert report.ok and report.output == (3, 16, 16)
    assert report.prop.layers["down"].shape == (12, 8, 8)

    src = torch_source(export_check(spec))
    assert "self.down = nn.PixelUnshuffle(2)" in src
    assert "self.clip = nn.Hardtanh(min_val=-2.0)" in src  # max_val is at its default
    assert "return up * x_in" in src or "x = up * x_in" in src

    dot = dot_source(known_shapes(spec))
    node = {line.split(" [", 1)[0].strip().strip('"'): line for line in dot.splitlines() if "[label=<" in line}
    assert 'fillcolor="#f8d7d3"' in node["down"]  # a pool's colour, from its family
    assert 'fontsize="10"' in node["clip"] and "rounded" in node["clip"]  # an activation: small
    assert 'shape="ellipse"' in node["gate"]  # a merge
    assert 'dir="back"' in dot  # down, then up again: drawn as a U
    mermaid = mermaid_source(known_shapes(spec))
    assert '(["<b>gate</b>' in mermaid and "class n1 pool" in mermaid


@pytest.mark.torch
@pytest.mark.usefixtures("new_ops")
def test_a_new_op_builds_in_torch() -> None:
    torch = pytest.importorskip("torch")
    spec = load_text(NEW_SPEC)
    report = export_check(spec)
    namespace: dict[str, Any] = {"__name__": "archsolve_exported"}
    exec(compile(torch_source(report), "<export>", "exec"), namespace)
    model = namespace[class_name(spec)]().eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        y = model(x)
    assert torch.allclose(y, x.clamp(-2.0, 1.0) * x)  # unshuffle then shuffle is the identity
