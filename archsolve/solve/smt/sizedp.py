"""Solve questions answered by dynamic programming over sizes (no Z3): the optimum, any one
solution, none, how many, and every one.

When every unknown belongs to one layer's table (its own kernel, stride, padding, ...) and
the input size is known, a network's sizes follow from the effect each table chooses, in
data-flow order (:mod:`.system` groups a layer's combinations into effects).  The state at a
table is the sizes still needed downstream: one size on a chain, the size and the skips
still to be merged on a U-Net.  So a chain's optimum of a separable objective (the sum of
the unknowns, the parameters) is a shortest path over (table, size) states, a first
solution is any path, "unsatisfiable" is the proof that no path exists, and the count is
the number of paths, each effect weighted by its combinations.  A walk remembers each
state's answer, so its cost grows with the number of states, not of combinations.

Two passes keep the states few.  Backward, from the constraints to the input, each size
gets a *domain*: the values from which the constraints can still be met.  An effect's
output is ``(a * x + b) // s + e`` of its input ``x`` (non-decreasing), so the values of
``x`` that give one output form a range, and a size's domain is the union of those ranges
over every effect of the table that reads it.  Forward, the walk enters only states inside
the domains: a chain of deconvs from a 1-pixel bottleneck can reach over a hundred thousand
sizes six layers up, of which the few hundred in the domain of the output size remain.

The optimum's tie-break is ``solve``'s: among the optimal solutions, the smallest values in
name order, and first those without holes in the layers the answer decides.  The walk keeps
the *tight* edges (those on some optimal path) and settles the unknowns one by one in name
order over them (:meth:`SizeDP.optimum`).

Example::

    >>> dp = SizeDP.build(system, constraints)      # doctest: +SKIP
    >>> dp.count(), next(dp.paths())                # doctest: +SKIP
    (3520, (0, 5, 5, 5, 5))
"""

from __future__ import annotations

import bisect
import itertools
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from archsolve.errors import ExprError, SolverTimeout, interrupted
from archsolve.lang.expr import ARITH, Bin, Call, Expr, Name, Num, fold
from archsolve.lang.linear import affine_floor
from archsolve.solve.smt.system import PLACEHOLDER, Effect, System, Table, constraint_exprs
from archsolve.spec.model import Domain

MAX_STATES = 200_000  # states a walk remembers (about 100 MB) before it hands the question back
MOVES_PER_STATE = 8  # the moves a kept graph holds count as a state per this many (memory alike)
MAX_RUNS = 100_000  # a size whose domain would take more runs is left without one (no pruning)
_MISSING = object()
_DEAD = object()  # a state that fails a check: no state at all
_SIZE = "§size"  # the one name a test of one size is written over (no spec name has §)


class TooManyStates(Exception):
    """The sizes do not collapse into few states (many skips alive at once): use another engine."""


@dataclass
class _Item:
    kind: str  # "check", "define", "table"
    expr: Expr | None = None
    var: str | None = None
    table: Table | None = None


