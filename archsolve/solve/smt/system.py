"""Symbolic propagation: the network as a system of integer constraints (no Z3 here).

The op rules of :mod:`archsolve.ops` run once more, now with symbolic input sizes. Unknown
hyperparameters with small domains (kernel, stride, padding, dilation, output_padding,
scale, factor) are *enumerated per layer* in plain Python, and the combinations are grouped
by their **effect**: the output-size expression and the remaining validity conditions they
produce.  A U-Net up-conv with kernel, stride and padding unknown has hundreds of legal
combinations but only a few dozen effects; the solver chooses among effects (a selector per
layer) and the combinations are expanded afterwards.  Everything else -- channels, sizes of
``size``/``amount``, vars, and unknowns shared between layers or named in constraints --
becomes an integer variable of the system.

This is the encoding docs/design.md describes (effects, not raw hyperparameters): the solver sees only
sizes and effects, every constraint is linear, and floor division is by constants.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> spec = load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... constraints: [up.L == 16]
    ... ''')
    >>> system = build_system(build_network(spec))
    >>> [len(t.effects) for t in system.tables]
    [11]
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import operator
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archsolve.errors import EncodingLimit, SolverTimeout, SpecError, placed
from archsolve.lang.expr import Bin, Call, Expr, ListExpr, Name, Num, Value, fold, folded, lift
from archsolve.lang.linear import canonical
from archsolve.ops.base import AXIS_NAMES, Args, Kind, Record, Severity, Shape
from archsolve.ops.table import OPS
from archsolve.shapes.graph import Network
from archsolve.solve.outcome import combination_limit, combination_text
from archsolve.spec.domains import ENUMERATED, dependent_bounds, is_dependent, unknown_span, unknown_values
from archsolve.spec.model import MEMORY_TOTALS, Constraint, Domain, Layer, Spec

PLACEHOLDER = "§"  # never valid in a spec name: marks an input size inside an effect
# every size the solver derives lies within +-SIZE_BOUND (bounded integers keep Z3 fast); the
# spec's own sizes are at most spec.MAX_SIZE, far below, so no real size is cut off
SIZE_BOUND = 10**18
_SOLVER_NAME = re.compile(r"([\w/]+)\.(\d+)#\d+")  # fresh(f"{layer}.{dim}"): the solver's own size variables


@dataclass(frozen=True)
class Fact:
    """A condition that must hold, labelled by what the user wrote (a layer or a constraint)."""

    expr: Expr
    label: str
    rule: str
    message: str


@dataclass
class Effect:
    """What one group of hyperparameter combinations does to a layer.

    Expressions are over *placeholders* (``§0.2``: input 0, dimension 2), which the table's
    ``env`` maps to the inputs' size terms.  ``outputs`` maps the layer's output size
    variables to expressions; ``conditions`` must hold; ``fixed`` gives the values this
    effect implies for unknowns that are also system variables; ``combos`` lists the
    assignments of the layer's own unknowns, cheapest first, with their ``costs``.
    """

    fixed: dict[str, int]
    outs: tuple[Expr, ...]
    conditions: list[Expr]
    combos: list[dict[str, int]] = field(default_factory=list)
    costs: list[dict[str, int]] = field(default_factory=list)
    outputs: dict[str, Expr] = field(default_factory=dict)
    cost: dict[str, int] = field(default_factory=dict)  # objective -> the cheapest combo's cost


@dataclass
class Table:
    """The choice one layer (or one axis of it) makes among its effects."""

    layer: str
    selector: str
    local: tuple[str, ...]
    effects: list[Effect]
    env: dict[str, Expr]
    axis: int | None = None


@dataclass
class System:
    """The whole network as integer variables, facts and per-layer tables."""

    spec: Spec
    variables: dict[str, Domain]
    facts: list[Fact]
    tables: list[Table]
    shapes: dict[str, tuple[Expr, ...]]
    unknowns: tuple[str, ...]  # every user-facing unknown: vars with domains, then "?"
    system_unknowns: tuple[str, ...]  # those that are system variables (the rest live in tables)
    per_layer_cost: dict[str, dict[str, Expr]] = field(default_factory=dict)
    order: list[tuple[str, int]] = field(default_factory=list)  # facts and tables, in data-flow order
    sizes: frozenset[str] = frozenset()  # the variables that stand for a layer's derived size

    def shape_of(self, name: str) -> tuple[Expr, ...]:
        if name == "input":
            return self.shapes["input"]
        return self.shapes[self.spec.aliases.get(name, name)]


# -- helpers ---------------------------------------------------------------------------------------

def _const(e: Value | Expr) -> int | None:
    if isinstance(e, int):
        return e
    if isinstance(e, Num):
        return e.value
    return None


def _fold(v: Value | Expr) -> Expr:
    return fold(lift(v))


def _freeze(v: Any) -> Any:
    if isinstance(v, Mapping):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    return v


def _axis_values(lay: Layer, axis: int) -> dict[str, Any]:
    """The 1-D view of a layer's fields along one spatial axis."""
    out: dict[str, Any] = {}
    for f in OPS[lay.op].fields:
        v = lay.values.get(f.name)
        if f.kind in (Kind.AXES, Kind.SIDES) and isinstance(v, tuple):
            out[f.name] = (v[axis],)
        else:
            out[f.name] = v
    return out


