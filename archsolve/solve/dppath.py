"""``solve`` by dynamic programming over sizes (:mod:`~archsolve.solve.smt.sizedp`): the
first path a question takes, where the network's shape allows it.

It applies when every unknown is one layer's own (no var, no unknown shared between layers
or named by a constraint or the objective), the input size is known, and the objective is
the sum of the unknowns or the parameters: then every question -- the optimum, any one
solution, every solution, how many, and "none" -- is one walk over (layer, sizes) states.
Elsewhere (:func:`solve_dp` returns None) the exact search and Z3 take the question.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> net = build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: "?"}]
    ... constraints: [up.L == 16]
    ... '''))
    >>> answer = solve_dp(net, mode=SolveMode.OPTIMUM, limit=1, objective="sum", deadline=None, progress=None)
    >>> answer.status, answer.solutions[0].values
    (<SolveStatus.SAT: 'sat'>, {'up.kernel': 2, 'up.stride': 2})
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from archsolve.errors import EncodingLimit, SolverBug, SolverTimeout, SpecError
from archsolve.lang.expr import Expr, Name
from archsolve.ops.base import Collect
from archsolve.ops.table import OPS
from archsolve.shapes.graph import Network, build_network
from archsolve.shapes.propagate import plan_args, plan_for
from archsolve.solve.outcome import Conflict, SolveMode, SolveStatus
from archsolve.solve.smt.sizedp import VAR_MARK, SizeDP, TooManyStates, deep_enough, size_domains, var_kind
from archsolve.solve.smt.system import System, Table, build_system, constraint_exprs, user_names
from archsolve.solve.solution import Answered, Solution, open_layers, sort_best_first, verified

KINDS = ("sum", "params")  # the objectives an effect's cheapest combination settles
TIMED_OUT = "the solver timed out before finding any solution"  # as Z3's: one message whoever ran out


def solve_dp(net: Network, *, mode: SolveMode, limit: int, objective: Expr | str, deadline: float | None,
             progress: Callable[[int], None] | None, count: bool = False) -> Answered | None:
    """Answer ``mode`` (``ALL`` up to ``limit``, ``OPTIMUM``, ``FIRST``) by the size walk, or
    None where it does not apply (see the module docstring); ``deadline``:
    ``time.monotonic()`` past which the answer is ``UNKNOWN``; ``count``: give the count of a
    listing cut at ``limit`` (it is always known, but answers say it only when asked, as
    every engine does).  An unsatisfiable answer is explained where the walk can place its
    conflict at one layer (:func:`_unsat`); elsewhere it has none, and the caller asks Z3 to
    explain it.  Raises TooManyStates where the walk would hold more than
    :data:`~.smt.sizedp.MAX_STATES` states: another engine may take the question."""
    kind = "sum"
    if mode is SolveMode.OPTIMUM:
        if isinstance(objective, Name) and objective.name in net.spec.vars:
            kind = var_kind(objective.name)  # ``minimize: H``: the var's table alone costs
        elif objective in KINDS:
            kind = objective  # type: ignore[assignment]
        else:
            return None
    try:
        system = build_system(net, [kind] if kind in KINDS and kind != "sum" else [], frozenset(), deadline)
        labelled = constraint_exprs(system)
        constraints = [e for e, _, _ in labelled]
        dp = SizeDP.build(system, constraints, deadline)
    except SolverTimeout:
        return Answered(status=SolveStatus.UNKNOWN, message=TIMED_OUT)
    except (EncodingLimit, SpecError):
        return None  # another engine takes it, and says what is wrong with it if anything is
    if dp is None:
        return None
    if not dp.tables:  # no choice to make: the one answer with no values, or none at all
        if dp.fails():  # (a layer no value makes valid fails the walk at once)
            return _unsat(system, dp, labelled, deadline)
        sol = verified(net, {}, objective)
        if mode is SolveMode.ALL:
            return Answered(status=SolveStatus.SAT, solutions=[sol], complete=True, count=1)
        return Answered(status=SolveStatus.SAT, solutions=[sol], optimal=mode is SolveMode.OPTIMUM,
                        first=mode is SolveMode.FIRST)
    deep_enough(len(dp.tables))
    try:
        if mode is SolveMode.ALL:
            sols, total, timed_out = list_by_dp(net, dp, limit=limit, objective=objective, progress=progress,
                                                deadline=deadline)
            if not sols and timed_out:  # the listing never began: nothing is known of the count
                return Answered(status=SolveStatus.UNKNOWN, message=TIMED_OUT)
            if not sols:
                return _unsat(system, dp, labelled, deadline)
            said = total if count or total <= limit else None
            if timed_out:
                return Answered(status=SolveStatus.SAT, solutions=sols, count=said,
                                message="the time ran out while listing solutions")
            return Answered(status=SolveStatus.SAT, solutions=sols, complete=total <= limit, count=said)
        if mode is SolveMode.FIRST:
            values = dp.first()
            if values is None:
                return _unsat(system, dp, labelled, deadline)
            return Answered(status=SolveStatus.SAT, solutions=[verified(net, values, objective)], first=True)
        # a layer split into one table per axis has holes only as a whole: the walk cannot
        # prefer answers without them table by table, so where one is split the preference
        # is all or nothing, by a second walk that forbids holes (below)
        split = {t.layer for t in system.tables if t.axis is not None}
        asked = not split and any(net.spec.allows_holes(t.layer) for t in system.tables)
        got = dp.optimum(kind, sorted(system.unknowns), holes=_holes_in(net, system) if asked else None)
    except SolverTimeout:
        return Answered(status=SolveStatus.UNKNOWN, message=TIMED_OUT)
    if got is None:
        return _unsat(system, dp, labelled, deadline)
    best, values = got
    sol = verified(net, values, objective)
    if kind != "params" and sol.objective != best:  # (params add the fixed layers' own)
        raise SolverBug(f"the size walk's optimum {best} is {sol.objective} once its answer {values} is checked")
    if split and sol.holes and not net.spec.hole_free:
        # the answer without holes, when it is as good, comes from a walk that forbids them
        try:
            strict = solve_dp(build_network(replace(net.spec, hole_free=open_layers(net.spec))), mode=mode,
                              limit=limit, objective=objective, deadline=deadline, progress=None)
        except TooManyStates:
            strict = None
        if strict is not None and strict.solutions and strict.solutions[0].objective == sol.objective:
            return strict
    return Answered(status=SolveStatus.SAT, solutions=[sol], optimal=True)


def search_domains(net: Network, deadline: float) -> dict[str, tuple[Any, ...]] | None:
    """Per layer and dimension, the sizes from which the constraints can still be met, for the
    exact search to prune by (the walk's backward pass, :func:`~.smt.sizedp.size_domains`);
    None where the system cannot be built by ``deadline`` (``time.monotonic()``) or at all
    (the search then walks without them, as it always could)."""
    try:
        return size_domains(build_system(net, [], frozenset(), deadline), deadline)
    except (SolverTimeout, EncodingLimit, SpecError):
        return None


def _unsat(system: System, dp: SizeDP, labelled: list[tuple[Expr, str, str]], deadline: float | None) -> Answered:
    """No solution, explained where the walk can say why: the constraints it needs for that
    (each left out in turn, as long as there is still none without it), and where the sizes
    they leave break off -- a layer that gives none of the sizes the later layers and those
    constraints need, from any input.  Elsewhere the conflict is left to Z3."""
    try:
        conflict = _placed(system, dp, labelled, deadline)
    except (TooManyStates, SolverTimeout):  # proven all the same: only the explaining stopped
        conflict = None
    return Answered(status=SolveStatus.UNSAT, complete=True, optimal=True, conflict=conflict)


def _placed(system: System, dp: SizeDP, labelled: list[tuple[Expr, str, str]], deadline: float | None
            ) -> Conflict | None:
    """:func:`_unsat`'s conflict, or None where the walk cannot place it."""
    conflict = None
    if dp.broken() is not None:
        kept = list(labelled)
        for c in list(kept):
            trial = SizeDP.build(system, [e for e, _, _ in kept if e is not c[0]], deadline)
            if trial is not None and trial.first() is None:
                kept.remove(c)
        # where the sizes break off under those constraints alone (under all of them, a
        # constraint the conflict does not need may be what empties a domain)
        core = SizeDP.build(system, [e for e, _, _ in kept], deadline)
        broken = None if core is None else core.broken([e for e, _, _ in kept])
        if broken is not None:
            layers, sizes = broken
            spec = system.spec
            cons = " and ".join(text for _, _, text in kept)
            shown = " and ".join(f"{user_names(name, spec)} {values}" for name, values in sizes)
            table = layers[0]
            what = f"value of {', '.join(table.local)}" if table.local else "combination"
            names = [t.layer for t in layers]
            message = (f"{table.layer} cannot meet {cons}; no {what} gives {shown} from any input size"
                       if cons else f"{table.layer} gives none of {shown} from any input size")
            if len(names) > 1:
                message += f" (the sizes {', '.join(names[1:])} and the constraints leave it)"
            conflict = Conflict(layers=tuple(dict.fromkeys(names)), constraints=tuple(text for _, _, text in kept),
                                message=message)
    return conflict


def _holes_in(net: Network, system: System) -> Callable[[Table, Mapping[str, int], Mapping[str, int]], bool]:
    """Whether a table's layer, given one combination and the sizes walked so far, has holes
    (an output position no input reaches): its rule, run on those numbers.  Not asked where
    a layer is split into one table per axis (:func:`solve_dp`)."""
    spec = net.spec

    def holes(table: Table, sizes: Mapping[str, int], combo: Mapping[str, int]) -> bool:
        if table.selector.startswith(VAR_MARK) or not spec.allows_holes(table.layer):
            return False  # a var's value; a layer where holes are an error has none in a solution
        lay = spec.layer(table.layer)
        plan = plan_for(net, lay)
        # the vars the walk chose stay in its sizes: a field may name one (``out: c``)
        args = plan_args(plan, {**{u: sizes[u] for u in system.system_unknowns if u in sizes}, **combo}, spec)
        inputs = [tuple(e.evaluate(sizes) for e in system.shape_of(s)) for s in lay.sources]
        req = Collect()
        OPS[lay.op].shape(args, inputs, req)
        return any(f.rule == "holes" for f in req.failures)

    return holes


def list_by_dp(net: Network, dp: SizeDP, *, limit: int, objective: Expr | str,
               progress: Callable[[int], None] | None, deadline: float | None = None
               ) -> tuple[list[Solution], int, bool]:
    """The first ``limit`` solutions, best first, and how many there are, by the size walk:
    (the solutions, the count, whether the time ran out while listing them)."""
    deep_enough(len(dp.tables))  # the listing recurses once per table
    total = dp.count()
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
            sols.append(verified(net, values, objective, cache))
            if progress:
                progress(len(sols))
        if len(sols) >= limit or timed_out:
            break
    sort_best_first(sols)
    return sols, total, timed_out
