"""``archsolve solve``: fill every unknown so that all rules and constraints hold.

Two engines answer the same questions exactly: the search of :mod:`archsolve.search` (no
Z3; most questions in milliseconds) and the Z3 encoding of :mod:`archsolve.symbolic` and
:mod:`archsolve.solver` (what the search cannot finish in :data:`SEARCH_BUDGET`).  Every
answer is re-checked by plain propagation (:mod:`archsolve.propagate`) before it is
returned; a disagreement is a bug and raises :class:`SolverBug` instead of reaching a user.

Example::

    >>> result = solve_file("specs/dcgan-solve.yaml")
    >>> result.status, result.optimal, result.solutions[0].values["up2.stride"]
    ('sat', True, 2)
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from archsolve.errors import (
    EncodingLimit,
    ExprError,
    Location,
    SolverBug,
    SolverTimeout,
    SpecError,
    interrupted,
    placed,
)
from archsolve.lang.expr import Expr, Name, Num, parse
from archsolve.ops.base import Severity
from archsolve.shapes.graph import Network, build_network
from archsolve.shapes.propagate import propagate
from archsolve.solve import relax
from archsolve.solve.search.engine import Answer, search
from archsolve.spec.domains import copies_of, dependent_bounds, var_ends
from archsolve.spec.load import Spec, load_spec, written_values

DEFAULT_TIMEOUT = 60.0
SEARCH_BUDGET = 0.5  # CPU seconds the exact search may take before Z3 gets the question
OBJECTIVE_KINDS = ("params", "macs")




@dataclass
class Solution:
    values: dict[str, int]
    output: list[int]
    objective: int | None


@dataclass
class SolveResult:
    spec: Spec
    status: str  # sat | unsat | unknown
    solutions: list[Solution]
    complete: bool
    optimal: bool
    objective: str
    conflict: dict[str, Any] | None = None
    message: str = ""
    elapsed: float = 0.0
    count: int | None = None  # every solution, counted without listing them (when known)
    first: bool = False  # ``--first``: any one solution, the first found (neither optimal nor complete)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "solutions": [{"values": s.values, "output": s.output, "objective": s.objective} for s in self.solutions],
            "complete": self.complete,
            "conflict": self.conflict,
            "optimal": self.optimal,
            "objective": self.objective,
            **({"count": self.count} if self.count is not None else {}),
        }


def _objective(spec: Spec, minimize: str | None) -> tuple[str, Expr | str]:
    """(text, objective): ``"sum"``, ``"params"``, ``"macs"`` or an expression."""
    if minimize is not None:
        try:
            e = parse(minimize, frozenset({"attr"}), spec.limits.expr_length)
        except ExprError as exc:
            raise SpecError(f"--minimize {minimize!r}: {exc.bare}") from None
        text = str(e)
        try:
            e = written_values(spec, e)  # s1.k, c.kernel: as in the spec's own minimize
        except SpecError as exc:
            raise SpecError(f"--minimize {minimize!r}: {exc.bare}") from None
    elif spec.minimize is not None:
        e = spec.minimize
        text = spec.minimize_text or str(e)  # as written: c.kernel, not the 3 written there
    else:
        return "sum of all unknowns", "sum"
    if isinstance(e, Name) and e.name in OBJECTIVE_KINDS:
        return e.name, e.name
    return text, e


def verify(net: Network, values: Mapping[str, int], cache: dict[Any, Any] | None = None, counts: bool = True
           ) -> tuple[list[int], Any]:
    """Propagate a solution with plain integers; raise :class:`SolverBug` if it fails.
    ``counts=False``: no parameters or MACs unless a constraint names them."""
    prop = propagate(net, values, receptive_fields=False, cache=cache, counts=counts)
    errors = [p for p in prop.problems if p.severity is Severity.ERROR]
    if errors:
        raise SolverBug(f"the solver's answer {dict(values)} fails the plain check: {errors[0].layer}: "
                        f"{errors[0].message}")
    outside = _outside_domains(net.spec, values, prop, None if cache is None else cache.setdefault("domains", {}))
    if outside:
        raise SolverBug(f"the solver's answer {dict(values)} leaves a domain: {outside}")
    out = prop.layers[net.spec.layers[-1].name].shape
    assert out is not None
    return list(out), prop


def _outside_domains(spec: Spec, values: Mapping[str, int], prop: Any, memo: dict[Any, Any] | None = None
                     ) -> str | None:
    """The first value of ``values`` outside its domain (a var's ends evaluated with the
    other values, a padding's with its layer's kernel), as words; None when all are in.
    ``memo`` (a dict kept by the caller, as :func:`verify`'s cache): the ends worked out for
    one solution serve the next with the same fields (a listing checks thousands)."""
    memo = {} if memo is None else memo
    for u, v in values.items():
        var = spec.vars.get(u)
        dom = var.domain if var is not None else spec.unknowns[u].domain if u in spec.unknowns else None
        if dom is None:
            continue
        if dom.values is not None:
            if v not in dom.values:
                return f"{u} = {v} is not in {dom}"
            continue
        assert dom.lo is not None and dom.hi is not None
        if var is not None:
            ends = [var_ends(spec, u, prop.env)]
        else:  # a "?": constant ends, or its layer's fields in every copy of a repeated one
            static = memo.get(("domain", u))
            if static is None:
                names = tuple(sorted(dom.lo.names() | dom.hi.names()))
                static = memo[("domain", u)] = (
                    names, [(dom.lo.evaluate({}), dom.hi.evaluate({}))] if not names else [],
                    [lay.name for lay in copies_of(spec, spec.unknowns[u])])
            names, ends, copies = static
            if names:
                ends = []
                for name in copies:
                    r = prop.layers.get(name)
                    if r is None or not r.args:
                        continue
                    key = ("ends", u, tuple([r.args.get(n) for n in names]))
                    if key not in memo:
                        memo[key] = dependent_bounds(spec, u, r.args, spec.ndim)
                    if memo[key]:
                        ends.append(memo[key])
        for lo, hi in ends:
            if not lo <= v <= hi:
                return f"{u} = {v} is not in {dom} ({lo}..{hi} here)"
    return None


def solve_spec(spec: Spec, *, all_solutions: bool = False, limit: int = 1000, minimize: str | None = None,
               timeout: float | None = DEFAULT_TIMEOUT,
               progress: Callable[[int], None] | None = None, engine: str = "auto",
               count: bool = False, explain: bool = True, first: bool = False) -> SolveResult:
    """Solve a loaded spec; see the module docstring.

    ``engine``: ``"auto"`` tries the exact search (:mod:`archsolve.search`) first and hands
    what it cannot finish to Z3; ``"z3"`` and ``"search"`` use one of them only (tests
    compare them; ``"search"`` answers ``unknown`` where it gives up).  ``count``: with
    ``all_solutions``, count every solution past ``limit`` too (``SolveResult.count``), within
    the time-out; without it, the count comes only where it is free.  ``explain=False``:
    an unsat result without its conflict (a quick yes-or-no, as relax.py asks).  ``first``:
    any one solution, the first either engine meets -- no optimum, no listing, so no
    objective is worked towards (the answer's value of it is still given).

        >>> from archsolve.spec.load import load_text
        >>> spec = load_text('''
        ... input: [1, 8]
        ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
        ... constraints: [up.L == 16]
        ... ''')
        >>> solve_spec(spec, first=True).solutions[0].values
        {'up.kernel': 2}
    """
    if first and (all_solutions or minimize is not None):
        raise ValueError("first excludes all_solutions and minimize")
    # a bad objective is reported at the command line's --minimize, or at the spec's minimize
    at = (None, "--minimize") if minimize is not None else (
        spec.document.where(("minimize",)) if spec.document else None, "minimize")
    try:
        return _solve(spec, all_solutions, limit, minimize, timeout, progress, engine, count, explain, first, at)
    except _ObjectiveNames as exc:
        raise SpecError(exc.bare, *at) from None


def _solve(spec: Spec, all_solutions: bool, limit: int, minimize: str | None, timeout: float | None,
           progress: Callable[[int], None] | None, engine: str, count: bool, explain: bool, first: bool,
           at: tuple[Location | None, str]) -> SolveResult:
    start = time.monotonic()
    mode = "first" if first else "all" if all_solutions else "opt"
    net = build_network(spec)
    text, objective = _objective(spec, minimize)
    searched_unsat = False
    total = timeout
    if engine != "z3":
        budget = timeout if timeout is not None else DEFAULT_TIMEOUT
        quick = None
        if engine == "auto":  # a quick try, and never more than half the time-out: Z3 gets the rest
            budget, quick = budget / 2, SEARCH_BUDGET
        count_budget = None
        if count and all_solutions:
            count_budget = DEFAULT_TIMEOUT if timeout is None else max(0.0, timeout - (time.monotonic() - start))
        answer = search(net, mode, "sum" if first else objective, limit, budget, count_budget, quick=quick)
        if answer is not None and answer.solutions:
            return _searched(spec, net, answer, mode, objective, text, progress, start, total)
        searched_unsat = answer is not None
        if engine == "search":
            if searched_unsat:
                return SolveResult(spec, "unsat", [], True, True, text, elapsed=time.monotonic() - start)
            return SolveResult(spec, "unknown", [], False, False, text, elapsed=time.monotonic() - start,
                               message="the exact search gave up (out of budget or out of its reach)")
        if timeout is not None:
            timeout = max(0.001, timeout - (time.monotonic() - start))
    try:
        res = _solve_z3(spec, net, mode, limit, objective, text, timeout, progress, start, searched_unsat,
                        at, explain)
    except EncodingLimit as exc:
        if engine == "z3":
            raise
        # Z3 cannot encode this (MACs of sizes unknowns decide, ...): the search had only its
        # quick try; now it gets the rest of the time, and an optimum answers its best if that
        # runs out
        if not searched_unsat:
            left = (DEFAULT_TIMEOUT if total is None else total) - (time.monotonic() - start)
            answer = search(net, mode, "sum" if first else objective, limit, left,
                            left if count and all_solutions else None, keep_best=True) if left > 0 else \
                Answer([], False, timed_out=True)
            if answer is None:
                raise  # out of the search's reach too: the question cannot be answered
            if answer.solutions:
                return _searched(spec, net, answer, mode, objective, text, progress, start, total)
            if answer.timed_out:
                return SolveResult(spec, "unknown", [], False, False, text, elapsed=time.monotonic() - start,
                                   message=f"the time ran out before the search found any solution (Z3 cannot "
                                           f"take this question: {exc.bare})")
        res = SolveResult(spec, "unsat", [], True, True, text, conflict={
            "layers": [], "constraints": [], "message": (
                "no solution: the exact search tried every combination. Z3, which names the layers and "
                f"constraints in conflict, cannot encode this question ({exc.bare})")})
    if searched_unsat and res.status == "unknown":  # proven unsat; only the explaining ran out of time
        res = SolveResult(spec, "unsat", [], True, True, text, elapsed=time.monotonic() - start, conflict={
            "layers": [], "constraints": [], "message": (
                "no solution: the exact search tried every combination; the time ran out before Z3 "
                "could name the layers and constraints in conflict (a longer --timeout lets it)")})
    if res.conflict is not None:
        left = relax.RELAX_SECONDS if timeout is None else min(relax.RELAX_SECONDS, timeout - (time.monotonic() - start))
        found = relax.relaxations(spec, res.conflict["layers"], minimize=minimize, seconds=left,
                            solve=functools.partial(solve_spec, explain=False)) if left > 0 else []
        res.conflict["relaxations"] = [r.to_json() for r in found]
        res.elapsed = time.monotonic() - start
    return res


def _searched(spec: Spec, net: Network, answer: Any, mode: str, objective: Expr | str, text: str,
              progress: Callable[[int], None] | None, start: float, timeout: float | None) -> SolveResult:
    """A result from the exact search: every solution verified like the solver's (a long
    listing as many as ``timeout`` allows)."""
    all_solutions = mode == "all"
    cache: dict[Any, Any] | None = {} if len(answer.solutions) > 1 else None  # layers shared by solutions
    sols = []
    for values in answer.solutions:
        if timeout is not None and len(sols) and not len(sols) & 63 and time.monotonic() - start > timeout:
            answer = Answer(answer.solutions, False, answer.count, timed_out=True)  # the rest unchecked: not shown
            break
        sols.append(_solution(net, values, objective, None, cache))
        if progress and all_solutions:
            progress(len(sols))
    elapsed = time.monotonic() - start
    if mode == "first":
        return SolveResult(spec, "sat", sols, False, False, text, elapsed=elapsed, first=True)
    if answer.timed_out and all_solutions:
        _sort(sols)
        return SolveResult(spec, "sat", sols, False, False, text, elapsed=elapsed,
                           message="the time ran out while listing solutions")
    if not all_solutions:
        if not answer.complete:  # the best found when the time ran out
            return SolveResult(spec, "unknown", sols, False, False, text, elapsed=elapsed,
                               message="the search timed out before proving this is the best; it is the best found")
        return SolveResult(spec, "sat", sols, False, True, text, elapsed=elapsed)
    _sort(sols)
    return SolveResult(spec, "sat", sols, answer.complete, False, text, elapsed=elapsed, count=answer.count)


def _sort(sols: list[Solution]) -> None:
    """Listed solutions: the best first, ties by the values in name order."""
    sols.sort(key=lambda s: (s.objective if s.objective is not None else 0, list(s.values.values())))


def _solve_z3(spec: Spec, net: Network, mode: str, limit: int, objective: Expr | str, text: str,
              timeout: float | None, progress: Callable[[int], None] | None, start: float,
              searched_unsat: bool, objective_at: tuple[Location | None, str], explain: bool) -> SolveResult:
    from archsolve.solve.smt import solver as z3layer
    from archsolve.solve.smt.system import at_constraint, build_system, constraint_exprs

    all_solutions = mode == "all"
    reported = objective  # --first: its value is given, but nothing works towards it
    if searched_unsat or mode == "first":
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

    def result(status: str, sols: list[Solution], complete: bool, optimal: bool, **kw: Any) -> SolveResult:
        return SolveResult(spec, status, sols, complete, optimal, text, elapsed=time.monotonic() - start, **kw)

    try:
        system = build_system(net, kinds, frozenset() if isinstance(objective, str) else
                              objective.names() - set(OBJECTIVE_KINDS), deadline)
    except SolverTimeout:
        return result("unknown", [], False, False, message="the solver timed out before finding any solution")
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
            return result("unknown", [], False, False, message="the solver timed out while counting solutions")
        if listed is not None:
            sols, total, timed_out = listed
            if sols:
                if searched_unsat:
                    raise SolverBug("the exact search found no solution, but the size walk finds some")
                if timed_out:
                    return result("sat", sols, False, False, count=total,
                                  message="the solver timed out while listing solutions")
                return SolveResult(spec, "sat", sols, total <= limit, False, text, count=total,
                                   elapsed=time.monotonic() - start)
    problem = z3layer.Z3Problem(system, None if deadline is None else max(0.001, deadline - time.monotonic()))
    for kind in OBJECTIVE_KINDS:
        if kind in in_constraints:
            problem.vars[kind] = problem.objective_term(kind)[0]
    for i, (expr, label, ctext) in enumerate(constraints):
        with at_constraint(spec.constraints[i], i):
            problem.add(label, problem.bool_term(expr), ctext)
    unknowns = sorted(system.unknowns)

    try:
        sat = problem.satisfiable()
    except SolverTimeout:
        return result("unknown", [], False, False, message="the solver timed out before finding any solution")
    if not sat:
        if not explain:
            return result("unsat", [], True, True)
        core = problem.core()
        _empty_domain(spec, core)  # one var's domain alone: a bad spec, not an unsat network
        return result("unsat", [], True, True, conflict=explain_conflict(problem, system, core))
    if searched_unsat:
        raise SolverBug("the exact search found no solution, but the solver finds one")
    problem.commit()
    if mode == "first":  # the model at hand: each table's combination the first in name order
        sol = _solution(net, _model_values(problem, system, None), reported, system)
        return result("sat", [sol], False, False, first=True)

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
                    sols.append(_solution(net, values, raw_objective, system, cache))
                    if progress:
                        progress(len(sols))
                if not complete:
                    break
        except SolverTimeout:
            return result("unknown" if not sols else "sat", sols, False, False,
                          message="the solver timed out while listing solutions")
        _sort(sols)
        return result("sat", sols, complete, False)

    with placed(*objective_at):
        obj, floor = problem.objective_term(objective)
    try:
        best, proven = problem.minimize(obj, floor)
    except SolverTimeout:
        return result("unknown", [], False, False, message="the solver timed out before finding any solution")
    assert best is not None
    problem.solver.add(obj == best)
    kind = objective if isinstance(objective, str) else None
    try:
        allowed = _break_ties(problem, system, unknowns, kind)
        problem.satisfiable()
    except SolverTimeout:
        proven = False
        allowed = None
    sol = _solution(net, _model_values(problem, system, allowed, kind), raw_objective, system)
    status = "sat" if proven else "unknown"
    res = result(status, [sol], False, proven)
    if not proven:
        res.message = "the solver timed out before proving this is the best; it is the best found"
    return res


def _model_values(problem: Any, system: Any, allowed: dict[Any, Any] | None, kind: str | None = None
                  ) -> dict[str, int]:
    """Every unknown's value in the current model; a table's local unknowns from the
    combinations ``allowed`` (or the cheapest of its chosen effect), the first in name order."""
    model = problem.model_values(list(system.system_unknowns) + [t.selector for t in system.tables])
    values = {u: model[u] for u in system.system_unknowns}
    for table in system.tables:
        k = model[table.selector]
        pool = allowed[table.selector][k] if allowed else _cheapest(table.effects[k], kind)
        values.update(min(pool, key=lambda c: tuple(c[u] for u in sorted(table.local))) if pool else {})
    return values


def _cheapest(eff: Any, kind: str | None) -> list[dict[str, int]]:
    """The effect's combinations that an optimum can use: with a cost objective, the cheapest."""
    if kind is None or not eff.costs:
        return list(eff.combos)
    low = min(c[kind] for c in eff.costs)
    return [combo for combo, c in zip(eff.combos, eff.costs, strict=True) if c[kind] == low]


def _break_ties(problem: Any, system: Any, unknowns: list[str], kind: str | None
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


def _list_by_dp(net: Network, system: Any, constraints: list[Expr], limit: int, objective: Expr | str,
                progress: Callable[[int], None] | None, deadline: float | None = None
                ) -> tuple[list[Solution], int, bool] | None:
    """List solutions by dynamic programming over sizes when it applies (see enumerate.py):
    (the solutions, how many there are, whether the time ran out while listing them)."""
    from archsolve.solve.smt.sizedp import SizeDP, TooManyStates, deep_enough

    dp = SizeDP.build(system, constraints)
    if dp is None:
        return None
    dp.deadline = deadline
    deep_enough(len(dp.tables))
    try:
        total = dp.count()
    except TooManyStates:
        return None
    sols: list[Solution] = []
    cache: dict[Any, Any] = {}
    timed_out = False
    for path in dp.paths():
        choices = [t.effects[k].combos for t, k in zip(dp.tables, path, strict=True)]
        for parts in itertools.product(*choices):
            if len(sols) >= limit:
                break
            if deadline is not None and not len(sols) & 63 and time.monotonic() > deadline:
                timed_out = True
                break
            values: dict[str, int] = {}
            for p in parts:
                values.update(p)
            sols.append(_solution(net, values, objective, system, cache))
            if progress:
                progress(len(sols))
        if len(sols) >= limit or timed_out:
            break
    _sort(sols)
    return sols, total, timed_out


def _resolve_objective(e: Expr, system: Any) -> Expr:
    from archsolve.solve.smt.system import attribute_terms

    terms = attribute_terms(system)
    for n in e.names():
        if n in terms or n in system.variables or n in system.unknowns or n in OBJECTIVE_KINDS:
            continue
        if n.endswith((".params", ".macs")):
            raise EncodingLimit(f"{n} in the objective: Z3's encoding takes only the totals params and macs; "
                                "the exact search takes a layer's too, when it finishes in time")
        raise SpecError(f"{n!r} names no unknown, var or layer attribute")
    return e.substitute(terms)


def _solution(net: Network, values: dict[str, int], objective: Expr | str, system: Any,
              cache: dict[Any, Any] | None = None) -> Solution:
    from archsolve.shapes.propagate import attribute_values

    interrupted()
    ordered = {u: values[u] for u in sorted(values)}
    out, prop = verify(net, ordered, cache, counts=objective != "sum")
    obj: int | None
    if objective == "sum":
        obj = sum(values.values())
    else:
        expr = Name(objective) if isinstance(objective, str) else objective
        scalars, _ = attribute_values(prop)
        try:
            obj = expr.evaluate({**scalars, **ordered})
        except KeyError as exc:  # as the optimum refuses it: a listing or --first must too
            raise _ObjectiveNames(f"{exc.args[0]!r} names no unknown, var or layer attribute") from None
        except ExprError:
            obj = None  # undefined for this solution only (a division by zero)
    return Solution(ordered, out, obj)


class _ObjectiveNames(SpecError):
    """The objective names nothing the solution has; :func:`solve_spec` places it."""


def _empty_domain(spec: Spec, core: list[str]) -> None:
    """A conflict of one var's domain alone (``p: {min: k, max: k - 1}``): a contradictory
    domain, a bad spec as ``check`` says it (exit 2), not an unsolvable network."""
    names = [c[len("vars."):] for c in core if c.startswith("vars.")]
    if len(names) == 1 and len(core) == 1 and names[0] in spec.vars:
        var = spec.vars[names[0]]
        raise SpecError(f"the domain {var.domain} of {names[0]!r} is empty for every value of the vars it names",
                        var.where, f"vars.{names[0]}")


def explain_conflict(problem: Any, system: Any, core: list[str]) -> dict[str, Any]:
    """Name the layers and constraints in a minimal conflict (``core``, the labels of
    :meth:`Z3Problem.core`), with the arithmetic we can give."""
    spec = system.spec
    constraints = {f"constraints[{i}]": c.text for i, c in enumerate(spec.constraints)}
    layers = [c for c in core if c not in constraints and not c.startswith(("vars.", "input"))]
    cons = [constraints[c] for c in core if c in constraints]
    parts = []
    if layers and cons:
        parts.append(f"{_names(layers)} cannot meet {' and '.join(cons)}")
    elif layers:
        parts.append(f"{_names(layers)} cannot all be valid together")
    elif cons:
        parts.append(f"{' and '.join(cons)} cannot hold")
    from archsolve.solve.smt.system import attribute_terms

    terms = attribute_terms(system)
    tied = spec.tied()
    named = {**terms, **{n: tied.get(n, Name(n)) for n in spec.vars}}  # vars too (b: a + 1 is a + 1)
    context = _context(system, layers)
    for label in core:
        if label not in constraints:
            continue
        c = spec.constraints[int(label.split("[")[1].rstrip("]"))]
        unreachable: dict[tuple[str, int | None], list[str]] = {}  # (reach, needed) -> attributes
        for attr, needed in _targets(c.expr, spec):
            if attr not in named:
                continue
            try:
                rng = problem.range_of(named[attr], label)
            except KeyError:  # a var the solver enumerates with its layer: no term of its own
                continue
            if rng is None:
                continue
            lo, hi = rng
            if needed is not None and lo <= needed <= hi:
                continue  # this one is reachable; the conflict is elsewhere
            unreachable.setdefault((f"{lo}" if lo == hi else f"{lo}..{hi}", needed), []).append(attr)
        for (reach, needed), attrs in unreachable.items():
            parts.append(f"{context}{_names(attrs)} can only be {reach}"
                         + (f", but {c.text} needs {needed}" if needed is not None else ""))
        if not unreachable:  # L % 2 == 0 against sizes only odd L allow: the values left
            for n in sorted(c.expr.names() & set(spec.vars)):
                try:
                    values = problem.values_of(named[n], label)
                except KeyError:
                    continue
                if values:
                    parts.append(f"without {c.text}, {n} can only be {', '.join(map(str, values))}")
    for label in layers:
        joined = _joined(problem, system, terms, label)
        if joined:
            parts.append(f"{context}{joined}")
        for f in system.facts:
            if f.label == label and f.rule == "no-combination":
                parts.append(f.message)
                break
        # a rule the written values break whatever the unknowns are: check's own words
        broken = {f.rule: f.message for f in reversed(system.facts) if f.label == label  # one per rule: H's
                  and f.rule != "no-combination" and isinstance(f.expr, Num) and not f.expr.value}
        parts.extend(reversed(broken.values()))
    # the input's sizes must be positive (input: [1, 8 - p]): its facts say how
    if "input" in core:
        for f in system.facts:
            if f.label == "input":
                ranges = [f"{n} in {spec.vars[n].domain}" for n in sorted(f.expr.names())
                          if n in spec.vars and spec.vars[n].domain is not None]
                parts.append(f.message + (f" ({', '.join(ranges)})" if ranges else ""))
    # a var's domain naming other vars (p: {max: k // 2}) is a labelled fact too (one alone is
    # a bad spec, raised before this)
    domains = [c[len("vars."):] for c in core if c.startswith("vars.") and c[len("vars."):] in spec.vars]
    if domains:
        parts.append(("with " if layers or cons else "")
                     + " and ".join(f"{n} in {spec.vars[n].domain}" for n in domains))
    if len(layers) > 1 and not cons:
        parts.append("relaxing any one of them may help")
    message = "; ".join(parts) if parts else "the constraints contradict each other"
    return {"layers": layers, "constraints": cons, "message": message}


def _joined(problem: Any, system: Any, terms: Mapping[str, Expr], label: str) -> str:
    """For a merge in a conflict: the sizes each input can have (``cat joins e1 at 64x64
    and up at 32..42 x 32..42``), or "" (not a merge, or nothing to say)."""
    from archsolve.ops.table import OPS

    spec = system.spec
    try:
        lay = spec.layer(label)
    except KeyError:
        return ""
    if not OPS[lay.op].merge or len(lay.sources) < 2:
        return ""
    seen = []
    for src in lay.refs or lay.sources:
        spans = [problem.range_of(terms[f"{src}.{ax}"], label) if f"{src}.{ax}" in terms else None
                 for ax in spec.axis_names]
        if any(r is None for r in spans):
            return ""
        texts = [f"{lo}" if lo == hi else f"{lo}..{hi}" for lo, hi in spans]
        seen.append(f"{src} at {('x' if all('..' not in t for t in texts) else ' x ').join(texts)}")
    return f"{label} joins {_names(seen)}"


def _context(system: Any, layers: list[str]) -> str:
    """What the conflicting layers start from and may choose, for the arithmetic of a
    conflict: ``from 8x8 at upA's input, with kernel 1..3 and stride 1..2, `` (or ``with the
    domains given, `` where the start is not one fixed size)."""
    spec = system.spec
    named = set(layers)
    first = next((lay for lay in spec.layers if lay.name in named), None)
    start = ""
    if first is not None and len(first.sources) <= 1:  # a merge's "input" would be one of several
        sizes = system.shape_of(first.sources[0] if first.sources else "input")[1:]
        if sizes and all(isinstance(v, Num) for v in sizes):
            start = f"from {'x'.join(str(v.value) for v in sizes)} at {first.name}'s input, "
    domains: dict[str, dict[str, str]] = {}  # field -> unknown -> its domain
    for u in spec.unknowns.values():
        if u.of_any(named):
            domains.setdefault(u.field.split("[")[0], {})[u.name] = str(u.domain)
    said = []
    for fieldname, doms in domains.items():
        if len(set(doms.values())) == 1:
            said.append(f"{fieldname} {next(iter(doms.values()))}")
        else:
            said.extend(f"{u} {d}" for u, d in doms.items())
    if not said:
        return start or "with the domains given, "
    return f"{start}with {_names(said)}, "


def _targets(e: Expr, spec: Spec) -> list[tuple[str, int | None]]:
    """The attributes (and vars) a constraint pins, with the value it needs when it is a constant."""
    from archsolve.lang.expr import Bin, ListExpr

    out: list[tuple[str, int | None]] = []
    if isinstance(e, Bin) and e.op == "and":
        return _targets(e.left, spec) + _targets(e.right, spec)
    if isinstance(e, Bin) and e.op == "==":
        for a, b in ((e.left, e.right), (e.right, e.left)):
            if isinstance(a, Name) and a.name.endswith(".shape") and isinstance(b, ListExpr):
                base = a.name[: -len(".shape")]
                for axis, item in zip(("C", *spec.axis_names), b.items, strict=False):
                    out.append((f"{base}.{axis}", item.value if isinstance(item, Num) else None))
                return out
            if isinstance(a, Name) and ("." in a.name or a.name in spec.vars):
                return [(a.name, b.value if isinstance(b, Num) else None)]
    for n in sorted(e.names()):
        if "." in n and not n.endswith(".shape"):
            out.append((n, None))
    return out


def _names(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def solve_file(path: str, **kw: Any) -> SolveResult:
    return solve_spec(load_spec(path), **kw)