def _assigned(v: Any, assign: Mapping[str, int]) -> Any:
    """``folded(v, assign)``, quicker where ``v`` is a name or a tuple of them (a "?" per axis).

        >>> _assigned((Name("k"), Name("k") * 2, "same"), {"k": 3})
        (3, 6, 'same')
    """
    if isinstance(v, Name):
        return assign.get(v.name, v)
    if isinstance(v, tuple):
        return tuple(_assigned(x, assign) for x in v)
    return folded(v, assign)


def _getter(v: Any, at: Mapping[str, int]) -> Callable[[tuple[int, ...], Mapping[str, int]], Any]:
    """How a field value ``v`` reads a combination (the values at the positions ``at`` gives
    the unknowns) and its assignment: by position where it is a name or a tuple of them.

        >>> _getter((Name("k"), Name("k")), {"k": 1})((2, 3), {"k": 3})
        (3, 3)
    """
    if isinstance(v, Name) and v.name in at:
        i = at[v.name]
        return lambda combo, _: combo[i]
    if isinstance(v, tuple) and len(v) > 1 and all(isinstance(x, Name) and x.name in at for x in v):
        get = operator.itemgetter(*(at[x.name] for x in v))
        return lambda combo, _: get(combo)
    return lambda _, assign: _assigned(v, assign)


def _field_names(v: Any) -> frozenset[str]:
    if isinstance(v, Expr):
        return v.names()
    if isinstance(v, tuple):
        out: frozenset[str] = frozenset()
        for x in v:
            out |= _field_names(x)
        return out
    return frozenset()


_LAYER_MARK = f"{PLACEHOLDER}<layer>"  # in a rule run's message: the layer's name


def _source_mark(j: int) -> str:
    """In a rule run's message: the name of the layer's ``j``-th source."""
    return f"{PLACEHOLDER}<from {j}>"


def _named(message: str, lay: Layer) -> str:
    """A shared rule run's message for ``lay``: its marks as this layer's names.

        >>> lay = Layer("m", "add", {}, ("a", "b"), depth=1, where=None)
        >>> _named(f"{_source_mark(0)} gives 3 but {_source_mark(1)} gives 4", lay)
        'a gives 3 but b gives 4'
    """
    if f"{PLACEHOLDER}<" not in message:
        return message
    for j, name in enumerate(lay.refs or lay.sources):
        message = message.replace(_source_mark(j), name)
    return message.replace(_LAYER_MARK, lay.name)


@dataclass(frozen=True)
class _Group:
    """An effect before it is a layer's: ``fixed`` and ``combos`` hold values in the order of
    the layer's shared and local unknowns."""

    fixed: tuple[int, ...]
    outs: tuple[Expr, ...]
    conditions: tuple[Expr, ...]
    combos: tuple[tuple[int, ...], ...]
    costs: tuple[dict[str, int], ...]
    cost: dict[str, int]


@dataclass(frozen=True)
class _Grouped:
    """A layer's combinations grouped by effect, as its table holds them; ``failed``: per
    broken rule, how many combinations broke it, its message and the first of them (in the
    layer's unknowns' order)."""

    effects: tuple[_Group, ...]  # their conditions less the common ones
    tried: int
    failed: tuple[tuple[int, str, tuple[int, ...]], ...]
    common: tuple[tuple[Expr, str, str], ...]  # the conditions every effect has: (condition, rule, message)


# combinations the builder may run, all layers together: each leaves a rule run remembered and
# a combination in a table (about 1.5 KB together: 0.6 GB)
MAX_TRIED = 400_000

# grouped effects shared by the builds of one solve, by what they depend on (the alike key,
# the rules' semantics, the spec's domains and vars): an unsatisfiable solve builds its spec
# again for each relaxation it tries.  One solve's only (shared_groupings), so that no answer
# or time depends on what the process solved before
_SHARED: contextvars.ContextVar[dict[Any, _Grouped] | None] = contextvars.ContextVar("groupings", default=None)


@contextlib.contextmanager
def shared_groupings() -> Iterator[None]:
    """The builds inside share their grouped effects (a solve and the solves it starts)."""
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


# -- the builder -----------------------------------------------------------------------------------

