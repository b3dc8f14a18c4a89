"""Exact depth-first search over the unknowns' domains: ``solve``'s first try, before Z3.

Many solve questions are small -- a DCGAN's five strides, a U-Net's up-convs -- and a walk
over the layers in data-flow order, trying each unknown's values with the very rules
``check`` runs (remembered per layer, input shape and values), answers them in about a
millisecond, before Z3 would have its constraints built.  The walk prunes a branch as soon
as a layer is invalid or a constraint on what is known so far fails, and it is exhaustive:

- ``all``: every solution, or the first ``limit`` and the proof that more exist;
- ``opt``: branch and bound on the key (objective, unknowns in name order), so the answer
  is the proven optimum with ``solve``'s tie-break.  Here a layer's own unknowns -- those
  nothing later reads -- are grouped by the output they give, and only the cheapest of a
  group is followed: U-Net up-convs with 264 combinations each collapse to a handful.
  ``params`` and ``macs`` are summed layer by layer with ``check``'s own counts (a norm's
  parameters on the step before it); no count is negative, so the count so far bounds.

"No solution" is exact too, but the caller runs Z3 anyway to explain the conflict.  The
search gives up (:func:`search` returns None) when its time budget runs out or the
question is outside its reach -- vars whose domains name each other, a huge domain -- and
the caller hands the question to Z3.  Constraints may name sizes, shapes and counts
(``conv1.params <= 5000``, a block's, the totals): each is checked as soon as the layers it
reads have run.  So may an objective (``head.H``, ``params + 2 * macs``): it is worked out
at each leaf, with no bound on the way, so such an optimum walks every solution.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> net = build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... constraints: [up.L == 16]
    ... '''))
    >>> search(net, "opt", "sum", 1, 1.0).solutions
    [{'up.kernel': 2}]
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import operator
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from archsolve.errors import ArchsolveError, ExprError, SpecError, interrupted
from archsolve.lang.expr import Bin, Expr, ListExpr, Name, Num, interval
from archsolve.ops.base import Args, Kind, Severity, Shape
from archsolve.ops.table import IDENTITY_RULES, OPS
from archsolve.shapes.graph import Network
from archsolve.shapes.propagate import (
    COMPARISONS,
    ArgPlan,
    evaluate_constraint,
    fill_args,
    names_in,
    plan_args,
    plan_for,
)
from archsolve.spec.domains import (
    ENUMERATED,
    dependent_bounds,
    in_field_domains,
    is_dependent,
    unknown_values,
    var_span,
)
from archsolve.spec.load import Domain, Layer

MISSING = object()
COUNTS = ("params", "macs")  # objectives the search sums layer by layer
MAX_VALUES = 1 << 16  # the largest domain the search tries value by value
MAX_MEMO = 2_000_000  # remembered layer results (about 0.5 GB) before the search gives up
# A quick try (solve's first, before Z3) also gives up early when, found nothing yet, its pace
# says the walk would take more than HOPELESS_S; it is judged once it has run JUDGE_AFTER_S.
HOPELESS_S = 10.0
JUDGE_AFTER_S = 0.05
# a first solution's walk remembers layer results only past this many nodes: a short walk
# never meets a binding twice (measured on the benchmark's nets), a long one may
FRESH_NODES = 4096
# ops whose output is their input's shape and that have no field an unknown can be in
# (activations, norms): no step of the walk, and no field plan to make
PASS_THROUGH = frozenset(name for name, op in OPS.items() if op.shape in IDENTITY_RULES
                         and not any(f.kind in (Kind.INT, Kind.AXES, Kind.SIDES) for f in op.fields))


_RANK: dict[str, dict[str, int]] = {}  # per op: its fields' order


class NotApplicable(Exception):
    """The question needs the solver (an attribute objective, a var domain naming a var, ...)."""


class OutOfBudget(Exception):
    """The search ran past its time budget."""


@dataclass
class Answer:
    """``solutions``: value dicts (every unknown); ``complete``: every solution was seen
    (``all``) or the first is the proven optimum (``opt``)."""

    solutions: list[dict[str, int]]
    complete: bool
    count: int | None = None  # ``all`` past its limit: every solution, counted (None: not known)
    timed_out: bool = False  # the time ran out (``keep_best``): what was found by then, if any


class _Valid:
    """A Req that only remembers whether an error-severity condition failed."""

    __slots__ = ("bad",)

    def __init__(self) -> None:
        self.bad = False

    def need(self, cond: Any, rule: str, field: str, message: Any, *, fatal: bool = False,
             severity: Severity = Severity.ERROR) -> None:
        if not cond and severity is _ERROR:
            self.bad = True


_ERROR = Severity.ERROR


@dataclass
class _Check:
    expr: Expr
    scalars: tuple[tuple[str, int, int], ...]  # (attribute, step, dimension)
    lists: tuple[tuple[str, int], ...]  # (name.shape, step)
    unknowns: tuple[str, ...]
    shape_is: tuple[int, tuple[int, ...]] | None = None  # ``x.shape == [..]``, the usual target: (step, shape)
    compare: tuple[int, int, Any, int] | None = None  # ``x.H <= 16``: (step, dimension, test, number)
    # ``x.params``, ``blk.macs``, ``params``: (the name, the layers it sums: (step, kind, (op, Args) of
    # an activation or norm on that step, or None for the step's own layer))
    counts: tuple[tuple[str, tuple[tuple[int, str, Any], ...]], ...] = ()


@dataclass(slots=True)
class _Step:
    layer: Layer | None  # None: the input (step 0) or the final step
    plan: ArgPlan | None
    new: tuple[str, ...]  # unknowns first read here, in assignment order
    reads: tuple[str, ...]  # the names its fields read (vars included), for memo keys
    ties: tuple[str, ...]  # tied vars whose values are known from here on
    sources: tuple[int, ...]  # the steps it reads
    dependent: tuple[str, ...]  # unknowns whose domains name this layer's fields
    checks: list[_Check]
    local: tuple[str, ...] = ()  # new unknowns nothing later reads (grouped by output in ``opt``)
    exact: frozenset[str] = frozenset()  # dependent new unknowns whose range ``values`` computes
    ranges: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per exact unknown: the names its range reads
    before: tuple[str, ...] = ()  # the names it reads that earlier steps bind
    rule: Any = None  # the op's shape rule
    width: int = 1  # how many combinations of ``new`` at most (a dependent domain at its widest)
    fixed: Any = field(init=False, repr=False)  # the layer's Args when no field reads a name
    scratch: Any = field(init=False, repr=False)  # else one Args the walk refills for each binding
    fills: Any = field(init=False, repr=False)  # ((field, getter), ...) when a plain read fills each
    gather: Any = field(init=False, repr=False)  # shapes -> the tuple of its input shapes
    read: Any = field(init=False, repr=False)  # env -> the tuple of the values it reads
    range_of: Any = field(init=False, repr=False)  # per exact unknown: env -> the values its range reads

    def __post_init__(self) -> None:
        self.fixed = self.plan.fixed if self.plan is not None else None
        self.scratch = self.fills = None
        self.gather = _tuple_getter(self.sources)
        self.read = _tuple_getter(self.reads)
        self.range_of = {u: _tuple_getter(names) for u, names in self.ranges.items()} if self.ranges else _NO_RANGES


class _Search:
    def __init__(self, net: Network, objective: Expr | str, deadline: float, quick: float | None = None):
        spec = net.spec
        self.net = net
        self.spec = spec
        self.deadline = deadline
        self.quick = quick  # a quick try's end, in this process's CPU time (None: no quick try)
        self.progress: Any = None  # the running walk's share of its tree behind it (None: found some)
        self.walk_cpu = 0.0  # the CPU time its walk started at
        self.found: list[dict[str, int]] = []  # the listing so far
        self.nodes = 0
        self.memo: dict[Any, Any] = {}
        self.req = _Valid()  # one for every rule call: a rule only sets ``bad``
        self.best: list[Any] = [None, None]  # the optimum walk's incumbent: (key, values)
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
        self.goal: _Check | None = None  # an objective naming sizes or counts: worked out at each leaf
        dep: dict[int, bool] = {}  # by domain: most unknowns share their field's default one
        for u, unk in spec.unknowns.items():
            if id(unk.domain) not in dep:
                dep[id(unk.domain)] = is_dependent(spec, u)
        self.dependent = frozenset(u for u, unk in spec.unknowns.items() if dep[id(unk.domain)])
        self.steps: list[_Step] = []
        self._plan_steps()
        self.owner = {u: st.layer for st in self.steps if st.layer is not None for u in st.new}
        self.by_domain: dict[int, list[int]] = {}  # id of a Domain the spec holds -> its values
        self.cands = {u: self._static(u) for u in self.unknowns}  # shared lists: never changed
        if any(not c for c in self.cands.values()):
            raise NotApplicable("an empty domain")
        for st in self.steps:  # --max-combinations holds for every engine (the solver says it)
            if st.new:
                st.width = math.prod([len(self.cands[u]) for u in st.new])
                if st.width > spec.limits.combinations:
                    raise NotApplicable(f"{st.layer.name if st.layer else 'input'}: too many combinations")

    @functools.cached_property
    def lows(self) -> dict[str, int]:
        return {u: min(c) for u, c in self.cands.items()}

    @functools.cached_property
    def highs(self) -> dict[str, int]:
        return {u: max(c) for u, c in self.cands.items()}

    # -- planning ---------------------------------------------------------------------------------
    def _free(self, names: frozenset[str] | set[str]) -> set[str]:
        if not self.tied:
            return set(names)
        out: set[str] = set()
        for n in names:
            out |= self.tied[n].names() if n in self.tied else {n}
        return out

    def _plan_steps(self) -> None:
        spec = self.spec
        assigned: set[str] = set()
        known_ties: set[str] = set()
        index = {"input": 0}
        unknowns = set(self.unknowns)

        def step(layer: Layer | None, plan: ArgPlan | None, reads: set[str], sources: tuple[int, ...],
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
                    if self.tied and (new or not self.steps) else [])
            known_ties.update(ties)
            ordered = tuple(sorted(reads))
            self.steps.append(_Step(layer, plan, tuple(new), ordered, tuple(ties), sources,
                                    tuple(sorted(dependent - exact.keys())) if dependent else (), [],
                                    exact=frozenset(exact), ranges=exact,
                                    before=tuple(n for n in ordered if n not in new and n not in ties),
                                    rule=OPS[layer.op].shape if layer is not None else None))

        input_names: set[str] = set()
        for e in spec.input:
            input_names |= e.names()
        step(None, None, input_names, ())
        for lay in self.net.order:
            if lay.op in PASS_THROUGH and len(lay.sources) == 1:
                index[lay.name] = index[lay.sources[0]]  # its shape is its input's: no step
                if self.kind is not None:  # ... but a norm has parameters: its step counts them
                    fixed = plan_for(self.net, lay).fixed
                    assert fixed is not None
                    self.passing.setdefault(index[lay.name], []).append((OPS[lay.op], fixed))
                continue
            try:
                plan = plan_for(self.net, lay)
            except ArchsolveError as exc:
                raise NotApplicable(str(exc)) from None
            if plan.fixed is not None:  # most layers: no name read, nothing to assign
                index[lay.name] = len(self.steps)
                self.steps.append(_Step(lay, plan, (), (), (), tuple([index[s] for s in lay.sources]), (), [],
                                        rule=OPS[lay.op].shape))
                continue
            dependent: set[str] = set()
            for f, _, v, _, _ in plan.dynamic if self.dependent else ():
                if f in ENUMERATED:
                    dependent |= self._free(names_in(v)) & self.dependent
            index[lay.name] = len(self.steps)
            step(lay, plan, set(plan.names), tuple(index[s] for s in lay.sources), dependent)
        rest = [u for u in self.unknowns if u not in assigned]
        step(None, None, set(rest), ())
        self._place_checks(index)

    def _range_reads(self, layer: Layer, u: str, assigned: set[str], ties: set[str]) -> tuple[str, ...] | None:
        """When the fields ``u``'s domain names are ints once the names ``assigned`` and
        ``ties`` are bound: the names they read (``u``'s range is the same for the same values
        of those); else None."""
        dom = self.spec.unknowns[u].domain
        assert dom.lo is not None and dom.hi is not None
        out: set[str] = set()
        for n in dom.lo.names() | dom.hi.names():
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
        rank = _RANK.get(layer.op)
        if rank is None:
            rank = _RANK[layer.op] = {f.name: i for i, f in enumerate(OPS[layer.op].fields)}

        def key(u: str) -> tuple[int, int, str]:
            unk = self.spec.unknowns.get(u)
            field = unk.field.split("[")[0] if unk is not None and unk.layer == layer.name else ""
            return (u in self.dependent, rank.get(field, -1), u)

        return sorted(free, key=key)

    def _parts(self, expr: Expr, index: Mapping[str, int], ready_at: Mapping[str, int]) -> tuple[_Check, int]:
        """What an expression reads -- sizes, shapes, unknowns, counts -- and the first step
        after which all of it is known."""
        spec = self.spec
        axes = ("C", *spec.axis_names)
        scalars: list[tuple[str, int, int]] = []
        lists: list[tuple[str, int]] = []
        unknowns: list[str] = []
        counts: list[tuple[str, tuple[tuple[int, str, Any], ...]]] = []
        at = 0
        for n in expr.names():
            if n in ready_at:
                unknowns.append(n)
                at = max(at, ready_at[n])
                continue
            if n in COUNTS:  # the totals: every layer's count, known once the last has run
                parts = tuple(self._count_part(lay.name, n, index) for lay in self.net.order)
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
                parts = tuple(self._count_part(m, attr, index) for m in members)
                counts.append((n, parts))
                where = max(w for w, _, _ in parts)
            else:
                raise NotApplicable(f"{n} needs the solver")
            at = max(at, where)
        return _Check(expr, tuple(scalars), tuple(lists), tuple(unknowns), counts=tuple(counts)), at

    def _place_checks(self, index: Mapping[str, int]) -> None:
        spec = self.spec
        ready_at = {u: i for i, st in enumerate(self.steps) for u in st.new}
        if self.objective is not None and not self.objective.names() <= set(self.unknowns):
            self.goal, _ = self._parts(self.objective, index, ready_at)
        tied = self.tied
        for expr in [c.expr.substitute(tied) if tied else c.expr for c in spec.constraints] + self._var_domains():
            check, at = self._parts(expr, index, ready_at)
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
            self.steps[at].checks.append(_Check(expr, scalars, lists, unknowns, shape_is, compare, counts))

    def _var_domains(self) -> list[Expr]:
        """A var's domain whose ends name other vars (``p: {max: k // 2}``): a check, since
        its candidates (:func:`candidates`) are its widest range."""
        out: list[Expr] = []
        for u, var in self.spec.vars.items():
            dom = var.domain
            if dom is None or dom.values is not None:
                continue
            assert dom.lo is not None and dom.hi is not None
            if dom.lo.names() or dom.hi.names():
                out.append(Bin("and", Bin("<=", dom.lo, Name(u)), Bin("<=", Name(u), dom.hi)).substitute(self.tied))
        return out

    def _count_part(self, name: str, kind: str, index: Mapping[str, int]) -> tuple[int, str, Any]:
        """Where layer ``name``'s count is taken: (its step, kind, None), or for an activation
        or norm (the step it sits on, kind, (op, Args)): its input is that step's output."""
        where = index[name]
        st = self.steps[where]
        if st.layer is not None and st.layer.name == name:
            return where, kind, None
        lay = self.spec.layer(name)
        return where, kind, (OPS[lay.op], plan_for(self.net, lay).fixed)

    def _find_locals(self) -> None:
        """A step's new unknowns that no later step, constraint or objective term reads."""
        later: set[str] = set(self.objective.names()) if self.objective is not None else set()
        # a constraint (or objective) on a layer's count reads all of that layer's values
        for c in [c for st in self.steps for c in st.checks] + ([self.goal] if self.goal is not None else []):
            for _, parts in c.counts:
                for where, _, on in parts:
                    if on is None:
                        later |= self._free(set(self.steps[where].reads))
        for st in reversed(self.steps):
            checked: set[str] = set()
            for c in st.checks:
                checked |= set(c.unknowns)
            st.local = tuple(u for u in st.new if u not in later and u not in checked)
            later |= self._free(set(st.reads)) | checked

    def _static(self, u: str) -> list[int]:
        """Every value ``u`` may take (a dependent domain at its widest); small domains only.
        An independent unknown's values follow from its domain alone: most share one (kernel
        1..11); a dependent one's from its layer's fields too (padding below a kernel 25)."""
        spec = self.spec
        if u in spec.vars or u in self.dependent:  # a padding's widest follows its layer's kernel
            return self._widest(u, spec.vars[u].domain if u in spec.vars else spec.unknowns[u].domain)
        dom = spec.unknowns[u].domain
        hit = self.by_domain.get(id(dom))  # by identity: hashing a Domain walks its Exprs
        if hit is None:
            hit = self.by_domain[id(dom)] = self._widest(u, dom)
        return hit

    def _widest(self, u: str, dom: Domain | None) -> list[int]:
        spec = self.spec
        # a "?" whose domain follows its layer's fields (padding 0..kernel-1) is left to
        # unknown_values(), which bounds it by those fields' widest values
        if dom is not None and dom.values is None and u not in self.dependent:
            assert dom.lo is not None and dom.hi is not None
            try:
                lo, hi = dom.lo.evaluate({}), dom.hi.evaluate({})
            except KeyError:  # ends that name vars: their widest range; fields: small by theirs
                try:
                    lo, hi = var_span(spec, u) if u in spec.vars else (0, 0)
                except ArchsolveError:
                    raise NotApplicable(f"{u}: no finite domain") from None
            if hi - lo >= MAX_VALUES:
                raise NotApplicable(f"{u}: {hi - lo + 1} values")
        try:
            return unknown_values(spec, u, self._layer_of(u))
        except ArchsolveError:
            raise NotApplicable(f"{u}: no finite domain") from None

    def _layer_of(self, u: str) -> Layer:
        """The layer whose step binds ``u`` (for messages about its domain)."""
        return self.owner.get(u, self.spec.layers[0])

    # -- one step ----------------------------------------------------------------------------------
    def values(self, st: _Step, u: str, env: dict[str, int]) -> list[int]:
        """Candidates for ``u``; a dependent domain (padding 0..kernel-1) from the fields known."""
        cands = self.cands[u]
        if u not in st.exact:
            return cands
        key = ("range", u, st.range_of[u](env))
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = self._range(st, u, env, cands)
        return hit  # type: ignore[no-any-return]

    def _range(self, st: _Step, u: str, env: Mapping[str, int], cands: list[int]) -> list[int]:
        assert st.layer is not None
        dom = self.spec.unknowns[u].domain
        assert dom.lo is not None and dom.hi is not None
        fields: dict[str, Any] = {}  # the fields its domain names, for the values bound so far
        for n in dom.lo.names() | dom.hi.names():
            v = st.layer.values[n]
            if isinstance(v, tuple):
                fields[n] = tuple(x.evaluate(env) if isinstance(x, Expr) else x for x in v)
            else:
                fields[n] = v.evaluate(env) if isinstance(v, Expr) else v
        bounds = dependent_bounds(self.spec, u, fields, self.spec.ndim)
        if bounds is None:
            return cands
        return list(range(max(bounds[0], cands[0]), min(bounds[1], cands[-1]) + 1))

    def run(self, i: int, env: dict[str, int], shapes: list[Shape | None]) -> Shape | None:
        """The step's output shape, or None when it is invalid (memoized)."""
        st = self.steps[i]
        inputs = st.gather(shapes)
        key = (i, inputs, st.read(env))
        memo = self.memo
        hit = memo.get(key, MISSING)
        if hit is not MISSING:
            return hit  # type: ignore[no-any-return]
        out = memo[key] = self.fresh(i, env, shapes, st, inputs)
        return out

    def fresh(self, i: int, env: dict[str, int], shapes: list[Shape | None], st: _Step | None = None,
              inputs: tuple[Shape, ...] | None = None) -> Shape | None:
        """:meth:`run` without the memo: a first solution's walk seldom meets a binding twice
        (the states it left are skipped whole), so it remembers nothing until it runs long."""
        if st is None:
            st = self.steps[i]
            inputs = st.gather(shapes)
        out: Shape | None = None
        args = st.fixed
        if args is None:
            if st.layer is None:
                if i == 0:
                    shape = tuple(self.value(e, env, f"input[{k}]") for k, e in enumerate(self.spec.input))
                    out = shape if min(shape) >= 1 else None
                else:
                    out = ()
                return out
            args = self.refill(st, env)
        if args is not None:
            req = self.req
            req.bad = False
            y = st.rule(args, inputs, req)
            out = None if req.bad else tuple(y)
        return out

    def args(self, i: int, st: _Step, env: Mapping[str, int], reads: tuple[int, ...]) -> Args | None:
        """The layer's Args for these values (the same for every input shape), or None when
        a value is out of its field's range or dependent domain."""
        assert st.plan is not None
        if st.plan.fixed is not None:
            return st.plan.fixed
        key = ("args", i, reads)
        hit = self.memo.get(key, MISSING)
        if hit is not MISSING:
            return hit  # type: ignore[no-any-return]
        try:
            args: Args | None = plan_args(st.plan, env, self.spec)
        except ArchsolveError:
            args = None
        if args is not None and st.dependent and not in_field_domains(
                self.spec, args, {u: env[u] for u in st.dependent}, self.spec.ndim):
            args = None
        self.memo[key] = args
        return args

    def refill(self, st: _Step, env: Mapping[str, int]) -> Args | None:
        """The layer's Args for these values in the step's own Args object, refilled (a rule
        keeps nothing of them), or None as :meth:`args` gives it."""
        plan = st.plan
        assert plan is not None
        spec = self.spec
        args = st.scratch
        if args is None:
            args = st.scratch = Args(plan.static, spec.ndim, plan.layer.name, plan.sources)
            st.fills = self._fills(plan)
        if st.fills is not None:
            for name, get in st.fills:
                args[name] = get(env)
        else:
            try:
                fill_args(plan, env, spec, args)
            except ArchsolveError:
                return None
        if st.dependent and not in_field_domains(spec, args, {u: env[u] for u in st.dependent}, spec.ndim):
            return None
        return args

    def _fills(self, plan: ArgPlan) -> tuple[tuple[str, Any], ...] | None:
        """How to refill a step's Args by plain reads alone: every dynamic field one name per
        axis whose every candidate keeps the field's minimum (a stride's 1..4, not a var
        ranging over -3..3), so nothing is left to check; else None."""
        out = []
        for name, _, v, minimum, plain in plan.dynamic:
            if plain is None:
                return None
            if minimum is not None and any(self.lows.get(n, minimum - 1) < minimum for n in names_in(v)):
                return None
            out.append((name, plain))
        return tuple(out)

    def holds(self, st: _Step, env: Mapping[str, int], shapes: list[Shape | None]) -> bool:
        if not st.checks:
            return True
        for c in st.checks:
            if c.shape_is is not None:
                if shapes[c.shape_is[0]] != c.shape_is[1]:
                    return False
                continue
            if c.compare is not None:
                where, d, test, number = c.compare
                shape = shapes[where]
                if shape is None or d >= len(shape) or not test(shape[d], number):
                    return False
                continue
            try:
                value = self.evaluate(c, env, shapes)
            except ExprError:  # a division by zero for these sizes: the constraint fails, as in check
                return False
            if not value:
                return False
        return True

    def evaluate(self, c: _Check, env: Mapping[str, int], shapes: list[Shape | None]) -> int | None:
        """A constraint's truth or the objective's value, for the values and shapes so far
        (None: it names an axis the shape lacks, after flatten)."""
        scalars: dict[str, int] = dict(env)
        for name, where, d in c.scalars:
            shape = shapes[where]
            assert shape is not None
            if d >= len(shape):
                return None
            scalars[name] = shape[d]
        for name, parts in c.counts:
            scalars[name] = sum(self.layer_count(where, kind, on, env, shapes) for where, kind, on in parts)
        lists = {name: shapes[where] for name, where in c.lists}
        try:
            return evaluate_constraint(c.expr, scalars, lists)  # type: ignore[arg-type]
        except ZeroDivisionError:
            raise ExprError(f"division by zero in {c.expr}") from None
        except KeyError:
            raise NotApplicable(f"{c.expr}") from None

    def layer_count(self, i: int, kind: str, on: Any, env: Mapping[str, int], shapes: list[Shape | None]) -> int:
        """One layer's parameters or MACs: step ``i``'s own layer, or ``on`` = (op, Args) of an
        activation or norm whose input is that step's output."""
        out = shapes[i]
        assert out is not None
        if on is not None:
            op, fixed = on
            return int(getattr(op, kind)(fixed, [out], out))
        st = self.steps[i]
        return self.own_count(i, st, kind, env, st.gather(shapes), out)

    def own_count(self, i: int, st: _Step, kind: str, env: Mapping[str, int], inputs: tuple[Shape, ...],
                  out: Shape) -> int:
        """Step ``i``'s own layer's parameters or MACs, for the values bound and these shapes."""
        assert st.layer is not None
        args = self.args(i, st, env, st.read(env))
        assert args is not None  # the step ran: its Args were valid
        return int(getattr(OPS[st.layer.op], kind)(args, list(inputs), out))

    def combos(self, st: _Step, env: dict[str, int]) -> Iterable[tuple[int, ...]]:
        """Every combination of ``st.new``, ascending, for the names bound before the step.

        Made lazily (a first solution may need only a few of a layer's thousand), and kept
        once a walk has seen them all."""
        key = ("combos", id(st), tuple([env[n] for n in st.before]))
        hit = self.memo.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        return self._combos(st, dict(env), key)

    def _combos(self, st: _Step, env: dict[str, int], key: Any) -> Iterator[tuple[int, ...]]:
        new = st.new
        made: list[tuple[int, ...]] = []
        pools: list[list[int] | None] = [None if u in st.exact else self.cands[u] for u in new]
        k = len(new) - len(st.exact)
        head, tail = new[:k], new[k:]
        if all(p is not None for p in pools):
            for combo in itertools.product(*pools):  # type: ignore[arg-type]
                made.append(combo)
                yield combo
        elif len(tail) == 1 and tail[0] in st.exact and tail[0] not in st.ranges[tail[0]]:
            # the usual case, one padding last whose range reads what comes before it
            (last,) = tail
            values = self.values
            for prefix in itertools.product(*pools[:k]):  # type: ignore[arg-type]
                env.update(zip(head, prefix, strict=True))
                for v in values(st, last, env):
                    combo = prefix + (v,)
                    made.append(combo)
                    yield combo
        elif all(u in st.exact and not set(st.ranges[u]) & set(tail) for u in tail):
            # the exact ones last, each reading only what comes before them
            for prefix in itertools.product(*pools[:k]):  # type: ignore[arg-type]
                env.update(zip(head, prefix, strict=True))
                for rest in itertools.product(*[self.values(st, u, env) for u in tail]):
                    combo = prefix + rest
                    made.append(combo)
                    yield combo
        else:
            stack = [iter(self.values(st, new[0], env))]
            picked: list[int] = []
            while stack:
                v = next(stack[-1], None)
                if v is None:
                    stack.pop()
                    if picked:
                        picked.pop()
                    continue
                env[new[len(picked)]] = v
                picked.append(v)
                if len(picked) == len(new):
                    combo = tuple(picked)
                    made.append(combo)
                    yield combo
                    picked.pop()
                else:
                    stack.append(iter(self.values(st, new[len(picked)], env)))
        self.memo[key] = made

    def bind(self, st: _Step, env: dict[str, int], combo: tuple[int, ...]) -> None:
        env.update(zip(st.new, combo, strict=True))
        for n in st.ties:
            env[n] = self.value(self.tied[n], env, f"vars.{n}")

    @staticmethod
    def unbind(st: _Step, env: dict[str, int]) -> None:
        for u in st.new:
            env.pop(u, None)
        for n in st.ties:
            env.pop(n, None)

    def value(self, e: Expr, env: Mapping[str, int], field: str) -> int:
        """An input size or tied var for these values; a division by zero names its field."""
        try:
            return e.evaluate(env)
        except ExprError as exc:
            spec = self.spec
            if field.startswith("vars."):
                where = spec.vars[field[len("vars."):]].where
            else:
                where = spec.document.where(("input", int(field[6:-1]))) if spec.document else None
            bound = ", ".join(f"{u} = {env[u]}" for u in sorted(e.names() & env.keys()))
            raise SpecError(f"{exc.bare} (for {bound})", where, field) from None

    def tick(self) -> None:
        self.nodes += 1
        if not self.nodes & 255:
            interrupted()
            if time.perf_counter() > self.deadline or len(self.memo) > MAX_MEMO or (
                    self.quick is not None and self.hopeless()):
                raise OutOfBudget

    def hopeless(self) -> bool:
        """Whether a quick try should hand over now: its CPU time is spent (CPU, not wall
        time: a busy machine must not push a search that would finish over to Z3), or it has
        found nothing yet and, at the pace it has kept, its walk would take more than
        HOPELESS_S.  The share done counts a step's combinations before the current one, so
        a walk whose later branches end early looks slower than it is: it is judged only
        until it finds something (the bound then cuts, and a listing stops at its limit)."""
        assert self.quick is not None
        now = time.process_time()
        if now > self.quick:
            return True
        spent = now - self.walk_cpu
        if self.progress is None or spent < JUDGE_AFTER_S:
            return False
        done = self.progress()
        return done is not None and spent > HOPELESS_S * done

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

    # -- listing -----------------------------------------------------------------------------------
    # The walks below keep their own stack instead of recursing: CPython 3.11 frees and
    # re-allocates a chunk of its frame stack whenever calls cross a chunk's end, and a
    # recursion one level per layer put a 47-step U-Net's shape rules right there (each call
    # 30x slower).  An explicit stack keeps every rule call at the same shallow depth.
    def list_all(self, limit: int, count_until: float | None = None) -> Answer:
        """Up to ``limit`` solutions; ``complete`` when none is left out (one more is sought).
        With ``count_until`` (a ``time.perf_counter()`` deadline), the solutions past the
        limit are counted too, if that ends by then."""
        found = self.found = []
        if self.walk_all(found, limit) <= limit:
            return Answer(found, True, len(found))
        count: int | None = None
        if count_until is not None:
            self.deadline = count_until
            self.quick = None
            with contextlib.suppress(OutOfBudget):
                count = self.walk_all(None, 0)
        return Answer(found[:limit], False, count)

    def first(self) -> Answer:
        """The first solution the walk meets (``complete``: none exists, when it has none)."""
        found = self.found = []
        self.walk_all(found, 0)
        return Answer(found[:1], not found)

    def walk_all(self, found: list[dict[str, int]] | None, limit: int) -> int:
        """Walk every solution: list them in ``found`` until one past ``limit``, and return
        how many were seen; or, with ``found`` None, count them all.

        Each state (the step, and all the rest of the walk depends on) remembers how many
        solutions lie below it.  A listing skips a state known to have none -- different
        earlier choices often reach the same sizes (stride 1 and padding 0, or 3 and 3) --
        and a count adds up a known state's solutions without walking it again."""
        env: dict[str, int] = {}
        n = len(self.steps)
        shapes: list[Shape | None] = [None] * n
        steps, run, holds, tick = self.steps, self.run, self.holds, self.tick
        unknowns, tied = self.unknowns, self.tied
        live = self.live()
        below: dict[Any, int] = {}
        fixed = [not st.new and not st.ties for st in steps]
        pending: list[Iterator[tuple[int, ...]] | None] = [None] * n  # each open step's combinations
        states: list[Any] = [None] * n
        seen = [0] * n  # solutions seen before a step was entered
        total = 0
        drawn = [0] * n  # per open step: the combinations tried, and how many it has (at most)
        widths = [0] * n
        self.progress = lambda: None if found else _share(drawn, widths)
        self.walk_cpu = time.process_time()
        lean = found is not None and not limit  # a first solution: no memo until the walk runs long
        go = self.fresh if lean else run

        i = 0
        while True:
            # enter step i (everything before it bound and valid)
            if i == n:
                total += 1
                if found is not None:
                    found.append({u: env[u] for u in unknowns})
                    if total > limit:
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
                if known is None or (found is not None and known):
                    if lean and self.nodes > FRESH_NODES:
                        go, lean = run, False
                    states[i] = state
                    seen[i] = total
                    pending[i] = iter(self.combos(steps[i], env))
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
                        env[t] = self.value(tied[t], env, f"vars.{t}")
                    out = go(i, env, shapes)
                    if out is None:
                        continue
                    shapes[i] = out
                    if not st.checks or holds(st, env, shapes):
                        break
                else:
                    self.unbind(st, env)
                    pending[i] = None
                    widths[i] = 0
                    below[states[i]] = total - seen[i]
                    i -= 1
                    continue
                i += 1
                break
            if i < 0:
                return total

    # -- optimizing --------------------------------------------------------------------------------
    def cost(self, env: Mapping[str, int]) -> int | None:
        """A lower bound of an expression objective over completions of ``env`` (None: none
        known); the default sum is bounded incrementally by the walk itself."""
        assert self.objective is not None
        if self.goal is not None:
            return None  # sizes and counts are known only at the leaves: no bound on the way
        lo_hi = interval(self.objective, {u: ((env[u], env[u]) if u in env else self.span(u))
                                           for u in self.objective.names()})
        return None if lo_hi is None else lo_hi[0]

    def span(self, u: str) -> tuple[int, int]:
        return self.lows[u], self.highs[u]

    def stream(self, i: int, env: dict[str, int], shapes: list[Shape | None]) -> _Stream:
        """The step's choices with its local unknowns folded (see :class:`_Stream`), for the
        current inputs and earlier values; made as far as a walk has asked, and kept."""
        st = self.steps[i]
        before = tuple([env[n] for n in st.before])
        inputs = tuple([shapes[j] for j in st.sources])
        key = ("stream", i, inputs, before)
        got = self.memo.get(key)
        if got is None:
            # a count depends on the input too (MACs: on its size): rank per input then
            okey = ("order", i, inputs if self.kind else (), before)
            order = self.memo.get(okey)
            if order is None:
                order = self.memo[okey] = self.ranked(i, st, env, shapes)
            got = self.memo[key] = _Stream(order)
        return got  # type: ignore[no-any-return]

    def ranked(self, i: int, st: _Step, env: dict[str, int], shapes: list[Shape | None]
               ) -> list[tuple[Any, tuple[int, ...]]]:
        """Every combination with its rank: (its weight -- the sum of the new values for the
        default objective, the layer's count for params or macs, else 0 -- then the local
        values in name order), cheapest first.  Ranking by a count runs every combination."""
        local = [st.new.index(u) for u in sorted(st.local)]
        pick = _picker(local)
        combos = list(self.combos(st, env)) if st.new or st.ties else [()]
        if self.kind is None:
            weigh = self.objective is None
            ranked = [((sum(c) if weigh else 0, pick(c)), c) for c in combos]
        else:
            ranked = []
            for c in combos:
                self.tick()
                self.bind(st, env, c)
                out = self.run(i, env, shapes)
                if out is not None:
                    ranked.append(((self.count(i, st, env, shapes, out), pick(c)), c))
                self.unbind(st, env)
        ranked.sort(key=lambda rc: rc[0])
        return ranked

    def count(self, i: int, st: _Step, env: dict[str, int], shapes: list[Shape | None], out: Shape) -> int:
        """The step's parameters or MACs (``self.kind``), its activations and norms included,
        for the values bound and this output (memoized like :meth:`run`)."""
        inputs = st.gather(shapes)
        reads = st.read(env)
        key = ("count", i, inputs, reads)
        hit = self.memo.get(key)
        if hit is None:
            assert self.kind is not None
            hit = self.own_count(i, st, self.kind, env, inputs, out) if st.layer is not None else 0
            for op, fixed in self.passing.get(i, ()):
                hit += int(getattr(op, self.kind)(fixed, [out], out))
            self.memo[key] = hit
        return hit  # type: ignore[no-any-return]

    def group(self, i: int, stream: _Stream, k: int, env: dict[str, int], shapes: list[Shape | None]
              ) -> tuple[Shape, dict[str, int], int] | None:
        """The stream's ``k``-th group: (output, values of the new unknowns, their weight: the
        sum of the values, or the step's count for params or macs)."""
        st = self.steps[i]
        nonlocal_at = [j for j, u in enumerate(st.new) if u not in st.local]
        while len(stream.groups) <= k and stream.pos < len(stream.order):
            rank, combo = stream.order[stream.pos]
            stream.pos += 1
            self.tick()
            self.bind(st, env, combo)
            out = self.run(i, env, shapes)
            if out is not None:
                g = (out, tuple(combo[j] for j in nonlocal_at))
                if g not in stream.seen:  # the first of a group is its cheapest
                    stream.seen.add(g)
                    weight = sum(combo) if self.kind is None else rank[0]
                    stream.groups.append((out, {u: env[u] for u in (*st.new, *st.ties)}, weight))
            self.unbind(st, env)
        return stream.groups[k] if k < len(stream.groups) else None

    def optimum(self) -> Answer:
        self._find_locals()  # only the optimum folds a layer's own unknowns
        env: dict[str, int] = {}
        shapes: list[Shape | None] = [None] * len(self.steps)
        n = len(self.steps)
        best = self.best  # key, values: the best so far (kept when the budget runs out)
        ordered = self.objective is None  # groups come cheapest first: stop at the bound
        counting = self.kind is not None  # params or macs: the bound is the count so far (counts are >= 0)

        live = self.live()
        dead: set[Any] = set()
        tally = [0, 0]  # feasible leaves reached, branches cut by the bound
        order, lows = self.order, self.lows
        lows_total = 0 if counting else sum(lows.values())
        new_lows = [0 if counting else sum(lows[u] for u in st.new) for st in self.steps]

        def lex_below(target: tuple[int, ...]) -> bool:
            """Whether some completion of ``env`` may come before ``target`` in name order."""
            for u, b in zip(order, target, strict=True):
                a = env.get(u)
                if a is None:
                    a = lows[u]
                if a != b:
                    return a < b
            return False

        steps, holds, tick = self.steps, self.holds, self.tick
        streams: list[_Stream | None] = [None] * n  # per open step (see the listing's stack)
        nexts = [0] * n  # the next group to try
        deltas = [0] * (n + 1)  # before a step: how far the values bound lie above their minimums (or the count so far)
        bound: list[dict[str, int] | None] = [None] * n  # the group a step has bound in ``env``
        states: list[Any] = [None] * n
        seen: list[tuple[int, int]] = [(0, 0)] * n  # the tally when a step was entered
        self.progress = lambda: None if best[0] is not None else _share(
            [stream.pos if stream else 0 for stream in streams], [len(stream.order) if stream else 0 for stream in streams])
        self.walk_cpu = time.process_time()

        i = 0
        while True:
            # enter step i
            if i == n:
                tally[0] += 1
                if counting:
                    obj = deltas[n]
                elif self.objective is None:
                    obj = sum(env[u] for u in self.unknowns)
                elif self.goal is not None:
                    try:
                        got = self.evaluate(self.goal, env, shapes)
                    except ExprError:
                        raise NotApplicable(f"the objective {self.objective} divides by zero") from None
                    if got is None:
                        raise NotApplicable(f"the objective {self.objective} names an axis the network lacks")
                    obj = got
                else:
                    obj = self.objective.evaluate(env)
                key = (obj, tuple(env[u] for u in order))
                if best[0] is None or key < best[0]:
                    best[0], best[1] = key, {u: env[u] for u in self.unknowns}
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
                    if best[0] is not None:
                        lb = lows_total + here if ordered else self.cost(env)
                        if lb is not None and lb > best[0][0]:
                            go = False
                            tally[1] += 1
                            if ordered:  # every later group costs at least as much
                                for u in assign:
                                    del env[u]
                                break
                        elif lb is not None and lb == best[0][0]:
                            go = lex_below(best[0][1])
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
                i -= 1
            if i < 0:
                break
        return Answer([best[1]] if best[1] is not None else [], True)


