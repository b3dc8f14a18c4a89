"""Concrete shape propagation: the heart of ``check``.

:func:`propagate` walks the network in topological order with plain ints, asking each
op's rule (:mod:`archsolve.ops`) for the output shape, parameters, MACs and receptive
field, and collects every problem instead of stopping at the first: a layer whose input
shape is still known is always evaluated.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> net = build_network(load_text("input: [3, 32, 32]\\nlayers: [{op: conv, out: 8, kernel: 3}]"))
    >>> propagate(net, {}).layers["conv1"].shape
    (8, 30, 30)
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from archsolve.errors import ExprError, SpecError
from archsolve.lang.expr import Bin, Call, Expr, ListExpr, Name, Num, bytes_text
from archsolve.ops.base import Args, Collect, Kind, Severity, Shape, Window
from archsolve.ops.rules import same_reach
from archsolve.ops.table import IDENTITY_RULES, OPS
from archsolve.shapes.graph import Network
from archsolve.shapes.memory import memory_of
from archsolve.spec.domains import evaluate_field, resolve_vars
from archsolve.spec.model import MEMORY_TOTALS, TOTALS, Layer, Spec

COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
               ">=": operator.ge}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a network: at ``layer`` (or ``constraints``), of a ``kind`` (the
    rule: ``mismatch``, ``kernel-fits``, ...), in a layer ``field`` where one is to blame; the
    fixes come later (check's advice)."""

    layer: str
    kind: str
    severity: Severity
    message: str
    fixes: tuple[str, ...] = ()
    field: str = ""


@dataclass(slots=True)
class LayerResult:
    layer: Layer
    # None where an earlier layer failed, and in a shapes-only propagation (no counts, no
    # receptive fields) for a layer that hands its input on unchanged (IDENTITY_RULES)
    args: Args | None
    inputs: list[Shape] | None
    shape: Shape | None
    params: int | None = None
    macs: int | None = None
    rf: list[int] | None = None


@dataclass
class Trials:
    """Re-runs of a network with a layer added or changed (check's fix trials): the layer
    results they share (:func:`propagate`'s ``cache``, which keys a layer by its identity
    too), the layers they ran, and when they must stop (``time.monotonic()``; None: never)."""

    cache: dict[Any, Any] = field(default_factory=dict)
    runs: int = 0
    until: float | None = None
    # what later stages work out once for all the trials (check.scope: which edits can help)
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass
class Propagation:
    network: Network
    env: dict[str, int]
    input: Shape
    layers: dict[str, LayerResult]
    problems: list[Problem]
    notes: list[str] = field(default_factory=list)
    trials: Trials = field(default_factory=lambda: Trials(), repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)

    def shape_of(self, name: str) -> Shape | None:
        if name == "input":
            return self.input
        name = self.network.spec.aliases.get(name, name)
        return self.layers[name].shape


# -- evaluating field values --------------------------------------------------------------------





class ArgPlan(NamedTuple):
    """A layer's fields split once into those fixed by the spec (evaluated here) and those
    that read vars or unknowns (evaluated per binding by :func:`plan_args`).  A NamedTuple:
    immutable, and made for every layer of every solve, so cheap to build."""

    layer: Layer
    static: dict[str, Any]
    # (field, kind, value, minimum, getter): ``getter`` reads the value from an env when it is
    # one plain name per axis
    dynamic: tuple[tuple[str, Kind, Any, int | None, Callable[[Mapping[str, int]], Any] | None], ...]
    names: frozenset[str]
    sources: tuple[str, ...]
    ordered: tuple[str, ...] = ()  # ``names``, sorted: keys of caches
    fixed: Args | None = None  # the Args themselves when no field reads a name