class _Builder:
    def __init__(self, net: Network, objectives: Sequence[str], named: frozenset[str] = frozenset(),
                 deadline: float | None = None, *, reuse: bool = True):
        self.net = net
        self.deadline = deadline
        self.named = named
        self.spec = net.spec
        self.objectives = objectives
        self.facts: list[Fact] = []
        self.tables: list[Table] = []
        self.variables: dict[str, Domain] = {}
        self.sizes: set[str] = set()  # the variables among them that stand for derived sizes
        self.shapes: dict[str, tuple[Expr, ...]] = {}
        self.counter = 0
        self.tried = 0  # combinations run, all layers together
        self.per_layer_cost: dict[str, dict[str, Expr]] = {}
        self.order: list[tuple[str, int]] = []
        # layers with the same op, values and inputs share their rule runs (l2..l4 of a chain),
        # and layers alike up to their unknowns' names share their grouped effects
        self.reuse = reuse
        self.runs: dict[Any, tuple[tuple[Expr, ...], list[tuple[Expr, str, str]], bool]] = {}
        self.grouped: dict[Any, _Grouped] = {}
        self.canon: dict[Expr, Expr] = {}
        self.still: dict[Any, int] = {}  # _still's numbers
        # what a layer's grouping may read of its spec beyond the alike key (a dependent
        # domain naming a var): the key of the groupings one solve's builds share
        spec = net.spec
        self.spec_key = (spec.semantics, tuple(sorted(spec.domains.items())),
                         tuple((n, v.domain, v.expr) for n, v in spec.vars.items()))

    def readable(self, message: str, env: Mapping[str, Expr]) -> str:
        """A rule's message in the user's names: an input size's placeholder (``§0.1``)
        becomes what it stands for, and a size variable of the solver's own (``a.1#3``) the
        attribute it is (``a.L``)."""
        if PLACEHOLDER in message:
            for name in sorted(env, key=len, reverse=True):  # §0.10 before §0.1
                message = message.replace(name, str(env[name]))
        return user_names(message, self.spec)

    def fresh(self, base: str) -> str:
        self.counter += 1
        return f"{base}#{self.counter}"

    def fact(self, e: Expr, label: str, rule: str, message: str, env: Mapping[str, Expr] | None = None) -> None:
        e = fold(e)
        if isinstance(e, Num) and e.value:
            return
        self.facts.append(Fact(e, label, rule, self.readable(message, env or {})))
        self.order.append(("fact", len(self.facts) - 1))

    # -- unknowns -------------------------------------------------------------------------------
    def classify(self) -> None:
        spec = self.spec
        self.tied = spec.tied()
        free_vars = [n for n, v in spec.vars.items() if v.domain is not None]
        self.all_unknowns = tuple(free_vars) + tuple(spec.unknowns)
        uses_enum: dict[str, set[str]] = {u: set() for u in self.all_unknowns}
        uses_other: dict[str, int] = {u: 0 for u in self.all_unknowns}
        for lay in spec.layers:
            for f in OPS[lay.op].fields:
                v = lay.values.get(f.name)
                for n in _field_names(folded(v, self.tied) if v is not None else None):
                    if n not in uses_enum:
                        continue
                    if f.name in ENUMERATED:
                        uses_enum[n].add(lay.name)
                    else:
                        uses_other[n] += 1
        outside: set[str] = set()
        for e in spec.input:
            outside |= e.substitute(self.tied).names()
        for c in spec.constraints:
            outside |= c.expr.names()
        if spec.minimize is not None:
            outside |= spec.minimize.names()
        outside |= self.named
        self.local: dict[str, str] = {}  # unknown -> the one layer whose table completes it
        for u in self.all_unknowns:
            if (len(uses_enum[u]) == 1 and not uses_other[u] and u not in outside
                    and u in spec.unknowns):
                self.local[u] = next(iter(uses_enum[u]))
        self.system_unknowns = tuple(u for u in self.all_unknowns if u not in self.local)
        for u in self.system_unknowns:
            self.variables[u] = self.unknown_domain(u)

    def unknown_domain(self, u: str) -> Domain:
        spec = self.spec
        if u in spec.vars:
            dom = spec.vars[u].domain
            assert dom is not None
            return dom  # ends naming other vars become constraints below
        unk = spec.unknowns[u]
        if unk.domain.listed:
            return unk.domain
        lo, hi = unknown_span(spec, u)
        return Domain(lo=Num(lo), hi=Num(hi))

    # -- layers -----------------------------------------------------------------------------------
    def build(self) -> System:
        spec = self.spec
        self.classify()
        inp = tuple(_fold(e.substitute(self.tied)) for e in spec.input)
        for i, e in enumerate(inp):
            self.fact(Bin(">=", e, Num(1)), "input", "size", f"input[{i}] = {e} must be positive")
        self.shapes["input"] = inp
        for lay in self.net.order:
            # per layer as well as per 1024 combinations: 100,000 layers of a few rule runs
            # each take longer than a short time-out
            self.on_time(lay)
            self.layer(lay)
        for u in self.system_unknowns:
            var = spec.vars.get(u)
            if var is not None and var.domain is not None and not var.domain.listed:
                assert var.domain.lo is not None and var.domain.hi is not None
                if var.domain.names():
                    lo = var.domain.lo.substitute(self.tied)
                    hi = var.domain.hi.substitute(self.tied)
                    self.fact(Bin("and", Bin("<=", lo, Name(u)), Bin("<=", Name(u), hi)), f"vars.{u}",
                              "domain", f"{u} must lie in {var.domain}")
        return System(spec, self.variables, self.facts, self.tables, self.shapes, self.all_unknowns,
                      self.system_unknowns, self.per_layer_cost, self.order, frozenset(self.sizes))

    def on_time(self, lay: Layer) -> None:
        """Raise SolverTimeout past the deadline, and SpecError once more combinations have
        run than their results fit in memory (:data:`MAX_TRIED`)."""
        if self.tried > MAX_TRIED:
            raise SpecError(f"{lay.name}: the solver has run {self.tried:,} combinations of hyperparameters, past "
                            f"the {MAX_TRIED:,} whose results fit in memory; narrow the domains", lay.where)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SolverTimeout(f"the time ran out while encoding {lay.name}")

    def layer(self, lay: Layer) -> None:
        srcs = lay.sources
        inputs = [self.shapes[s] for s in srcs]
        values = {k: folded(v, self.tied) for k, v in lay.values.items()}
        enum = sorted({n for f in ENUMERATED for n in _field_names(values.get(f)) if n in self.all_unknowns})
        ndim = self.spec.ndim
        axis_sets = [set(enum) & _field_names(tuple(
            v[a] if isinstance(v, tuple) and OPS[lay.op].field_map[k].kind in (Kind.AXES, Kind.SIDES) else v
            for k, v in values.items() if k in ENUMERATED)) for a in range(ndim)]
        split = (ndim > 1 and sum(1 for s in axis_sets if s) > 1
                 and all(not (axis_sets[i] & axis_sets[j]) for i in range(ndim) for j in range(i + 1, ndim))
                 and all(len(x) == ndim + 1 for x in inputs))
        if not enum:
            self.fixed_layer(lay, values, inputs)
        elif split:
            if {"params", "macs"} & set(self.objectives):
                raise EncodingLimit(f"{lay.name}: params and macs with unknowns on separate axes are not "
                                    "supported (they multiply across axes)", lay.where)
            outs: list[Expr] = []
            for a in range(ndim):
                view = {k: v for k, v in _axis_values(Layer(lay.name, lay.op, values, srcs, 0, lay.where), a).items()}
                sub_inputs = [(x[0], x[a + 1]) for x in inputs]
                res = self.table_layer(lay, view, sub_inputs, sorted(axis_sets[a]), ndim=1, axis=a)
                if a == 0:
                    outs.append(res[0])
                outs.append(res[1])
            self.shapes[lay.name] = tuple(outs)
        else:
            self.shapes[lay.name] = self.table_layer(lay, values, inputs, enum, ndim=ndim, axis=None)

    def _args(self, lay: Layer, values: Mapping[str, Any], ndim: int) -> Args:
        return Args({**values, **self.spec.rule_flags(lay.name)}, ndim, lay.name, lay.refs or lay.sources)

    def _run(self, lay: Layer, values: Mapping[str, Any], inputs: Sequence[Shape], ndim: int,
             key: Any = None) -> tuple[tuple[Expr, ...], list[tuple[Expr, str, str]], bool]:
        """Run the rule; return folded outputs, the error conditions left, and whether any
        condition is already false.  ``key``: the run's key where the caller has made it
        (:meth:`_still`'s number and the values of the fields it leaves out)."""
        refs = lay.refs or lay.sources
        if key is None:
            key = (lay.op, ndim, self.spec.exact, self.spec.allows_holes(lay.name), len(refs), _freeze(values),
                   tuple(inputs))
        hit = self.runs.get(key)
        if hit is not None:
            return hit
        conds = []
        broken = False
        # a var may range over values its field does not take (padding -1, stride 0): such a
        # value makes the layer invalid, as in the search (and the rule is not run on it)
        for f in OPS[lay.op].fields:
            if f.minimum is None or f.name not in values or f.kind not in _SIZED:
                continue
            for v in _leaves(values[f.name]):
                if isinstance(v, int):
                    if v < f.minimum:
                        return (), [], True
                elif isinstance(v, Expr) and any(not n.startswith(PLACEHOLDER) for n in v.names()):
                    c = canonical(_fold(Bin(">=", v, Num(f.minimum))))
                    if all(c != x for x, _, _ in conds):
                        conds.append((c, "range", f"{_LAYER_MARK}.{f.name} must be at least {f.minimum}"))
        rec = Record()
        # the run is shared with other layers: its messages name this one and its sources by
        # marks, which _named replaces
        args = Args({**values, **self.spec.rule_flags(lay.name)}, ndim, lay.name,
                    tuple(_source_mark(j) for j in range(len(refs))))
        out = OPS[lay.op].shape(args, inputs, rec)
        for cond, f in rec.conditions:
            if f.severity is not Severity.ERROR:
                continue
            c = self._canonical(cond)
            if isinstance(c, Num):
                if not c.value:
                    broken = True
                    conds.append((c, f.rule, f.message))
                continue
            if all(c != x for x, _, _ in conds):  # H and W of a square input say it twice
                conds.append((c, f.rule, f.message))
        result = tuple(self._canonical(v) for v in out), conds, broken
        if self.reuse and len(self.runs) < 500_000:
            self.runs[key] = result
        return result

    def _still(self, lay: Layer, values: Mapping[str, Any], inputs: Sequence[Shape], ndim: int, *,
               moving: Sequence[str]) -> int:
        """A number for what a rule run depends on but the values of the ``moving`` fields
        (ints or tuples of them): a run's key is this number and those values, quick to hash
        once per combination."""
        still = (lay.op, ndim, self.spec.exact, self.spec.allows_holes(lay.name), len(lay.refs or lay.sources),
                 _freeze({k: v for k, v in values.items() if k not in moving}), tuple(moving), tuple(inputs))
        return self.still.setdefault(still, len(self.still))

    def _canonical(self, v: Value | Expr) -> Expr:
        """``canonical(fold(v))``, remembered: alike combinations' rules build the same terms
        (a conv's output size depends on its kernel, padding and dilation only through one sum)."""
        if not isinstance(v, Expr):
            return canonical(_fold(v))
        c = self.canon.get(v)
        if c is None:
            c = canonical(_fold(v))
            if self.reuse and len(self.canon) < 500_000:
                self.canon[v] = c
        return c

    def _placeholders(self, inputs: Sequence[tuple[Expr, ...]]) -> tuple[list[Shape], dict[str, Expr]]:
        """Input sizes as single leaves, so effects are small and comparable across layers."""
        env: dict[str, Expr] = {}
        shapes: list[Shape] = []
        seen: dict[Expr, str] = {}
        for j, shape in enumerate(inputs):
            dims: list[Value] = []
            for d, v in enumerate(shape):
                c = _const(v)
                if c is not None:
                    dims.append(c)
                elif v in seen:  # a square input: H and W are one leaf, so they share effects
                    dims.append(Name(seen[v]))
                else:
                    name = f"{PLACEHOLDER}{j}.{d}"
                    env[name] = v
                    seen[v] = name
                    dims.append(Name(name))
            shapes.append(tuple(dims))
        return shapes, env

    @staticmethod
    def _channel_leaf(j: int, shape: Shape, env: dict[str, Expr]) -> Shape:
        if not shape or not isinstance(shape[0], int):
            return shape
        name = f"{PLACEHOLDER}{j}.c"
        env[name] = Num(shape[0])
        return (Name(name), *shape[1:])

    def _new_dim(self, lay: Layer, d: int, e: Expr) -> Expr:
        """Keep constants and plain names; give anything else a variable of its own."""
        if isinstance(e, (Num, Name)):
            return e
        name = self.fresh(f"{lay.name}.{d}")
        self.variables[name] = Domain(lo=Num(-SIZE_BOUND), hi=Num(SIZE_BOUND))
        self.sizes.add(name)
        self.fact(Bin("==", Name(name), e), lay.name, "shape", f"the shape of {lay.name}")
        return Name(name)

    def fixed_layer(self, lay: Layer, values: Mapping[str, Any], inputs: Sequence[tuple[Expr, ...]]) -> None:
        shapes, env = self._placeholders(inputs)
        outs, conds, _ = self._run(lay, values, shapes, self.spec.ndim)
        if not outs:  # a value out of its field's range
            self.fact(Num(0), lay.name, "range", f"a value of {lay.name} is out of its field's range")
            self.shapes[lay.name] = tuple(Num(1) for _ in inputs[0]) if inputs else (Num(1),)
            return
        for c, rule, message in conds:
            self.fact(c.substitute(env), lay.name, rule, _named(message, lay), env)
        made: dict[Expr, Expr] = {}  # a square layer's H and W are one size: one variable
        dims = [fold(o.substitute(env)) for o in outs]
        for d, e in enumerate(dims):
            if e not in made:
                made[e] = self._new_dim(lay, d, e)
        self.shapes[lay.name] = tuple(made[e] for e in dims)
        self.costs(lay, values, shapes, env, outs)

    def costs(self, lay: Layer, values: Mapping[str, Any], shapes: Sequence[Shape], env: Mapping[str, Expr],
              outs: tuple[Expr, ...]) -> None:
        if not set(self.objectives) & {"params", "macs"}:
            return
        opdef = OPS[lay.op]
        args = self._args(lay, values, self.spec.ndim)
        fns = {"params": opdef.params, "macs": opdef.macs}
        self.per_layer_cost[lay.name] = {
            kind: fold(lift(fns[kind](args, shapes, outs)).substitute(env))
            for kind in {"params", "macs"} & set(self.objectives)}

    def grouped_effects(self, lay: Layer, values: Mapping[str, Any], shapes: Sequence[Shape],
                        env: Mapping[str, Expr], *, enum: list[str], local: list[str], pools: list[list[int]],
                        ndim: int) -> _Grouped:
        """A layer's combinations grouped by effect, in the unknowns' positions (``enum``'s
        order), not their names: layers alike up to their unknowns' names share them."""
        alike = self.alike(lay, values, shapes, env, enum=enum, local=local, pools=pools, ndim=ndim)
        hit = self.grouped.get(alike)
        shared = _SHARED.get() if self.reuse else None
        if hit is None and shared is not None:
            hit = shared.get((alike, self.spec_key))
            if hit is not None:
                self.grouped[alike] = hit
        if hit is not None:
            self.tried += hit.tried
            return hit
        at_local = [i for i, u in enumerate(enum) if u in local]
        at_shared = [i for i, u in enumerate(enum) if u not in local]
        groups: dict[Any, tuple[tuple[int, ...], tuple[Expr, ...], list[tuple[Expr, str, str]], list[Any]]] = {}
        opdef = OPS[lay.op]
        moving = [k for k, v in values.items() if _field_names(v) & set(enum)]
        dependent = [u for u in enum if is_dependent(self.spec, u)]
        # a dependent unknown's bounds read only the fields its domain names
        reads = {u: sorted(self.spec.unknowns[u].domain.names()) for u in dependent}
        bounds: dict[Any, tuple[int, int] | None] = {}
        kinds = sorted({"params", "macs"} & set(self.objectives))
        still = self._still(lay, values, shapes, ndim, moving=moving)
        getters = [(k, _getter(values[k], {u: i for i, u in enumerate(enum)})) for k in moving]
        # combinations alike in what the op's fields do to sizes and errors share one run of
        # the rule (a conv's kernel 5 with padding 2 and kernel 3 with padding 1)
        effect = opdef.effect
        flags = self.spec.rule_flags(lay.name)
        tried = 0
        failed: dict[str, tuple[int, str, tuple[int, ...]]] = {}  # rule -> (combos it broke, a message, its combo)
        for n, combo in enumerate(itertools.product(*pools)):
            if not n & 1023:
                self.on_time(lay)
            assign = dict(zip(enum, combo, strict=True))
            vals = dict(values)
            for k, get in getters:
                vals[k] = get(combo, assign)
            if dependent and not self._in_bounds(vals, assign, reads=reads, bounds=bounds, ndim=ndim):
                continue
            same = effect({**vals, **flags}) if effect is not None else None
            # the effect sums up the enumerated fields; another that reads an unknown (an
            # ``out: a`` beside ``kernel: a``) keeps its own value in the key
            outs, conds, broken = self._run(lay, vals, shapes, ndim, key=(still, tuple([vals[k] for k in moving]))
                                            if same is None else (still, "effect", same, tuple(
                                                [vals[k] for k in moving if k not in ENUMERATED])))
            tried += 1
            self.tried += 1
            if broken:
                for rule, message in {r: m for c, r, m in reversed(conds) if isinstance(c, Num) and not c.value}.items():
                    count, first, example = failed.get(rule, (0, message, combo))  # once per rule: H and W alike
                    failed[rule] = (count + 1, first, example)
                continue
            combo_local = tuple(combo[i] for i in at_local)
            cost = {"sum": sum(combo_local)}
            for kind in kinds:
                fn = opdef.params if kind == "params" else opdef.macs
                c = _const(fold(lift(fn(self._args(lay, vals, ndim), shapes, outs)).substitute(env)))
                if c is None:
                    raise EncodingLimit(f"{lay.name}: its {kind} multiply unknown sizes or channels with its "
                                        f"other unknowns; using {kind} needs those fixed (the solver stays "
                                        "linear)", lay.where)
                cost[kind] = c
            fixed = tuple(combo[i] for i in at_shared)
            # with params/macs in play, an effect also fixes them: constraints on them stay exact
            key = (fixed, outs, tuple(c for c, _, _ in conds), tuple(cost[k] for k in kinds))
            group = groups.get(key)
            if group is None:
                group = groups[key] = (fixed, outs, conds, [])
            group[3].append((cost["sum"], combo_local, cost))
        # conditions every effect shares become plain facts; the rest depend on the selector
        common = set.intersection(*(set(c for c, _, _ in g[2]) for g in groups.values())) if groups else set()
        messages: dict[Expr, tuple[str, str]] = {}
        for _, _, conds, _ in groups.values():
            for c, rule, message in conds:
                if c in common:
                    messages.setdefault(c, (rule, message))
        effects = []
        for fixed, outs, conds, members in groups.values():
            members.sort(key=lambda m: (m[0], m[1]))  # cheapest first, then by value
            costs = tuple(c for _, _, c in members)
            effects.append(_Group(fixed=fixed, outs=outs, conditions=tuple(c for c, _, _ in conds if c not in common),
                                  combos=tuple(c for _, c, _ in members), costs=costs,
                                  cost={k: min(c[k] for c in costs) for k in costs[0]}))
        grouped = _Grouped(effects=tuple(effects), tried=tried, failed=tuple(failed.values()),
                           common=tuple((c, *messages[c]) for c in sorted(common, key=str)))
        if self.reuse:
            self.grouped[alike] = grouped
            if shared is not None:
                shared[alike, self.spec_key] = grouped
        return grouped

    def _in_bounds(self, vals: Mapping[str, Any], assign: Mapping[str, int], *, reads: Mapping[str, list[str]],
                   bounds: dict[Any, tuple[int, int] | None], ndim: int) -> bool:
        """:func:`in_field_domains` for the dependent unknowns in ``reads``, with their
        bounds remembered in ``bounds`` by the values of the fields they read."""
        for u, names in reads.items():
            key = (u, *(vals.get(n) for n in names))
            if key not in bounds:
                bounds[key] = dependent_bounds(self.spec, u, vals, ndim)
            b = bounds[key]
            if b is not None and not b[0] <= assign[u] <= b[1]:
                return False
        return True

    def alike(self, lay: Layer, values: Mapping[str, Any], shapes: Sequence[Shape], env: Mapping[str, Expr], *,
              enum: list[str], local: list[str], pools: list[list[int]], ndim: int) -> Any:
        """Everything a layer's grouped effects depend on, with its unknowns by position."""
        spec = self.spec
        marks = {u: Name(f"{PLACEHOLDER}?{i}") for i, u in enumerate(enum)}
        unknowns = []
        for u, pool in zip(enum, pools, strict=True):
            unk = spec.unknowns.get(u)
            dependence = None
            if is_dependent(spec, u):
                assert unk is not None
                # dependent_bounds reads the axis from the name and skips a block argument's
                dependence = (str(unk.domain), u[u.rfind("["):] if u.endswith("]") else "",
                              unk.layer.split("/")[-1] == "")
            unknowns.append((tuple(pool), u in local, dependence))
        kinds = tuple(sorted({"params", "macs"} & set(self.objectives)))
        # params and macs read the constant channels and sizes the placeholders stand for
        consts = tuple(sorted((k, v) for k, v in env.items() if isinstance(v, Num))) if kinds else ()
        return (lay.op, ndim, spec.exact, spec.allows_holes(lay.name), len(lay.refs or lay.sources),
                _freeze({k: folded(v, marks) for k, v in values.items()}), tuple(shapes), tuple(unknowns),
                kinds, consts)

    def table_layer(self, lay: Layer, values: Mapping[str, Any], inputs: Sequence[tuple[Expr, ...]],
                    enum: list[str], ndim: int, axis: int | None) -> tuple[Expr, ...]:
        shapes, env = self._placeholders(inputs)
        # channels as leaves too: layers that differ only in channels share their rule runs
        shapes = [self._channel_leaf(j, x, env) for j, x in enumerate(shapes)]
        if isinstance(values.get("out"), int):
            env[f"{PLACEHOLDER}out"] = Num(values["out"])
            values = {**values, "out": Name(f"{PLACEHOLDER}out")}
        local = [u for u in enum if self.local.get(u) == lay.name]
        shared = [u for u in enum if u not in local]
        pools = [unknown_values(self.spec, u, lay) for u in enum]
        total = 1
        for c in pools:
            total *= len(c)
        if total > combination_limit(self.spec):
            raise SpecError(f"{lay.name}: {total:,} combinations of {', '.join(enum)} to try "
                            f"({combination_text(self.spec)}); narrow their domains", lay.where)
        grouped = self.grouped_effects(lay, values, shapes, env, enum=enum, local=local, pools=pools, ndim=ndim)
        effects = [Effect(dict(zip(shared, g.fixed, strict=True)), g.outs, list(g.conditions),
                          [dict(zip(local, c, strict=True)) for c in g.combos], [dict(c) for c in g.costs],
                          cost=dict(g.cost))
                   for g in grouped.effects]
        label = lay.name
        if not effects:
            what = ", ".join(enum)
            # a rule every value breaks, in check's words (for the first value that broke it)
            always = [(first, example) for count, first, example in grouped.failed if count == grouped.tried]
            why = ""
            if always:
                first, example = always[0]
                shown = ", ".join(f"{u} = {v}" for u, v in zip(enum, example, strict=True))
                why = f": {_named(first, lay)}" + (f" (with {shown}, and alike for every other value)"
                                                   if len(pools) else "")
            self.fact(Num(0), label, "no-combination", f"no value of {what} gives {lay.name} a valid output{why}")
            return tuple(Num(1) for _ in range(len(inputs[0]) if lay.op not in ("flatten",) else 1))
        selector = self.fresh(f"{lay.name}.effect")
        table = Table(lay.name, selector, tuple(local), effects, env, axis)
        self.tables.append(table)
        self.order.append(("table", len(self.tables) - 1))
        self.variables[selector] = Domain(lo=Num(0), hi=Num(len(effects) - 1))
        for c, rule, message in grouped.common:
            self.fact(c.substitute(env), label, rule, _named(message, lay), env)
        result: list[Expr] = []
        made: dict[tuple[Expr, ...], Expr] = {}
        for d in range(len(effects[0].outs)):
            exprs = [e.outs[d] for e in effects]
            if all(x == exprs[0] for x in exprs):
                result.append(self._new_dim(lay, d, fold(exprs[0].substitute(env))))
                continue
            if tuple(exprs) in made:  # the same size on another axis: the same variable
                result.append(made[tuple(exprs)])
                continue
            name = self.fresh(f"{lay.name}.{d}")
            self.variables[name] = Domain(lo=Num(-SIZE_BOUND), hi=Num(SIZE_BOUND))
            self.sizes.add(name)
            result.append(Name(name))
            made[tuple(exprs)] = Name(name)
            for eff, x in zip(effects, exprs, strict=True):
                eff.outputs[name] = x
        return tuple(result)