@dataclass(frozen=True)
class _Form:
    """``(a * x + b) // s + e`` of one size ``x``, with ``a`` and ``s`` positive: non-decreasing,
    so the ``x`` that give one value form a range."""

    a: int
    b: int
    s: int
    e: int

    def at(self, x: int) -> int:
        return (self.a * x + self.b) // self.s + self.e

    def preimage(self, lo: int, hi: int) -> tuple[int, int]:
        """The ``x`` with ``lo <= at(x) <= hi``, as a run (empty when its first end passes its
        last): the form is non-decreasing, so they are one run.

            >>> _Form(1, 0, 2, 1).preimage(4, 4)  # x // 2 + 1 == 4
            (6, 7)
        """
        # at(x) >= lo  <=>  a*x + b >= s*(lo - e);  at(x) <= hi  <=>  a*x + b <= s*(hi - e) + s - 1
        return -((self.b - self.s * (lo - self.e)) // self.a), (self.s * (hi - self.e) + self.s - 1 - self.b) // self.a


@dataclass(frozen=True)
class Sizes:
    """A set of sizes as sorted, disjoint runs: a backward domain, which may span millions of
    sizes in a few runs.

        >>> d = Sizes.of([(5, 9), (1, 2), (3, 3)])
        >>> d.runs(), 4 in d, 4 in Sizes.of([(1, 3)]) & Sizes.of([(4, 8)])
        ([(1, 3), (5, 9)], False, False)
    """

    los: tuple[int, ...]
    his: tuple[int, ...]

    @staticmethod
    def of(runs: Iterable[tuple[int, int]]) -> Sizes:
        los: list[int] = []
        his: list[int] = []
        # past _BIG is past any size: runs end there (a preimage of an open run would not)
        for lo, hi in sorted((max(a, -_BIG), min(b, _BIG)) for a, b in runs if a <= b):
            if his and lo <= his[-1] + 1:
                his[-1] = max(his[-1], hi)
            else:
                los.append(lo)
                his.append(hi)
        return Sizes(tuple(los), tuple(his))

    def __contains__(self, y: object) -> bool:
        j = bisect.bisect_right(self.los, y) - 1  # type: ignore[call-overload]
        return j >= 0 and y <= self.his[j]  # type: ignore[operator]

    def __and__(self, other: Sizes) -> Sizes:
        out: list[tuple[int, int]] = []
        a, b = self.runs(), other.runs()
        i = j = 0
        while i < len(a) and j < len(b):
            lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
            if lo <= hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return Sizes.of(out)

    def runs(self) -> list[tuple[int, int]]:
        return list(zip(self.los, self.his, strict=True))

    def text(self) -> str:
        """In words, for a message.

            >>> Sizes.of([(3, 3), (5, 9)]).text(), Sizes.of([(4, 4)]).text(), Sizes.of([(61, _BIG)]).text()
            ('in {3, 5..9}', '= 4', 'in {61..}')
        """
        runs = (self & Sizes((1,), (_BIG,))).runs()  # a size is positive: the rest is no size at all
        if len(runs) == 1 and runs[0][0] == runs[0][1]:
            return f"= {runs[0][0]}"
        return "in {" + ", ".join(str(lo) if lo == hi else f"{lo}.." if hi >= _BIG // 2 else f"{lo}..{hi}"
                                  for lo, hi in runs[:8]) + (", ..." if len(runs) > 8 else "") + "}"

    def members(self) -> frozenset[int] | Sizes:
        """A membership test: the sizes themselves where they are few, else the runs."""
        if len(self.los) == 1:
            return range(self.los[0], self.his[0] + 1)  # type: ignore[return-value]
        if sum(hi - lo + 1 for lo, hi in self.runs()) <= 1 << 16:
            return frozenset(y for lo, hi in self.runs() for y in range(lo, hi + 1))
        return self


def _form(e: Expr, x: str) -> _Form | None:
    """``e`` as a :class:`_Form` of ``x``, or None."""
    got = affine_floor(e)
    if got is None or got[4] != x or got[0] <= 0 or got[2] <= 0:
        return None
    return _Form(*got[:4])


@dataclass(frozen=True)
class _Choice:
    """One effect of a table, ready for the walk: where every input is one size ``x``, the range
    of ``x`` its conditions allow and its outputs as forms; else its expressions as they are
    (over ``x`` alone, when ``x`` is set: a pool's ``(x - k) % s == 0`` under ``exact``)."""

    index: int
    lo: int | None = None
    hi: int | None = None
    forms: tuple[_Form | int, ...] = ()
    conditions: tuple[Expr, ...] = ()
    outputs: tuple[Expr, ...] = ()
    x: str | None = None
    # a table read by several sizes (H and W apart): per condition the size it bounds
    # (its index, lo, hi), and per output the size it is a form of (its index, form)
    bounds: tuple[tuple[int, int | None, int | None], ...] | None = None
    tests: tuple[tuple[int, Callable[[int], int]], ...] = ()  # conditions of one size each, not plain bounds
    by_size: tuple[tuple[int, _Form | int], ...] = ()
    # one size in, one out by a form (the usual case, which the walk inlines): the least and
    # most input size, the tests of it, and the form's (a, b, s, e)
    one: tuple[int, int, Callable[[int], int] | None, int, int, int, int] | None = field(init=False, default=None)
    # a choice read by several sizes that treats each alike (a square layer's H and W): the
    # same choice over the first size alone, asked when every size is the same
    alone: _Choice | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # frozen: these are set once, as it is made
        if self.x is None and len(self.forms) == 1 and isinstance(self.forms[0], _Form):
            f = self.forms[0]
            object.__setattr__(self, "one", (-_BIG if self.lo is None else self.lo, _BIG if self.hi is None else self.hi,
                                             None, f.a, f.b, f.s, f.e))
        elif (self.bounds is not None and len(self.by_size) == 1 and isinstance(self.by_size[0][1], _Form)
              and not any(j for j, _, _ in self.bounds) and not any(j for j, _ in self.tests)):
            f = self.by_size[0][1]
            object.__setattr__(self, "one", (max([-_BIG, *(lo for _, lo, _ in self.bounds if lo is not None)]),
                                             min([_BIG, *(hi for _, _, hi in self.bounds if hi is not None)]),
                                             _all_of([t for _, t in self.tests]), f.a, f.b, f.s, f.e))
        if self.bounds is not None and self.by_size:
            sizes = {j for j, _ in self.by_size} | {j for j, _, _ in self.bounds} | {j for j, _ in self.tests}
            if len(sizes) > 1 and len({(frozenset((lo, hi) for k, lo, hi in self.bounds if k == j),
                                        frozenset(id(t) for k, t in self.tests if k == j),
                                        tuple(f for k, f in self.by_size if k == j)) for j in sizes}) == 1:
                first = min(sizes)
                object.__setattr__(self, "alone", _Choice(
                    self.index, bounds=tuple((0, lo, hi) for j, lo, hi in self.bounds if j == first),
                    tests=tuple((0, t) for j, t in self.tests if j == first),
                    by_size=tuple((0, f) for _, f in self.by_size)))

    def gives_each(self, vs: tuple[int, ...]) -> tuple[int, ...] | None:
        """:meth:`gives` for a choice with ``bounds``: from the sizes ``vs`` it reads."""
        assert self.bounds is not None
        for j, lo, hi in self.bounds:
            if (lo is not None and vs[j] < lo) or (hi is not None and vs[j] > hi):
                return None
        for j, test in self.tests:
            if not test(vs[j]):
                return None
        return tuple([f if isinstance(f, int) else f.at(vs[j]) for j, f in self.by_size])

    def gives(self, v: int) -> tuple[int, ...] | None:
        """The sizes it gives from input size ``v`` (a table read by one size), None where its
        conditions fail."""
        if self.bounds is not None:  # conditions of v alone: bounds and tests
            return self.gives_each((v,))
        if self.x is not None:
            env = {self.x: v}
            try:
                if not all(c.evaluate(env) for c in self.conditions):
                    return None
                return tuple([e.evaluate(env) for e in self.outputs])
            except ExprError:  # a division by zero for this size
                return None
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            return None
        return tuple([f if isinstance(f, int) else f.at(v) for f in self.forms])


@dataclass
class _State:
    """A state of the walk: its table item, the sizes it still needs, and its moves: (the next
    state's key, or None at the end; the effects that lead there)."""

    item: int
    env: dict[str, int]
    moves: list[tuple[Any, list[int]]] = field(default_factory=list)


@dataclass(slots=True)
class _Node:
    """A state of the tight graph: the optimum walk's own (see :meth:`SizeDP.optimum`)."""

    item: int
    env: dict[str, int]
    edges: list[_Edge] = field(default_factory=list)


@dataclass(slots=True)
class _Edge:
    """A tight edge: effect ``effect`` of the node's table, and the combinations that keep it
    optimal (narrowed as the tie-break settles unknowns); ``to``: None at the end."""

    effect: int
    to: Any
    combos: list[dict[str, int]]


class SizeDP:
    """See the module docstring.  ``paths()`` yields one effect index per table; the walks
    raise :class:`TooManyStates` past :data:`MAX_STATES`, and SolverTimeout past
    ``deadline`` (``time.monotonic()``)."""

    def __init__(self, items: list[_Item], tables: list[Table], domains: dict[str, Sizes],
                 deadline: float | None = None) -> None:
        self.items = items
        self.tables = tables
        self.deadline = deadline
        self.domains = domains
        # the names each position still needs: the state remembered at that position
        live: set[str] = set()
        self.live: list[tuple[str, ...]] = [()] * (len(items) + 1)
        # a var's value stays in the state once chosen: a layer's rule may read it (its channels),
        # and a path has one value of it, so it multiplies no states
        chosen = [(i, it.table.local) for i, it in enumerate(items)
                  if it.table is not None and it.table.selector.startswith(VAR_MARK)]
        for i in range(len(items) - 1, -1, -1):
            it = items[i]
            for j, names in chosen:
                if i > j:
                    live.update(names)
            if it.kind == "table":
                assert it.table is not None
                live.difference_update(it.table.effects[0].outputs)
                for term in it.table.env.values():
                    live |= term.names()
            else:
                assert it.expr is not None
                live |= it.expr.names()
                if it.var is not None:
                    live.discard(it.var)
            self.live[i] = tuple(sorted(live))
        # per item that is no table: its expression as a function of the sizes (run for every
        # move the walk makes, so not walked as an expression each time)
        self.runs = {i: _closure(it.expr, itemgetter) if _closed(it.expr) else it.expr.evaluate
                     for i, it in enumerate(items) if it.expr is not None}
        # per table item: the sizes it gives, in the order its choices give them
        self.out_names = {i: tuple(it.table.effects[0].outputs) for i, it in enumerate(items) if it.table is not None}
        interned: dict[Any, tuple[_Choice, ...]] = {}  # alike layers share their choices, and what they give
        tests: dict[Expr, Callable[[int], int]] = {}  # and their tests of one size
        self.choices: dict[int, tuple[tuple[_Choice, ...], str | None]] = {}
        # per table item: the placeholders of the sizes it reads (not numbers)
        self.sized = {i: [p for p, t in it.table.env.items() if not isinstance(t, Num)]
                      for i, it in enumerate(items) if it.table is not None}
        # alike layers share their effects' expressions (build_system's cache): a table is
        # compiled once per such shape and the numbers it reads (the channels seldom matter)
        shaped: dict[Any, tuple[tuple[_Choice, ...], str | None]] = {}
        reads: dict[Any, frozenset[str]] = {}
        for i, names in self.out_names.items():
            table = items[i].table
            assert table is not None
            shape = (tuple(p for p, t in table.env.items() if not isinstance(t, Num)),
                     tuple((tuple(map(id, eff.conditions)), tuple(id(eff.outputs[n]) for n in names))
                           for eff in table.effects))
            read = reads.get(shape)
            if read is None:
                read = reads[shape] = frozenset().union(
                    *(e.names() for eff in table.effects for e in (*eff.conditions, *eff.outputs.values())))
            key = (shape, tuple(sorted((p, t.value) for p, t in table.env.items() if isinstance(t, Num) and p in read)))
            got = shaped.get(key)
            if got is None:
                compiled, x = _compile(table, names, tests)
                got = shaped[key] = (interned.setdefault((compiled, x), compiled), x)
            self.choices[i] = got
        # per table item: a membership test for each size it gives (None: no domain); a set
        # where the domain is small, as most are, for speed
        self.tests = {i: [None if n not in domains else domains[n].members() for n in names]
                      for i, names in self.out_names.items()}
        # per table item: where the sizes after it come from, an output (its index) or the
        # sizes before (a name)
        self.carry = {i: tuple(names.index(n) if n in names else n for n in self.live[i + 1])
                      for i, names in self.out_names.items()}
        self._after: dict[Any, Any] = {}  # what the items between two tables give, by what they read
        # per item after a table that is no table: the names the items up to the next table read
        # (that none of them defines), and where the next table (or the end) is
        self.segments: dict[int, tuple[tuple[str, ...], int]] = {}
        for i in self.out_names:
            j, reads, made = i + 1, set(), set()
            while j < len(items) and items[j].kind != "table":
                reads |= items[j].expr.names() - made  # type: ignore[union-attr]
                if items[j].var is not None:
                    made.add(items[j].var)  # type: ignore[arg-type]
                j += 1
            self.segments[i + 1] = (tuple(sorted(reads)), j)
        # per table item: whether the next is a table that needs exactly its outputs
        self.same = {i: i + 1 < len(items) and items[i + 1].kind == "table" and self.carry[i] == tuple(range(len(names)))
                     for i, names in self.out_names.items()}
        self._walked = 0
        self._shared: dict[Any, Any] = {}  # what alike tables give for one input size
        self._interned: dict[tuple[int, ...], tuple[int, ...]] = {}
        self._costs: dict[tuple[int, str], tuple[int, ...]] = {}  # per table and objective: its effects' costs
        self._graph: tuple[Any, dict[Any, _State]] | None = None
        self._counts: dict[Any, int] | None = None
        self._feasible: dict[Any, bool] = {}
        self._segments: dict[int, Any] = {}
        self._moved: dict[Any, dict[tuple[int, ...], Any]] = {}  # (item, what it carries) -> output -> state

    @staticmethod
    def build(system: System, constraints: Sequence[Expr], deadline: float | None = None) -> SizeDP | None:
        """The DP for a system, or None when it does not apply (unknowns shared between
        layers, channels or hyperparameters that are vars: those need the solver).  A var
        that only sizes are made of (the input's ``H``) is the walk's first choice, among the
        values its domain and the backward pass leave it."""
        vars_ = system.system_unknowns
        if not _sizes_only(system):
            return None
        got = _ordered(system, strict=True)
        if got is None:
            return None
        items, _ = got
        # a constraint goes right after the item that defines the last name it needs (one of
        # constant sizes only, first)
        placed: list[_Item] = [_Item("check", c) for c in constraints if not c.names()]
        pending = [c for c in constraints if c.names()]
        known: set[str] = set(vars_)
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
        domains = _domains(placed, deadline)
        chosen = []
        for u in vars_:
            values = _var_values(system.spec.vars[u].domain, domains.get(u))  # type: ignore[arg-type]
            if values is None:
                return None
            if not values:  # none the layers allow: the walk fails at once (Z3 says why)
                chosen.insert(0, _Item("check", Num(0)))
                continue
            chosen.append(_Item("table", table=_var_table(u, values)))
        placed = chosen + placed
        return SizeDP(placed, [it.table for it in placed if it.kind == "table" and it.table], domains, deadline)

    def fails(self) -> bool:
        """Whether the items before the first choice fail already (a layer no value of its
        unknowns makes valid is such an item)."""
        return self._advance(0, {}) is None

    def broken(self, pins: Sequence[Expr] = ()) -> tuple[list[Table], list[tuple[str, str]]] | None:
        """Where the domains break off, when they do: the last table (nearest the output)
        that gives none of the sizes its outputs' domains allow, from any input size, then the
        tables after it up to the last of the constraints ``pins`` (whose domains it could not
        meet); with those domains in words ((name, values)).  None: every domain has sizes (the
        walk forward then finds that none is reached)."""
        last = max((i for i, it in enumerate(self.items) if any(it.expr is p for p in pins)), default=-1)
        readers: dict[str, int] = {}
        for it in self.items:
            names = it.expr.names() if it.expr is not None else {
                n for t in it.table.env.values() for n in t.names()} if it.table is not None else set()
            for n in names:
                readers[n] = readers.get(n, 0) + 1
        for i in range(len(self.items) - 1, -1, -1):
            table = self.items[i].table
            if table is None:
                continue
            read = [t.name for t in table.env.values() if isinstance(t, Name)]
            outs = [n for n in self.out_names[i] if n in self.domains]
            # a size another item reads too may have lost its values to that reader (two
            # branches wanting different sizes of it): then this table is not where it breaks
            if any(readers.get(n, 0) > 1 for n in read):
                continue
            if (read and outs and all(n in self.domains and not self.domains[n].los for n in read)
                    and all(self.domains[n].los for n in outs)):
                after = [it.table for it in self.items[i + 1:last] if it.table is not None]
                return [table, *after], [(n, self.domains[n].text()) for n in outs]
        return None

    # -- walking ------------------------------------------------------------------------------------
    def _tick(self, held: int) -> None:
        """A new state (``held``: the states held so far): bounded in number and time."""
        if held >= MAX_STATES:
            raise TooManyStates
        self._walked += 1
        if not self._walked & 63:  # a state may take a millisecond: the clock is read often
            interrupted()
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise SolverTimeout("the time ran out while walking the sizes")

    def _advance(self, i: int, env: dict[str, int]) -> tuple[int, dict[str, int]] | None:
        """Run the items without a choice from ``i``; stop at a table, the end, or a failure."""
        items = self.items
        domains = self.domains
        runs = self.runs
        while i < len(items) and items[i].kind != "table":
            it = items[i]
            try:
                value = runs[i](env)
            except (ExprError, ZeroDivisionError):  # a division by zero for these sizes: not a solution
                return None
            if it.kind == "define":
                assert it.var is not None
                dom = domains.get(it.var)
                if dom is not None and value not in dom:
                    return None
                env = {**env, it.var: value}
            elif not value:
                return None
            i += 1
        return i, env

    def _outputs(self, i: int, env: Mapping[str, int]) -> list[tuple[tuple[int, ...], list[int]]]:
        """The sizes table item ``i`` can give from these, each with the effects that give
        them (those outside a domain left out): many effects give the same sizes."""
        table = self.items[i].table
        assert table is not None
        doms = self.tests[i]
        compiled, x = self.choices[i]
        if x is None:
            inputs = {p: term.evaluate(env) for p, term in table.env.items()}
            key = (id(compiled), tuple(inputs.values()))
            moves = self._shared.get(key)
            if moves is None:  # alike tables share these too (the pools of a U-Net: H and W alike)
                grouped: dict[tuple[int, ...], list[int]] = {}
                vs = tuple([inputs[p] for p in self.sized[i]])
                square = (vs[0],) if vs and vs.count(vs[0]) == len(vs) else None
                for ch in compiled:
                    if ch.bounds is not None:
                        got = ch.alone.gives_each(square) if square and ch.alone else ch.gives_each(vs)
                        if got is not None:
                            grouped.setdefault(got, []).append(ch.index)
                        continue
                    try:
                        if not all(c.evaluate(inputs) for c in ch.conditions):
                            continue
                        out = tuple(e.evaluate(inputs) for e in ch.outputs)
                    except ExprError:
                        continue
                    grouped.setdefault(out, []).append(ch.index)
                moves = self._shared[key] = list(grouped.items())
        else:
            moves = self._by_input(compiled, table.env[x].evaluate(env))
        if not any(d is not None for d in doms):
            return moves
        if len(doms) == 1:
            (d,) = doms
            return [m for m in moves if m[0][0] in d]
        return [(out, ks) for out, ks in moves
                if all(d is None or y in d for d, y in zip(doms, out, strict=True))]

    def _by_input(self, compiled: tuple[_Choice, ...], v: int) -> list[tuple[tuple[int, ...], list[int]]]:
        """:meth:`_outputs` before the domains, for input size ``v``: the same for every table
        with these choices (the alike layers of a chain share them)."""
        key = (id(compiled), v)
        hit = self._shared.get(key)
        if hit is None:
            grouped: dict[tuple[int, ...], list[int]] = {}
            for ch in compiled:
                out = ch.gives(v)
                if out is None:
                    continue
                got = grouped.get(out)
                if got is None:
                    grouped[out] = [ch.index]
                else:
                    got.append(ch.index)
            hit = self._shared[key] = list(grouped.items())
        return hit

    def _key(self, i: int, env: Mapping[str, int]) -> tuple[int, tuple[int | None, ...]]:
        return i, tuple([env.get(n) for n in self.live[i]])

    def _child(self, i: int, env: Mapping[str, int], out: tuple[int, ...]) -> Any:
        """The state table item ``i`` leads to with these outputs: its key, None at the end, or
        :data:`_DEAD` where a check after it fails.  A state's key is its item and the sizes
        it still needs (:meth:`_sizes` gives them back).  The checks and definitions between
        two tables read only a few of those (the size at hand, not the skips a U-Net carries),
        so what they give is worked out once for each value of what they read."""
        if self.same[i]:
            return (i + 1, out)
        carried = tuple([out[c] if isinstance(c, int) else env[c] for c in self.carry[i]])
        nxt = i + 1
        if nxt == len(self.items):
            return None
        if self.items[nxt].kind == "table":
            return nxt, carried
        reads, at, end, keep = self._segment(nxt)
        seg = (nxt, tuple([carried[j] for j in at]))
        made = self._after.get(seg, _MISSING)
        if made is _MISSING:
            step = self._advance(nxt, dict(zip(reads, seg[1], strict=True)))
            made = self._after[seg] = None if step is None else step[1]
        if made is None:
            return _DEAD
        if end == len(self.items):
            return None
        return end, tuple([made[n] if j is None else carried[j] for n, j in keep])

    def _children(self, i: int, env: Mapping[str, int]) -> dict[tuple[int, ...], Any]:
        """The states table item ``i``'s outputs lead to (:meth:`_child`), remembered for the
        sizes the state carries past it: the states of a U-Net's decoder differ in the size at
        hand and share their skips, so the crop after an up-conv is checked once per output,
        not once per state and output."""
        carried = tuple([env[c] for c in self.carry[i] if not isinstance(c, int)])
        return self._moved.setdefault((i, carried), {})

    def _segment(self, i: int) -> tuple[tuple[str, ...], tuple[int, ...], int, tuple[tuple[str, int | None], ...]]:
        """The items from ``i`` up to the next table, by position in the state at ``i``: the
        names they read and where those are in the state, the next table (or the end), and
        per name the state there needs, its place in the state at ``i`` (None: a size the
        items make).  Made once per position: :meth:`_child` runs for every move."""
        got = self._segments.get(i)
        if got is None:
            reads, end = self.segments[i]
            where = {n: j for j, n in enumerate(self.live[i])}
            made = {it.var for it in self.items[i:end] if it.var is not None}
            got = self._segments[i] = (reads, tuple(where[n] for n in reads), end,
                                       tuple((n, None if n in made else where[n]) for n in self.live[end]))
        return got

    def _sizes(self, key: tuple[int, tuple[int, ...]]) -> dict[str, int]:
        """A state's sizes, by name."""
        return dict(zip(self.live[key[0]], key[1], strict=True))

    def graph(self) -> tuple[Any, dict[Any, _State]]:
        """Every state the walk can reach within the domains, table by table, with its moves:
        (the first state's key, or None when even the input fails; the states by key).  Made
        once, and kept: the count and the listing read it."""
        if self._graph is not None:
            return self._graph
        states: dict[Any, _State] = {}
        root = None
        start = self._advance(0, {})
        if start is not None and start[0] < len(self.items):
            root = self._key(*start)
            level = [root]
            moves = 0  # a state holds its moves too: a U-Net up-conv's are dozens, each a key
            while level:  # a table's states lead to the next table's: each level is walked once
                later: dict[Any, None] = {}
                for key in level:
                    self._tick(len(states) + moves // MOVES_PER_STATE)
                    st = states[key] = _State(key[0], self._sizes(key))
                    for out, ks in self._outputs(key[0], st.env):
                        child = self._child(key[0], st.env, out)
                        if child is not _DEAD:
                            st.moves.append((child, ks))
                            if child is not None:
                                later[child] = None
                    moves += len(st.moves)
                level = list(later)
        self._graph = (root, states)
        return self._graph

    def _backward(self, states: dict[Any, _State], value: Callable[[_State, list[Any]], Any]) -> dict[Any, Any]:
        """Each state's value from its children's (None: the end), latest states first."""
        got: dict[Any, Any] = {}
        for key in reversed(list(states)):  # a child is always made after its parent
            got[key] = value(states[key], [None if child is None else got[child] for child, _ in states[key].moves])
        return got

    def count(self) -> int:
        """How many solutions there are (combinations expanded)."""
        if self._counts is None:
            def value(st: _State, below: list[Any]) -> int:
                effects = self.items[st.item].table.effects  # type: ignore[union-attr]
                return sum((1 if n is None else n) * sum(len(effects[k].combos) for k in ks)
                           for n, (_, ks) in zip(below, st.moves, strict=True) if n != 0)

            root, states = self.graph()
            self._counts = self._backward(states, value) if root is not None else {}
        root, _ = self.graph()
        return 0 if root is None else self._counts[root]  # type: ignore[no-any-return]

    def paths(self) -> Iterator[tuple[int, ...]]:
        """Every choice of effects (one per table, in ``self.tables`` order) that leads to a solution."""
        if not self.count():
            return
        root, states = self.graph()
        counts = self._counts
        assert counts is not None

        def walk(key: Any) -> Iterator[tuple[int, ...]]:
            if key is None:
                yield ()
                return
            for child, ks in states[key].moves:
                if child is None or counts[child]:
                    for rest in walk(child):
                        for k in ks:
                            yield (k, *rest)

        yield from walk(root)

    def feasible(self, i: int = 0, env: dict[str, int] | None = None) -> bool:
        """Whether some completion of this state is a solution: a walk down the first branch
        that has one, which a first solution needs and nothing more."""
        step = self._advance(i, env or {})
        if step is None:
            return False
        i, env = step
        if i == len(self.items):
            return True
        key = self._key(i, env)
        hit = self._feasible.get(key)
        if hit is not None:
            return hit
        self._tick(len(self._feasible))
        names = self.out_names[i]
        ok = any(self.feasible(i + 1, {**env, **dict(zip(names, out, strict=True))}) for out, _ in self._outputs(i, env))
        self._feasible[key] = ok
        return ok

    def first(self) -> dict[str, int] | None:
        """Any one solution (each effect's cheapest combination), or None when there is none."""
        if not self.feasible():
            return None
        values: dict[str, int] = {}
        step = self._advance(0, {})
        while step is not None and step[0] < len(self.items):
            i, env = step
            table = self.items[i].table
            assert table is not None
            names = self.out_names[i]
            nxt, ks = next((nxt, ks) for nxt, ks in (({**env, **dict(zip(names, out, strict=True))}, ks)
                                                     for out, ks in self._outputs(i, env))
                           if self.feasible(i + 1, nxt))
            values.update(table.effects[ks[0]].combos[0])
            step = self._advance(i + 1, nxt)
        return values

    # -- the optimum ----------------------------------------------------------------------------
    def optimum(self, kind: str, unknowns: Sequence[str],
                holes: Callable[[Table, Mapping[str, int], Mapping[str, int]], bool] | None = None
                ) -> tuple[int, dict[str, int]] | None:
        """The least ``kind`` (``"sum"`` or ``"params"``: each effect's cheapest combination's)
        and its values, ties broken as ``solve`` breaks them: without holes where
        ``holes(table, sizes, combination)`` allows one at the same cost, then the smallest
        values of ``unknowns`` in the order given; None when there is no solution."""
        # the cheapest each table can be, and the cheapest of the tables after each
        lows = {i: min(eff.cost.get(kind, 0) for eff in self.items[i].table.effects)  # type: ignore[union-attr]
                for i in self.out_names}
        after: dict[int, int] = {}
        rest = 0
        for i in sorted(lows, reverse=True):
            after[i] = rest
            rest += lows[i]
        # passes with a growing bound: a pass skips every path that costs more, so each is
        # quick while the bound is low, and the first that finds a path has found the optimum
        slack = 0
        while True:
            got, cut = self._shortest(kind, bound=rest + slack, after=after)
            if got is not None or not cut:
                break
            slack = 2 * slack + 1
        if got is None:
            return None
        top, root = got
        if holes is not None:
            free = {id(e): [c for c in e.combos if not holes(self.items[n.item].table, n.env, c)]  # type: ignore[arg-type]
                    for n in _nodes(root) for e in n.edges}
            if _alive(root, lambda e: bool(free[id(e)])):
                for n in _nodes(root):
                    for e in n.edges:
                        e.combos = free[id(e)]
        owner = {u: self.tables.index(t) for t in self.tables for u in t.local}
        item_of = [i for i, it in enumerate(self.items) if it.kind == "table"]
        # an edge leads to a later item: the nodes in item order are in topological order
        ordered = sorted(_nodes(root), key=lambda n: n.item)
        by_item: dict[int, list[_Node]] = {}
        for n in ordered:
            by_item.setdefault(n.item, []).append(n)
        alive = _alive_in(root, ordered)
        # the unknowns of one table next to each other in name order settle at once: a node
        # of that table left with a combination stays on a path, so the smallest of their
        # values together is the smallest of each in turn
        for t, run in itertools.groupby(unknowns, key=owner.__getitem__):
            self._tick(0)
            names = tuple(run)
            here = by_item.get(item_of[t], [])
            # many edges hold one effect's list of combinations: each list is read once (the
            # lists are kept in the dicts, so that no id is reused while they are)
            least: dict[int, tuple[list[dict[str, int]], tuple[int, ...]]] = {}
            for n in here:
                if id(n) in alive:
                    for e in n.edges:
                        if e.combos and id(e.combos) not in least and _live(e, alive):
                            least[id(e.combos)] = (e.combos, min(tuple(c[u] for u in names) for c in e.combos))
            v = min(low for _, low in least.values())
            narrowed: dict[int, tuple[list[dict[str, int]], list[dict[str, int]]]] = {}
            cut = False  # whether a path the walk could still take lost its last combination
            for n in here:
                for e in n.edges:
                    got = narrowed.get(id(e.combos))
                    if got is None:
                        got = narrowed[id(e.combos)] = (e.combos, [c for c in e.combos
                                                                   if tuple(c[u] for u in names) == v])
                    kept = got[1]
                    cut = cut or (not kept and bool(e.combos) and id(n) in alive and _live(e, alive))
                    e.combos = kept
            if cut:
                alive = _alive_in(root, ordered)
        values: dict[str, int] = {}
        node: _Node | None = root
        while node is not None:
            edge = next(e for e in node.edges if e.combos and _live(e, alive))
            values.update(edge.combos[0])
            node = edge.to
        return top, values

    def _shortest(self, kind: str, *, bound: int, after: Mapping[int, int]) -> tuple[tuple[int, _Node] | None, bool]:
        """The least ``kind`` and the graph of every path that has it, if one costs at most
        ``bound``; and whether the bound cut anything (if not, None means no solution at
        all).  One pass over the states, table by table, keeps each state's least cost so
        far and the moves that give it; the paths back from the end along those moves are
        the optimal ones.  ``after``: per table item, the least the tables after it cost."""
        start = self._advance(0, {})
        if start is None:
            return None, False
        root = self._key(*start)
        cost: dict[Any, int] = {root: 0}
        # per state (None: the end): the moves into it that give its least cost (from, cost, effects)
        into: dict[Any, list[tuple[Any, int, list[int]]]] = {}
        level = [root]
        cut = False
        while level:
            later: dict[Any, None] = {}
            for key in level:
                self._tick(len(cost))
                g = cost[key]
                env = self._sizes(key)
                limit = bound - g - after[key[0]]
                children = self._children(key[0], env)
                for c, out, ks in self._ranked(key[0], env, kind):
                    if c > limit:
                        cut = True
                        break  # the moves come cheapest first
                    child = children.get(out, _MISSING)
                    if child is _MISSING:
                        child = children[out] = self._child(key[0], env, out)
                    if child is _DEAD:
                        continue
                    old = cost.get(child)
                    if old is None or g + c < old:
                        cost[child] = g + c
                        into[child] = [(key, c, ks)]
                        if child is not None:
                            later[child] = None
                    elif g + c == old:
                        into[child].append((key, c, ks))
            level = list(later)
        if None not in cost:
            return None, cut
        nodes: dict[Any, _Node] = {}
        stack: list[Any] = [None]
        made: dict[tuple[int, int], list[dict[str, int]]] = {}

        def cheapest(i: int, k: int) -> list[dict[str, int]]:
            """Effect ``k`` of table item ``i``'s cheapest combinations: one list for every
            edge that takes it (the tie-break reads each list once)."""
            got = made.get((i, k))
            if got is None:
                got = made[i, k] = _cheapest(self.items[i].table.effects[k], kind)  # type: ignore[union-attr]
            return got

        while stack:  # back from the end: every state on an optimal path, each once
            child = stack.pop()
            to = None if child is None else nodes[child]
            for key, c, ks in into[child]:
                node = nodes.get(key)
                if node is None:
                    node = nodes[key] = _Node(key[0], self._sizes(key))
                    if key != root:
                        stack.append(key)
                effects = self.items[key[0]].table.effects  # type: ignore[union-attr]
                node.edges += [_Edge(k, to, cheapest(key[0], k)) for k in ks if effects[k].cost.get(kind, 0) == c]
        return (cost[None], nodes[root]), cut

    def _ranked(self, i: int, env: Mapping[str, int], kind: str) -> list[tuple[int, tuple[int, ...], list[int]]]:
        """:meth:`_outputs` with each move's cost (its cheapest effect's), cheapest first."""
        table = self.items[i].table
        assert table is not None
        effects = table.effects
        compiled, x = self.choices[i]
        doms = self.tests[i]
        if x is None:
            return sorted(((min(effects[k].cost.get(kind, 0) for k in ks), out, ks) for out, ks in self._outputs(i, env)),
                          key=lambda m: m[0])
        # alike tables share their choices, but not always their costs (a kernel alone, or
        # with a dilation of 1 beside it): the ranking is shared where both are the same
        costs = self._costs.get((i, kind))
        if costs is None:
            costs = tuple(eff.cost.get(kind, 0) for eff in effects)
            costs = self._costs[i, kind] = self._interned.setdefault(costs, costs)
        v = table.env[x].evaluate(env)
        key = (id(compiled), id(costs), v)
        ranked = self._shared.get(key)
        if ranked is None:
            grouped: dict[tuple[int, ...], list[Any]] = {}  # sizes -> [least cost, effects]
            for ch in compiled:
                one = ch.one
                if one is not None:  # the usual case, inlined: one size out, by a form
                    lo, hi, test, a, b, s, e = one
                    if v < lo or v > hi or (test is not None and not test(v)):
                        continue
                    out = ((a * v + b) // s + e,)
                else:
                    out = ch.gives(v)
                    if out is None:
                        continue
                c = costs[ch.index]
                got = grouped.get(out)
                if got is None:
                    grouped[out] = [c, [ch.index]]
                else:
                    got[1].append(ch.index)
                    if c < got[0]:
                        got[0] = c
            ranked = self._shared[key] = sorted([(c, out, ks) for out, (c, ks) in grouped.items()],
                                                key=lambda m: m[0])
        if not any(d is not None for d in doms):
            return ranked  # type: ignore[no-any-return]
        if len(doms) == 1:
            (d,) = doms
            return [m for m in ranked if m[1][0] in d]  # type: ignore[operator]
        return [m for m in ranked if all(d is None or y in d for d, y in zip(doms, m[1], strict=True))]


MAX_VALUES = 1 << 16  # a var's values the walk chooses among; a var with more is the solver's
VAR_MARK = f"{PLACEHOLDER}var "  # the selector of a var's table: no layer's


def _sizes_only(system: System) -> bool:
    """Whether every system unknown is a var with a domain of numbers that the tables never
    read as a hyperparameter or a channel count (only as a size, through their inputs)."""
    spec = system.spec
    vars_ = set(system.system_unknowns)
    for u in vars_:
        var = spec.vars.get(u)
        if var is None or var.domain is None or var.domain.names():
            return False
    if not vars_:
        return True
    seen: set[int] = set()  # alike tables share their expressions: each is read once
    for table in system.tables:
        for eff in table.effects:
            if eff.fixed:
                return False
            for e in (*eff.conditions, *eff.outputs.values()):
                if id(e) not in seen:
                    seen.add(id(e))
                    if e.names() & vars_:
                        return False
    return True


def _var_values(domain: Domain, sizes: Sizes | None) -> list[int] | None:
    """A var's values, in its domain and in ``sizes`` (its backward domain); None past
    :data:`MAX_VALUES`."""
    if domain.values is not None:
        return [v for v in sorted(set(domain.values)) if sizes is None or v in sizes]
    lo, hi = domain.ends()
    runs = Sizes.of([(lo, hi)]) if sizes is None else Sizes.of([(lo, hi)]) & sizes
    if sum(b - a + 1 for a, b in runs.runs()) > MAX_VALUES:
        return None
    return [v for a, b in runs.runs() for v in range(a, b + 1)]


def _var_table(u: str, values: list[int]) -> Table:
    """A var as a table: one effect per value, which costs the value in the sum of the
    unknowns and as the objective ``minimize: u`` (:func:`var_kind`)."""
    effects = [Effect(fixed={}, outs=(Num(v),), conditions=[], combos=[{u: v}],
                      costs=[{"sum": v, var_kind(u): v}], outputs={u: Num(v)}, cost={"sum": v, var_kind(u): v})
               for v in values]
    return Table(layer=f"vars.{u}", selector=f"{VAR_MARK}{u}", local=(u,), effects=effects, env={})


def var_kind(u: str) -> str:
    """The cost kind of ``minimize: u`` for a var ``u`` (no objective's name has a space)."""
    return f"var {u}"


def _cheapest(eff: Effect, kind: str) -> list[dict[str, int]]:
    """The effect's combinations of the least ``kind``."""
    if kind not in eff.cost:  # no combination costs anything of it (a layer's, for minimize: H)
        return eff.combos
    low = eff.cost[kind]
    return [combo for combo, c in zip(eff.combos, eff.costs, strict=True) if c.get(kind, 0) == low]


def _reach(root: _Node, follow: Callable[[_Edge], bool]) -> dict[int, _Node]:
    """The nodes reachable from ``root`` over the edges ``follow`` takes, by id."""
    seen: dict[int, _Node] = {}
    stack = [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen[id(n)] = n
        stack.extend(e.to for e in n.edges if e.to is not None and follow(e))
    return seen


def _nodes(root: _Node) -> list[_Node]:
    """Every node reachable from ``root``, each once."""
    return list(_reach(root, lambda e: True).values())


def _alive(root: _Node, usable: Callable[[_Edge], bool]) -> dict[int, _Node]:
    """The nodes on a path from ``root`` to the end over usable edges, by id (empty: none)."""
    ends: dict[int, bool] = {}

    def reaches(n: _Node) -> bool:
        got = ends.get(id(n))
        if got is None:
            got = ends[id(n)] = any(usable(e) and (e.to is None or reaches(e.to)) for e in n.edges)
        return got

    if not reaches(root):
        return {}
    return _reach(root, lambda e: usable(e) and reaches(e.to))  # type: ignore[arg-type]


def _alive_in(root: _Node, ordered: list[_Node]) -> set[int]:
    """:func:`_alive` over the edges with combinations left, for a graph whose nodes
    ``ordered`` lists in topological order: two sweeps, no recursion."""
    ends: set[int] = set()
    for n in reversed(ordered):
        if any(e.combos and (e.to is None or id(e.to) in ends) for e in n.edges):
            ends.add(id(n))
    if id(root) not in ends:
        return set()
    alive = {id(root)}
    for n in ordered:
        if id(n) in alive:
            alive.update(id(e.to) for e in n.edges if e.combos and e.to is not None and id(e.to) in ends)
    return alive


def _live(e: _Edge, alive: Mapping[int, _Node] | set[int]) -> bool:
    return e.to is None or id(e.to) in alive


# -- compiling a table ---------------------------------------------------------------------------

def _compile(table: Table | None, names: tuple[str, ...], interned: dict[Expr, Callable[[int], int]]
             ) -> tuple[tuple[_Choice, ...], str | None]:
    """The table's effects as choices, their outputs in the order of ``names``; the one
    placeholder every input size is, or None when the effects read several sizes.  An effect
    whose conditions and outputs :class:`_Form` cannot say keeps its expressions."""
    assert table is not None
    consts = {p: t for p, t in table.env.items() if isinstance(t, Num)}
    sized = [p for p in table.env if p not in consts]
    if not sized:  # a table that reads no size (a var's; a layer's at a known input): numbers
        return tuple(_constant(k, eff, names, consts) for k, eff in enumerate(table.effects)), None
    if len(sized) != 1:
        return tuple(_each_size(k, [_put(c, consts) for c in eff.conditions],
                                [_put(eff.outputs[n], consts) for n in names], sized, interned)
                     or _Choice(k, conditions=tuple(eff.conditions), outputs=tuple(eff.outputs[n] for n in names))
                     for k, eff in enumerate(table.effects)), None
    (x,) = sized
    choices = []
    for k, eff in enumerate(table.effects):
        conditions = [_put(c, consts) for c in eff.conditions]
        outputs = [_put(eff.outputs[n], consts) for n in names]
        if any(isinstance(c, Num) and not c.value for c in conditions):
            continue
        conditions = [c for c in conditions if not isinstance(c, Num)]
        choice = _fast(k, conditions, outputs, x) or _each_size(k, conditions, outputs, [x], interned)
        choices.append(choice if choice is not None else
                       _Choice(k, conditions=tuple(conditions), outputs=tuple(outputs), x=x))
    return tuple(choices), x


def _put(e: Expr, consts: Mapping[str, Expr]) -> Expr:
    """``e`` with the numbers a table reads put in, folded; ``e`` itself where it reads none of
    them (it was folded when made: a deconv's periodic hole test is long to fold again)."""
    if not consts or not e.names() & consts.keys():
        return e
    return fold(e.substitute(consts))


def _constant(k: int, eff: Effect, names: tuple[str, ...], consts: Mapping[str, Expr]) -> _Choice:
    """Effect ``k`` of a table that reads no size: what it gives, or never."""
    conditions = [fold(c.substitute(consts)) for c in eff.conditions]
    outputs = [e if isinstance(e, Num) else fold(e.substitute(consts)) for e in (eff.outputs[n] for n in names)]
    if not all(isinstance(e, Num) for e in (*conditions, *outputs)):
        return _Choice(k, conditions=tuple(conditions), outputs=tuple(outputs))
    if not all(c.value for c in conditions):  # type: ignore[attr-defined]
        return _Choice(k, conditions=(Num(0),), outputs=tuple(outputs))
    return _Choice(k, bounds=(), by_size=tuple((0, e.value) for e in outputs))  # type: ignore[attr-defined]


def _each_size(k: int, conditions: list[Expr], outputs: list[Expr], sized: list[str],
               interned: dict[Expr, Callable[[int], int]]) -> _Choice | None:
    """Effect ``k`` of a table read by several sizes, when each condition bounds one of them
    and each output is a number or a form of one (H and W apart, each by its own rule); else
    None."""
    if not sized:
        return None
    bounds: list[tuple[int, int | None, int | None]] = []
    tests: list[tuple[int, Expr]] = []
    for c in [part for whole in conditions for part in _conjuncts(whole)]:
        if isinstance(c, Num):
            if not c.value:
                return _Choice(k, bounds=((0, 1, 0),))  # never: its lo passes its hi
            continue
        if not (isinstance(c, Bin) and isinstance(c.left, Name) and c.left.name in sized
                and isinstance(c.right, Num) and c.op in (">=", "<=", "==")):
            names = c.names()
            if len(names) != 1 or not names <= set(sized) or not _closed(c):
                return None
            (x,) = names
            # one size's test, written over a name of its own so that alike tests are one
            tests.append((sized.index(x), _test(c.substitute({x: Name(_SIZE)}), interned)))
            continue
        t = c.right.value
        bounds.append((sized.index(c.left.name), t if c.op in (">=", "==") else None,
                       t if c.op in ("<=", "==") else None))
    by_size: list[tuple[int, _Form | int]] = []
    for e in outputs:
        if isinstance(e, Num):
            by_size.append((0, e.value))
            continue
        names = e.names()
        if len(names) != 1 or not names <= set(sized):
            return None
        (x,) = names
        f = _form(e, x)
        if f is None:
            return None
        by_size.append((sized.index(x), f))
    return _Choice(k, bounds=tuple(bounds), tests=tuple(tests), by_size=tuple(by_size))


def _closed(e: Expr) -> bool:
    """Whether :func:`_closure` takes ``e``: numbers, names, binary operators, ``min`` and
    ``max`` (a pool's last window under ``exact``)."""
    if isinstance(e, (Num, Name)):
        return True
    if isinstance(e, Call):
        return e.fn in ("min", "max") and all(_closed(a) for a in e.args)
    return isinstance(e, Bin) and e.op in ARITH and _closed(e.left) and _closed(e.right)


def _conjuncts(e: Expr) -> list[Expr]:
    """The parts of ``a and b and ...`` (H's and W's conditions, say), each with its constant
    parts settled (``x == 1 or x >= 6 and 0`` is ``x == 1``: how a periodic condition with
    no period left is written)."""
    e = _settled(e)
    if isinstance(e, Bin) and e.op == "and":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


def _settled(e: Expr) -> Expr:
    """``e`` with ``and`` and ``or`` of a constant side settled, and folded.

        >>> from archsolve.lang.expr import parse
        >>> str(_settled(parse("x == 1 or x >= 6 and 0", frozenset({"logic"}))))
        'x == 1'
    """
    if isinstance(e, Bin) and e.op in ("and", "or"):
        left, right = _settled(e.left), _settled(e.right)
        for one, other in ((left, right), (right, left)):
            if isinstance(one, Num):
                if e.op == "and":
                    return other if one.value else Num(0)
                return Num(1) if one.value else other
        return e if left is e.left and right is e.right else Bin(e.op, left, right)
    return fold(e)


def _test(test: Expr, made: dict[Expr, Callable[[int], int]]) -> Callable[[int], int]:
    """A condition over :data:`_SIZE` alone as a function of that size, one for equal
    conditions (remembered by identity).  Built of closures, never of source text: a
    periodic condition (``x == 1 or ... or x >= 7 and (x + 1) % 2 == 0``) runs several times
    faster so than by walking its expression for each size.

        >>> from archsolve.lang.expr import parse
        >>> f = _test(parse("§size == 1 or §size >= 4 and §size % 2 == 0".replace("§size", "x"),
        ...                 frozenset({"logic"})).substitute({"x": Name(_SIZE)}), {})
        >>> [v for v in range(1, 9) if f(v)]
        [1, 4, 6, 8]
    """
    got = made.get(test)
    if got is None:
        closure = _closure(test)
        got = made[test] = _periodic(test, closure) or _remembered(closure)
    return got


def _all_of(tests: list[Callable[[int], int]]) -> Callable[[int], int] | None:
    """One test of a size for all of ``tests`` (None: there are none); alike conditions are
    one function (:func:`_test`), asked once."""
    tests = list(dict.fromkeys(tests))
    if len(tests) < 2:
        return tests[0] if tests else None
    return lambda v: all(t(v) for t in tests)


def _remembered(closure: Callable[[int], int]) -> Callable[[int], bool]:
    """A test that is not periodic, each size's answer kept (alike tables ask the same sizes)."""
    held: dict[int, bool] = {}

    def test(v: int) -> bool:
        ok = held.get(v)
        if ok is None:
            try:
                ok = held[v] = bool(closure(v))
            except ZeroDivisionError:  # a division by zero for this size
                ok = held[v] = False
        return ok

    return test


PERIODIC_SPAN = 1024  # sizes a periodic test's table may hold; a wider one runs its closure


def _periodic(test: Expr, closure: Callable[[int], int] | None = None) -> Callable[[int], int] | None:
    """A test of one size as a lookup, where it is *eventually periodic*: every comparison in
    it is of a :class:`_Form` with a number (constant past the ends of its preimage) or of a
    form ``% m`` (periodic), so beyond the outermost of those ends its truth repeats with the
    least common multiple of the periods.  The up-convs' hole conditions under ``exact`` are
    such tests, dozens of ``or`` terms long, asked of thousands of sizes.  None where the test
    is of another kind, or its table would pass :data:`PERIODIC_SPAN`.

        >>> from archsolve.lang.expr import parse
        >>> f = _periodic(parse("x == 1 or x >= 4 and (x + 1) % 2 == 0", frozenset({"logic"})
        ...                     ).substitute({"x": Name(_SIZE)}))
        >>> [v for v in range(-3, 12) if f(v)]
        [1, 5, 7, 9, 11]
    """
    ends: set[int] = set()
    period = 1

    def scan(e: Expr) -> bool:
        nonlocal period
        if isinstance(e, Num):
            return True
        if isinstance(e, Bin) and e.op in ("and", "or"):
            return scan(e.left) and scan(e.right)
        if not (isinstance(e, Bin) and e.op in _FLIPPED or isinstance(e, Bin) and e.op == "!="):
            return False
        side, num = (e.left, e.right) if isinstance(e.right, Num) else (e.right, e.left)
        if not isinstance(num, Num):
            return False
        if isinstance(side, Bin) and side.op == "%" and isinstance(side.right, Num) and side.right.value > 0:
            f = _form(side.left, _SIZE)
            if f is None:
                return False
            period = math.lcm(period, f.s * side.right.value)
            return True
        f = _form(side, _SIZE)
        if f is None:
            return False
        lo, hi = f.preimage(num.value, num.value)
        ends.update((lo, hi + 1))
        return True

    if not scan(test):
        return None
    first, last = (min(ends), max(ends)) if ends else (0, 0)
    start = first - period
    if last + period - start > PERIODIC_SPAN:
        return None
    if closure is None:
        closure = _closure(test)
    # filled as asked: a walk asks a few of the sizes, most past the last end
    table: list[bool | None] = [None] * (last + period - start)

    def holds(v: int) -> bool:
        j = (v - start) % period if v < first else last - start + (v - last) % period if v >= last else v - start
        got = table[j]
        if got is None:
            got = table[j] = bool(closure(start + j))
        return got

    return holds


def _closure(e: Expr, leaf: Callable[[str], Callable[[Any], int]] | None = None) -> Callable[[Any], int]:
    """``e`` (:func:`_closed`) as a function: of one size where ``leaf`` is None (``e`` reads
    :data:`_SIZE` alone), else of what ``leaf(name)`` reads a name from (``itemgetter``: of a
    dict of sizes).  A division by zero raises ZeroDivisionError."""
    if isinstance(e, Num):
        value = e.value
        return lambda v: value
    if isinstance(e, Name):
        if leaf is None:
            assert e.name == _SIZE
            return lambda v: v
        return leaf(e.name)
    if isinstance(e, Call):
        parts = [_closure(a, leaf) for a in e.args]
        pick = min if e.fn == "min" else max
        return lambda v: pick(p(v) for p in parts)
    assert isinstance(e, Bin), e
    left, right = _closure(e.left, leaf), _closure(e.right, leaf)
    if e.op == "and":
        return lambda v: int(bool(left(v)) and bool(right(v)))
    if e.op == "or":
        return lambda v: int(bool(left(v)) or bool(right(v)))
    op = ARITH[e.op]
    return lambda v: op(left(v), right(v))


def _fast(k: int, conditions: list[Expr], outputs: list[Expr], x: str) -> _Choice | None:
    """Effect ``k`` as a range of ``x`` and forms, when its conditions are canonical
    comparisons of ``x`` alone (``x >= t``, ``x <= t``, ``x == t``: linear.canonical) and its
    outputs numbers or :class:`_Form` s of ``x``; else None."""
    lo: int | None = None
    hi: int | None = None
    for c in conditions:
        if not (isinstance(c, Bin) and isinstance(c.left, Name) and c.left.name == x
                and isinstance(c.right, Num) and c.op in (">=", "<=", "==")):
            return None
        t = c.right.value
        if c.op in (">=", "=="):
            lo = t if lo is None else max(lo, t)
        if c.op in ("<=", "=="):
            hi = t if hi is None else min(hi, t)
    forms: list[_Form | int] = []
    for e in outputs:
        if isinstance(e, Num):
            forms.append(e.value)
            continue
        f = _form(e, x)
        if f is None:
            return None
        forms.append(f)
    return _Choice(k, lo, hi, tuple(forms))


# -- the backward pass ---------------------------------------------------------------------------

def _domains(items: list[_Item], deadline: float | None) -> dict[str, Sizes]:
    """Per size, the values from which every later constraint can still be met (sizes that
    no constraint narrows are left out): constraints pin sizes, and each table's effects
    and each definition carry the pinned values back to the sizes they read."""
    domains: dict[str, Sizes] = {}
    memo: dict[Any, Any] = {}

    def narrow(name: str, runs: Iterable[tuple[int, int]]) -> None:
        got = Sizes.of(runs)
        old = domains.get(name)
        if old is not None:
            got = got & old
        if len(got.los) <= MAX_RUNS:
            domains[name] = got

    for it in reversed(items):
        if deadline is not None and time.monotonic() > deadline:
            raise SolverTimeout("the time ran out while narrowing the sizes")
        if it.kind == "check":
            assert it.expr is not None
            for part in _conjuncts(it.expr):
                for name, sizes in (_where(part) or {}).items():
                    narrow(name, sizes.runs())
                for name, run in _linear_bounds(part, domains):
                    narrow(name, [run])
        elif it.kind == "define":
            assert it.expr is not None and it.var is not None
            dom = domains.get(it.var)
            names = it.expr.names()
            if dom is None or len(names) != 1:
                continue
            (x,) = names
            f = _form(it.expr, x)
            if f is not None:
                narrow(x, [f.preimage(lo, hi) for lo, hi in dom.runs()])
        else:
            assert it.table is not None
            _narrow_table(it.table, domains, narrow, memo)
    return domains


def _narrow_table(table: Table, domains: Mapping[str, Sizes],
                  narrow: Callable[[str, Iterable[tuple[int, int]]], None], memo: dict[Any, Any]) -> None:
    """Carry what a table's effects allow back to each size it reads: per effect, the runs
    its own conditions leave that size, and the preimages of its outputs' domains where an
    output is a :class:`_Form` of that size; a size is narrowed to their union over the
    effects (an effect that says nothing of it leaves it as it is).  ``memo``: what each
    condition and output says, kept across the alike tables that share them."""
    consts = {p: t for p, t in table.env.items() if isinstance(t, Num)}
    sized = [p for p, t in table.env.items() if isinstance(t, Name)]
    if len(sized) + len(consts) != len(table.env):
        return

    def settled(e: Expr, make: Callable[[Expr], Any]) -> Any:
        # alike tables share their expressions, and differ only in the numbers they read
        names = memo.get(id(e))
        if names is None:
            names = memo[id(e)] = (e, sorted(e.names() & consts.keys()))
        key = (id(e), tuple(consts[n] for n in names[1]))
        got = memo.get(key, _MISSING)
        if got is _MISSING:
            got = memo[key] = make(fold(e.substitute(consts)) if names[1] else e)
        return got

    names = [n for n in table.effects[0].outputs if n in domains]
    for p in sized:
        union: list[tuple[int, int]] = []
        for eff in table.effects:
            where = _EVERY
            for c in eff.conditions:
                got = (settled(c, _where) or {}).get(p)
                if got is not None:
                    where = where & got
            for name in names:
                f = settled(eff.outputs[name], _form_of_one).get(p)
                if f is not None:
                    where = where & Sizes.of(f.preimage(lo, hi) for lo, hi in domains[name].runs())
            if where == _EVERY:
                break  # this effect leaves the size open: so is the union
            union += where.runs()
        else:
            narrow(table.env[p].name, union)  # type: ignore[attr-defined]


def _form_of_one(e: Expr) -> dict[str, _Form]:
    """``e`` as a :class:`_Form` of the one size it reads, by that size's name (empty: none)."""
    names = e.names()
    if len(names) != 1:
        return {}
    (x,) = names
    f = _form(e, x)
    return {} if f is None else {x: f}


_BIG = 1 << 62  # past any size: the open end of a run
_EVERY = Sizes((-_BIG,), (_BIG,))


def _where(e: Expr) -> dict[str, Sizes] | None:
    """Per name, the runs a condition needs it in, where a part of it bounds one name by a
    :class:`_Form` (``x >= 3``, ``(x - 1) // 2 + 1 >= 1``, ``x == 1 or x >= 6``); None where it
    tells nothing.

        >>> from archsolve.lang.expr import parse
        >>> _where(parse("x == 1 or x >= 6", frozenset({"logic"})))["x"].runs()[0]
        (1, 1)
    """
    if isinstance(e, Bin) and e.op in ("and", "or"):
        left, right = _where(e.left), _where(e.right)
        if e.op == "and":
            if left is None or right is None:
                return left if right is None else right
            return {n: left[n] & right[n] if n in left and n in right else left.get(n) or right[n]
                    for n in {*left, *right}}
        if left is None or right is None or len(left) != 1 or left.keys() != right.keys():
            return None
        ((n, a),) = left.items()
        return {n: Sizes.of(a.runs() + right[n].runs())}
    if not (isinstance(e, Bin) and e.op in (">=", ">", "<=", "<", "==")):
        return None
    op, form, other = e.op, e.left, e.right
    if isinstance(form, Num):
        op, form, other = _FLIPPED[op], e.right, e.left
    if not isinstance(other, Num):
        return None
    names = form.names()
    if len(names) != 1:
        return None
    (x,) = names
    f = _form(form, x)
    if f is None:
        return None
    t = other.value
    lo, hi = {">=": (t, _BIG), ">": (t + 1, _BIG), "<=": (-_BIG, t), "<": (-_BIG, t - 1), "==": (t, t)}[op]
    return {x: Sizes.of([f.preimage(lo, hi)])}


_FLIPPED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "=="}


def _linear(e: Expr) -> tuple[dict[str, int], int] | None:
    """``e`` as (coefficient per name, constant), where it is a sum of sizes times numbers."""
    if isinstance(e, Num):
        return {}, e.value
    if isinstance(e, Name):
        return {e.name: 1}, 0
    if not isinstance(e, Bin) or e.op not in ("+", "-", "*"):
        return None
    left, right = _linear(e.left), _linear(e.right)
    if left is None or right is None:
        return None
    if e.op == "*":
        if left[0] and right[0]:
            return None
        (terms, c), k = (right, left[1]) if not left[0] else (left, right[1])
        return {n: k * v for n, v in terms.items() if k * v}, k * c
    sign = 1 if e.op == "+" else -1
    terms = dict(left[0])
    for n, v in right[0].items():
        terms[n] = terms.get(n, 0) + sign * v
    return {n: v for n, v in terms.items() if v}, left[1] + sign * right[1]


def _linear_bounds(e: Expr, domains: Mapping[str, Sizes]) -> list[tuple[str, tuple[int, int]]]:
    """The run each size of a comparison of sums (``enc - up >= 0``: a crop) must be in,
    given the domains of the others (``up >= 5`` gives ``enc >= 5``)."""
    if not (isinstance(e, Bin) and e.op in (">=", ">", "<=", "<")):
        return []
    left, right = _linear(e.left), _linear(e.right)
    if left is None or right is None:
        return []
    terms = dict(left[0])
    for n, v in right[0].items():
        terms[n] = terms.get(n, 0) - v
    const = left[1] - right[1]
    # sum(terms) + const OP 0, as  sum >= lo  (or <= hi, for the other ops)
    low, high = {">=": (-const, None), ">": (1 - const, None), "<=": (None, -const), "<": (None, -1 - const)}[e.op]
    got = []
    for n, k in terms.items():
        if k not in (1, -1):
            continue
        rest = [(m, v) for m, v in terms.items() if m != n and v]
        if not all(m in domains and domains[m].los for m, _ in rest):
            continue
        rlo = sum(v * (domains[m].los[0] if v > 0 else domains[m].his[-1]) for m, v in rest)
        rhi = sum(v * (domains[m].his[-1] if v > 0 else domains[m].los[0]) for m, v in rest)
        # k * n >= low - rest  and  k * n <= high - rest
        lo = None if low is None else low - rhi
        hi = None if high is None else high - rlo
        if k < 0:
            lo, hi = (None if hi is None else -hi), (None if lo is None else -lo)
        got.append((n, (-_BIG if lo is None else lo, _BIG if hi is None else hi)))
    return got


def _ordered(system: System, *, strict: bool) -> tuple[list[_Item], set[str]] | None:
    """The system's facts and tables in data-flow order as the walk's items, and the names
    they define (its vars first): a fact ``size == expression`` of known names defines the
    size, one over known names is a check.  ``strict``: None at the first fact or table that
    reads a name nothing defines (the walk cannot take the system); else it is left out."""
    defined: set[str] = set(system.system_unknowns)
    items: list[_Item] = []
    for kind, k in system.order:
        if kind == "table":
            table = system.tables[k]
            if all(term.names() <= defined for term in table.env.values()):
                items.append(_Item("table", table=table))
                defined |= {table.selector, *table.effects[0].outputs}
            elif strict:
                return None
            continue
        e = system.facts[k].expr
        if (isinstance(e, Bin) and e.op == "==" and isinstance(e.left, Name)
                and e.left.name not in defined and e.right.names() <= defined):
            items.append(_Item("define", e.right, e.left.name))
            defined.add(e.left.name)
        elif e.names() <= defined:
            items.append(_Item("check", e))
        elif strict:
            return None
    return items, defined


def size_domains(system: System, deadline: float | None = None) -> dict[str, tuple[Sizes | None, ...]]:
    """Per layer (and the input), per dimension, the sizes from which every later rule and
    constraint can still be met: the walk's backward pass, for a network the walk does not
    take (channels or unknowns shared between layers).  Facts and tables the pass cannot read
    (those naming a shared unknown's effect) are left out, so a domain is at worst wider
    than it could be, never narrower.  The exact search prunes by them.

        >>> from archsolve.spec.load import load_text
        >>> from archsolve.shapes.graph import build_network
        >>> from archsolve.solve.smt.system import build_system
        >>> net = build_network(load_text(
        ...     'input: [1, 32]\\n'
        ...     'layers: [{name: a, op: conv, out: "?", kernel: "?"}, {name: b, op: conv, out: 2, kernel: 3}]\\n'
        ...     'constraints: [b.L == 26]\\n'))
        >>> size_domains(build_system(net))["a"][1].runs()
        [(28, 28)]
    """
    got = _ordered(system, strict=False)
    assert got is not None  # (only a strict reading gives up)
    items, defined = got
    # the constraints last: the pass reads items from the end, so they narrow first
    items += [_Item("check", c) for c, _, _ in constraint_exprs(system) if c.names() <= defined]
    domains = _domains(items, deadline)
    return {lay: tuple(domains.get(e.name) if isinstance(e, Name) else None for e in shape)
            for lay, shape in system.shapes.items()}


def deep_enough(levels: int) -> None:
    """Room for a walk that recurses once per level (a table here, a layer in the search)."""
    need = 4 * levels + 1000
    if sys.getrecursionlimit() < need:
        sys.setrecursionlimit(need)
