"""``solve`` by Z3: the symbolic system (:mod:`~archsolve.solve.smt.system`), its encoding
(:mod:`~archsolve.solve.smt.solver`), and the answers read from it -- one model, the optimum
with ``solve``'s tie-break, every solution (by the size DP where it applies, else model by
model), or the conflict explained (:mod:`~archsolve.solve.smt.conflict`).

The path :mod:`~archsolve.solve.api` takes for what the exact search does not finish.  It
imports Z3, so the API imports it only when a question gets here: ``check``, which asks
``solve`` small questions, mostly never does.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> net = build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... constraints: [up.L == 16]
    ... '''))
    >>> answer = solve_z3(net, mode=SolveMode.OPTIMUM, limit=1, objective="sum", timeout=10.0, progress=None,
    ...                   searched_unsat=False, objective_at=(None, "minimize"), explain=True)
    >>> answer.status, answer.solutions
    (<SolveStatus.SAT: 'sat'>, [Solution(values={'up.kernel': 2}, output=[1, 16], objective=2)])
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archsolve.errors import EncodingLimit, Location, SolverBug, SolverTimeout, SpecError, placed
from archsolve.lang.expr import Expr
from archsolve.shapes.graph import Network
from archsolve.solve.dppath import list_by_dp
from archsolve.solve.outcome import Conflict, SolveMode, SolveStatus
from archsolve.solve.smt.conflict import explain_conflict, refuse_empty_domain
from archsolve.solve.smt.sizedp import SizeDP, TooManyStates
from archsolve.solve.smt.solver import Z3Problem, encode
from archsolve.solve.smt.system import Effect, System, attribute_terms, build_system, constraint_exprs
from archsolve.solve.solution import OBJECTIVE_KINDS, Answered, Solution, sort_best_first, verified
from archsolve.spec.model import MEMORY_TOTALS


@dataclass(frozen=True, kw_only=True)
class Z3Answer(Answered):
    """What Z3 answered (the API makes a :class:`~archsolve.solve.api.SolveResult` of it)."""

    @classmethod
    def unsat(cls, conflict: Conflict | None = None) -> Z3Answer:
        """No solution: complete and optimal, as an empty answer is."""
        return cls(status=SolveStatus.UNSAT, complete=True, optimal=True, conflict=conflict)

    @classmethod
    def unknown(cls, message: str, *, solutions: list[Solution] | None = None) -> Z3Answer:
        """The time ran out: ``solutions`` are what was found by then."""
        return cls(status=SolveStatus.UNKNOWN, solutions=solutions or [], message=message)


def solve_z3(net: Network, *, mode: SolveMode, limit: int, objective: Expr | str, timeout: float | None,
             progress: Callable[[int], None] | None, searched_unsat: bool,
             objective_at: tuple[Location | None, str], explain: bool) -> Z3Answer:
    """Answer ``mode`` (``ALL`` up to ``limit``, ``OPTIMUM`` or ``FIRST``) by Z3, within ``timeout``
    seconds.  ``searched_unsat``: the exact search found no solution, so Z3 only explains
    the conflict (with ``explain``), and a solution of its is a bug.  ``objective_at``: where
    the objective was written, for its errors."""
    spec = net.spec
    all_solutions = mode is SolveMode.ALL
    reported = objective  # --first: its value is given, but nothing works towards it
    if searched_unsat or mode is SolveMode.FIRST:
        objective = "sum"  # Z3 only explains the conflict, or takes any model: no objective to encode
    if not isinstance(objective, str):
        objective = objective.substitute(spec.tied())
    kinds = [objective] if isinstance(objective, str) and objective != "sum" else []
    # the totals params and macs, where constraints or an objective expression name them
    in_constraints = set().union(*(c.expr.names() for c in spec.constraints)) if spec.constraints else set()
    if not isinstance(objective, str):
        in_constraints |= objective.names() & set(OBJECTIVE_KINDS)
    kinds += [k for k in OBJECTIVE_KINDS if k in in_constraints and k not in kinds]
    deadline = None if timeout is None else time.monotonic() + timeout

    try:
        system = build_system(net, kinds, frozenset() if isinstance(objective, str) else
                              objective.names() - set(OBJECTIVE_KINDS), deadline)
    except SolverTimeout:
        return Z3Answer.unknown("the solver timed out before finding any solution")
    raw_objective = objective
    if not isinstance(objective, str):
        with placed(*objective_at):
            objective = _resolve_objective(objective, system)
    constraints = constraint_exprs(system)
    if all_solutions:
        try:
            listed = _list_by_dp(net, system, [e for e, _, _ in constraints], limit, raw_objective, progress,
                                 deadline)
        except SolverTimeout:
            return Z3Answer.unknown("the solver timed out while counting solutions")
        if listed is not None:
            sols, total, timed_out = listed
            if sols:
                if searched_unsat:
                    raise SolverBug("the exact search or the size walk found no solution, but the size walk finds some")
                if timed_out:
                    return Z3Answer(status=SolveStatus.SAT, solutions=sols, count=total,
                                    message="the solver timed out while listing solutions")
                return Z3Answer(status=SolveStatus.SAT, solutions=sols, complete=total <= limit, count=total)
    unknowns = sorted(system.unknowns)
    try:
        problem = encode(system, constraints, counts=[k for k in OBJECTIVE_KINDS if k in in_constraints],
                         timeout=None if deadline is None else max(0.001, deadline - time.monotonic()))
        sat = problem.satisfiable()
    except SolverTimeout:
        return Z3Answer.unknown("the solver timed out before finding any solution")
    if not sat:
        if not explain:
            return Z3Answer.unsat()
        core = problem.core()
        refuse_empty_domain(spec, core)  # one var's domain alone: a bad spec, not an unsat network
        return Z3Answer.unsat(explain_conflict(problem, system, core))
    if searched_unsat:
        raise SolverBug("the exact search or the size walk found no solution, but the solver finds one")
    problem.commit()
    if mode is SolveMode.FIRST:  # the model at hand: each table's combination the first in name order
        sol = verified(net, _model_values(problem, system, None), reported)
        return Z3Answer(status=SolveStatus.SAT, solutions=[sol], first=True)

    if all_solutions:
        selectors = [t.selector for t in system.tables]
        block = list(system.system_unknowns) + selectors
        sols: list[Solution] = []
        complete = True
        cache: dict[Any, Any] = {}
        try:
            for model in problem.models(block):
                choices = [system_table.effects[model[system_table.selector]].combos
                           for system_table in system.tables]
                for parts in itertools.product(*choices):
                    values = {u: model[u] for u in system.system_unknowns}
                    for p in parts:
                        values.update(p)
                    if len(sols) >= limit:
                        complete = False
                        break
                    sols.append(verified(net, values, raw_objective, cache))
                    if progress:
                        progress(len(sols))
                if not complete:
                    break
        except SolverTimeout:
            return Z3Answer(status=SolveStatus.SAT if sols else SolveStatus.UNKNOWN, solutions=sols,
                            message="the solver timed out while listing solutions")
        sort_best_first(sols)
        return Z3Answer(status=SolveStatus.SAT, solutions=sols, complete=complete)

    with placed(*objective_at):
        problem.encode_objective(objective)
    try:
        best, proven = problem.optimize()
    except SolverTimeout:
        return Z3Answer.unknown("the solver timed out before finding any solution")
    assert best is not None
    kind = objective if isinstance(objective, str) else None
    try:
        allowed = _break_ties(problem, system, unknowns, kind)
        problem.satisfiable()
    except SolverTimeout:
        proven = False
        allowed = None
    sol = verified(net, _model_values(problem, system, allowed, kind), raw_objective)
    if not proven:
        return Z3Answer.unknown("the solver timed out before proving this is the best; it is the best found",
                                solutions=[sol])
    return Z3Answer(status=SolveStatus.SAT, solutions=[sol], optimal=True)


def _model_values(problem: Z3Problem, system: System, allowed: dict[str, dict[int, list[dict[str, int]]]] | None,
                  kind: str | None = None) -> dict[str, int]:
    """Every unknown's value in the current model; a table's local unknowns from the
    combinations ``allowed`` (or the cheapest of its chosen effect), the first in name order."""
    model = problem.model_values(list(system.system_unknowns) + [t.selector for t in system.tables])
    values = {u: model[u] for u in system.system_unknowns}
    for table in system.tables:
        k = model[table.selector]
        pool = allowed[table.selector][k] if allowed else _cheapest(table.effects[k], kind)
        values.update(min(pool, key=lambda c: tuple(c[u] for u in sorted(table.local))) if pool else {})
    return values


def _cheapest(eff: Effect, kind: str | None) -> list[dict[str, int]]:
    """The effect's combinations that an optimum can use: with a cost objective, the cheapest."""
    if kind is None or not eff.costs:
        return list(eff.combos)
    low = min(c[kind] for c in eff.costs)
    return [combo for combo, c in zip(eff.combos, eff.costs, strict=True) if c[kind] == low]


