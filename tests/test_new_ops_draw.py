"""`archsolve draw` of the ops of issue 16: their families, their labels, and a maxunpool's references."""

from __future__ import annotations

import pytest

from archsolve.check.known import known_shapes
from archsolve.ops.table import OPS, Family
from archsolve.output.draw import dot_source, mermaid_source
from archsolve.spec.load import load_text

SEGNET = """
name: segnet-tiny
input: [3, 16, 16]
layers:
  - {name: enc, op: conv, out: 8, kernel: 3, padding: 1}
  - {name: act, op: prelu, per_channel: true}
  - {name: pool, op: maxpool, kernel: 2}
  - {name: mid, op: conv, out: 8, kernel: 3, padding: 1}
  - {name: unpool, op: maxunpool, indices: pool}
  - {name: squeeze, op: adaptive_avgpool, size: 1}
  - {name: gate, op: hardsigmoid}
  - {name: scaled, op: mul, from: [unpool, gate]}
  - {name: norm, op: lrn, size: 3}
  - {name: flat, op: flatten}
  - {name: view, op: reshape, shape: [-1, 32, 16]}
"""


@pytest.mark.parametrize(("op", "family"), [
    ("mul", Family.SUM), ("reshape", Family.OTHER), ("maxunpool", Family.UP), ("prelu", Family.ACTIVATION),
    ("relu6", Family.ACTIVATION), ("elu", Family.ACTIVATION), ("selu", Family.ACTIVATION),
    ("hardswish", Family.ACTIVATION), ("hardsigmoid", Family.ACTIVATION), ("mish", Family.ACTIVATION),
    ("softplus", Family.ACTIVATION), ("lrn", Family.NORM),
])
def test_families(op: str, family: Family) -> None:
    assert OPS[op].family is family


def _dot() -> dict[str, str]:
    """Each node's and edge's line of the DOT source, by its name (``a -> b`` for an edge)."""
    lines = {}
    for line in dot_source(known_shapes(load_text(SEGNET))).splitlines():
        head = line.strip().split(" [", 1)[0]
        lines[head.replace('"', "")] = line
    return lines


def test_dot_labels_and_references() -> None:
    dot = _dot()
    assert "<BR/>maxunpool indices=pool>" in dot["unpool"]  # its maxpool's kernel is shown on the pool
    assert "<BR/>reshape shape=-1x32x16<BR/>" in dot["view"] and ">4x32x16</FONT>" in dot["view"]
    assert 'shape="ellipse"' in dot["scaled"]  # a merge
    assert 'fillcolor="#d7f0d4"' in dot["unpool"]  # up-sampling's green
    assert 'label="indices"' in dot["pool -> unpool"] and 'style="dotted"' in dot["pool -> unpool"]
    assert 'label="size of"' in dot["act -> unpool"]  # the size it gives back: the pool's input's
    assert 'label="8x8x8"' in dot["mid -> unpool"]
    assert 'dir="back"' in dot["squeeze -> unpool"]  # down, then up again: the decoder drawn upwards, a U


def test_mermaid_references() -> None:
    mermaid = mermaid_source(known_shapes(load_text(SEGNET)))
    assert '"<b>unpool</b><br/>maxunpool indices=pool"' in mermaid  # its shape is on its edge
    assert '-.->|"indices"|' in mermaid and '-.->|"size of"|' in mermaid
