"""Unit tests of the exact depth-first search (``archsolve/search.py``), ``solve``'s first try.

The oracle is a tiny brute force written here: the cartesian product of every unknown's
domain -- written out in this file from docs/spec-format.md, dependent defaults included
(conv/deconv padding 0..dilation*(kernel-1), pool padding 0..kernel//2, output_padding
0..max(stride, dilation)-1) -- each assignment checked by plain propagation
(``archsolve.propagate``, constraints included), which shares nothing with the search's walk.

1. dependent domains: the ``all`` answer equals the brute-force set;
2. vars (tied, constant, a kernel shared by two layers), block parameters and ``repeat``;
3. the optimum: smallest objective, ties broken by the values in unknown-name order;
4. ``limit`` and ``complete``; no solution listed twice;
5. unsatisfiable questions: ``Answer(solutions=[], complete=True)``;
6. out of reach (``params``, attributes, huge domains, no time): ``None``;
7. layers the search skips (activations, batchnorm) and merges (concat, add, crop ``like``);
8. the command line: ``--engine auto|search|z3`` agree.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from archsolve.errors import ArchsolveError
from archsolve.shapes.graph import Network, build_network
from archsolve.shapes.propagate import propagate
from archsolve.solve.api import _objective
from archsolve.solve.outcome import Engine, SolveMode, SolveStatus
from archsolve.solve.search.budget import Budget, OutOfBudget
from archsolve.solve.search.engine import Answer, search
from archsolve.solve.search.optimum import Optimum
from archsolve.solve.search.plan import Plan
from archsolve.solve.search.walk import Listing
from archsolve.solve.solution import Answered
from archsolve.spec.load import load_spec, load_text

from .conftest import assignments, run_cli_split, write_spec

Values = dict[str, int]
# a domain: its values, or a function of the values chosen so far (a dependent default)
Domain = Sequence[int] | Callable[[Mapping[str, int]], Sequence[int]]
Objective = Callable[[Mapping[str, int]], int]

ALL = 10**6
BUDGET = 30.0


# ==========================================================================================
# the oracle
# ==========================================================================================

def r(lo: int, hi: int) -> range:
    """lo..hi, both ends included (the spec's ``{min: lo, max: hi}``)."""
    return range(lo, hi + 1)


def _get(v: Mapping[str, int], x: str | int) -> int:
    return v[x] if isinstance(x, str) else x


def conv_padding(*kernels: str | int, dilation: str | int = 1) -> Callable[[Mapping[str, int]], range]:
    """0..dilation*(kernel-1) on every axis the padding stands on (one kernel per axis)."""
    return lambda v: range(0, _get(v, dilation) * (min(_get(v, k) for k in kernels) - 1) + 1)


def pool_padding(*kernels: str | int) -> Callable[[Mapping[str, int]], range]:
    """0..kernel//2 on every axis the padding stands on."""
    return lambda v: range(0, min(_get(v, k) for k in kernels) // 2 + 1)


def output_padding(stride: str | int, dilation: str | int = 1) -> Callable[[Mapping[str, int]], range]:
    """0..max(stride, dilation)-1."""
    return lambda v: range(0, max(_get(v, stride), _get(v, dilation)))


def valid(net: Network, values: Mapping[str, int], cache: dict[Any, Any]) -> bool:
    """The plain checker: no error-severity problem (a field evaluating out of range is one)."""
    try:
        return propagate(net, values, receptive_fields=False, cache=cache).ok
    except ArchsolveError:
        return False


_BRUTE: dict[str, list[Values]] = {}


def brute(text: str, domains: Mapping[str, Domain]) -> list[Values]:
    """Every valid assignment (memoized per spec text: several groups share the cases)."""
    hit = _BRUTE.get(text)
    if hit is None:
        net = build_network(load_text(text))
        cache: dict[Any, Any] = {}
        hit = _BRUTE[text] = [v for v in assignments(domains) if valid(net, v, cache)]
    return hit


def keys(sols: Sequence[Mapping[str, int]]) -> set[tuple[tuple[str, int], ...]]:
    return {tuple(sorted(s.items())) for s in sols}


def ranking(objective: Objective | None) -> Callable[[Mapping[str, int]], tuple[int, tuple[int, ...]]]:
    """solve's order: the objective (default: the sum), then the values in name order."""
    obj = objective or (lambda v: sum(v.values()))
    return lambda v: (obj(v), tuple(v[n] for n in sorted(v)))


def best(sols: Sequence[Values], objective: Objective | None = None) -> Values:
    return min(sols, key=ranking(objective))


def all_equals_brute_force(case: Case) -> tuple[list[Values], list[dict[str, int]]]:
    """The brute force's solutions (as many as the case says) and the search's ``all``:
    complete, none twice, the same set.  Returns both for further checks."""
    expected = brute(case.text, case.domains)
    assert len(expected) == case.count
    got = run_search(case.text, SolveMode.ALL)
    assert got is not None and got.complete is True
    assert len(got.solutions) == len(keys(got.solutions))
    assert keys(got.solutions) == keys(expected)
    return expected, got.solutions


def net_of(text: str) -> Network:
    return build_network(load_text(text))


def run_search(text: str, mode: SolveMode, minimize: str | None = None, limit: int = ALL,
               budget: float = BUDGET, count: bool = False) -> Answer | None:
    net = net_of(text)
    return search(net, mode, objective=_objective(net.spec, minimize)[1], limit=limit, budget=budget,
                  count_budget=budget if count else None)


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    domains: Mapping[str, Domain]
    count: int  # how many solutions the brute force finds (pins the oracle itself)


def ids(cases: Sequence[Case]) -> list[str]:
    return [c.id for c in cases]


# ==========================================================================================
# 1. dependent domains
# ==========================================================================================

DEPENDENT = [
    Case("conv-kernel-and-padding", """
input: [1, 6]
layers:
  - {name: c, op: conv, out: 1, kernel: "?", padding: "?"}
""", {"c.kernel": r(1, 11), "c.padding": conv_padding("c.kernel")}, 57),
    Case("conv-kernel-stride-padding-target", """
input: [1, 10]
layers:
  - {name: c, op: conv, out: 1, kernel: "?", stride: "?", padding: "?"}
constraints: [c.L == 4]
""", {"c.kernel": r(1, 11), "c.stride": r(1, 4), "c.padding": conv_padding("c.kernel")}, 42),
    Case("conv-fixed-kernel", """
input: [1, 7]
layers:
  - {name: c, op: conv, out: 1, kernel: 5, padding: "?", dilation: "?"}
""", {"c.dilation": r(1, 4), "c.padding": conv_padding(5, dilation="c.dilation")}, 35),
    Case("conv-per-axis-kernel-shared-padding", """
input: [1, 5, 5]
layers:
  - {name: c, op: conv, out: 1, kernel: [3, "?"], padding: "?"}
""", {"c.kernel[1]": r(1, 11), "c.padding": conv_padding(3, "c.kernel[1]")}, 18),
    Case("conv-per-axis-kernel-per-axis-padding", """
input: [1, 4, 6]
layers:
  - {name: c, op: conv, out: 1, kernel: [3, "?"], padding: ["?", "?"]}
constraints: [c.H == c.W]
""", {"c.kernel[1]": r(1, 11), "c.padding[0]": conv_padding(3), "c.padding[1]": conv_padding("c.kernel[1]")}, 15),
    Case("deconv-output-padding", """
input: [1, 3]
layers:
  - {name: up, op: deconv, out: 1, kernel: 3, stride: "?", dilation: "?", output_padding: "?"}
""", {"up.stride": r(1, 4), "up.dilation": r(1, 4), "up.output_padding": output_padding("up.stride", "up.dilation")},
        50),
    Case("deconv-output-padding-fixed-stride", """
input: [1, 3]
layers:
  - {name: up, op: deconv, out: 1, kernel: 2, stride: 3, output_padding: "?", padding: "?"}
constraints: [up.L >= 7]
""", {"up.output_padding": output_padding(3), "up.padding": conv_padding(2)}, 5),
    Case("deconv-everything", """
input: [1, 2]
domains: {kernel: {min: 1, max: 4}}
layers:
  - {name: up, op: deconv, out: 1, kernel: "?", stride: "?", padding: "?", output_padding: "?"}
constraints: [up.L == 4]
""", {"up.kernel": r(1, 4), "up.stride": r(1, 4), "up.padding": conv_padding("up.kernel"),
      "up.output_padding": output_padding("up.stride")}, 14),
    Case("maxpool-padding", """
input: [1, 9]
layers:
  - {name: p, op: maxpool, kernel: "?", padding: "?"}
""", {"p.kernel": r(1, 11), "p.padding": pool_padding("p.kernel")}, 39),
    Case("avgpool-ceil-stride-padding", """
input: [1, 7]
layers:
  - {name: p, op: avgpool, kernel: "?", stride: "?", padding: "?", ceil_mode: true}
constraints: [p.L <= 3]
""", {"p.kernel": r(1, 11), "p.stride": r(1, 4), "p.padding": pool_padding("p.kernel")}, 107),
    Case("domains-override-padding", """
input: [1, 5]
domains: {kernel: {in: [2, 4, 6]}, padding: {min: 0, max: 2}}
layers:
  - {name: c, op: conv, out: 1, kernel: "?", padding: "?"}
""", {"c.kernel": [2, 4, 6], "c.padding": r(0, 2)}, 8),
]


@pytest.mark.parametrize("case", DEPENDENT, ids=ids(DEPENDENT))
def test_dependent_domains_all_equals_brute_force(case: Case) -> None:
    all_equals_brute_force(case)


# ==========================================================================================
# 2. vars, shared unknowns, blocks and repeat
# ==========================================================================================

SHARED = [
    Case("tied-W-is-H", """
input: [1, H, W]
vars: {H: {min: 8, max: 40}, W: H}
exact: true
layers:
  - {name: c, op: conv, out: 2, kernel: 3, stride: 2}
  - {name: p, op: maxpool, kernel: 2}
""", {"H": r(8, 40)}, 8),
    Case("tied-W-offset-with-kernel", """
input: [1, H, W]
vars: {H: {min: 4, max: 14}, W: H + 3}
layers:
  - {name: c, op: conv, out: 2, kernel: "?"}
constraints: [c.H * 2 == c.W + 1]
""", {"H": r(4, 14), "c.kernel": r(1, 11)}, 11),
    Case("constant-var", """
input: [1, H]
vars: {H: 16}
layers:
  - {name: c, op: conv, out: 1, kernel: "?", padding: "?"}
constraints: [c.L == H - 4]
""", {"c.kernel": r(1, 11), "c.padding": conv_padding("c.kernel")}, 4),
    Case("var-kernel-in-two-layers", """
input: [1, 16]
vars: {k: {min: 1, max: 7}}
layers:
  - {name: a, op: conv, out: 2, kernel: k}
  - {name: b, op: conv, out: 2, kernel: k, padding: "?"}
constraints: [b.L == 8]
""", {"k": r(1, 7), "b.padding": conv_padding("k")}, 3),
    Case("var-kernel-expression", """
input: [1, 12]
vars: {k: {min: 1, max: 5}}
layers:
  - {name: a, op: conv, out: 2, kernel: k, stride: "?"}
  - {name: b, op: conv, out: 2, kernel: k + 2, padding: "?"}
constraints: [b.L >= 3]
""", {"k": r(1, 5), "a.stride": r(1, 4), "b.padding": lambda v: range(0, v["k"] + 2)}, 71),
    Case("block-repeat-shares-unknowns", """
input: [1, 14]
blocks:
  b:
    params: {k: null}
    layers:
      - {name: conv, op: conv, out: 2, kernel: k, padding: "?"}
      - {op: relu}
layers:
  - {name: enc, block: b, k: "?", repeat: 3}
constraints: [enc.L == 8]
""", {"enc.k": r(1, 11), "enc/conv.padding": conv_padding("enc.k")}, 5),
    Case("block-calls-own-unknowns", """
input: [1, 16]
domains: {kernel: {in: [1, 3, 5, 7]}}
blocks:
  same:
    params: {k: 3}
    layers:
      - {name: conv, op: conv, out: 2, kernel: k, padding: k // 2}
layers:
  - {name: s1, block: same, k: "?"}
  - {name: s2, block: same, k: "?"}
  - {name: s3, block: same, k: "?", repeat: 2}
constraints: [s1.k + s2.k + s3.k >= 13]
""", {"s1.k": [1, 3, 5, 7], "s2.k": [1, 3, 5, 7], "s3.k": [1, 3, 5, 7]}, 32),
    Case("unused-var-is-free", """
input: [1, H]
vars: {H: {min: 8, max: 12}, Z: {min: 1, max: 3}}
layers:
  - {name: c, op: conv, out: 1, kernel: 3}
constraints: [c.L >= 8]
""", {"H": r(8, 12), "Z": r(1, 3)}, 9),
    Case("vars-only-in-constraints", """
input: [1, 10]
vars: {m: {min: 1, max: 6}, n: {min: 1, max: 6}}
layers:
  - {name: c, op: conv, out: 1, kernel: "?"}
constraints: [m + n == c.kernel, m < n]
""", {"m": r(1, 6), "n": r(1, 6), "c.kernel": r(1, 11)}, 14),
]


EVERY = {c.id: c for c in DEPENDENT + SHARED}


@pytest.mark.parametrize("case", SHARED, ids=ids(SHARED))
def test_vars_and_shared_unknowns_all_equals_brute_force(case: Case) -> None:
    _, listed = all_equals_brute_force(case)
    # every unknown, and nothing else: tied and constant vars are not unknowns
    assert all(sorted(s) == sorted(case.domains) for s in listed)


def test_tied_and_constant_vars_are_not_listed() -> None:
    got = run_search(EVERY["tied-W-is-H"].text, SolveMode.OPTIMUM)
    assert got == Answer(solutions=[{"H": 9}], complete=True)  # 9 -> conv 4 -> pool 2, both exact
    got = run_search(EVERY["constant-var"].text, SolveMode.OPTIMUM)
    assert got == Answer(solutions=[{"c.kernel": 5, "c.padding": 0}], complete=True)


BLOCK_PADDING = """
input: [1, 10]
blocks:
  b:
    params: {p: null}
    layers:
      - {name: x, op: conv, out: 2, kernel: 3, padding: p}
layers:
  - {name: enc, block: b, p: "?"}
"""


def test_block_parameter_standing_for_conv_padding_gets_conv_domain() -> None:
    """Until this test, a block parameter took the domain of the last op with a field of that
    name (pool padding 0..kernel//2), not of the op it stands in."""
    expected = brute(BLOCK_PADDING, {"enc.p": conv_padding(3)})
    assert keys(expected) == keys([{"enc.p": 0}, {"enc.p": 1}, {"enc.p": 2}])
    got = run_search(BLOCK_PADDING, SolveMode.ALL)
    assert got is not None and keys(got.solutions) == keys(expected)


BLOCK_PADDING_TWICE = """
input: [1, 10]
blocks:
  b:
    params: {p: null}
    layers:
      - {name: x, op: conv, out: 2, kernel: 3, padding: p}
      - {name: y, op: maxpool, kernel: 2, padding: p}
layers:
  - {name: enc, block: b, p: "?"}
"""


def test_block_parameter_in_two_ops_gets_the_widest_domain_and_both_rules() -> None:
    """Conv padding (0..2 for kernel 3) and pool padding (0..1 for kernel 2) at once: the
    unknown spans both, and the pool's own rule rules out 2."""
    expected = brute(BLOCK_PADDING_TWICE, {"enc.p": range(0, 3)})
    assert keys(expected) == keys([{"enc.p": 0}, {"enc.p": 1}])
    got = run_search(BLOCK_PADDING_TWICE, SolveMode.ALL)
    assert got is not None and keys(got.solutions) == keys(expected) and got.complete


# ==========================================================================================
# 3. the optimum
# ==========================================================================================


@pytest.mark.parametrize("case", DEPENDENT + SHARED, ids=ids(DEPENDENT + SHARED))
def test_default_optimum_is_brute_force_optimum(case: Case) -> None:
    expected = best(brute(case.text, case.domains))
    got = run_search(case.text, SolveMode.OPTIMUM)
    assert got == Answer(solutions=[expected], complete=True)


MANY_TIES = """
input: [1, 8, 8]
layers:
  - {name: c, op: conv, out: 1, kernel: ["?", "?"]}
constraints: [c.H + c.W == 10]
"""
MANY_TIES_DOMAINS = {"c.kernel[0]": r(1, 11), "c.kernel[1]": r(1, 11)}

# (case, --minimize, the same objective in Python, how many optima tie)
OBJECTIVES: list[tuple[str, str, Objective, int]] = [
    ("tied-W-is-H", "0 - H", lambda v: -v["H"], 1),
    ("tied-W-offset-with-kernel", "0 - W", lambda v: -(v["H"] + 3), 1),
    ("tied-W-offset-with-kernel", "c.kernel - H", lambda v: v["c.kernel"] - v["H"], 11),
    ("conv-kernel-stride-padding-target", "c.kernel * 2 - c.stride", lambda v: v["c.kernel"] * 2 - v["c.stride"], 1),
    ("conv-kernel-stride-padding-target", "0", lambda v: 0, 42),
    ("conv-kernel-stride-padding-target", "max(c.kernel, c.stride * 3) - c.padding",
     lambda v: max(v["c.kernel"], v["c.stride"] * 3) - v["c.padding"], 2),
    ("conv-kernel-stride-padding-target", "c.stride // 2", lambda v: v["c.stride"] // 2, 3),
    ("deconv-output-padding", "up.output_padding - up.stride",
     lambda v: v["up.output_padding"] - v["up.stride"], 4),
    ("deconv-everything", "0 - up.kernel * up.padding", lambda v: -v["up.kernel"] * v["up.padding"], 1),
    ("var-kernel-in-two-layers", "0 - k", lambda v: -v["k"], 1),
    ("var-kernel-expression", "min(a.stride, 2) - b.padding", lambda v: min(v["a.stride"], 2) - v["b.padding"], 1),
    ("block-calls-own-unknowns", "s3.k - s1.k", lambda v: v["s3.k"] - v["s1.k"], 2),
    ("unused-var-is-free", "0 - Z", lambda v: -v["Z"], 3),
    ("vars-only-in-constraints", "n % 3", lambda v: v["n"] % 3, 6),
]


@pytest.mark.parametrize(("case_id", "minimize", "fn", "ties"), OBJECTIVES,
                         ids=[f"{c}:{m}" for c, m, _, _ in OBJECTIVES])
def test_expression_optimum_is_brute_force_optimum(case_id: str, minimize: str, fn: Objective, ties: int) -> None:
    case = EVERY[case_id]
    sols = brute(case.text, case.domains)
    low = min(fn(v) for v in sols)
    assert sum(fn(v) == low for v in sols) == ties
    got = run_search(case.text, SolveMode.OPTIMUM, minimize)
    assert got == Answer(solutions=[best(sols, fn)], complete=True)


def test_sum_optimum_with_many_ties_is_smallest_in_name_order() -> None:
    sols = brute(MANY_TIES, MANY_TIES_DOMAINS)
    assert {sum(v.values()) for v in sols} == {8}  # every solution ties: k0 + k1 == 8
    assert len(sols) == 7
    got = run_search(MANY_TIES, SolveMode.OPTIMUM)
    assert got == Answer(solutions=[{"c.kernel[0]": 1, "c.kernel[1]": 7}], complete=True)
    got = run_search(MANY_TIES, SolveMode.OPTIMUM, "0 - c.kernel[1]")
    assert got == Answer(solutions=[{"c.kernel[0]": 1, "c.kernel[1]": 7}], complete=True)
    got = run_search(MANY_TIES, SolveMode.OPTIMUM, "c.kernel[1]")
    assert got == Answer(solutions=[{"c.kernel[0]": 7, "c.kernel[1]": 1}], complete=True)


# ==========================================================================================
# 4. limit and complete
# ==========================================================================================

LIMITED = EVERY["avgpool-ceil-stride-padding"]  # 107 solutions


@pytest.mark.parametrize("limit", [0, 1, 2, 106, 107, 108, ALL], ids=lambda n: f"limit={n}")
def test_limit_and_complete(limit: int) -> None:
    expected = keys(brute(LIMITED.text, LIMITED.domains))
    assert len(expected) == LIMITED.count == 107
    got = run_search(LIMITED.text, SolveMode.ALL, limit=limit, count=True)
    assert got is not None
    assert got.complete is (len(expected) <= limit)
    assert got.count == 107  # counted past the limit too
    uncounted = run_search(LIMITED.text, SolveMode.ALL, limit=limit)
    assert uncounted is not None
    assert uncounted.count == (107 if uncounted.complete else None)  # only where it is free
    assert uncounted.solutions == got.solutions
    assert len(got.solutions) == min(limit, len(expected))
    assert len(keys(got.solutions)) == len(got.solutions)  # never twice
    assert keys(got.solutions) <= expected


@pytest.mark.parametrize("case", DEPENDENT + SHARED, ids=ids(DEPENDENT + SHARED))
def test_limit_one_below_and_at_the_count(case: Case) -> None:
    n = case.count
    below = run_search(case.text, SolveMode.ALL, limit=n - 1, count=True)
    at = run_search(case.text, SolveMode.ALL, limit=n)
    assert below is not None and at is not None
    assert (below.complete, len(below.solutions), below.count) == (False, n - 1, n)
    assert (at.complete, len(at.solutions), at.count) == (True, n, n)
    expected = keys(brute(case.text, case.domains))
    assert len(keys(below.solutions)) == n - 1 and keys(below.solutions) < expected
    assert keys(at.solutions) == expected


# ==========================================================================================
# 5. unsatisfiable
# ==========================================================================================

UNSAT = [
    # the widest: kernel 11, padding 10 gives 14
    Case("conv-cannot-grow", """
input: [1, 4]
layers:
  - {name: c, op: conv, out: 1, kernel: "?", padding: "?"}
constraints: [c.L == 20]
""", {"c.kernel": r(1, 11), "c.padding": conv_padding("c.kernel")}, 0),
    # 6 needs stride 1 with output_padding 1, which torch refuses (output_padding < stride)
    Case("output-padding-below-stride", """
input: [1, 3]
layers:
  - {name: up, op: deconv, out: 1, kernel: 3, stride: "?", output_padding: "?"}
constraints: [up.L == 6]
""", {"up.stride": r(1, 4), "up.output_padding": output_padding("up.stride")}, 0),
    # exact pooling by 2 needs H and H + 1 both even
    Case("tied-parity", """
input: [1, H, W]
vars: {H: {min: 8, max: 40}, W: H + 1}
exact: true
layers:
  - {name: p, op: maxpool, kernel: 2}
""", {"H": r(8, 40)}, 0),
    # the concat needs b.L == a.L == 4, which the constraint forbids
    Case("concat-mismatch", """
input: [1, 8]
layers:
  - {name: a, op: conv, out: 1, kernel: 2, stride: 2}
  - {name: b, op: maxpool, kernel: "?", padding: "?", from: input}
  - {name: cat, op: concat, from: [a, b]}
  - {name: head, op: conv, out: 1, kernel: 1}
constraints: [head.L == 4, b.L != 4]
""", {"b.kernel": r(1, 11), "b.padding": pool_padding("b.kernel")}, 0),
    # 8 needs padding 2, more than kernel // 2
    Case("pool-padding-above-half", """
input: [1, 5]
layers:
  - {name: p, op: maxpool, kernel: 2, stride: 1, padding: "?"}
constraints: [p.L == 8]
""", {"p.padding": pool_padding(2)}, 0),
]


@pytest.mark.parametrize("case", UNSAT, ids=ids(UNSAT))
@pytest.mark.parametrize("mode", [SolveMode.ALL, SolveMode.OPTIMUM])
def test_unsat_is_empty_and_complete(case: Case, mode: SolveMode) -> None:
    assert brute(case.text, case.domains) == []
    assert run_search(case.text, mode) == Answer(solutions=[], complete=True,
                                                 count=0 if mode is SolveMode.ALL else None)


# ==========================================================================================
# 6. out of reach: None
# ==========================================================================================

SMALL = """
input: [1, 14]
layers:
  - {name: conv1, op: conv, out: 2, kernel: "?"}
  - {name: head, op: conv, out: 2, kernel: 1}
"""
SMALL_2D = """
input: [1, 14, 14]
layers:
  - {name: conv1, op: conv, out: 2, kernel: "?"}
  - {name: head, op: conv, out: 2, kernel: 1}
"""
CHAIN = "input: [1, 64]\nlayers:\n" + "".join(
    f'  - {{name: c{i}, op: conv, out: 1, kernel: "?", stride: "?", padding: "?", dilation: "?"}}\n'
    for i in range(1, 13)) + "constraints: [c12.L == 1]\n"

@pytest.mark.parametrize("path", [
    "specs/dcgan-solve.yaml", "specs/unet-solve.yaml", "specs/same-conv-stack.yaml",
    "specs/decoder-unsat.yaml",  # no solution: the walk goes through every state
    "benchmarks/specs/chain12-solve.yaml", "benchmarks/specs/aniso3d-plan.yaml",
], ids=lambda p: Path(p).stem)
def test_a_first_solutions_walk_answers_alike_with_and_without_its_memo(path: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A first solution's walk remembers layer results only once it runs long (FRESH_NODES):
    remembering from the start, or never, changes nothing but the time."""
    import archsolve.solve.search.walk as walk_module

    root = Path(__file__).resolve().parent.parent
    net = build_network(load_spec(root / path))
    answers = []
    for fresh_nodes in (0, 10**9):
        monkeypatch.setattr(walk_module, "FRESH_NODES", fresh_nodes)
        got = search(net, SolveMode.FIRST, objective="sum", limit=1, budget=120.0)  # the budget must not decide
        answers.append(None if got is None else (got.solutions, got.complete))
    assert answers[0] == answers[1]


REACH = [
    ("unknown-name-objective", SMALL, "Q"),
    ("domain-over-65536", """
input: [1, H]
vars: {H: {min: 1, max: 65537}}
layers: [{name: c, op: conv, out: 1, kernel: 3}]
constraints: [c.L == 5]
""", None),
    ("layer-over-max-combinations", """
input: [1, 14]
layers: [{name: c, op: conv, out: "?", kernel: "?", padding: "?"}]
""", None),
    ("var-domains-name-each-other", """
input: [1, H, W]
vars: {H: {min: 8, max: W}, W: {min: H, max: 20}}
layers: [{name: c, op: conv, out: 1, kernel: 3}]
""", None),
]


def test_a_var_domain_naming_a_var_is_in_reach() -> None:
    """Its widest range is tried, and the domain is checked once the vars it names are bound:
    W in H..20 for H in 8..20 is 13 + 12 + ... + 1 pairs."""
    spec = """
input: [1, H, W]
vars: {H: {min: 8, max: 20}, W: {min: H, max: 20}}
layers: [{name: c, op: conv, out: 1, kernel: 3}]
"""
    listed = run_search(spec, SolveMode.ALL)
    assert listed is not None and listed.complete and len(listed.solutions) == 91
    assert all(s["H"] <= s["W"] for s in listed.solutions)
    assert run_search(spec, SolveMode.OPTIMUM) == Answer(solutions=[{"H": 8, "W": 8}], complete=True)


@pytest.mark.parametrize(("spec", "minimize"), [(t, m) for _, t, m in REACH], ids=[i for i, _, _ in REACH])
@pytest.mark.parametrize("mode", [SolveMode.ALL, SolveMode.OPTIMUM])
def test_out_of_reach_is_none(spec: str, minimize: str | None, mode: SolveMode) -> None:
    assert run_search(spec, mode, minimize) is None


@pytest.mark.parametrize("kind", ["params", "macs"])
def test_params_and_macs_objectives_are_in_reach(kind: str) -> None:
    """Both grow with the kernel here: the smallest kernel is the optimum."""
    assert run_search(SMALL, SolveMode.OPTIMUM, kind) == Answer(solutions=[{"conv1.kernel": 1}], complete=True)
    listed = run_search(SMALL, SolveMode.ALL, kind)
    assert listed is not None and listed.complete and len(listed.solutions) == 11


@pytest.mark.parametrize(("spec", "minimize", "kernel"), [
    (SMALL_2D, "head.H", 11),  # the largest kernel gives the smallest H
    (SMALL, "conv1.kernel + head.L", 1),  # k + (15 - k): all tie, the smallest kernel wins
    (SMALL, "head.params + 2 * macs", 1),
], ids=["attribute", "attribute-in-expression", "counts-in-expression"])
def test_objectives_over_sizes_and_counts_are_in_reach(spec: str, minimize: str, kernel: int) -> None:
    """Worked out at each leaf (no bound on the way: sizes and counts are known at the end)."""
    assert run_search(spec, SolveMode.OPTIMUM, minimize) == Answer(solutions=[{"conv1.kernel": kernel}],
                                                                   complete=True)
    listed = run_search(spec, SolveMode.ALL, minimize)
    assert listed is not None and listed.complete and len(listed.solutions) == 11


def test_the_same_questions_in_reach() -> None:
    """The controls of the table above: the sum objective, no params constraint."""
    assert run_search(SMALL, SolveMode.OPTIMUM) == Answer(solutions=[{"conv1.kernel": 1}], complete=True)
    assert run_search(SMALL_2D, SolveMode.OPTIMUM, "0 - conv1.kernel") == Answer(solutions=[{"conv1.kernel": 11}],
                                                                                 complete=True)
    got = run_search(SMALL + "constraints: [conv1.L >= 10]\n", SolveMode.ALL)
    assert got is not None and keys(got.solutions) == keys([{"conv1.kernel": k} for k in r(1, 5)])


def test_domain_of_exactly_65536_values_is_searched() -> None:
    text = """
input: [1, H]
vars: {H: {min: 1, max: 65536}}
layers: [{name: c, op: conv, out: 1, kernel: 3}]
constraints: [c.L == 5]
"""
    assert run_search(text, SolveMode.ALL) == Answer(solutions=[{"H": 7}], complete=True, count=1)


@pytest.mark.parametrize(("mode", "budget"), [(SolveMode.ALL, 0.0), (SolveMode.OPTIMUM, 0.0),
                                              (SolveMode.ALL, 0.05), (SolveMode.OPTIMUM, 0.05)],
                         ids=["all-0s", "opt-0s", "all-50ms", "opt-50ms"])
def test_out_of_budget_is_none_and_prompt(mode: SolveMode, budget: float) -> None:
    net = net_of(CHAIN)
    assert len(net.spec.unknowns) == 48
    Plan(net, "sum")  # in reach: the None below is the budget's
    start = time.perf_counter()
    assert search(net, mode, objective="sum", limit=ALL, budget=budget) is None
    assert time.perf_counter() - start < budget + 1.5


# twelve convs can grow 64 by at most 10 each: 1000 is out of reach, which only the walk
# over every state finds out (minutes)
UNREACHABLE = CHAIN.replace("c12.L == 1", "c12.L == 1000")


@pytest.mark.parametrize("mode", [SolveMode.ALL, SolveMode.OPTIMUM])
def test_a_quick_try_gives_up_early_on_a_hopeless_walk(mode: SolveMode) -> None:
    net = net_of(UNREACHABLE)
    start = time.process_time()
    assert search(net, mode, objective="sum", limit=ALL, budget=600.0, quick=120.0) is None
    # it hands over after about 50 ms; walking on would take minutes (a generous bound: no flake)
    assert time.process_time() - start < 60.0


def test_a_quick_try_ends_with_its_cpu_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # the walk is judged only on its CPU time here: a garbage collection in a busy test
    # process can take the 50 ms after which a walk that has found nothing may look hopeless
    import archsolve.solve.search.budget

    monkeypatch.setattr(archsolve.solve.search.budget, "JUDGE_AFTER_S", 60.0)
    net = net_of(CHAIN)  # solutions at once, so never hopeless: millions of them, so out of time
    assert search(net, SolveMode.ALL, objective="sum", limit=ALL, budget=BUDGET, quick=0.0) is None
    assert search(net, SolveMode.ALL, objective="sum", limit=2, budget=BUDGET, quick=5.0) is not None


@pytest.mark.parametrize(("spent", "done", "hopeless"), [
    (0.01, 0.0001, False),  # too soon to judge
    (1.0, 0.01, True),      # 100 s at this pace
    (1.0, 0.2, False),      # 5 s
    (1.0, None, False),     # found something: the share no longer tells
], ids=["too-soon", "slow", "nearly-done", "found-some"])
def test_when_a_quick_try_is_hopeless(spent: float, done: float | None, hopeless: bool) -> None:
    s = Budget(deadline=time.perf_counter() + BUDGET, quick=time.process_time() + 60, memo={})
    s.walk_cpu = time.process_time() - spent
    s.progress = lambda: done
    assert s.hopeless() is hopeless


@pytest.mark.parametrize(("drawn", "widths", "share"), [
    ([1], [4], 0.0),                 # at the first of four
    ([3], [4], 0.5),
    ([3, 2], [4, 10], 0.5 + 0.025),  # the second step adds 1/10 of one branch of four
    ([3, 7, 2], [4, 0, 2], 0.625),   # closed and fixed steps (width 0) count nothing
], ids=["start", "half", "nested", "skip-closed"])
def test_the_share_of_a_walk_behind_it(drawn: list[int], widths: list[int], share: float) -> None:
    from archsolve.solve.search.budget import share as share_of

    assert share_of(drawn, widths) == pytest.approx(share)


# ==========================================================================================
# 7. layers the search skips, and merges
# ==========================================================================================

MERGES = [
    Case("relu-batchnorm-after-conv", """
input: [2, 9]
layers:
  - {name: c, op: conv, out: 2, kernel: "?", stride: "?", padding: "?"}
  - {name: bn, op: batchnorm}
  - {name: act, op: relu}
  - {name: d, op: conv, out: 2, kernel: 3}
  - {name: act2, op: relu}
constraints: [act.L >= 3, act2.L <= 2]
""", {"c.kernel": r(1, 11), "c.stride": r(1, 4), "c.padding": conv_padding("c.kernel")}, 86),
    Case("instancenorm-is-checked", """
input: [2, 6]
layers:
  - {name: c, op: conv, out: 2, kernel: "?", padding: "?"}
  - {name: n, op: instancenorm}
""", {"c.kernel": r(1, 11), "c.padding": conv_padding("c.kernel")}, 54),
    Case("concat-unet", """
input: [1, 8]
layers:
  - {name: e, op: conv, out: 2, kernel: 3, padding: 1}
  - {name: p, op: maxpool, kernel: 2}
  - {name: m, op: relu}
  - {name: u, op: deconv, out: 2, kernel: "?", stride: "?", padding: "?"}
  - {name: cat, op: concat, from: [e, u]}
  - {name: head, op: conv, out: 1, kernel: 1}
""", {"u.kernel": r(1, 11), "u.stride": r(1, 4), "u.padding": conv_padding("u.kernel")}, 17),
    Case("add-residual", """
input: [1, 10]
domains: {out: {min: 1, max: 3}}
layers:
  - {name: s, op: conv, out: 2, kernel: 1}
  - {name: a, op: conv, out: "?", kernel: "?", padding: "?"}
  - {name: b, op: relu}
  - {name: res, op: add, from: [s, b]}
""", {"a.out": r(1, 3), "a.kernel": r(1, 11), "a.padding": conv_padding("a.kernel")}, 6),
    Case("crop-like", """
input: [1, 16]
layers:
  - {name: a, op: conv, out: 1, kernel: "?"}
  - {name: b, op: conv, out: 1, kernel: "?"}
  - {name: cr, op: crop, from: a, like: b}
  - {name: sum, op: add, from: [cr, b]}
  - {name: t, op: tanh}
constraints: [t.L == 6]
""", {"a.kernel": r(1, 11), "b.kernel": r(1, 11)}, 11),
    Case("two-branches-concat", """
input: [1, 12]
domains: {kernel: {min: 1, max: 6}}
layers:
  - {name: a, op: conv, out: 1, kernel: "?", stride: "?"}
  - {name: b, op: maxpool, kernel: "?", from: input}
  - {name: cat, op: concat, from: [a, b]}
  - {name: g, op: gelu}
constraints: [g.L >= 3]
""", {"a.kernel": r(1, 6), "a.stride": r(1, 4), "b.kernel": r(1, 6)}, 15),
]


@pytest.mark.parametrize("case", MERGES, ids=ids(MERGES))
def test_skipped_layers_and_merges_equal_brute_force(case: Case) -> None:
    sols, _ = all_equals_brute_force(case)
    first = run_search(case.text, SolveMode.ALL, limit=1, count=True)
    assert first is not None and first.count == case.count
    assert run_search(case.text, SolveMode.OPTIMUM) == Answer(solutions=[best(sols)], complete=True)


# ==========================================================================================
# 8. the command line: the three engines agree
# ==========================================================================================

ENGINES = ("auto", "search", "z3")
CLI_CASES = [EVERY["conv-kernel-stride-padding-target"], EVERY["tied-W-offset-with-kernel"],
             EVERY["block-repeat-shares-unknowns"], next(c for c in MERGES if c.id == "concat-unet")]


def solve_json(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli_split("solve", str(path), "--json", *args)
    assert code in (0, 1, 3), f"exit {code}: {out}{err}"
    return code, json.loads(out)


@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
def test_engines_agree_on_the_default_answer_and_all(case: Case, tmp_path: Path) -> None:
    path = write_spec(tmp_path, case.text)
    sols = brute(case.text, case.domains)
    for engine in ENGINES:
        code, doc = solve_json(path, "--engine", engine)
        assert (code, doc["status"]) == (0, "sat"), engine
        assert [s["values"] for s in doc["solutions"]] == [best(sols)], engine
        code, doc = solve_json(path, "--all", "--engine", engine)
        assert (code, doc["status"], doc["complete"]) == (0, "sat", True), engine
        listed = [s["values"] for s in doc["solutions"]]
        assert len(listed) == len(keys(listed)) == case.count, engine
        assert keys(listed) == keys(sols), engine
        assert listed == sorted(listed, key=ranking(None)), engine


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_agree_on_unsat(engine: str, tmp_path: Path) -> None:
    path = write_spec(tmp_path, UNSAT[1].text)
    code, doc = solve_json(path, "--engine", engine)
    assert (code, doc["status"], doc["solutions"]) == (1, "unsat", [])


@pytest.mark.parametrize(("spec", "args", "z3_values"), [
    (REACH[-1][1], (), {"H": 8, "W": 8}),
], ids=["var-domain-names-a-var"])
def test_engine_search_out_of_reach_is_unknown(spec: str, args: tuple[str, ...], z3_values: dict[str, int] | None,
                                               tmp_path: Path) -> None:
    path = write_spec(tmp_path, spec)
    code, doc = solve_json(path, "--engine", "search", *args)
    assert (code, doc["status"], doc["solutions"], doc["complete"]) == (3, "unknown", [], False)
    if z3_values is not None:  # auto hands the question to Z3
        code, doc = solve_json(path, "--engine", "auto", *args)
        assert (code, doc["status"], doc["solutions"][0]["values"]) == (0, "sat", z3_values)


@pytest.mark.parametrize("text, message", [
    ('input: [1, H, W]\nvars: {H: {min: 1, max: 5}, W: "12 // (H - 3)"}\nlayers: [{op: relu}]\n',
     "spec.yaml:2:32: vars.W: division by zero in 12 // (H - 3) (for H = 3)"),
    ('input: [1, "12 // (H - 3)"]\nvars: {H: {min: 1, max: 5}}\nlayers: [{op: relu}]\n',
     "spec.yaml:1:12: input[1]: division by zero in 12 // (H - 3) (for H = 3)"),
], ids=["tied-var", "input-size"])
def test_a_division_by_zero_for_some_values_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = write_spec(tmp_path, text)
    code, out, err = run_cli_split("solve", str(path), "--engine", "search")
    assert code == 2 and "Traceback" not in out + err
    assert err.strip().endswith(message), err


def test_a_search_that_misses_solutions_is_caught_by_the_solver(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A search "unsat" is re-asked of Z3 (for the explanation); a Z3 solution there is a bug
    of archsolve's, exit 4, never an answer.  The size walk, which answers first, is made
    to stand aside."""
    import archsolve.solve.api
    import archsolve.solve.search.engine

    monkeypatch.setattr(archsolve.solve.api, "solve_dp", lambda *a, **k: None)
    monkeypatch.setattr(archsolve.solve.search.engine, "search", lambda *a, **k: Answer(solutions=[], complete=True))
    path = write_spec(tmp_path, SMALL)
    for extra in ((), ("--all",)):
        code, out, err = run_cli_split("solve", str(path), *extra)
        assert code == 4 and out == "" and "Traceback" not in err
        assert "the exact search or the size walk found no solution, but the" in err


def test_a_size_walk_that_misses_solutions_is_caught_by_the_solver(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The size walk's "unsat" is re-asked of Z3 too: a Z3 solution there is a bug, exit 4."""
    import archsolve.solve.api
    import archsolve.solve.search.engine

    monkeypatch.setattr(archsolve.solve.api, "solve_dp",
                        lambda *a, **k: Answered(status=SolveStatus.UNSAT, complete=True, optimal=True))
    path = write_spec(tmp_path, SMALL)
    for extra in ((), ("--first",)):
        code, out, err = run_cli_split("solve", str(path), *extra)
        assert (code, out) == (4, "") and "Traceback" not in err
        assert "the exact search or the size walk found no solution, but the solver finds one" in err


@pytest.mark.parametrize("mode", [SolveMode.ALL, SolveMode.OPTIMUM])
def test_a_very_deep_network_needs_no_recursion(mode: SolveMode) -> None:
    """The walks keep their own stack: 1,200 layers, past Python's default recursion limit."""
    layers = "\n".join(f"  - {{name: c{i}, op: conv, out: 1, kernel: 1}}" for i in range(1200))
    text = f"""
input: [1, 12]
layers:
  - {{name: first, op: conv, out: 1, kernel: "?", padding: "?"}}
{layers}
  - {{name: last, op: conv, out: 1, kernel: "?"}}
constraints: [last.L == 8]
"""
    got = run_search(text, mode, budget=30.0)
    assert got is not None and got.complete is True
    net = net_of(text)
    for values in got.solutions:
        assert valid(net, values, {})
    if mode is SolveMode.OPTIMUM:
        assert got.solutions == [{"first.kernel": 1, "first.padding": 0, "last.kernel": 5}]


# ==========================================================================================
# params and macs: summed layer by layer in the walk (activations and norms included)
# ==========================================================================================

COUNTED = [c for c in DEPENDENT + SHARED + MERGES if c.count]


@pytest.mark.parametrize("kind", ["params", "macs"])
@pytest.mark.parametrize("case", COUNTED, ids=ids(COUNTED))
def test_count_optimum_is_brute_force_optimum(case: Case, kind: str) -> None:
    net = net_of(case.text)
    cache: dict[Any, Any] = {}

    def total(v: Mapping[str, int]) -> int:
        prop = propagate(net, v, receptive_fields=False, cache=cache)
        return sum(getattr(r, kind) or 0 for r in prop.layers.values())

    sols = brute(case.text, case.domains)
    got = run_search(case.text, SolveMode.OPTIMUM, kind)
    assert got == Answer(solutions=[best(sols, total)], complete=True)


def test_norm_parameters_count_though_the_norm_is_no_step() -> None:
    """The conv's parameters tie (3 * 2 * 4 == 3 * 4 * 2); the batchnorm's 2 * C decide.
    Without them the tie would go to the smaller K, in name order."""
    text = """
input: [3, 16]
vars: {O: {in: [2, 4]}, K: {in: [2, 4]}}
layers:
  - {name: c, op: conv, out: O, kernel: K, bias: false}
  - {name: bn, op: batchnorm}
  - {name: r, op: relu}
constraints: [O * K == 8]
"""
    # 24 + 4
    assert run_search(text, SolveMode.OPTIMUM, "params") == Answer(solutions=[{"O": 2, "K": 4}], complete=True)
    # MACs: (16 - K + 1) * O * 3 * K -- 13 * 2 * 3 * 4 = 312 against 15 * 4 * 3 * 2 = 360
    assert run_search(text, SolveMode.OPTIMUM, "macs") == Answer(solutions=[{"O": 2, "K": 4}], complete=True)


def test_an_optimum_out_of_budget_can_answer_its_best_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    record = Optimum.record

    def out_once_a_leaf_is_found(self: Optimum, *args: Any) -> None:
        record(self, *args)
        raise OutOfBudget

    monkeypatch.setattr(Optimum, "record", out_once_a_leaf_is_found)
    net = net_of(CHAIN)
    # the default: nothing unproven
    assert search(net, SolveMode.OPTIMUM, objective="sum", limit=ALL, budget=BUDGET) is None
    got = search(net, SolveMode.OPTIMUM, objective="sum", limit=ALL, budget=BUDGET, keep_best=True)
    assert got is not None and got.complete is False
    monkeypatch.undo()
    (values,) = got.solutions
    assert valid(net, values, {})
    proven = run_search(CHAIN, SolveMode.OPTIMUM)
    assert proven is not None and proven.complete
    assert sum(proven.solutions[0].values()) <= sum(values.values())


def test_a_listing_out_of_budget_can_answer_what_it_found(monkeypatch: pytest.MonkeyPatch) -> None:
    record = Listing.record

    def out_after_two(self: Listing, *args: Any) -> None:
        if len(self.found) >= 2:
            raise OutOfBudget
        record(self, *args)

    monkeypatch.setattr(Listing, "record", out_after_two)
    net = net_of(CHAIN)
    assert search(net, SolveMode.ALL, objective="sum", limit=ALL, budget=BUDGET) is None
    got = search(net, SolveMode.ALL, objective="sum", limit=ALL, budget=BUDGET, keep_best=True)
    assert got is not None and (got.complete, got.timed_out, len(got.solutions)) == (False, True, 2)
    assert all(valid(net, values, {}) for values in got.solutions)


# a layer's own count in a constraint: checked when its step has run (a norm's on the step before it)
COUNT_CONSTRAINTS = [
    Case("conv-params-and-next-macs", """
input: [3, 16, 16]
layers:
  - {name: a, op: conv, out: 8, kernel: "?", padding: "?"}
  - {name: bn, op: batchnorm}
  - {name: b, op: conv, out: 4, kernel: "?", padding: 1}
constraints: [a.params >= 400, b.macs <= 20000, bn.params == 16]
""", {"a.kernel": r(1, 11), "a.padding": conv_padding("a.kernel"), "b.kernel": r(1, 11)}, 92),
    # out 12 comes from (kernel, padding) = (5, 0), (7, 1), (9, 2), (11, 3); only kernel >= 7 has
    # 8 * 3 * k * k + 8 >= 1000 parameters: the cheapest of the four may not stand for them all
    Case("count-splits-a-group-of-equal-outputs", """
input: [3, 16, 16]
layers:
  - {name: a, op: conv, out: 8, kernel: "?", padding: "?"}
constraints: [a.params >= 1000, a.H == 12]
""", {"a.kernel": r(1, 11), "a.padding": conv_padding("a.kernel")}, 3),
    Case("block-and-total-counts", """
input: [1, 14]
blocks:
  two:
    params: {k: null}
    layers:
      - {name: a, op: conv, out: 2, kernel: k}
      - {name: n, op: batchnorm}
      - {name: b, op: conv, out: 2, kernel: 1}
layers:
  - {name: blk, block: two, k: "?"}
  - {name: head, op: conv, out: 1, kernel: "?"}
domains: {kernel: {min: 1, max: 6}}
constraints: [blk.params <= 16, params >= 19, macs <= 140]
""", {"blk.k": r(1, 6), "head.kernel": r(1, 6)}, 2),  # blk 2k + 12; head 2h + 1; MACs (k, h) = (1, 2) or (2, 1)
    Case("deconv-count-against-a-later-size", """
input: [2, 6]
layers:
  - {name: up, op: deconv, out: "?", kernel: "?", stride: 2}
  - {name: c, op: conv, out: 1, kernel: 3}
domains: {out: {min: 1, max: 6}, kernel: {min: 1, max: 6}}
constraints: [up.params + c.L <= 30]
""", {"up.out": r(1, 6), "up.kernel": r(1, 6)}, 16),  # O * (2k + 1) + 8 + k <= 30
]


@pytest.mark.parametrize("case", COUNT_CONSTRAINTS, ids=ids(COUNT_CONSTRAINTS))
def test_constraints_on_a_layer_count_equal_brute_force(case: Case) -> None:
    sols, _ = all_equals_brute_force(case)
    assert run_search(case.text, SolveMode.OPTIMUM) == Answer(solutions=[best(sols)], complete=True)
    # a count in the objective too: the optimum of every solution's total parameters
    net = net_of(case.text)

    def params(v: Mapping[str, int]) -> int:
        return sum(r.params or 0 for r in propagate(net, v, receptive_fields=False).layers.values())

    assert run_search(case.text, SolveMode.OPTIMUM, "params") == Answer(solutions=[best(sols, params)],
                                                                        complete=True)


TOTALS = """
input: [3, 16, 16]
layers:
  - {name: a, op: conv, out: 8, kernel: "?", padding: "?"}
  - {name: bn, op: batchnorm}
  - {name: b, op: conv, out: 4, kernel: "?", padding: 1}
domains: {kernel: {min: 1, max: 7}}
constraints: [params >= 900, params <= 1500, a.H >= 11]
"""


def test_total_counts_in_constraints_agree_with_z3() -> None:
    """Z3 takes totals in constraints too: the two engines, side by side."""
    from archsolve.solve.api import solve_spec

    spec = load_text(TOTALS)
    listed = {e: solve_spec(spec, all_solutions=True, engine=e) for e in (Engine.SEARCH, Engine.Z3)}
    assert {e: (r.status, r.complete) for e, r in listed.items()} == {Engine.SEARCH: (SolveStatus.SAT, True),
                                                                     Engine.Z3: (SolveStatus.SAT, True)}
    assert keys([s.values for s in listed[Engine.SEARCH].solutions]) == keys([s.values for s in listed[Engine.Z3].solutions])
    assert len(listed[Engine.SEARCH].solutions) == 76
    best_of = {e: solve_spec(spec, engine=e).solutions[0].values for e in (Engine.SEARCH, Engine.Z3)}
    assert best_of[Engine.SEARCH] == best_of[Engine.Z3] == {"a.kernel": 1, "a.padding": 0, "b.kernel": 6}


# Six convolutions with out channels 1..6 and kernels unknown, and a params constraint: an
# optimum the search walks for minutes, going over groups it has already made.
LONG_OPTIMUM = """\
input: [1, 64, 64]
domains:
  out: {min: 1, max: 6}
layers:
  - {name: c1, op: conv, out: "?", kernel: "?"}
  - {name: c2, op: conv, out: "?", kernel: "?"}
  - {name: c3, op: conv, out: "?", kernel: "?"}
  - {name: c4, op: conv, out: "?", kernel: "?"}
  - {name: c5, op: conv, out: "?", kernel: "?"}
  - {name: c6, op: conv, out: 2, kernel: "?"}
constraints: [c6.H == 14, params >= 3000]
"""


def test_the_optimum_walk_sees_its_deadline_on_every_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """A walk over groups made earlier (kept per input) went on past its deadline: it only
    looked at the clock when it made a new group (--timeout 30 took 42 s)."""
    counts = {"tick": 0, "group": 0}
    tick, group = Budget.tick, Optimum.group

    def counted_tick(self: Budget) -> None:
        counts["tick"] += 1
        tick(self)

    def counted_group(self: Optimum, *args: Any) -> Any:
        counts["group"] += 1
        return group(self, *args)

    monkeypatch.setattr(Budget, "tick", counted_tick)
    monkeypatch.setattr(Optimum, "group", counted_group)
    answer = search(build_network(load_text(LONG_OPTIMUM)), SolveMode.OPTIMUM, objective="sum", limit=1, budget=0.3,
                    keep_best=True)
    assert answer is not None and answer.timed_out
    assert counts["tick"] >= counts["group"] > 1000