def arg_plan(lay: Layer, spec: Spec, sources: tuple[str, ...]) -> ArgPlan:
    """Split a layer's fields (see :class:`ArgPlan`); a checking loop builds it once per layer."""
    static: dict[str, Any] = spec.rule_flags(lay.name)
    dynamic: list[tuple[str, Kind, Any, int | None, Callable[[Mapping[str, int]], Any] | None]] = []
    names: set[str] = set()
    values = lay.values
    for name, kind, minimum, sized in _fields_of(lay.op):
        v = values.get(name)
        if not sized:
            static[name] = v
            continue
        # most fields are plain numbers, or one name per axis (an unknown, a var): the
        # general path (names_in, _field_value) only for the rest
        t = type(v)
        if t is tuple and len(v) == 2 and type(v[0]) is Num and type(v[1]) is Num:  # 2D numbers, inline
            a, b = v[0].value, v[1].value
            if minimum is not None and (a < minimum or b < minimum):
                _field_value(lay, name, kind, v, minimum, {}, spec)  # raises, naming the field
            static[name] = (a, b)
        elif (literal := _literal(v, t)) is not None:
            if minimum is not None and (literal if t is Num else min(literal)) < minimum:
                _field_value(lay, name, kind, v, minimum, {}, spec)  # raises, naming the field
            static[name] = literal
        elif kind is Kind.INT and t is Name:
            dynamic.append((name, kind, v, minimum, _getter((v.name,), kind)))
            names.add(v.name)
        elif kind is Kind.AXES and t is tuple and v and all(type(x) is Name for x in v):
            axes = tuple([x.name for x in v])
            dynamic.append((name, kind, v, minimum, _getter(axes, kind)))
            names.update(axes)
        elif used := names_in(v):
            dynamic.append((name, kind, v, minimum, None))
            names |= used
        else:
            static[name] = _field_value(lay, name, kind, v, minimum, {}, spec)
    if not dynamic:  # most layers
        return ArgPlan(lay, static, (), _NO_NAMES, sources, (), Args(static, spec.ndim, lay.name, sources))
    return ArgPlan(lay, static, tuple(dynamic), frozenset(names), sources, tuple(sorted(names)))


_NO_NAMES: frozenset[str] = frozenset()


_SIZED = frozenset({Kind.INT, Kind.AXES, Kind.SIDES, Kind.DIMS})
_FIELDS: dict[str, tuple[tuple[str, Kind, int | None, bool], ...]] = {}


def _fields_of(op: str) -> tuple[tuple[str, Kind, int | None, bool], ...]:
    """An op's fields as (name, kind, minimum, sized), made once per op."""
    got = _FIELDS.get(op)
    if got is None:
        got = _FIELDS[op] = tuple((f.name, f.kind, f.minimum, f.kind in _SIZED) for f in OPS[op].fields)
    return got


def _literal(v: Any, t: type) -> Any:
    """A field value's ints when it is plain numbers (most are), else None."""
    if t is Num:
        return v.value
    if t is tuple and v:
        out = []
        for x in v:
            if type(x) is not Num:
                return None
            out.append(x.value)
        return tuple(out)
    return None


def plan_for(net: Network, lay: Layer) -> ArgPlan:
    """The layer's :class:`ArgPlan`, made once per network."""
    plans = net.memo.get("plans")
    if plans is None:
        plans = net.memo["plans"] = {}
    plan = plans.get(lay.name)
    if plan is None:
        plan = plans[lay.name] = arg_plan(lay, net.spec, lay.refs or lay.sources)
    return plan  # type: ignore[no-any-return]


def plan_args(plan: ArgPlan, env: Mapping[str, int], spec: Spec) -> Args:
    """The Args a rule runs on, for one binding of the names the layer reads."""
    if plan.fixed is not None:
        return plan.fixed
    return fill_args(plan, env, spec, Args(plan.static, spec.ndim, plan.layer.name, plan.sources))


def fill_args(plan: ArgPlan, env: Mapping[str, int], spec: Spec, vals: Args) -> Args:
    """:func:`plan_args` into ``vals`` (the plan's static fields already there): the search
    refills one Args per layer for each binding instead of making one."""
    for name, kind, v, minimum, plain in plan.dynamic:
        if plain is not None:
            # the common case, unknowns and vars: one lookup per axis, no Expr walk
            try:
                got = plain(env)
            except KeyError:
                pass
            else:
                if minimum is None or (got if kind is Kind.INT else min(got)) >= minimum:
                    vals[name] = got
                    continue
        vals[name] = _field_value(plan.layer, name, kind, v, minimum, env, spec)
    return vals


def _getter(names: tuple[str, ...], kind: Kind) -> Callable[[Mapping[str, int]], Any]:
    """A field's value from the env when it is one plain name per axis: an int for an INT
    field, a tuple for an AXES one (itemgetter runs in C)."""
    if kind is Kind.INT or len(names) > 1:
        return operator.itemgetter(*names)
    (only,) = names
    return lambda env: (env[only],)


