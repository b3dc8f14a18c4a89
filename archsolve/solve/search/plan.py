"""The search's plan: the steps of its walk, what each binds and checks, and the dead-state keys.

A step is a layer whose fields read a name, a layer whose fields read none (no choice, a
shape rule to run), the input (step 0) or the end (the last step, which binds any unknown
no layer reads).  Activations and norms are no step: their shape is their input's.  Each
step binds the unknowns it is the first to read, in field order, and checks every
constraint whose names are all known by then.  The plan also gives every unknown's
candidates (its domain at its widest), and per step the names and shapes the rest of the
walk depends on, which key the states the walks remember.

A question out of the search's reach -- an attribute it cannot read, a var domain naming
a var it cannot bound, a huge domain -- raises :class:`NotApplicable` here, before any walk.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> plan = Plan(build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... constraints: [up.L == 16]
    ... ''')), "sum")
    >>> [(st.new, len(st.checks)) for st in plan.steps]
    [((), 0), (('up.kernel',), 1), ((), 0)]
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from archsolve.errors import ArchsolveError
from archsolve.lang.expr import Bin, Expr, ListExpr, Name, Num
from archsolve.ops.base import Args, Kind
from archsolve.ops.table import IDENTITY_RULES, OPS
from archsolve.shapes.graph import Network
from archsolve.shapes.propagate import COMPARISONS, ArgPlan, names_in, plan_for
from archsolve.solve.outcome import combination_limit
from archsolve.solve.search.budget import OutOfBudget
from archsolve.spec.domains import ENUMERATED, is_dependent, unknown_values, var_span
from archsolve.spec.model import MEMORY_TOTALS, Domain, Layer

COUNTS = ("params", "macs")  # objectives the search sums layer by layer
MAX_VALUES = 1 << 16  # the largest domain the search tries value by value
# ops whose output is their input's shape and that have no field an unknown can be in
# (activations, norms): no step of the walk, and no field plan to make
PASS_THROUGH = frozenset(name for name, op in OPS.items() if op.shape in IDENTITY_RULES
                         and not any(f.kind in (Kind.INT, Kind.AXES, Kind.SIDES) for f in op.fields))


class NotApplicable(Exception):
    """The question needs the solver (an attribute objective, a var domain naming a var, ...)."""


@dataclass(frozen=True)
class Check:
    """A constraint (or an objective naming sizes or counts) and what it reads."""

    expr: Expr
    scalars: tuple[tuple[str, int, int], ...]  # (attribute, step, dimension)
    lists: tuple[tuple[str, int], ...]  # (name.shape, step)
    unknowns: tuple[str, ...]
    shape_is: tuple[int, tuple[int, ...]] | None = None  # ``x.shape == [..]``, the usual target: (step, shape)
    compare: tuple[int, int, Any, int] | None = None  # ``x.H <= 16``: (step, dimension, test, number)
    # ``x.params``, ``blk.macs``, ``params``: (the name, the layers it sums: (step, kind, (op, Args) of
    # an activation or norm on that step, or None for the step's own layer))
    counts: tuple[tuple[str, tuple[tuple[int, str, Any], ...]], ...] = ()
    # a step's own size in the sizes the rest of the network can still use (the backward
    # pass's domain): (step, dimension, a membership test)
    within: tuple[int, int, Any] | None = None
    # ``memory``, ``activations``: counted from the whole network's shapes, once every step has run
    memory: tuple[str, ...] = ()


# not frozen: the plan places its checks and sets its width once every step is made, and a
# frozen dataclass is 6x slower to make (3 us against 0.5 us: 5 ms a solve on a 2000-layer
# chain); a NamedTuple's fields are twice as slow to read, several times a node of the walk
@dataclass(slots=True)
class Step:
    """One step of the walk; the plan makes it, the walks only read it."""

    layer: Layer | None  # None: the input (step 0) or the final step
    arg_plan: ArgPlan | None
    new: tuple[str, ...]  # unknowns first read here, in assignment order
    reads: tuple[str, ...]  # the names its fields read (vars included), for memo keys
    ties: tuple[str, ...]  # tied vars whose values are known from here on
    sources: tuple[int, ...]  # the steps it reads
    dependent: tuple[str, ...] = ()  # unknowns whose domains name this layer's fields
    checks: list[Check] = field(default_factory=list)  # the constraints checked once it has run
    exact: frozenset[str] = frozenset()  # dependent new unknowns whose range the walk computes
    ranges: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # per exact unknown: the names its range reads
    before: tuple[str, ...] = ()  # the names it reads that earlier steps bind
    rule: Any = None  # the op's shape rule
    width: int = 1  # how many combinations of ``new`` at most (a dependent domain at its widest)
    # made from the fields above, for the walk's memo keys
    fixed: Args | None = field(init=False, repr=False)  # the layer's Args when no field reads a name
    gather: Callable[[Any], tuple[Any, ...]] = field(init=False, repr=False)  # shapes -> its input shapes
    read: Callable[[Any], tuple[Any, ...]] = field(init=False, repr=False)  # env -> the values it reads
    range_of: Mapping[str, Callable[[Any], tuple[Any, ...]]] = field(init=False, repr=False)  # per exact unknown

    def __post_init__(self) -> None:
        self.fixed = self.arg_plan.fixed if self.arg_plan is not None else None
        self.gather = _tuple_getter(self.sources)
        self.read = _tuple_getter(self.reads)
        self.range_of = {u: _tuple_getter(names) for u, names in self.ranges.items()} if self.ranges else {}


@functools.cache
def _field_rank(op: str) -> dict[str, int]:
    """An op's fields in the order it declares them."""
    return {f.name: i for i, f in enumerate(OPS[op].fields)}


