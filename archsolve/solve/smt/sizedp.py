"""Counting and listing solutions by dynamic programming over sizes (no Z3).

When every unknown belongs to one layer's table and the input size is known, a network's
sizes follow from the effect each layer chooses, in data-flow order.  Walking the layers
with the sizes still needed downstream as the state, and remembering how many solutions
each state leads to, counts every solution without listing it (the free DCGAN has tens of
millions) and lists the first ``limit`` without ever entering a dead end -- much faster
than one solver call per solution.

Example::

    >>> dp = SizeDP.build(system, constraints)      # doctest: +SKIP
    >>> dp.count(), next(dp.paths())                # doctest: +SKIP
    (3520, (0, 5, 5, 5, 5))
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from archsolve.errors import ExprError, SolverTimeout
from archsolve.lang.expr import Bin, Expr, Name
from archsolve.solve.smt.system import System, Table

MAX_STATES = 20_000


class TooManyStates(Exception):
    """The sizes do not collapse into few states (many skips alive at once): use the solver."""


@dataclass
class _Item:
    kind: str  # "check", "define", "table"
    expr: Expr | None = None
    var: str | None = None
    table: Table | None = None


class SizeDP:
    """See the module docstring.  ``paths()`` yields one effect index per table."""

    deadline: float | None = None  # time.monotonic(): SolverTimeout past it

    def __init__(self, items: list[_Item], tables: list[Table]):
        self.items = items
        self.tables = tables
        self.memo: dict[Any, int] = {}
        # the names each position still needs: the state remembered at that position
        live: set[str] = set()
        self.live: list[tuple[str, ...]] = [()] * (len(items) + 1)
        for i in range(len(items) - 1, -1, -1):
            it = items[i]
            if it.kind == "table":
                assert it.table is not None
                for term in it.table.env.values():
                    live |= term.names()
            else:
                assert it.expr is not None
                live |= it.expr.names()
                if it.var is not None:
                    live.discard(it.var)
            self.live[i] = tuple(sorted(live))
        self.table_index = {id(t): k for k, t in enumerate(tables)}

    @staticmethod
    def build(system: System, constraints: Sequence[Expr]) -> SizeDP | None:
        """The DP for a system, or None when it does not apply (unknowns shared between
        layers, unknown input sizes or channels: those need the solver)."""
        if system.system_unknowns:
            return None
        defined: set[str] = set()
        items: list[_Item] = []
        for kind, k in system.order:
            if kind == "table":
                table = system.tables[k]
                if any(not term.names() <= defined for term in table.env.values()):
                    return None
                items.append(_Item("table", table=table))
                defined |= {table.selector, *table.effects[0].outputs}
                continue
            e = system.facts[k].expr
            if (isinstance(e, Bin) and e.op == "==" and isinstance(e.left, Name)
                    and e.left.name not in defined and e.right.names() <= defined):
                items.append(_Item("define", e.right, e.left.name))
                defined.add(e.left.name)
            elif e.names() <= defined:
                items.append(_Item("check", e))
            else:
                return None
        pending = list(constraints)
        # a constraint goes right after the item that defines the last name it needs
        placed: list[_Item] = []
        known: set[str] = set()
        for it in items:
            placed.append(it)
            if it.kind == "define" and it.var:
                known.add(it.var)
            if it.kind == "table" and it.table:
                known |= set(it.table.effects[0].outputs)
            for c in list(pending):
                if c.names() <= known:
                    placed.append(_Item("check", c))
                    pending.remove(c)
        if pending:
            return None
        return SizeDP(placed, [it.table for it in placed if it.kind == "table" and it.table])

    # -- walking ------------------------------------------------------------------------------------
    def _advance(self, i: int, env: dict[str, int]) -> tuple[int, dict[str, int]] | None:
        """Run the items without a choice from ``i``; stop at a table, the end, or a failure."""
        items = self.items
        while i < len(items) and items[i].kind != "table":
            it = items[i]
            assert it.expr is not None
            try:
                value = it.expr.evaluate(env)
            except ExprError:  # a division by zero for these sizes: not a solution
                return None
            if it.kind == "define":
                assert it.var is not None
                env = {**env, it.var: value}
            elif not value:
                return None
            i += 1
        return i, env

    def _options(self, table: Table, env: dict[str, int]) -> Iterator[tuple[int, dict[str, int]]]:
        inputs = {p: term.evaluate(env) for p, term in table.env.items()}
        for k, eff in enumerate(table.effects):
            if not all(c.evaluate(inputs) for c in eff.conditions):
                continue
            out = {name: e.evaluate(inputs) for name, e in eff.outputs.items()}
            yield k, {**env, **out}

    def count(self, i: int = 0, env: dict[str, int] | None = None) -> int:
        """How many solutions (combinations expanded) start from this state."""
        step = self._advance(i, env or {})
        if step is None:
            return 0
        i, env = step
        if i == len(self.items):
            return 1
        key = (i, tuple(env.get(n) for n in self.live[i]))
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        table = self.items[i].table
        assert table is not None
        if len(self.memo) >= MAX_STATES:
            raise TooManyStates
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SolverTimeout("the time ran out while counting solutions")
        total = 0
        for k, nxt in self._options(table, env):
            total += len(table.effects[k].combos) * self.count(i + 1, nxt)
        self.memo[key] = total
        return total

    def paths(self, i: int = 0, env: dict[str, int] | None = None) -> Iterator[tuple[int, ...]]:
        """Every choice of effects (one per table, in ``self.tables`` order) that leads to a solution."""
        step = self._advance(i, env or {})
        if step is None:
            return
        i, env = step
        if i == len(self.items):
            yield ()
            return
        table = self.items[i].table
        assert table is not None
        for k, nxt in self._options(table, env):
            if self.count(i + 1, nxt):
                for rest in self.paths(i + 1, nxt):
                    yield (k, *rest)


def deep_enough(levels: int) -> None:
    """Room for a walk that recurses once per level (a table here, a layer in the search)."""
    need = 4 * levels + 1000
    if sys.getrecursionlimit() < need:
        sys.setrecursionlimit(need)
