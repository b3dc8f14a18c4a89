"""The listing walk: every solution, up to a limit, or the first one, or how many there are.

The walk goes over the plan's steps in order, trying each step's combinations and backing
up where a step is invalid or a check fails.  Each state (the step, and everything the rest
of the walk depends on: :attr:`Plan.live`) remembers how many solutions lie below it: a
listing skips a state known to have none -- different earlier choices often reach the same
sizes (stride 1 and padding 0, or 3 and 3) -- and a count adds up a known state's solutions
without walking it again.

The walk keeps its own stack instead of recursing: CPython 3.11 frees and re-allocates a
chunk of its frame stack whenever calls cross a chunk's end, and a recursion one level per
layer put a 47-step U-Net's shape rules right there (each call 30x slower).  An explicit
stack keeps every rule call at the same shallow depth.

Example::

    >>> import time
    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.solve.search.budget import Budget
    >>> from archsolve.solve.search.plan import Plan
    >>> from archsolve.solve.search.step import Evaluator
    >>> plan = Plan(build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... constraints: [up.L <= 18]
    ... ''')), "sum")
    >>> evaluator = Evaluator(plan)
    >>> listing = Listing(plan, evaluator, Budget(deadline=time.perf_counter() + 1.0, memo=evaluator.memo))
    >>> listing.walk(2), listing.found  # one past the limit: more than 2 solutions
    (3, [{'up.kernel': 1}, {'up.kernel': 2}, {'up.kernel': 3}])
    >>> listing.walk(None)  # all of them, counted
    4
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from archsolve.ops.base import Shape
from archsolve.solve.search.budget import Budget, share
from archsolve.solve.search.plan import Plan
from archsolve.solve.search.step import Evaluator

# a first solution's walk remembers layer results only past this many nodes: a short walk
# never meets a binding twice (measured on the benchmark's nets), a long one may
FRESH_NODES = 4096


class Listing:
    """Walks every solution of the plan; ``found``: those listed so far."""

    def __init__(self, plan: Plan, evaluator: Evaluator, budget: Budget) -> None:
        self.plan = plan
        self.evaluator = evaluator
        self.budget = budget
        self.found: list[dict[str, int]] = []

    def record(self, env: dict[str, int]) -> None:
        """A solution: every unknown's value."""
        self.found.append({u: env[u] for u in self.plan.unknowns})

    def walk(self, limit: int | None) -> int:
        """Walk every solution: list them in ``found`` until one past ``limit``, and return
        how many were seen; or, with ``limit`` None, count them all."""
        plan, evaluator = self.plan, self.evaluator
        steps = plan.steps
        n = len(steps)
        env: dict[str, int] = {}
        shapes: list[Shape | None] = [None] * n
        run, holds, tick, value = evaluator.run, evaluator.holds, self.budget.tick, evaluator.value
        tied = plan.tied
        live = plan.live
        listing = limit is not None
        below: dict[Any, int] = {}
        fixed = [not st.new and not st.ties for st in steps]
        pending: list[Iterator[tuple[int, ...]] | None] = [None] * n  # each open step's combinations
        states: list[Any] = [None] * n
        seen = [0] * n  # solutions seen before a step was entered
        total = 0
        drawn = [0] * n  # per open step: the combinations tried, and how many it has (at most)
        widths = [0] * n
        self.budget.start(lambda: None if listing and self.found else share(drawn, widths))
        lean = listing and not limit  # a first solution: no memo until the walk runs long
        go = evaluator.fresh if lean else run

        i = 0
        while True:
            # enter step i (everything before it bound and valid)
            if i == n:
                total += 1
                if listing:
                    self.record(env)
                    if total > limit:  # type: ignore[operator]
                        return total
                i -= 1
            elif fixed[i]:
                tick()
                st = steps[i]
                out = go(i, env, shapes)
                if out is not None:
                    shapes[i] = out
                    if not st.checks or holds(st, env, shapes):
                        i += 1
                        continue
                i -= 1
            else:
                live_steps, live_names = live[i]
                state = (i, tuple([shapes[j] for j in live_steps]), tuple([env[u] for u in live_names]))
                known = below.get(state)
                if known is None or (listing and known):
                    if lean and self.budget.nodes > FRESH_NODES:
                        go, lean = run, False
                    states[i] = state
                    seen[i] = total
                    pending[i] = iter(evaluator.combos(steps[i], env))
                    drawn[i], widths[i] = 0, steps[i].width
                else:
                    total += known
                    i -= 1
            # go on with the deepest open step's next combination, or back up
            while i >= 0:
                if fixed[i]:
                    i -= 1
                    continue
                st = steps[i]
                it = pending[i]
                assert it is not None
                new, ties = st.new, st.ties
                for combo in it:
                    tick()
                    drawn[i] += 1
                    env.update(zip(new, combo, strict=True))
                    for t in ties:
                        env[t] = value(tied[t], env, f"vars.{t}")
                    out = go(i, env, shapes)
                    if out is None:
                        continue
                    shapes[i] = out
                    if not st.checks or holds(st, env, shapes):
                        break
                else:
                    evaluator.unbind(st, env)
                    pending[i] = None
                    widths[i] = 0
                    below[states[i]] = total - seen[i]
                    evaluator.held += 1  # a state, remembered: the budget bounds these too
                    i -= 1
                    continue
                i += 1
                break
            if i < 0:
                return total
