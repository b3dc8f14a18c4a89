"""The optimum walk: branch and bound on the key (objective, unknowns in name order).

The walk is the listing's (:mod:`~archsolve.solve.search.walk`), with two changes.  A
step's combinations are grouped by what they give the rest of the walk -- the output and
the values later steps read -- and only the cheapest of a group is followed: a layer's own
unknowns, those nothing later reads, fold away (U-Net up-convs with 264 combinations each
collapse to a handful).  And a branch is cut as soon as its bound passes the best found:
the sum of the values bound and the smallest of the rest for the default objective, the
count so far for ``params`` and ``macs`` (no count is negative), an interval of an
expression over the unknowns.  An objective naming sizes or counts is worked out at each
leaf, with no bound on the way.  The answer is the proven optimum, ties broken as
``solve`` breaks them.

Example::

    >>> import time
    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.solve.search.budget import Budget
    >>> from archsolve.solve.search.plan import Plan
    >>> from archsolve.solve.search.step import Evaluator
    >>> plan = Plan(build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: "?"}]
    ... constraints: [up.L == 16]
    ... ''')), "sum")
    >>> evaluator = Evaluator(plan)
    >>> optimum = Optimum(plan, evaluator, Budget(deadline=time.perf_counter() + 1.0, memo=evaluator.memo))
    >>> optimum.walk()
    >>> optimum.solutions()
    [{'up.kernel': 2, 'up.stride': 2}]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archsolve.errors import ExprError
from archsolve.lang.expr import interval
from archsolve.ops.base import Shape
from archsolve.solve.search.budget import Budget, share
from archsolve.solve.search.plan import NotApplicable, Plan
from archsolve.solve.search.step import Evaluator

RANK_CHUNK = 4096  # combinations ranked between two looks at the budget


@dataclass
class _Stream:
    """A step's groups for one input, made lazily from its combinations in rank order: the
    first combination to reach an (output, values later steps read) pair represents it."""

    order: list[tuple[Any, tuple[int, ...]]]
    pos: int = 0
    groups: list[tuple[Shape, dict[str, int], int]] = field(default_factory=list)
    seen: set[Any] = field(default_factory=set)


class Optimum:
    """The branch-and-bound walk over the plan; ``best``: the best leaf so far, (key, values),
    kept when the budget runs out."""

    def __init__(self, plan: Plan, evaluator: Evaluator, budget: Budget) -> None:
        self.plan = plan
        self.evaluator = evaluator
        self.budget = budget
        self.best: tuple[tuple[int, tuple[int, ...]], dict[str, int]] | None = None
        # per step: where its own unknowns sit in a combination (in name order), and where the rest
        self.own_at: list[list[int]] = []
        self.kept_at: list[list[int]] = []
        for st, own in zip(plan.steps, plan.own_unknowns(), strict=True):
            self.own_at.append([st.new.index(u) for u in sorted(own)])
            self.kept_at.append([j for j, u in enumerate(st.new) if u not in own])

    def solutions(self) -> list[dict[str, int]]:
        """The best solution found, if any."""
        return [self.best[1]] if self.best is not None else []

    def record(self, env: dict[str, int], shapes: list[Shape | None], count: int) -> None:
        """A leaf, every check passed: kept if its key is the best yet.  ``count``: the count
        so far, for the ``params`` and ``macs`` objectives."""
        plan = self.plan
        if plan.kind is not None:
            obj = count
        elif plan.objective is None:
            obj = sum(env[u] for u in plan.unknowns)
        elif plan.goal is not None:
            try:
                got = self.evaluator.evaluate(plan.goal, env, shapes)
            except ExprError:
                raise NotApplicable(f"the objective {plan.objective} divides by zero") from None
            if got is None:
                raise NotApplicable(f"the objective {plan.objective} names an axis the network lacks")
            obj = got
        else:
            obj = plan.objective.evaluate(env)
        key = (obj, tuple(env[u] for u in plan.order))
        if self.best is None or key < self.best[0]:
            self.best = (key, {u: env[u] for u in plan.unknowns})

    # -- a step's groups -----------------------------------------------------------------------------
    def stream(self, i: int, env: dict[str, int], shapes: list[Shape | None]) -> _Stream:
        """The step's choices with its own unknowns folded (see :class:`_Stream`), for the
        current inputs and earlier values; made as far as a walk has asked, and kept."""
        st = self.plan.steps[i]
        memo = self.evaluator.memo
        before = tuple([env[n] for n in st.before])
        inputs = tuple([shapes[j] for j in st.sources])
        key = ("stream", i, inputs, before)
        got = memo.get(key)
        if got is None:
            # a count depends on the input too (MACs: on its size): rank per input then
            okey = ("order", i, inputs if self.plan.kind else (), before)
            order = memo.get(okey)
            if order is None:
                order = memo[okey] = self.ranked(i, env, shapes)
            got = memo[key] = _Stream(order)
        return got  # type: ignore[no-any-return]

    def ranked(self, i: int, env: dict[str, int], shapes: list[Shape | None]) -> list[tuple[Any, tuple[int, ...]]]:
        """Every combination with its rank: (its weight -- the sum of the new values for the
        default objective, the layer's count for params or macs, else 0 -- then its own
        values in name order), cheapest first.  Ranking by a count runs every combination."""
        st = self.plan.steps[i]
        evaluator = self.evaluator
        own_at = self.own_at[i]
        combos = iter(evaluator.combos(st, env) if st.new or st.ties else [()])
        ranked: list[tuple[Any, tuple[int, ...]]] = []
        if self.plan.kind is None:
            weigh = self.plan.objective is None
            # a layer may have a million: ranked a chunk at a time, the clock and the memory
            # looked at after each (the combinations made and ranked, not counted yet)
            while chunk := list(itertools.islice(combos, RANK_CHUNK)):
                ranked += [((sum(c) if weigh else 0, tuple(c[j] for j in own_at)), c) for c in chunk]
                self.budget.check(holding=2 * len(ranked))
        else:
            for c in combos:
                self.budget.tick()
                evaluator.bind(st, env, c)
                out = evaluator.run(i, env, shapes)
                if out is not None:
                    ranked.append(((evaluator.count(i, env, shapes, out), tuple(c[j] for j in own_at)), c))
                evaluator.unbind(st, env)
        ranked.sort(key=lambda rc: rc[0])
        evaluator.held += len(ranked)
        return ranked

    def group(self, i: int, stream: _Stream, k: int, env: dict[str, int], shapes: list[Shape | None]
              ) -> tuple[Shape, dict[str, int], int] | None:
        """The stream's ``k``-th group: (output, values of the new unknowns, their weight: the
        sum of the values, or the step's count for params or macs)."""
        st = self.plan.steps[i]
        evaluator = self.evaluator
        kept_at = self.kept_at[i]
        while len(stream.groups) <= k and stream.pos < len(stream.order):
            rank, combo = stream.order[stream.pos]
            stream.pos += 1
            self.budget.tick()
            evaluator.bind(st, env, combo)
            out = evaluator.run(i, env, shapes)
            if out is not None:
                g = (out, tuple(combo[j] for j in kept_at))
                if g not in stream.seen:  # the first of a group is its cheapest
                    stream.seen.add(g)
                    weight = sum(combo) if self.plan.kind is None else rank[0]
                    stream.groups.append((out, {u: env[u] for u in (*st.new, *st.ties)}, weight))
            evaluator.unbind(st, env)
        return stream.groups[k] if k < len(stream.groups) else None

    # -- the bound -----------------------------------------------------------------------------------
    def cost(self, env: Mapping[str, int]) -> int | None:
        """A lower bound of an expression objective over completions of ``env`` (None: none
        known); the default sum is bounded incrementally by the walk itself."""
        plan = self.plan
        assert plan.objective is not None
        if plan.goal is not None:
            return None  # sizes and counts are known only at the leaves: no bound on the way
        lo_hi = interval(plan.objective, {u: ((env[u], env[u]) if u in env else (plan.lows[u], plan.highs[u]))
                                          for u in plan.objective.names()})
        return None if lo_hi is None else lo_hi[0]

    def lex_below(self, env: Mapping[str, int], target: tuple[int, ...]) -> bool:
        """Whether some completion of ``env`` may come before ``target`` in name order."""
        lows = self.plan.lows
        for u, b in zip(self.plan.order, target, strict=True):
            a = env.get(u)
            if a is None:
                a = lows[u]
            if a != b:
                return a < b
        return False

    # -- the walk ------------------------------------------------------------------------------------
    def walk(self) -> None:
        """Walk to the optimum (``best``); the listing's walk, groups for combinations."""
        plan = self.plan
        steps = plan.steps
        n = len(steps)
        env: dict[str, int] = {}
        shapes: list[Shape | None] = [None] * n
        ordered = plan.objective is None  # groups come cheapest first: stop at the bound
        counting = plan.kind is not None  # params or macs: the bound is the count so far (counts are >= 0)
        holds, tick = self.evaluator.holds, self.budget.tick
        live = plan.live
        dead: set[Any] = set()
        tally = [0, 0]  # feasible leaves reached, branches cut by the bound
        lows = plan.lows
        lows_total = 0 if counting else sum(lows.values())
        new_lows = [0 if counting else sum(lows[u] for u in st.new) for st in steps]
        streams: list[_Stream | None] = [None] * n  # per open step (see the listing's stack)
        nexts = [0] * n  # the next group to try
        deltas = [0] * (n + 1)  # before a step: how far the values bound lie above their minimums (or the count so far)
        bound: list[dict[str, int] | None] = [None] * n  # the group a step has bound in ``env``
        states: list[Any] = [None] * n
        seen: list[tuple[int, int]] = [(0, 0)] * n  # the tally when a step was entered
        self.budget.start(lambda: None if self.best is not None else share(
            [stream.pos if stream else 0 for stream in streams], [len(stream.order) if stream else 0 for stream in streams]))

        i = 0
        while True:
            # enter step i
            if i == n:
                tally[0] += 1
                self.record(env, shapes, deltas[n])
                i -= 1
            else:
                st = steps[i]
                state = None
                if st.new:  # a state seen before that had no feasible completion and no cut: skip
                    live_steps, live_names = live[i]
                    state = (i, tuple([shapes[j] for j in live_steps]), tuple([env[u] for u in live_names]))
                if state is not None and state in dead:
                    i -= 1
                else:
                    states[i] = state
                    seen[i] = (tally[0], tally[1])
                    streams[i] = self.stream(i, env, shapes)
                    nexts[i] = 0
            # the deepest open step's next group, or back up
            while i >= 0:
                assign = bound[i]
                if assign is not None:
                    for u in assign:
                        del env[u]
                    bound[i] = None
                st = steps[i]
                stream = streams[i]
                assert stream is not None
                descend = False
                while True:
                    # every group counts, not only those made now: a walk over groups already
                    # made must still see its deadline
                    tick()
                    g = self.group(i, stream, nexts[i], env, shapes)
                    if g is None:
                        break
                    nexts[i] += 1
                    out, assign, total = g
                    env.update(assign)
                    go = True
                    here = deltas[i] + total - new_lows[i]
                    best = self.best
                    if best is not None:
                        lb = lows_total + here if ordered else self.cost(env)
                        if lb is not None and lb > best[0][0]:
                            go = False
                            tally[1] += 1
                            if ordered:  # every later group costs at least as much
                                for u in assign:
                                    del env[u]
                                break
                        elif lb is not None and lb == best[0][0]:
                            go = self.lex_below(env, best[0][1])
                            tally[1] += not go
                    if go:
                        shapes[i] = out
                        if holds(st, env, shapes):
                            bound[i] = assign
                            deltas[i + 1] = here
                            descend = True
                            break
                    for u in assign:
                        del env[u]
                if descend:
                    i += 1
                    break
                streams[i] = None
                if states[i] is not None and (tally[0], tally[1]) == seen[i]:
                    dead.add(states[i])
                    self.evaluator.held += 1
                i -= 1
            if i < 0:
                break
