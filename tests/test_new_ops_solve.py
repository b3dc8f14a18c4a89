"""``solve`` with unknowns upstream of the ops of issue 16: both engines give the same answers.

Each case is a small spec whose ``"?"`` (a channel count, a kernel, a stride) or input var
feeds a ``reshape``, ``mul``, ``maxunpool`` or ``prelu``; the exact search and Z3 must list the
same solutions, and the optimum must be the one written down here.
"""

from __future__ import annotations

from typing import Any

import pytest

from archsolve.solve.api import solve_spec
from archsolve.solve.outcome import Engine, SolveStatus
from archsolve.spec.load import load_text

ENGINES = (Engine.SEARCH, Engine.Z3)

CASES = {
    # a VAE decoder: the linear's width must fill [256, 4, 4]
    "channels-before-reshape": ("""
        input: [8, 1, 1]
        layers:
          - {op: flatten}
          - {name: fc, op: linear, out: "?"}
          - {name: view, op: reshape, shape: [256, 4, 4]}
        """, {"fc.out": 4096}, [256, 4, 4]),
    # the same with -1: every multiple of 16 in out's domain is a solution, the smallest wins
    "channels-before-inferred-reshape": ("""
        input: [8, 1, 1]
        layers:
          - {op: flatten}
          - {name: fc, op: linear, out: "?"}
          - {name: view, op: reshape, shape: [-1, 4, 4]}
          - {name: up, op: deconv, out: 3, kernel: 2, stride: 2}
        constraints: [view.C >= 8]
        """, {"fc.out": 128}, [3, 8, 8]),
    # squeeze-excitation: the gate's width must be 1 or the body's
    "gate-channels": ("""
        input: [6, 5, 5]
        layers:
          - {name: body, op: conv, out: 6, kernel: 3, padding: 1}
          - {name: squeeze, op: adaptive_avgpool, size: 1}
          - {name: gate, op: conv, out: "?", kernel: 1}
          - {name: scale, op: mul, from: [body, gate]}
        """, {"gate.out": 1}, [6, 5, 5]),
    # SegNet: the pool's kernel is open; the unpool gives back the pool's input whatever it is
    "pool-kernel-before-unpool": ("""
        input: [2, 12, 12]
        domains: {kernel: {min: 1, max: 4}}
        layers:
          - {name: pool, op: maxpool, kernel: "?"}
          - {name: mid, op: prelu, per_channel: true}
          - {name: unpool, op: maxunpool, indices: pool}
          - {name: head, op: conv, out: 1, kernel: 1}
        constraints: [mid.H == 4]
        """, {"pool.kernel": 3}, [1, 12, 12]),
    # an input var before a reshape to a fixed shape
    "input-var-before-reshape": ("""
        input: [4, H, H]
        vars: {H: {min: 1, max: 16}}
        layers:
          - {name: r, op: reshape, shape: [1, 8, 8]}
        """, {"H": 4}, [1, 8, 8]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_engines_agree_and_find_the_optimum(name: str) -> None:
    text, best, output = CASES[name]
    spec = load_text(text)
    listed: dict[Engine, list[Any]] = {}
    for engine in ENGINES:
        opt = solve_spec(spec, engine=engine)
        assert opt.status is SolveStatus.SAT, f"{engine}: {opt.message}"
        assert (opt.solutions[0].values, opt.solutions[0].output) == (best, output), engine
        every = solve_spec(spec, engine=engine, all_solutions=True)
        assert every.complete
        listed[engine] = [sorted(s.values.items()) for s in every.solutions]
    assert listed[Engine.SEARCH] == listed[Engine.Z3]


def test_unsatisfiable_reshape_is_unsat_in_both() -> None:
    spec = load_text("""
        input: [3, 1, 1]
        layers:
          - {op: flatten}
          - {name: fc, op: linear, out: "?"}
          - {name: view, op: reshape, shape: [4, 3, 3]}
        domains: {out: {min: 1, max: 32}}
        """)
    for engine in ENGINES:
        assert solve_spec(spec, engine=engine).status is SolveStatus.UNSAT, engine