def layer_args(lay: Layer, env: Mapping[str, int], spec: Spec, sources: tuple[str, ...]) -> Args:
    """Evaluate a layer's fields to ints (the Args a rule runs on)."""
    return plan_args(arg_plan(lay, spec, sources), env, spec)


def _field_value(lay: Layer, name: str, kind: Kind, v: Any, minimum: int | None, env: Mapping[str, int],
                 spec: Spec) -> Any:
    if kind is Kind.INT and isinstance(v, Expr):
        flat: list[Expr] = [v]
    elif kind in (Kind.AXES, Kind.DIMS) and isinstance(v, tuple):
        flat = list(v)
    elif kind is Kind.SIDES and isinstance(v, tuple):
        flat = [x for pair in v for x in pair]
    else:
        return v
    try:
        ints = [x.evaluate(env) for x in flat]
    except (KeyError, ExprError):
        fname = f"{lay.name}.{name}"
        ints = [evaluate_field(x, env, spec, fname, lay.where) for x in flat]  # raises, naming the field
    if minimum is not None and min(ints) < minimum:
        _basic_range(min(ints), minimum, spec, f"{lay.name}.{name}", lay)
    if kind is Kind.INT:
        return ints[0]
    if kind in (Kind.AXES, Kind.DIMS):
        return tuple(ints)
    return tuple(zip(ints[::2], ints[1::2], strict=True))


def _basic_range(v: int, minimum: int | None, spec: Spec, fname: str, lay: Layer) -> None:
    if minimum is not None and v < minimum:
        what = "positive" if minimum == 1 else f"at least {minimum}"
        raise SpecError(f"must be {what}, but evaluates to {v}", lay.where, fname)


# -- propagation ----------------------------------------------------------------------------------

