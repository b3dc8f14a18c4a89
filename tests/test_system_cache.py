"""The Z3 encoding's builder reuses work between layers, and that changes nothing it builds.

``build_system`` groups each layer's hyperparameter combinations by effect.  Layers alike up
to their unknowns' names (c2..c12 of a deep chain) share one grouping, and layers whose rule
runs are alike share those runs.  Here each spec is built twice, with the reuse and with a
builder that reuses nothing, and the two systems must be the same field by field: tables,
effects, combinations (under each layer's own unknowns), costs, facts, variables and the
order, messages included (a shared run's message names each layer and its sources).
"""

from __future__ import annotations

import dataclasses

import pytest

from archsolve.shapes.graph import build_network
from archsolve.solve.smt.system import System, _Builder, build_system
from archsolve.spec.load import load_text

OPEN = 'kernel: "?", stride: "?", padding: "?", dilation: "?"'


def _chain(depth: int, extra: str = "") -> str:
    half = depth // 2
    layers = [f"  - {{name: c{i}, op: conv, out: 16, {OPEN}}}" for i in range(1, half + 1)]
    layers += [f"  - {{name: u{i}, op: deconv, out: 16, {OPEN}}}" for i in range(1, depth - half + 1)]
    return "input: [3, 64, 64]\nlayers:\n" + "\n".join(layers) + f"\nconstraints: [c{half}.H == 4]\n" + extra


SMALL = "domains: {kernel: {min: 1, max: 3}, stride: {min: 1, max: 2}, dilation: {in: [1, 2]}}\n"

# macs need constant sizes: "same" padding keeps every layer's
SAME = """input: [3, 32]
domains: {kernel: {in: [1, 3, 5]}, dilation: {min: 1, max: 2}}
layers:
  - {name: a, op: conv, out: 4, kernel: "?", dilation: "?", padding: same}
  - {name: b, op: conv, out: 4, kernel: "?", dilation: "?", padding: same}
  - {name: c, op: conv, out: 4, kernel: "?", dilation: "?", padding: same}
"""

# (case, spec, objectives, how many groupings the builder made)
CASES = [
    ("a chain of depth 6, every k/s/p/d open", _chain(6), (), 3),
    ("a layer with a written dilation", SMALL + """input: [3, 32]
layers:
  - {name: a, op: conv, out: 4, kernel: "?", stride: "?", padding: "?"}
  - {name: b, op: conv, out: 4, kernel: "?", stride: "?", padding: "?"}
  - {name: c, op: conv, out: 4, kernel: "?", stride: "?", padding: "?", dilation: 2}
  - {name: d, op: conv, out: 4, kernel: "?", stride: "?", padding: "?"}
""", (), 3),
    ("kernels from vars of different domains", """input: [3, 32]
vars: {k: {min: 1, max: 3}, j: {min: 1, max: 5}, i: {min: 1, max: 5}}
layers:
  - {name: a, op: conv, out: 4, kernel: "?", stride: 2}
  - {name: b, op: conv, out: 4, kernel: k}
  - {name: c, op: conv, out: 4, kernel: j}
  - {name: d, op: conv, out: 4, kernel: i}
constraints: [d.L >= 1]
""", (), 3),
    ("a \"?\" a constraint names beside one it does not", SMALL + """input: [3, 32]
layers:
  - {name: a, op: conv, out: 4, kernel: "?", stride: 2}
  - {name: b, op: conv, out: 4, kernel: "?"}
  - {name: c, op: conv, out: 4, kernel: "?"}
  - {name: d, op: conv, out: 4, kernel: "?"}
constraints: [b.kernel >= 2]
""", (), 3),
    ("a \"?\" per axis", SMALL + """input: [3, 32, 24]
layers:
  - {name: a, op: conv, out: 4, kernel: ["?", "?"], stride: ["?", 1], padding: "?"}
  - {name: b, op: conv, out: 4, kernel: ["?", "?"], stride: ["?", 1], padding: "?"}
  - {name: c, op: conv, out: 4, kernel: ["?", "?"], stride: ["?", 1], padding: "?"}
""", (), 2),
    ("exact: true", SMALL + "exact: true\n" + _chain(4).replace("[3, 64, 64]", "[3, 33, 33]"), (), 3),
    ("holes: false", SMALL + "holes: false\n" + _chain(4), (), 3),
    ("a var kernel shared by two layers", SMALL + """input: [3, 32]
vars: {k: {in: [1, 3, 5]}}
layers:
  - {name: a, op: conv, out: 4, kernel: k, stride: "?", padding: "?"}
  - {name: b, op: conv, out: 4, kernel: k, stride: "?", padding: "?"}
  - {name: c, op: conv, out: 4, kernel: k, stride: "?", padding: "?"}
constraints: [c.L == 4]
""", (), 2),
    ("params", SMALL + _chain(6), ("params",), 3),
    ("macs", SAME, ("macs",), 2),
    ("params and macs", SAME, ("params", "macs"), 2),
    ("no value fits", SMALL + """input: [3, 2]
layers:
  - {name: a, op: conv, out: 4, kernel: 1}
  - {name: b, op: conv, out: 4, kernel: 5, stride: "?"}
  - {name: c, op: conv, out: 4, kernel: 5, stride: "?"}
""", (), 2),
]