@dataclass
class _Stream:
    """A step's groups for one input, made lazily from its combinations in rank order: the
    first combination to reach an (output, values later steps read) pair represents it."""

    order: list[tuple[Any, tuple[int, ...]]]
    pos: int = 0
    groups: list[tuple[Shape, dict[str, int], int]] = field(default_factory=list)
    seen: set[Any] = field(default_factory=set)


def _share(drawn: list[int], widths: list[int]) -> float:
    """The share of a walk's tree behind it: at each open step (width > 0), the combinations
    drawn before the current one, each worth one branch's share of the steps above."""
    done, scale = 0.0, 1.0
    for k, w in zip(drawn, widths, strict=True):
        if w:
            done += scale * min(max(k - 1, 0), w) / w
            scale /= w
    return done


def _tuple_getter(keys: tuple[Any, ...]) -> Any:
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


_NO_RANGES: dict[str, Any] = {}  # shared by the steps that have no exact unknown; never changed


def _picker(indices: list[int]) -> Any:
    """A function giving the tuple of a combination's items at ``indices``."""
    if len(indices) > 1:
        return operator.itemgetter(*indices)
    return lambda c: tuple(c[j] for j in indices)


def search(net: Network, mode: str, objective: Expr | str, limit: int, budget: float,
           count_budget: float | None = None, keep_best: bool = False, quick: float | None = None
           ) -> Answer | None:
    """Answer ``mode`` ("all" up to ``limit``, "opt", or "first": any one solution) exactly, or None (see the module
    docstring): out of budget (seconds) or out of reach.  ``count_budget``: seconds more to
    count the solutions past ``limit`` (``Answer.count``; None: not counted).  ``keep_best``:
    a walk that runs out of budget answers what it has found (an optimum walk its best so far,
    not proven; a listing its first solutions), with ``complete`` False and ``timed_out``
    True, instead of None.  ``quick``: a quick try of at most this many
    seconds of CPU time, which also gives up early when its walk looks hopeless
    (:meth:`_Search.hopeless`)."""
    deadline = time.perf_counter() + budget
    s = None
    try:
        s = _Search(net, objective, deadline, None if quick is None else time.process_time() + quick)
        if mode == "opt":
            return s.optimum()
        if mode == "first":
            return s.first()
        return s.list_all(limit, None if count_budget is None else time.perf_counter() + count_budget)
    except OutOfBudget:
        if not keep_best or s is None:
            return None
        if mode == "opt":
            return Answer([s.best[1]] if s.best[1] is not None else [], False, timed_out=True)
        return Answer(s.found[:1 if mode == "first" else limit], False, timed_out=True)
    except NotApplicable:
        return None
