"""``archsolve solve``: fill every unknown so that all rules and constraints hold.

Two engines answer the same questions exactly: the search of :mod:`.search` (no Z3; most
questions in milliseconds) and Z3, by :mod:`.z3path` (what the search cannot finish in
:data:`SEARCH_BUDGET`).  Every answer is re-checked by plain propagation
(:mod:`.solution`) before it is returned; a disagreement is a bug and raises
:class:`~archsolve.errors.SolverBug` instead of reaching a user.

Example::

    >>> result = solve_file("specs/dcgan-solve.yaml")
    >>> result.status, result.optimal, result.solutions[0].values["up2.stride"]
    (<SolveStatus.SAT: 'sat'>, True, 2)
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from archsolve.errors import EncodingLimit, ExprError, Location, SpecError
from archsolve.lang.expr import Expr, Name, parse
from archsolve.shapes.graph import Network, build_network
from archsolve.solve.dppath import search_domains, solve_dp
from archsolve.solve.outcome import Conflict, Engine, SolveMode, SolveStatus
from archsolve.solve.smt.sizedp import MAX_STATES, TooManyStates
from archsolve.solve.smt.system import shared_groupings
from archsolve.solve.solution import (
    OBJECTIVE_KINDS,
    Answered,
    ObjectiveNames,
    open_layers,
    sort_best_first,
    verified,
)
from archsolve.spec.load import load_spec
from archsolve.spec.model import Spec, written_values

if TYPE_CHECKING:
    from archsolve.solve.search.engine import Answer

DEFAULT_TIMEOUT = 60.0
SEARCH_BUDGET = 0.5  # CPU seconds the exact search may take before Z3 gets the question


@dataclass(frozen=True, kw_only=True)
class SolveResult(Answered):
    """A solve's answer (the fields of :class:`~archsolve.solve.solution.Answered`) for
    ``spec``; ``objective``: the objective's text; ``elapsed``: seconds taken."""

    spec: Spec
    objective: str
    elapsed: float = 0.0

    @classmethod
    def unsat(cls, *, spec: Spec, objective: str, elapsed: float, conflict: Conflict | None = None) -> SolveResult:
        """No solution: complete and optimal, as an empty answer is."""
        return cls(spec=spec, status=SolveStatus.UNSAT, objective=objective, complete=True, optimal=True,
                   conflict=conflict, elapsed=elapsed)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "solutions": [{"values": s.values, "output": s.output, "objective": s.objective} for s in self.solutions],
            "complete": self.complete,
            "conflict": None if self.conflict is None else self.conflict.to_json(),
            "optimal": self.optimal,
            "objective": self.objective,
            **({"count": self.count} if self.count is not None else {}),
            **({"message": self.message} if self.message else {}),
        }


def _objective(spec: Spec, minimize: str | None) -> tuple[str, Expr | str]:
    """(text, objective): ``"sum"``, ``"params"``, ``"macs"`` or an expression."""
    if minimize is not None:
        try:
            e = parse(minimize, frozenset({"attr", "units"}), spec.limits.expr_length)
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