def propagate(net: Network, given: Mapping[str, int], spatial: tuple[int, ...] | None = None,
              receptive_fields: bool = True, cache: dict[Any, Any] | None = None,
              counts: bool = True, warnings: bool = True) -> Propagation:
    """Run every layer with concrete sizes; never raises for an invalid network.

    ``given`` binds vars (and unknowns); ``spatial`` replaces the input's spatial sizes.
    ``cache`` (a dict kept by the caller, for one spec) reuses each layer's result for the
    same field values and input shapes, and what the constraints read, for checking many
    solutions of one spec.  ``counts=False``
    skips parameters and MACs (shapes only) unless a constraint names them; ``warnings=False``
    leaves warnings out (a yes-or-no check reads only :attr:`Propagation.ok`).
    """
    spec = net.spec
    counts = counts or _constraints_count(spec)
    env = resolve_vars(spec, given)
    inp = tuple(evaluate_field(e, env, spec, f"input[{i}]", spec.document.where(("input", i)) if spec.document else None)
                for i, e in enumerate(spec.input))
    if spatial is not None:
        inp = (inp[0], *spatial)
    for i, v in enumerate(inp):
        if v < 1:
            raise SpecError(f"must be positive, but evaluates to {v}",
                            spec.document.where(("input", i)) if spec.document else None, f"input[{i}]")
    shapes: dict[str, Shape | None] = {"input": inp}
    # receptive fields are tracked per position: skip them for very long inputs (audio)
    track_rf = receptive_fields and all(n <= RF_MAX_POSITIONS for n in inp[1:])
    starts: dict[int, Reach] = {}  # a square input's axes share their reach (see _reach_axes)
    reach: dict[str, list[Reach] | None] = {
        "input": [starts.setdefault(n, _start(n)) for n in inp[1:]] if track_rf else None}
    reach_rf: dict[str, list[int] | None] = {"input": [1] * spec.ndim if track_rf else None}
    results: dict[str, LayerResult] = {}
    problems: list[Problem] = []
    # shapes only (a yes-or-no, a solution's check): a layer that hands its input on and
    # states no condition (IDENTITY_RULES) needs neither its arguments nor its rule
    bare = not counts and not track_rf
    too_long = ""  # the first layer too long to track receptive fields through
    req = Collect(warnings)  # one for every layer: emptied after a layer that failed
    for lay in net.order:
        opdef = OPS[lay.op]
        srcs = lay.sources
        in_shapes = [shapes[s] for s in srcs]
        if bare and len(srcs) == 1 and opdef.shape in IDENTITY_RULES:
            x = in_shapes[0]
            results[lay.name] = LayerResult(lay, None, in_shapes if x is not None else None, x)  # type: ignore[arg-type]
            shapes[lay.name] = x
            reach[lay.name] = None
            continue
        plan = plan_for(net, lay)
        if cache is not None:
            # the layer itself too: a fix trial runs a changed copy of it under its name (a
            # cached result keeps its layer alive, so an identity is never reused meanwhile)
            key = (lay.name, id(lay), tuple([env.get(n) for n in plan.ordered]), tuple(in_shapes), counts, warnings)
            hit = cache.get(key)
            if hit is not None:
                res, failures = hit
                problems.extend(failures)
                results[lay.name] = res
                shapes[lay.name] = res.shape
                reach[lay.name] = None
                continue
        args = plan.fixed if plan.fixed is not None else plan_args(plan, env, spec)
        if None in in_shapes:
            results[lay.name] = LayerResult(lay, args, None, None)
            shapes[lay.name] = None
            reach[lay.name] = None
            continue
        known: list[Shape] = in_shapes  # type: ignore[assignment]
        out_shape: Shape | None = opdef.shape(args, known, req)
        mine_problems: list[Problem] = []
        if req.failures:
            mine_problems = [Problem(layer=lay.name, kind=f.rule, severity=f.severity, message=f.message,
                                     field=f.field) for f in req.failures]
            problems.extend(mine_problems)
            if req.fatal:
                out_shape = None
            req.failures = []
        res = LayerResult(lay, args, known, out_shape)
        if out_shape is not None and counts:
            res.params = int(opdef.params(args, known, out_shape))
            res.macs = int(opdef.macs(args, known, out_shape))
        if out_shape is not None and track_rf:
            ins = [reach[s] for s in srcs]
            mine = None
            if opdef.reach is same_reach and ins[0] is not None:
                mine = ins[0]  # most layers (activations, norms) keep every position where it is
                res.rf = reach_rf[srcs[0]]
            elif any(n > RF_MAX_POSITIONS for n in out_shape[1:]):
                # an up-sampling that grows past the limit: each position's taps would be
                # listed (memory without end for 4200 x 16^4); from here on, none
                too_long = too_long or lay.name
            elif all(r is not None for r in ins):
                mine = _reach_axes(opdef.reach, args, known, out_shape, ins, spec.ndim)  # type: ignore[arg-type]
                res.rf = [_extent(r) for r in mine[:1]]
                for r, before in zip(mine[1:], mine, strict=False):  # an axis alike the one before: its extent
                    res.rf.append(res.rf[-1] if r is before else _extent(r))
            reach[lay.name] = mine
            reach_rf[lay.name] = res.rf
        else:
            reach[lay.name] = None
        results[lay.name] = res
        shapes[lay.name] = out_shape
        if cache is not None and not track_rf:
            cache[key] = (res, mine_problems)
    prop = Propagation(net, env, inp, results, problems)
    if receptive_fields and not track_rf:
        prop.notes.append(f"receptive fields are not computed for inputs longer than {RF_MAX_POSITIONS} "
                          "positions on an axis")
    elif too_long:
        prop.notes.append(f"receptive fields are not computed from {too_long} on: it is longer than "
                          f"{RF_MAX_POSITIONS} positions on an axis")
    _check_constraints(prop, cache)
    return prop


def names_in(v: Any) -> set[str]:
    """Every name a field value (an Expr, or a tuple of them per axis or side) reads."""
    t = type(v)
    if t is Name:  # the usual unknown or var: no walk
        return {v.name}
    if t is tuple:
        out: set[str] = set()
        for x in v:
            if type(x) is Name:
                out.add(x.name)
            elif type(x) is not Num:
                out |= names_in(x)
        return out
    if isinstance(v, Expr):
        return set(v.names())
    return set()


# -- receptive fields ----------------------------------------------------------------------------
# Per axis, for each output position: the first and last network-input position that reach it.
Reach = tuple[list[int], list[int]]
RF_MAX_POSITIONS = 65536
NOWHERE = 1 << 62


def _start(n: int) -> Reach:
    return list(range(n)), list(range(n))