def build_system(net: Network, objectives: Sequence[str] = (), named: frozenset[str] = frozenset(),
                 deadline: float | None = None) -> System:
    """The constraint system of a network (see the module docstring).

    ``named``: unknowns an objective names, which must be system variables; ``deadline``
    (``time.monotonic()``): raise SolverTimeout past it."""
    return _Builder(net, objectives, named, deadline).build()


def attribute_terms(system: System) -> dict[str, Expr]:
    """``name.C``, ``name.H``, ... for constraints, from the symbolic shapes."""
    spec = system.spec
    axes = ("C", *AXIS_NAMES[spec.ndim])
    out: dict[str, Expr] = {}
    names = ["input", *(lay.name for lay in spec.layers), *(g.name for g in spec.groups)]
    for n in names:
        shape = system.shape_of(n)
        for a, v in zip(axes, shape, strict=False):
            out[f"{n}.{a}"] = v
    return out


_SIZED = frozenset({Kind.INT, Kind.AXES, Kind.SIDES, Kind.DIMS})


def _leaves(v: Any) -> list[Any]:
    """A field value's numbers: one, one per axis, or a (before, after) pair per axis."""
    if isinstance(v, tuple):
        return [x for item in v for x in _leaves(item)]
    return [v]


def user_names(text: str, spec: Spec) -> str:
    """``text`` with the solver's own size variables (``a.1#3``) as the attributes they are
    (``a.L``)."""
    if "#" not in text:
        return text
    axes = ("C", *spec.axis_names)
    return _SOLVER_NAME.sub(lambda m: f"{m[1]}.{axes[int(m[2])]}" if int(m[2]) < len(axes) else m[0], text)