def _break_ties(problem: Z3Problem, system: System, unknowns: list[str], kind: str | None
                ) -> dict[str, dict[int, list[dict[str, int]]]]:
    """Among optimal solutions, the smallest value of each unknown in name order.

    A system unknown is minimized by the solver; a layer's own unknown narrows the
    combinations its table may still use, and the table's effect with them."""
    owner = {u: t for t in system.tables for u in t.local}
    allowed = {t.selector: {k: _cheapest(eff, kind) for k, eff in enumerate(t.effects)} for t in system.tables}
    for u in unknowns:
        if u not in owner:
            problem.lexmin([u])
            continue
        table = owner[u]
        pools = allowed[table.selector]
        for v in sorted({c[u] for pool in pools.values() for c in pool}):
            keep = {k: [c for c in pool if c[u] == v] for k, pool in pools.items()}
            keep = {k: pool for k, pool in keep.items() if pool}
            if problem.try_selectors(table, sorted(keep)):
                allowed[table.selector] = keep
                break
    return allowed


def _list_by_dp(net: Network, system: System, constraints: list[Expr], limit: int, objective: Expr | str,
                progress: Callable[[int], None] | None, deadline: float | None = None
                ) -> tuple[list[Solution], int, bool] | None:
    """List solutions by the size walk when it applies (:func:`~archsolve.solve.dppath.list_by_dp`)."""
    dp = SizeDP.build(system, constraints, deadline)
    if dp is None:
        return None
    try:
        return list_by_dp(net, dp, limit=limit, objective=objective, progress=progress, deadline=deadline)
    except TooManyStates:
        return None


def _resolve_objective(e: Expr, system: System) -> Expr:
    """An objective expression over the system's variables (``head.H`` its size term)."""
    terms = attribute_terms(system)
    for n in e.names():
        if n in terms or n in system.variables or n in system.unknowns or n in OBJECTIVE_KINDS:
            continue
        if n.endswith((".params", ".macs")):
            raise EncodingLimit(f"{n} in the objective: Z3's encoding takes only the totals params and macs; "
                                "the exact search takes a layer's too, when it finishes in time")
        if n in MEMORY_TOTALS:
            raise EncodingLimit(f"{n} in the objective: Z3's encoding cannot count memory (the exact "
                                "search counts it from each answer's whole network)")
        raise SpecError(f"{n!r} names no unknown, var or layer attribute")
    return e.substitute(terms)