def _reach_axes(reach_of: Callable[..., list[list[Window]]], args: Args, inputs: list[Shape], out: Shape,
                ins: list[list[Reach]], ndim: int) -> list[Reach]:
    """Per axis, what each output position reaches of the network's input.  Where an axis's
    windows and inputs are those of the axis before (a square layer on a square input), its
    reach is that axis's, the same object: composing it again would give the same lists, and
    the layers after it then find their inputs alike by identity."""
    out_reach: list[Reach] = []
    last: tuple[list[list[Window]], list[Reach]] | None = None
    for axis in range(ndim):
        windows = reach_of(args, axis, inputs, out)
        sources = [r[axis] for r in ins]
        if last is not None and all(a is b for a, b in zip(sources, last[1], strict=True)) and windows == last[0]:
            out_reach.append(out_reach[-1])
            continue
        out_reach.append(_compose(windows, sources))
        last = (windows, sources)
    return out_reach


def _compose(windows: list[list[tuple[int, int, int]]], inputs: list[Reach]) -> Reach:
    """Chain a layer's windows (output position -> the taps on its inputs) onto what its
    inputs reach; a merge takes the union over its inputs.  Tracking only the first and
    last position is exact for the span: the span of a union is that of the spans."""
    m = len(windows[0])
    lo = [NOWHERE] * m
    hi = [-1] * m
    for win, (in_lo, in_hi) in zip(windows, inputs, strict=True):
        top = len(in_lo) - 1
        for o, (first, last, step) in enumerate(win):
            if last > top:
                last = top  # a merge of mismatched branches still gets a value
            if first > last:
                continue
            # a position that reaches nothing (padding) has lo = NOWHERE and hi = -1
            if first == last:  # one tap (a 1x1 conv, a merge): no slice to make
                a, b = in_lo[first], in_hi[first]
            else:
                a, b = min(in_lo[first:last + 1:step]), max(in_hi[first:last + 1:step])
            if a < lo[o]:
                lo[o] = a
            if b > hi[o]:
                hi[o] = b
    return lo, hi


def _extent(r: Reach) -> int:
    """The widest span, over output positions, of the input positions that reach one."""
    return max((b - a + 1 for a, b in zip(r[0], r[1], strict=True) if a <= b), default=0)


# -- constraints ------------------------------------------------------------------------------------

def attribute_values(prop: Propagation, only: set[str] | None = None
                     ) -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
    """``name.C``, ``name.H``, ``name.shape``, ``name.params``, ... and the totals, from a
    propagation; ``only``: just these layers and groups (``input`` included), no totals."""
    spec = prop.network.spec
    axes = ("C", *spec.axis_names)
    scalars: dict[str, int] = dict(prop.env)
    lists: dict[str, tuple[int, ...]] = {}

    def put(name: str, shape: Shape | None, params: int | None = None, macs: int | None = None) -> None:
        if shape is None:
            return
        lists[f"{name}.shape"] = tuple(int(v) for v in shape)
        for a, v in zip(axes, shape, strict=False):
            scalars[f"{name}.{a}"] = int(v)
        if params is not None:
            scalars[f"{name}.params"] = params
        if macs is not None:
            scalars[f"{name}.macs"] = macs

    put("input", prop.input)
    layers = prop.layers
    for name in layers if only is None else [n for n in only if n in layers]:
        res = layers[name]
        put(name, res.shape, res.params, res.macs)
    for g in spec.groups:
        if only is not None and g.name not in only:
            continue
        members = [prop.layers[m] for m in g.members]
        put(g.name, prop.layers[g.output].shape, sum(m.params or 0 for m in members),
            sum(m.macs or 0 for m in members))
    if only is not None:
        return scalars, lists
    scalars["params"] = sum(r.params or 0 for r in prop.layers.values())
    scalars["macs"] = sum(r.macs or 0 for r in prop.layers.values())
    return scalars, lists


def memory_values(prop: Propagation) -> dict[str, int] | None:
    """``memory`` (training bytes) and ``activations`` at the spec's batch and dtype, as a
    constraint reads them; None where a shape is missing (an earlier problem stopped it)."""
    mem = memory_of(prop, prop.network.spec.memory)
    if not mem.complete:
        return None
    return {"memory": mem.training, "activations": mem.activations}