def solve_spec(spec: Spec, *, all_solutions: bool = False, limit: int = 1000, minimize: str | None = None,
               timeout: float | None = DEFAULT_TIMEOUT,
               progress: Callable[[int], None] | None = None, engine: Engine | str = Engine.AUTO,
               count: bool = False, explain: bool = True, first: bool = False) -> SolveResult:
    """Solve a loaded spec; see the module docstring.

    ``engine``: ``Engine.AUTO`` tries the exact search (:mod:`archsolve.solve.search`) first
    and hands what it cannot finish to Z3; ``Engine.Z3`` and ``Engine.SEARCH`` use one of them
    only (tests compare them; the search alone answers ``unknown`` where it gives up).  ``count``: with
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
    engine = Engine(engine)  # a name as --engine gives it ("z3") stands for its member
    # a bad objective is reported at the command line's --minimize, or at the spec's minimize
    at = (None, "--minimize") if minimize is not None else (
        spec.document.where(("minimize",)) if spec.document else None, "minimize")
    # the builds of this solve (its relaxations', its second try without holes) share their
    # grouped effects
    with shared_groupings():
        try:
            mode = SolveMode.FIRST if first else SolveMode.ALL if all_solutions else SolveMode.OPTIMUM
            res, settled = _solve(spec, mode=mode, limit=limit, minimize=minimize, timeout=timeout,
                                  progress=progress, engine=engine, count=count, explain=explain, at=at)
            if mode is SolveMode.OPTIMUM and res.optimal and res.solutions and res.solutions[0].holes and not settled:
                res = _without_holes(res, mode=mode, limit=limit, minimize=minimize, timeout=timeout, engine=engine,
                                     at=at)
            return res
        except ObjectiveNames as exc:
            raise SpecError(exc.bare, *at) from None


def _without_holes(res: SolveResult, *, mode: SolveMode, limit: int, minimize: str | None, timeout: float | None,
                   engine: Engine, at: tuple[Location | None, str]) -> SolveResult:
    """The best answer has holes (an output position no input reaches) in a layer the unknowns
    decide: the best answer without any there, when its objective is as good.  A second solve
    forbids them, so both engines find the same answer; a layer written with numbers keeps
    its holes (a 1x1 conv with padding 1, say)."""
    left = None if timeout is None else timeout - res.elapsed
    if left is not None and left <= 0:
        return res
    strict, _ = _solve(replace(res.spec, hole_free=open_layers(res.spec)), mode=mode, limit=limit, minimize=minimize,
                       timeout=left, progress=None, engine=engine, count=False, explain=False, at=at)
    if strict.optimal and strict.solutions and strict.solutions[0].objective == res.solutions[0].objective:
        return replace(res, solutions=strict.solutions, elapsed=res.elapsed + strict.elapsed)
    return res


# --count where neither the walk nor the search could count, and Z3 listed the first ones
NOT_COUNTED = ("not counted: the size walk, which counts solutions without listing them, does not take this "
               "question or would hold too many states, and Z3 lists solutions one at a time")


def _solve(spec: Spec, *, mode: SolveMode, limit: int, minimize: str | None, timeout: float | None,
           progress: Callable[[int], None] | None, engine: Engine, count: bool, explain: bool,
           at: tuple[Location | None, str]) -> tuple[SolveResult, bool]:
    """The answer, and whether its optimum already prefers answers without holes (the size
    walk does, in the same walk)."""
    start = time.monotonic()
    net = build_network(spec)
    text, objective = _objective(spec, minimize)
    searched_unsat = False
    if engine in (Engine.AUTO, Engine.DP):
        why = "the size walk does not apply to this question"
        try:
            walked = solve_dp(net, mode=mode, limit=limit, objective=objective, progress=progress, count=count,
                              deadline=None if timeout is None else start + timeout)
        except TooManyStates:
            walked = None
            why = (f"the size walk would hold more than {MAX_STATES:,} states for this question (about 100 MB); "
                   "--engine auto hands such a question to the search and Z3")
        if walked is None and engine is Engine.DP:
            return SolveResult(spec=spec, status=SolveStatus.UNKNOWN, objective=text, elapsed=time.monotonic() - start,
                               message=why), False
        # the walk's answer stands, but an unsat it could not explain is explained by Z3
        if walked is not None and (walked.status is not SolveStatus.UNSAT or walked.conflict is not None
                                   or engine is Engine.DP or not explain):
            res = _result(spec, walked, objective=text, start=start)
            return (_relaxed(spec, res, minimize=minimize, timeout=timeout, start=start) if explain else res), True
        searched_unsat = walked is not None  # proven: Z3 only names the conflict
    return _searched_or_z3(spec, net, mode=mode, limit=limit, minimize=minimize, timeout=timeout, progress=progress,
                           engine=engine, count=count, explain=explain, at=at, start=start, text=text,
                           objective=objective, searched_unsat=searched_unsat), False


def _searched_or_z3(spec: Spec, net: Network, *, mode: SolveMode, limit: int, minimize: str | None,
                    timeout: float | None, progress: Callable[[int], None] | None, engine: Engine, count: bool,
                    explain: bool, at: tuple[Location | None, str], start: float, text: str,
                    objective: Expr | str, searched_unsat: bool) -> SolveResult:
    """The exact search's answer, or Z3's for what it does not finish (``searched_unsat``:
    the size walk proved there is none, and Z3 only explains why)."""
    sought = "sum" if mode is SolveMode.FIRST else objective  # --first works towards no objective
    counted = count and mode is SolveMode.ALL
    total = timeout
    if timeout is not None:
        timeout = max(0.001, timeout - (time.monotonic() - start))
    # imported here, as Z3 is below: the size walk answers most questions, and its process
    # need not load the search
    from archsolve.solve.search.engine import Answer, search

    def left() -> float:
        return (DEFAULT_TIMEOUT if total is None else total) - (time.monotonic() - start)

    def pruned() -> dict[str, Any] | None:
        """The walk's backward pass, for a search after the quick try: the sizes from which the
        constraints can still be met (a system build: worth it once the quick try has not
        finished); a quarter of the time left at most."""
        return search_domains(net, time.monotonic() + left() / 4)

    if engine not in (Engine.Z3, Engine.DP) and not searched_unsat:
        budget = timeout if timeout is not None else DEFAULT_TIMEOUT
        if engine is Engine.AUTO:  # never more than half the time-out: Z3 gets the rest
            budget /= 2
        count_budget = None
        if counted:
            count_budget = DEFAULT_TIMEOUT if total is None else max(0.0, total - (time.monotonic() - start))
        answer = search(net, mode, objective=sought, limit=limit, budget=budget, count_budget=count_budget,
                        quick=SEARCH_BUDGET)
        if engine is Engine.SEARCH and (answer is None or answer.timed_out):
            # the search alone walks again, pruned, for the rest of the time, and answers what
            # it found when that runs out, as Z3 does
            domains = pruned()
            answer = search(net, mode, objective=sought, limit=limit, budget=max(0.001, left()),
                            count_budget=max(0.0, left()) if counted else None, keep_best=True, domains=domains)
        if answer is not None and answer.solutions:
            return _searched(spec, net, answer, mode=mode, objective=objective, text=text, progress=progress,
                             start=start, timeout=total)
        searched_unsat = answer is not None and not answer.timed_out
        if engine is Engine.SEARCH:
            if searched_unsat:
                return SolveResult.unsat(spec=spec, objective=text, elapsed=time.monotonic() - start)
            why = "the exact search gave up (out of its reach)" if answer is None else \
                f"the exact search found no solution before it stopped: {answer.why}"
            return SolveResult(spec=spec, status=SolveStatus.UNKNOWN, objective=text,
                               elapsed=time.monotonic() - start, message=why)
        if total is not None:
            timeout = max(0.001, total - (time.monotonic() - start))
    # imported here, as Z3 itself is: check asks solve small questions (check --set) that the
    # search answers, and its process should not load Z3 for them
    from archsolve.solve import z3path

    try:
        z = z3path.solve_z3(net, mode=mode, limit=limit, objective=objective, timeout=timeout, progress=progress,
                            searched_unsat=searched_unsat, objective_at=at, explain=explain)
        res = _result(spec, z, objective=text, start=start)
        if counted and res.solutions and res.count is None and not res.complete and not res.message:
            res = replace(res, message=NOT_COUNTED)
    except EncodingLimit as exc:
        if engine is Engine.Z3:
            raise
        # Z3 cannot encode this (MACs of sizes unknowns decide, ...): the search had only its
        # quick try; now it gets the rest of the time, and an optimum answers its best if that
        # runs out
        if not searched_unsat:
            domains = pruned() if left() > 0 else None
            answer = search(net, mode, objective=sought, limit=limit, budget=left(),
                            count_budget=left() if counted else None, keep_best=True, domains=domains) \
                if left() > 0 else Answer(solutions=[], complete=False, timed_out=True)
            if answer is None:  # out of the search's reach too: the question cannot be answered as asked
                raise EncodingLimit(f"{exc.bare}; and the exact search gives up on it too (out of its reach: "
                                    "narrow the domains of the unknowns)", exc.where, exc.field) from None
            if answer.solutions:
                return _searched(spec, net, answer, mode=mode, objective=objective, text=text, progress=progress,
                                 start=start, timeout=total)
            if answer.timed_out:
                return SolveResult(spec=spec, status=SolveStatus.UNKNOWN, objective=text,
                                   elapsed=time.monotonic() - start,
                                   message=f"the time ran out before the search found any solution (Z3 cannot "
                                           f"take this question: {exc.bare})")
        res = SolveResult.unsat(spec=spec, objective=text, elapsed=time.monotonic() - start, conflict=Conflict(
            layers=(), constraints=(), message=(
                "no solution: every combination was ruled out. Z3, which names the layers and "
                f"constraints in conflict, cannot encode this question ({exc.bare})")))
    if searched_unsat and res.status is SolveStatus.UNKNOWN:  # proven unsat; only the explaining ran out of time
        res = SolveResult.unsat(spec=spec, objective=text, elapsed=time.monotonic() - start, conflict=Conflict(
            layers=(), constraints=(), message=(
                "no solution: every combination was ruled out; the time ran out before Z3 "
                "could name the layers and constraints in conflict (a longer --timeout lets it)")))
    return _relaxed(spec, res, minimize=minimize, timeout=total, start=start)


def _result(spec: Spec, answered: Answered, *, objective: str, start: float) -> SolveResult:
    """An engine's answer as the API gives it: with the spec, the objective's text and the
    time taken since ``start``."""
    return SolveResult(spec=spec, objective=objective, elapsed=time.monotonic() - start,
                       **{f.name: getattr(answered, f.name) for f in fields(Answered)})


def _relaxed(spec: Spec, res: SolveResult, *, minimize: str | None, timeout: float | None, start: float
             ) -> SolveResult:
    """An unsat answer with the edits that would lift its conflict (:mod:`.relax`), as many
    as fit in its share of the time."""
    if res.conflict is None:
        return res
    from archsolve.solve import relax  # only an unsat answer needs it: imported here, as Z3 is

    left = relax.RELAX_SECONDS if timeout is None else min(relax.RELAX_SECONDS, timeout - (time.monotonic() - start))
    found = relax.relaxations(spec, res.conflict.layers, minimize=minimize, seconds=left,
                              solve=functools.partial(solve_spec, explain=False)) if left > 0 else []
    return replace(res, conflict=replace(res.conflict, relaxations=tuple(found)), elapsed=time.monotonic() - start)


def _searched(spec: Spec, net: Network, answer: Answer, *, mode: SolveMode, objective: Expr | str, text: str,
              progress: Callable[[int], None] | None, start: float, timeout: float | None) -> SolveResult:
    """A result from the exact search: every solution verified like the solver's (a long
    listing as many as ``timeout`` allows)."""
    all_solutions = mode is SolveMode.ALL
    cache: dict[Any, Any] | None = {} if len(answer.solutions) > 1 else None  # layers shared by solutions
    sols = []
    for values in answer.solutions:
        if timeout is not None and len(sols) and not len(sols) & 63 and time.monotonic() - start > timeout:
            answer = replace(answer, complete=False, timed_out=True)  # the rest unchecked: not shown
            break
        sols.append(verified(net, values, objective, cache))
        if progress and all_solutions:
            progress(len(sols))
    elapsed = time.monotonic() - start
    if mode is SolveMode.FIRST:
        return SolveResult(spec=spec, status=SolveStatus.SAT, objective=text, solutions=sols, elapsed=elapsed,
                           first=True)
    if not all_solutions:
        if not answer.complete:  # the best found when the time ran out
            return SolveResult(spec=spec, status=SolveStatus.UNKNOWN, objective=text, solutions=sols,
                               elapsed=elapsed,
                               message="the search timed out before proving this is the best; it is the best found")
        return SolveResult(spec=spec, status=SolveStatus.SAT, objective=text, solutions=sols, elapsed=elapsed,
                           optimal=True)
    sort_best_first(sols)
    if answer.timed_out:
        return SolveResult(spec=spec, status=SolveStatus.SAT, objective=text, solutions=sols, elapsed=elapsed,
                           message="the time ran out while listing solutions")
    return SolveResult(spec=spec, status=SolveStatus.SAT, objective=text, solutions=sols, elapsed=elapsed,
                       complete=answer.complete, count=answer.count)


def solve_file(path: str, **kw: Any) -> SolveResult:
    """:func:`solve_spec` of the spec in ``path`` (see the module docstring's example)."""
    return solve_spec(load_spec(path), **kw)