def constraint_exprs(system: System) -> list[tuple[Expr, str, str]]:
    """Spec constraints as Exprs over system variables: (expr, label, text)."""
    terms = attribute_terms(system)
    tied = system.spec.tied()  # a tied var (W: H) is its expression, as in the layers' fields
    out = []
    for i, c in enumerate(system.spec.constraints):
        with at_constraint(c, i):
            out.append((_resolve(c.expr.substitute(tied), terms, system), f"constraints[{i}]", c.text))
    return out


def at_constraint(c: Constraint, i: int) -> contextlib.AbstractContextManager[None]:
    """A SpecError raised while encoding constraint ``i`` names its place and text."""
    return placed(c.where, f"constraints[{i}] ({c.text})")


def _resolve(e: Expr, terms: Mapping[str, Expr], system: System) -> Expr:
    """Replace attributes by shape terms; expand ``shape == [..]`` (and ``<=``, ...)
    element-wise, as :func:`archsolve.propagate.evaluate_constraint` compares them."""
    if isinstance(e, Bin) and e.op in ("==", "!=", "<", "<=", ">", ">="):
        left, right = _as_list(e.left, system), _as_list(e.right, system)
        if left is not None or right is not None:
            if left is None or right is None or len(left) != len(right):
                raise SpecError(f"cannot compare shapes of different lengths in {e}")
            op = "==" if e.op == "!=" else e.op  # != : not every element equal
            parts = [Bin(op, _resolve(a, terms, system), _resolve(b, terms, system))
                     for a, b in zip(left, right, strict=True)]
            every: Expr = parts[0]
            for p in parts[1:]:
                every = Bin("and", every, p)
            return Call("not", (every,)) if e.op == "!=" else every
    if isinstance(e, Bin):
        return Bin(e.op, _resolve(e.left, terms, system), _resolve(e.right, terms, system))
    if isinstance(e, Call):
        return Call(e.fn, tuple(_resolve(a, terms, system) for a in e.args))
    if isinstance(e, Name):
        if e.name in terms:
            return terms[e.name]
        if e.name.endswith((".params", ".macs")):
            raise EncodingLimit(f"{e.name} in a constraint: Z3's encoding takes only the totals params and macs; "
                                "the exact search takes a layer's too, when it finishes in time")
        if e.name in MEMORY_TOTALS:
            raise EncodingLimit(f"{e.name} in a constraint: Z3's encoding cannot count memory (the exact "
                                "search counts it from each answer's whole network)")
        return e
    return e


def _as_list(e: Expr, system: System) -> list[Expr] | None:
    if isinstance(e, ListExpr):
        return list(e.items)
    if isinstance(e, Name) and e.name.endswith(".shape"):
        return list(system.shape_of(e.name[: -len(".shape")]))
    return None