def evaluate_constraint(e: Expr, scalars: Mapping[str, int], lists: Mapping[str, tuple[int, ...]]) -> int:
    """Evaluate a constraint; ``==``/``!=`` compare shapes element-wise."""
    def as_list(x: Expr) -> tuple[int, ...] | None:
        if isinstance(x, ListExpr):
            return tuple(sub.evaluate(scalars) for sub in x.items)
        if isinstance(x, Name) and x.name in lists:
            return lists[x.name]
        if isinstance(x, Name) and x.name.endswith(".shape"):
            raise KeyError(x.name)  # the layer has no shape: an earlier error stopped it
        return None

    if isinstance(e, Bin) and e.op in ("==", "!=", "<=", ">=", "<", ">"):
        a, b = as_list(e.left), as_list(e.right)
        if a is not None or b is not None:
            if a is None or b is None:
                raise ExprError(f"cannot compare a shape with a number in {e}")
            if len(a) != len(b):
                raise ExprError(f"cannot compare shapes of different lengths in {e}")
            if e.op == "!=":  # not every element equal
                return int(a != b)
            return int(all(COMPARISONS[e.op](x, y) for x, y in zip(a, b, strict=True)))  # every element
    if isinstance(e, Bin) and e.op in ("and", "or"):
        left = evaluate_constraint(e.left, scalars, lists)
        if e.op == "and" and not left:
            return 0
        if e.op == "or" and left:
            return 1
        return evaluate_constraint(e.right, scalars, lists)
    if isinstance(e, Call) and e.fn == "not":
        return int(not evaluate_constraint(e.args[0], scalars, lists))
    return e.evaluate(scalars)


def _constraints_count(spec: Spec) -> bool:
    """Whether a constraint names parameters or MACs (a layer's or the totals) or memory."""
    return any(n.rpartition(".")[2] in TOTALS for c in spec.constraints for n in c.expr.names())


def _check_constraints(prop: Propagation, cache: dict[Any, Any] | None = None) -> None:
    spec = prop.network.spec
    if not spec.constraints:
        return
    read = cache.get("constraints read") if cache is not None else None
    if read is None:  # the layers the constraints name (None: the totals, so every layer)
        named = set().union(*(c.expr.names() for c in spec.constraints))
        read = (None if named & set(TOTALS) else {n.rsplit(".", 1)[0] for n in named if "." in n},
                bool(named & set(MEMORY_TOTALS)))
        if cache is not None:
            cache["constraints read"] = read
    scalars, lists = attribute_values(prop, read[0])
    if read[1]:
        scalars.update(memory_values(prop) or {})
    for c in spec.constraints:
        try:
            ok = evaluate_constraint(c.expr, scalars, lists)
        except KeyError as exc:
            if exc.args and exc.args[0] in spec.unknowns:
                raise
            prop.problems.append(Problem(layer="constraints", kind="constraint", severity=Severity.ERROR,
                                         message=f"{c.text}: cannot be evaluated ({exc.args[0]} has no value: "
                                         "an earlier problem stopped the propagation)"))
            continue
        except ExprError as exc:
            if "division by zero" not in exc.bare:
                raise SpecError(exc.bare, c.where, "constraints") from None
            # zero for these sizes only (60 // (c1.H - 30) at c1.H = 30): the network fails it
            prop.problems.append(Problem(layer="constraints", kind="constraint", severity=Severity.ERROR,
                                         message=f"{c.text} does not hold: {exc.bare} ({_show_values(c.expr, scalars, lists)})"))
            continue
        if not ok:
            prop.problems.append(Problem(layer="constraints", kind="constraint", severity=Severity.ERROR,
                                         message=f"{c.text} does not hold: {_show_values(c.expr, scalars, lists)}"))


def _show_values(e: Expr, scalars: Mapping[str, int], lists: Mapping[str, tuple[int, ...]]) -> str:
    parts = []
    for n in sorted(e.names()):
        if n in lists:
            parts.append(f"{n} = [{', '.join(map(str, lists[n]))}]")
        elif n in MEMORY_TOTALS and n in scalars:
            parts.append(f"{n} = {scalars[n]:,} bytes ({bytes_text(scalars[n])})")
        elif n in scalars:
            parts.append(f"{n} = {scalars[n]}")
    # no name left: the constraint names values written in the spec (c.kernel is 3): show them
    return ", ".join(parts) or str(e)