class Plan:
    """The steps of a walk over ``net``'s unknowns, for ``objective`` (``"sum"``, ``"params"``,
    ``"macs"`` or an expression); raises :class:`NotApplicable` for a question out of reach,
    and :class:`OutOfBudget` past ``deadline`` (``time.perf_counter()``; a plan of 100,000
    layers takes seconds)."""

    def __init__(self, net: Network, objective: Expr | str, deadline: float | None = None,
                 domains: Mapping[str, tuple[Any, ...]] | None = None) -> None:
        spec = net.spec
        self.domains = domains or {}  # per layer, per dimension: the sizes it may take, or None
        self.net = net
        self.deadline = deadline
        self.spec = spec
        self.tied = tied = spec.tied()
        self.unknowns = tuple(n for n, v in spec.vars.items() if v.domain is not None) + tuple(spec.unknowns)
        self.order = tuple(sorted(self.unknowns))
        # "params" or "macs": every layer's count, summed; a step knows its own once it runs
        self.kind: str | None = objective if objective in COUNTS else None
        self.passing: dict[int, list[tuple[Any, Args]]] = {}  # a step's activations and norms (their counts)
        if isinstance(objective, str):
            if objective != "sum" and self.kind is None:
                raise NotApplicable(objective)
            self.objective: Expr | None = None
        else:
            self.objective = objective.substitute(tied)
        self.goal: Check | None = None  # an objective naming sizes or counts: worked out at each leaf
        dep: dict[int, bool] = {}  # by domain: most unknowns share their field's default one
        for u, unk in spec.unknowns.items():
            if id(unk.domain) not in dep:
                dep[id(unk.domain)] = is_dependent(spec, u)
        self.dependent = frozenset(u for u, unk in spec.unknowns.items() if dep[id(unk.domain)])
        self.steps = steps = self._plan_steps()
        self._owner = {u: st.layer for st in steps if st.layer is not None for u in st.new}
        self._by_domain: dict[int, list[int]] = {}  # id of a Domain the spec holds -> its values
        self.cands = {u: self._static(u) for u in self.unknowns}  # shared lists: never changed
        if any(not c for c in self.cands.values()):
            raise NotApplicable("an empty domain")
        for st in steps:  # --max-combinations holds for every engine (the solver says it)
            if st.new:
                st.width = math.prod([len(self.cands[u]) for u in st.new])
                if st.width > combination_limit(spec):
                    raise NotApplicable(f"{st.layer.name if st.layer else 'input'}: too many combinations")

    @functools.cached_property
    def lows(self) -> dict[str, int]:
        return {u: min(c) for u, c in self.cands.items()}

    @functools.cached_property
    def highs(self) -> dict[str, int]:
        return {u: max(c) for u, c in self.cands.items()}

    # -- the steps ------------------------------------------------------------------------------
    def _free(self, names: frozenset[str] | set[str]) -> set[str]:
        """The free names that ``names`` stand for (a tied var for the names it is tied to)."""
        if not self.tied:
            return set(names)
        out: set[str] = set()
        for n in names:
            out |= self.tied[n].names() if n in self.tied else {n}
        return out

    def _plan_steps(self) -> list[Step]:
        """The steps, their checks placed (:meth:`_place_checks`)."""
        spec = self.spec
        steps: list[Step] = []
        assigned: set[str] = set()
        known_ties: set[str] = set()
        index = {"input": 0}
        unknowns = set(self.unknowns)

        def step(layer: Layer | None, arg_plan: ArgPlan | None, reads: set[str], sources: tuple[int, ...],
                 dependent: set[str] | None = None) -> None:
            free = self._free(reads) if reads else set()
            if free and not free <= unknowns:
                raise NotApplicable(f"{sorted(free - unknowns)} has no value")
            new = [u for u in self._assignment_order(layer, free) if u not in assigned] if free else []
            exact: dict[str, tuple[str, ...]] = {}
            for u in new:
                # a padding whose kernel is known by then gets its exact range: no check later
                if layer is not None and u in self.dependent:
                    got = self._range_reads(layer, u, assigned, known_ties)
                    if got is not None:
                        exact[u] = got
                assigned.add(u)
            ties = ([n for n, e in self.tied.items() if n not in known_ties and e.names() <= assigned]
                    if self.tied and (new or not steps) else [])
            known_ties.update(ties)
            ordered = tuple(sorted(reads))
            steps.append(Step(layer, arg_plan, tuple(new), ordered, tuple(ties), sources,
                              tuple(sorted(dependent - exact.keys())) if dependent else (),
                              exact=frozenset(exact), ranges=exact,
                              before=tuple(n for n in ordered if n not in new and n not in ties),
                              rule=OPS[layer.op].shape if layer is not None else None))

        input_names: set[str] = set()
        for e in spec.input:
            input_names |= e.names()
        step(None, None, input_names, ())
        for n, lay in enumerate(self.net.order):
            if self.deadline is not None and not n & 255 and time.perf_counter() > self.deadline:
                raise OutOfBudget("the time ran out")
            if lay.op in PASS_THROUGH and len(lay.sources) == 1:
                index[lay.name] = index[lay.sources[0]]  # its shape is its input's: no step
                if self.kind is not None:  # ... but a norm has parameters: its step counts them
                    fixed = plan_for(self.net, lay).fixed
                    assert fixed is not None
                    self.passing.setdefault(index[lay.name], []).append((OPS[lay.op], fixed))
                continue
            try:
                arg_plan = plan_for(self.net, lay)
            except ArchsolveError as exc:
                raise NotApplicable(str(exc)) from None
            if arg_plan.fixed is not None:  # most layers: no name read, nothing to assign
                index[lay.name] = len(steps)
                steps.append(Step(lay, arg_plan, (), (), (), tuple([index[s] for s in lay.sources]),
                                  rule=OPS[lay.op].shape))
                continue
            dependent: set[str] = set()
            for f, _, v, _, _ in arg_plan.dynamic if self.dependent else ():
                if f in ENUMERATED:
                    dependent |= self._free(names_in(v)) & self.dependent
            index[lay.name] = len(steps)
            step(lay, arg_plan, set(arg_plan.names), tuple(index[s] for s in lay.sources), dependent)
        rest = [u for u in self.unknowns if u not in assigned]
        step(None, None, set(rest), ())
        self._place_checks(steps, index)
        self._place_domains(steps, index)
        return steps

    def _place_domains(self, steps: list[Step], index: Mapping[str, int]) -> None:
        """A check of each step's sizes against their domains, at the step: the walk then
        turns back at a size from which no later constraint can be met, not at the
        constraint (a chain's ``c6.H == 26`` prunes each conv's kernel on the way)."""
        placed: set[tuple[int, int]] = set()
        for name, doms in self.domains.items():
            at = index.get(name)
            if at is None or not at:
                continue
            for d, dom in enumerate(doms):
                if dom is not None and (at, d) not in placed:
                    placed.add((at, d))
                    steps[at].checks.append(Check(Num(1), (), (), (), within=(at, d, dom.members())))

    def _range_reads(self, layer: Layer, u: str, assigned: set[str], ties: set[str]) -> tuple[str, ...] | None:
        """When the fields ``u``'s domain names are ints once the names ``assigned`` and
        ``ties`` are bound: the names they read (``u``'s range is the same for the same values
        of those); else None."""
        dom = self.spec.unknowns[u].domain
        out: set[str] = set()
        for n in dom.names():
            v = layer.values.get(n)
            if not isinstance(v, (Expr, tuple, int)):
                return None
            if isinstance(v, tuple) and not all(isinstance(x, (Expr, int)) for x in v):
                return None
            used = names_in(v)
            if not all(x in assigned or x in ties for x in used):
                return None
            out |= used
        return tuple(sorted(out))

    def _assignment_order(self, layer: Layer | None, free: set[str]) -> list[str]:
        """Unknowns in field order, those whose domain follows other fields (padding) last."""
        if layer is None:
            return sorted(free, key=lambda u: (u not in self.spec.vars, u))
        rank = _field_rank(layer.op)

        def key(u: str) -> tuple[int, int, str]:
            unk = self.spec.unknowns.get(u)
            field = unk.field.split("[")[0] if unk is not None and unk.layer == layer.name else ""
            return (u in self.dependent, rank.get(field, -1), u)

        return sorted(free, key=key)

    # -- the checks -------------------------------------------------------------------------------
    def _parts(self, expr: Expr, steps: list[Step], index: Mapping[str, int], ready_at: Mapping[str, int]
               ) -> tuple[Check, int]:
        """What an expression reads -- sizes, shapes, unknowns, counts -- and the first step
        after which all of it is known."""
        spec = self.spec
        axes = ("C", *spec.axis_names)
        scalars: list[tuple[str, int, int]] = []
        lists: list[tuple[str, int]] = []
        unknowns: list[str] = []
        counts: list[tuple[str, tuple[tuple[int, str, Any], ...]]] = []
        memory: list[str] = []
        at = 0
        for n in expr.names():
            if n in ready_at:
                unknowns.append(n)
                at = max(at, ready_at[n])
                continue
            if n in MEMORY_TOTALS:
                memory.append(n)
                at = len(steps) - 1
                continue
            if n in COUNTS:  # the totals: every layer's count, known once the last has run
                parts = tuple(self._count_part(lay.name, n, steps, index) for lay in self.net.order)
                counts.append((n, parts))
                at = max([at, *(where for where, _, _ in parts)])
                continue
            base, _, attr = n.rpartition(".")
            target = spec.aliases.get(base, base)
            if target not in index:
                raise NotApplicable(f"{n} names nothing")
            where = index[target]
            if attr == "shape":
                lists.append((n, where))
            elif attr in axes:
                scalars.append((n, where, axes.index(attr)))
            elif attr in COUNTS and target != "input":
                group = next((g for g in spec.groups if g.name == base), None)
                members = group.members if group is not None else (target,)
                parts = tuple(self._count_part(m, attr, steps, index) for m in members)
                counts.append((n, parts))
                where = max(w for w, _, _ in parts)
            else:
                raise NotApplicable(f"{n} needs the solver")
            at = max(at, where)
        return Check(expr, tuple(scalars), tuple(lists), tuple(unknowns), counts=tuple(counts),
                     memory=tuple(memory)), at

    def _place_checks(self, steps: list[Step], index: Mapping[str, int]) -> None:
        """Every constraint (and var domain naming vars) checked at the first step that knows
        all it reads; :attr:`goal`, an objective naming sizes or counts."""
        spec = self.spec
        ready_at = {u: i for i, st in enumerate(steps) for u in st.new}
        if self.objective is not None and not self.objective.names() <= set(self.unknowns):
            self.goal, _ = self._parts(self.objective, steps, index, ready_at)
        tied = self.tied
        for expr in [c.expr.substitute(tied) if tied else c.expr for c in spec.constraints] + self._var_domains():
            check, at = self._parts(expr, steps, index, ready_at)
            scalars, lists, unknowns, counts = check.scalars, check.lists, check.unknowns, check.counts
            shape_is = None
            if (isinstance(expr, Bin) and expr.op == "==" and len(lists) == 1 and not scalars and not unknowns
                    and not counts and isinstance(expr.right, ListExpr)
                    and all(isinstance(x, Num) for x in expr.right.items)):
                shape_is = (lists[0][1], tuple(x.value for x in expr.right.items))  # type: ignore[attr-defined]
            compare = None
            if (isinstance(expr, Bin) and expr.op in COMPARISONS and len(scalars) == 1 and not lists and not unknowns
                    and not counts and isinstance(expr.right, Num) and isinstance(expr.left, Name)):
                compare = (scalars[0][1], scalars[0][2], COMPARISONS[expr.op], expr.right.value)
            steps[at].checks.append(dataclasses.replace(check, shape_is=shape_is, compare=compare))

    def _var_domains(self) -> list[Expr]:
        """A var's domain whose ends name other vars (``p: {max: k // 2}``): a check, since
        its candidates (:meth:`_static`) are its widest range."""
        out: list[Expr] = []
        for u, var in self.spec.vars.items():
            dom = var.domain
            if dom is not None and dom.names():
                assert dom.lo is not None and dom.hi is not None
                out.append(Bin("and", Bin("<=", dom.lo, Name(u)), Bin("<=", Name(u), dom.hi)).substitute(self.tied))
        return out

    def _count_part(self, name: str, kind: str, steps: list[Step], index: Mapping[str, int]
                    ) -> tuple[int, str, Any]:
        """Where layer ``name``'s count is taken: (its step, kind, None), or for an activation
        or norm (the step it sits on, kind, (op, Args)): its input is that step's output."""
        where = index[name]
        st = steps[where]
        if st.layer is not None and st.layer.name == name:
            return where, kind, None
        lay = self.spec.layer(name)
        return where, kind, (OPS[lay.op], plan_for(self.net, lay).fixed)

    # -- the candidates -----------------------------------------------------------------------------
    def _static(self, u: str) -> list[int]:
        """Every value ``u`` may take (a dependent domain at its widest); small domains only.
        An independent unknown's values follow from its domain alone: most share one (kernel
        1..11); a dependent one's from its layer's fields too (padding below a kernel 25)."""
        spec = self.spec
        if u in spec.vars or u in self.dependent:  # a padding's widest follows its layer's kernel
            return self._widest(u, spec.vars[u].domain if u in spec.vars else spec.unknowns[u].domain)
        dom = spec.unknowns[u].domain
        hit = self._by_domain.get(id(dom))  # by identity: hashing a Domain walks its Exprs
        if hit is None:
            hit = self._by_domain[id(dom)] = self._widest(u, dom)
        return hit

    def _widest(self, u: str, dom: Domain | None) -> list[int]:
        spec = self.spec
        # a "?" whose domain follows its layer's fields (padding 0..kernel-1) is left to
        # unknown_values(), which bounds it by those fields' widest values
        if dom is not None and not dom.listed and u not in self.dependent:
            try:
                lo, hi = dom.ends()
            except KeyError:  # ends that name vars: their widest range; fields: small by theirs
                try:
                    lo, hi = var_span(spec, u) if u in spec.vars else (0, 0)
                except ArchsolveError:
                    raise NotApplicable(f"{u}: no finite domain") from None
            if hi - lo >= MAX_VALUES:
                raise NotApplicable(f"{u}: {hi - lo + 1} values")
        try:
            # the layer whose step binds ``u``, for messages about its domain
            return unknown_values(spec, u, self._owner.get(u, spec.layers[0]))
        except ArchsolveError:
            raise NotApplicable(f"{u}: no finite domain") from None

    # -- what the rest of a walk depends on --------------------------------------------------------
    @functools.cached_property
    def live(self) -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
        """Per step that assigns something: the earlier steps' shapes and the names bound
        earlier that it or any later step (or constraint) reads -- everything the rest of the
        walk depends on (``((), ())`` for the others, which no walk keys a state at)."""
        bound = {n for st in self.steps for n in (*st.new, *st.ties)}
        # walking back: what steps at or after i read, less what is made at i (a step reads
        # only what earlier steps made, so nothing made after i is added here)
        steps_needed: set[int] = set()
        names_needed: set[str] = set()
        out: list[tuple[tuple[int, ...], tuple[str, ...]]] = [((), ())] * len(self.steps)
        for i in range(len(self.steps) - 1, -1, -1):
            st = self.steps[i]
            steps_needed.update(st.sources)
            names_needed.update(st.reads)
            for c in st.checks:
                steps_needed.update(where for _, where, _ in c.scalars)
                steps_needed.update(where for _, where in c.lists)
                names_needed.update(c.unknowns)
                for _, parts in c.counts:  # a count reads its step's inputs and values too
                    for where, _, _ in parts:
                        steps_needed.add(where)
                        steps_needed.update(self.steps[where].sources)
                        names_needed.update(self.steps[where].reads)
            steps_needed.discard(i)
            names_needed.difference_update(st.new)
            names_needed.difference_update(st.ties)
            if st.new or st.ties:  # the walks key states only where something is assigned
                out[i] = (tuple(sorted(steps_needed)), tuple(sorted(names_needed & bound)))
        return out

    def own_unknowns(self) -> list[tuple[str, ...]]:
        """Per step, its new unknowns that no later step, constraint or objective term reads
        (the optimum groups a step's combinations by the rest)."""
        later: set[str] = set(self.objective.names()) if self.objective is not None else set()
        # a constraint (or objective) on a layer's count reads all of that layer's values
        for c in [c for st in self.steps for c in st.checks] + ([self.goal] if self.goal is not None else []):
            for _, parts in c.counts:
                for where, _, on in parts:
                    if on is None:
                        later |= self._free(set(self.steps[where].reads))
        out: list[tuple[str, ...]] = [()] * len(self.steps)
        for i in range(len(self.steps) - 1, -1, -1):
            st = self.steps[i]
            checked: set[str] = set()
            for c in st.checks:
                checked |= set(c.unknowns)
            out[i] = tuple(u for u in st.new if u not in later and u not in checked)
            later |= self._free(set(st.reads)) | checked
        return out


def _tuple_getter(keys: tuple[Any, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the tuple of a container's items at ``keys`` (itemgetter, which runs
    in C, gives a bare item for one key)."""
    if len(keys) > 1:
        return operator.itemgetter(*keys)
    if keys:
        (only,) = keys
        return lambda c: (c[only],)
    return _nothing


def _nothing(c: Any) -> tuple[()]:
    return ()
