"""A pattern of valid values, proven: ``inputs``' answer for one input size over a wide range.

Where one size var alone is open, ``inputs`` sees a pattern in the first valid sizes
(``188 + 16k``) and proves it for the whole range in two checks -- no other value is valid,
and none of the pattern's fails a rule -- instead of one check per size.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.solve.smt.solver import encode
    >>> from archsolve.solve.smt.system import build_system, constraint_exprs
    >>> spec = load_text('''
    ... input: [1, L]
    ... vars: {L: {min: 1, max: 100}}
    ... exact: true
    ... layers: [{name: p, op: maxpool, kernel: 4}]
    ... ''')
    >>> system = build_system(build_network(spec), (), frozenset({"L"}))
    >>> problem = encode(system, constraint_exprs(system), counts=(), timeout=10.0)
    >>> smallest_in(problem, "L", 1, 100), none_outside(problem, "L", [4], 4, 1, 100)
    (4, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3

from archsolve.errors import SolverTimeout
from archsolve.solve.smt.solver import Z3Problem
from archsolve.solve.smt.system import SIZE_BOUND


def smallest_in(problem: Z3Problem, name: str, lo: int, hi: int) -> int | None:
    """The smallest value of ``name`` in ``lo..hi`` that has a model (None: none), by
    bisection; a time-out raises SolverTimeout."""
    x = problem.vars[name]
    problem.solver.push()
    try:
        problem.solver.add(x >= lo, x <= hi)
        best, proven = problem.minimize(x, lo)
    finally:
        problem.solver.pop()
    if best is not None and not proven:
        raise SolverTimeout("the time ran out looking for the smallest valid value")
    return best


def none_outside(problem: Z3Problem, name: str, starts: Sequence[int], period: int, lo: int, hi: int) -> bool:
    """Whether no value of ``name`` in ``lo..hi`` other than ``s + period * k`` (``s`` in
    ``starts``) has a model: one check (False also for a time-out)."""
    x = problem.vars[name]
    return problem.unsat_with(x >= lo, x <= hi, z3.Not(_members(problem, x, starts, period)))


def none_failing(problem: Z3Problem, name: str, starts: Sequence[int], period: int, lo: int, hi: int) -> bool:
    """Whether every value ``s + period * k`` of ``name`` in ``lo..hi`` keeps every labelled
    constraint: one check that some value breaks one (False also for a time-out).

    Exact only where every other variable follows from ``name`` alone (a layer's size by
    its definition, a quotient by its own): no tables, no other free variable -- the
    caller's to ensure.  Needs an uncommitted problem made with ``bound_sizes=False``: its
    labels may be false, and the conditions themselves are negated, the definitions
    asserted."""
    assert not problem.committed and not problem.bound_sizes
    x = problem.vars[name]
    # a size past the bound fails too: the committed problem, which has the bound, has no
    # model there (made with bound_sizes=False, the sizes are free to go past it)
    past = [z3.Or(v > SIZE_BOUND, v < -SIZE_BOUND) for v in problem.loose]
    return problem.unsat_with(x >= lo, x <= hi, _members(problem, x, starts, period), *problem.definitions,
                              z3.Or([z3.Not(c) for c in problem.guarded] + past, problem.ctx),
                              assume_labels=False)


def _members(problem: Z3Problem, x: Any, starts: Sequence[int], period: int) -> Any:
    return z3.Or([z3.And(x >= s, (x - s) % period == 0) for s in starts], problem.ctx)
