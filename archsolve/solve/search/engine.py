"""Exact depth-first search over the unknowns' domains: ``solve``'s first try, before Z3.

Many solve questions are small -- a DCGAN's five strides, a U-Net's up-convs -- and a walk
over the layers in data-flow order, trying each unknown's values with the very rules
``check`` runs (remembered per layer, input shape and values), answers them in about a
millisecond, before Z3 would have its constraints built.  The walk prunes a branch as soon
as a layer is invalid or a constraint on what is known so far fails, and it is exhaustive:

- :attr:`~archsolve.solve.outcome.SolveMode.ALL`: every solution, or the first ``limit``
  and the proof that more exist;
- ``FIRST``: the first solution the walk meets;
- ``OPTIMUM``: branch and bound on the key (objective, unknowns in name order), so the answer
  is the proven optimum with ``solve``'s tie-break.

"No solution" is exact too, but the caller runs Z3 anyway to explain the conflict.  The
search gives up (:func:`search` returns None) when its time budget runs out or the
question is outside its reach -- vars whose domains name each other, a huge domain -- and
the caller hands the question to Z3.  Constraints may name sizes, shapes and counts
(``conv1.params <= 5000``, a block's, the totals): each is checked as soon as the layers it
reads have run.  So may an objective (``head.H``, ``params + 2 * macs``): it is worked out
at each leaf, with no bound on the way, so such an optimum walks every solution.

The parts: :mod:`.plan` (the steps, what each binds and checks), :mod:`.step` (running a
step, remembered), :mod:`.budget` (the clock), :mod:`.walk` (listing, first, counting) and
:mod:`.optimum` (branch and bound).

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> net = build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... constraints: [up.L == 16]
    ... '''))
    >>> search(net, SolveMode.OPTIMUM, objective="sum", limit=1, budget=1.0).solutions
    [{'up.kernel': 2}]
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archsolve.lang.expr import Expr
from archsolve.shapes.graph import Network
from archsolve.solve.outcome import SolveMode
from archsolve.solve.search.budget import Budget, OutOfBudget
from archsolve.solve.search.optimum import Optimum
from archsolve.solve.search.plan import NotApplicable, Plan
from archsolve.solve.search.step import Evaluator
from archsolve.solve.search.walk import Listing


@dataclass(frozen=True, kw_only=True)
class Answer:
    """``solutions``: value dicts (every unknown); ``complete``: every solution was seen
    (``ALL``) or the first is the proven optimum (``OPTIMUM``)."""

    solutions: list[dict[str, int]]
    complete: bool
    count: int | None = None  # ``ALL`` past its limit: every solution, counted (None: not known)
    timed_out: bool = False  # the time ran out (``keep_best``): what was found by then, if any
    why: str = ""  # with ``timed_out``: the time ran out, or the memory budget


def search(net: Network, mode: SolveMode, *, objective: Expr | str, limit: int, budget: float,
           count_budget: float | None = None, keep_best: bool = False, quick: float | None = None,
           domains: Mapping[str, tuple[Any, ...]] | None = None) -> Answer | None:
    """Answer ``mode`` (``ALL`` up to ``limit``, ``OPTIMUM``, or ``FIRST``: any one solution)
    exactly, or None (see the module docstring): out of budget (seconds) or out of reach.
    ``count_budget``: seconds more to count the solutions past ``limit`` (``Answer.count``;
    None: not counted).  ``keep_best``: a walk that runs out of budget answers what it has
    found (an optimum walk its best so far, not proven; a listing its first solutions), with
    ``complete`` False and ``timed_out`` True, instead of None.  ``quick``: a quick try of at
    most this many seconds of CPU time, which also gives up early when its walk looks
    hopeless (:meth:`Budget.hopeless`).  ``domains``: per layer and dimension, the sizes
    from which the constraints can still be met (the size walk's backward pass), which the
    walk prunes by."""
    deadline = time.perf_counter() + budget
    quick_end = None if quick is None else time.process_time() + quick
    try:
        plan = Plan(net, objective, deadline, domains)
        evaluator = Evaluator(plan)
        clock = Budget(deadline=deadline, quick=quick_end, memo=evaluator)
        if mode is SolveMode.OPTIMUM:
            return _optimum(Optimum(plan, evaluator, clock), keep_best)
        return _listing(Listing(plan, evaluator, clock), mode, limit, count_budget, keep_best)
    except NotApplicable:
        return None
    except OutOfBudget as exc:  # while planning: nothing found yet
        return Answer(solutions=[], complete=False, timed_out=True, why=str(exc)) if keep_best else None


def _optimum(walk: Optimum, keep_best: bool) -> Answer | None:
    try:
        walk.walk()
    except OutOfBudget as exc:
        return Answer(solutions=walk.solutions(), complete=False, timed_out=True, why=str(exc)) if keep_best else None
    return Answer(solutions=walk.solutions(), complete=True)


def _listing(walk: Listing, mode: SolveMode, limit: int, count_budget: float | None, keep_best: bool) -> Answer | None:
    """The first solution, or up to ``limit`` (``complete`` when none is left out: one more
    is sought), and with ``count_budget`` the solutions past the limit counted too, if that
    ends in time."""
    count_until = None if count_budget is None else time.perf_counter() + count_budget
    try:
        if mode is SolveMode.FIRST:
            walk.walk(0)
            return Answer(solutions=walk.found[:1], complete=not walk.found)
        if walk.walk(limit) <= limit:
            return Answer(solutions=walk.found, complete=True, count=len(walk.found))
    except OutOfBudget as exc:
        if not keep_best:
            return None
        kept = walk.found[:1 if mode is SolveMode.FIRST else limit]
        return Answer(solutions=kept, complete=False, timed_out=True, why=str(exc))
    count: int | None = None
    if count_until is not None:
        walk.budget.extend(count_until)
        with contextlib.suppress(OutOfBudget):
            count = walk.walk(None)
    return Answer(solutions=walk.found[:limit], complete=False, count=count)