def _shown(system: System) -> str:
    fields = dataclasses.asdict(system)
    fields["sizes"] = sorted(fields["sizes"])  # a set's order is the hash's
    return repr(fields)


@pytest.mark.parametrize(("case", "text", "objectives", "groupings"), CASES, ids=[c[0] for c in CASES])
def test_reuse_builds_the_same_system(case: str, text: str, objectives: tuple[str, ...], groupings: int) -> None:
    net = build_network(load_text(text))
    builder = _Builder(net, objectives)
    reused = builder.build()
    fresh = _Builder(net, objectives, reuse=False).build()
    assert _shown(reused) == _shown(fresh)
    assert len(builder.grouped) == groupings
    assert _shown(build_system(net, objectives)) == _shown(fresh)


MESSAGES = [
    ("a merge names its own sources", """input: [2, 32]
layers:
  - {name: a, op: conv, out: 2, kernel: "?", stride: 2}
  - {name: b, op: conv, from: input, out: 2, kernel: 3}
  - {name: m, op: concat, from: [a, b]}
  - {name: c, op: conv, from: input, out: 2, kernel: "?", stride: 2}
  - {name: d, op: conv, from: input, out: 2, kernel: 3}
  - {name: n, op: concat, from: [c, d]}
""", [("m", "mismatch", "a gives a.L but b gives 30"), ("n", "mismatch", "c gives c.L but d gives 30")]),
    ("a field's minimum names its own layer", """input: [3, H]
vars: {H: {min: 8, max: 64}, c: {min: 0, max: 4}}
layers:
  - {name: a, op: conv, out: c, kernel: 3}
  - {name: b, op: conv, from: input, out: c, kernel: 3}
""", [("input", "size", "input[1] = H must be positive"),
      ("a", "range", "a.out must be at least 1"),
      ("a", "kernel-fits", "kernel 3 but the padded input on axis L is only H + 0 + 0 (H + 0 + 0)"),
      ("a", "shape", "the shape of a"),
      ("b", "range", "b.out must be at least 1"),
      ("b", "kernel-fits", "kernel 3 but the padded input on axis L is only H + 0 + 0 (H + 0 + 0)"),
      ("b", "shape", "the shape of b")]),
    ("no value fits, in each layer's names", """input: [3, 2]
domains: {stride: {min: 1, max: 2}}
layers:
  - {name: a, op: conv, out: 4, kernel: 5, stride: "?"}
  - {name: b, op: conv, from: input, out: 4, kernel: 5, stride: "?"}
""", [("a", "no-combination", "no value of a.stride gives a a valid output: kernel 5 but the padded input on "
       "axis L is only 2 (2 + 0 + 0) (with a.stride = 1, and alike for every other value)"),
      ("b", "no-combination", "no value of b.stride gives b a valid output: kernel 5 but the padded input on "
       "axis L is only 2 (2 + 0 + 0) (with b.stride = 1, and alike for every other value)")]),
]


@pytest.mark.parametrize(("case", "text", "facts"), MESSAGES, ids=[c[0] for c in MESSAGES])
def test_shared_runs_name_each_layer(case: str, text: str, facts: list[tuple[str, str, str]]) -> None:
    system = build_system(build_network(load_text(text)))
    assert [(f.label, f.rule, f.message) for f in system.facts] == facts
