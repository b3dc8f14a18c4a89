"""Var domains that name other vars (``p: {min: 0, max: k // 2}``, ``W: {max: H}``): their
widest ranges, and cycles among them.

A var used as a hyperparameter is enumerated (the search, the solver's tables), so it needs
a finite list of candidates: its widest range, the ends' bounds over the named vars' own
widest ranges; the domain itself is then kept as a constraint.  ``check`` binds vars one
after another, so domains that name each other have no order: a bad spec there.

    >>> from archsolve.spec.load import load_text
    >>> spec = load_text('''
    ... input: [1, H]
    ... vars: {H: {min: 8, max: 64}, k: {min: 1, max: H // 8}}
    ... layers: [{name: c, op: conv, out: 1, kernel: k}]
    ... ''')
    >>> var_span(spec, "k")
    (1, 8)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from archsolve.errors import ExprError, SpecError
from archsolve.lang.expr import Expr, interval
from archsolve.limits import MAX_NUMBER, shown_number
from archsolve.spec.model import Layer, Spec, Unknown

# the widest values a field's "?" can take by default: a domain end naming a field the layer
# does not give a value for (a block argument's) is bounded by these
FIELD_BOUNDS = {"kernel": (1, 11), "stride": (1, 4), "dilation": (1, 4)}
# the fields whose "?" the solver enumerates (their values decide a layer's shape)
ENUMERATED = frozenset({"kernel", "stride", "padding", "dilation", "output_padding", "scale", "factor"})


class EmptyDomain(SpecError):
    """A domain that allows no value whatever the vars it names are."""


def var_span(spec: Spec, u: str, lay: Layer | None = None) -> tuple[int, int]:
    """The widest range of var ``u``: its domain's ends, and where they name other vars
    (``p: {min: 0, max: k // 2}``) the ends' bounds over those vars' own widest ranges (a
    tied var's over its expression's).  The domain itself (``p <= k // 2``) is a constraint
    of the solver and the search; ``lay``: the layer using ``u`` as a hyperparameter, for
    the message when there is no range.

        >>> from archsolve.spec.load import load_text
        >>> spec = load_text('''
        ... input: [1, 8]
        ... vars: {k: {in: [3, 5, 7]}, p: {min: 0, max: k // 2}}
        ... layers: [{name: c, op: conv, out: 1, kernel: k, padding: p}]
        ... ''')
        >>> var_span(spec, "p")
        (0, 3)
    """
    got = _span(spec, u, lay, ())
    if got is None:  # a tied var whose expression has no bound
        raise SpecError(f"{u!r} is tied to {spec.vars[u].expr}, which has no bound over the vars' domains",
                        spec.vars[u].where, f"vars.{u}")
    return got


def _span(spec: Spec, u: str, lay: Layer | None, seen: tuple[str, ...]) -> tuple[int, int] | None:
    var = spec.vars[u]
    if u in seen:
        cycle = " -> ".join((*seen[seen.index(u):], u))
        first = spec.vars[seen[seen.index(u)]]
        raise SpecError(f"the domains of these vars name each other: {cycle}", first.where,
                        f"vars.{seen[seen.index(u)]}")
    if var.expr is not None:  # tied: its expression's bounds (None where it has none)
        return interval(var.expr, {n: _span(spec, n, lay, (*seen, u)) for n in var.expr.names() if n in spec.vars})
    dom = var.domain
    if dom is None:
        raise SpecError(f"var {u!r} has no domain", var.where, f"vars.{u}")
    if not dom.names():
        return dom.ends()
    assert dom.lo is not None and dom.hi is not None
    spans = {n: _span(spec, n, lay, (*seen, u)) for n in dom.names() if n in spec.vars}
    lo, hi = interval(dom.lo, spans), interval(dom.hi, spans)
    if lo is None or hi is None:
        used = f" as a hyperparameter of {lay.name}" if lay is not None else ""
        end = dom.lo if lo is None else dom.hi
        raise SpecError(f"var {u!r} is used{used}, so its widest range must be known, but the end {end} of its "
                        f"domain {dom} has no bound over the vars' domains (a divisor whose range holds 0?)",
                        var.where, f"vars.{u}")
    if lo[0] > hi[1]:
        raise EmptyDomain(f"the domain {dom} of {u!r} is empty for every value of the vars it names "
                          f"(at its widest {lo[0]}..{hi[1]})", var.where, f"vars.{u}")
    return lo[0], hi[1]


def domain_cycles(spec: Spec) -> None:
    """Raise a SpecError naming vars whose domains name each other (through ties too)."""
    for u in spec.vars:
        _names_walk(spec, u, ())


def _names_walk(spec: Spec, u: str, seen: tuple[str, ...]) -> None:
    """Like :func:`_span`, only following names: a cycle raises, an unbounded end does not."""
    var = spec.vars[u]
    if u in seen:
        _span(spec, u, None, seen)  # raises, naming the cycle
    dom = var.domain
    names = var.expr.names() if var.expr is not None else dom.names() if dom is not None else set()
    for n in names:
        if n in spec.vars:
            _names_walk(spec, n, (*seen, u))


def unknown_span(spec: Spec, u: str, _seen: tuple[str, ...] = ()) -> tuple[int, int]:
    """The widest range of a ``"?"``: its domain's ends over the widest values of the layer
    fields they name, as the layer gives them -- a written ``stride: 8`` lets an
    ``output_padding: "?"`` reach 7, a ``kernel: 25`` a ``padding: "?"`` 24, a kernel ``"?"``
    of a wider ``domains:`` override more (the field's default domain is only the fallback).

        >>> from archsolve.spec.load import load_text
        >>> spec = load_text('''
        ... input: [1, 4]
        ... layers: [{name: u, op: deconv, out: 1, kernel: 2, stride: 8, output_padding: "?"}]
        ... ''')
        >>> unknown_span(spec, "u.output_padding")
        (0, 7)
    """
    unk = spec.unknowns[u]
    dom = unk.domain
    names = dom.names()
    if not names:
        return dom.ends()
    assert dom.lo is not None and dom.hi is not None
    spans = {n: _field_span(spec, unk, n, (*_seen, u)) for n in names}
    lo, hi = interval(dom.lo, spans), interval(dom.hi, spans)  # type: ignore[arg-type]
    if lo is None or hi is None:
        missing = next((n for n, v in spans.items() if v is None), sorted(names)[0])
        raise SpecError(f"the domain {dom} names {missing!r}, which this field cannot see", unk.where, u)
    return lo[0], hi[1]


def layer_of(spec: Spec, unk: Unknown) -> Layer | None:
    """The layer a ``"?"`` stands in (the first copy of a repeated one); None for a block
    call's argument."""
    return next(iter(copies_of(spec, unk)), None)


def copies_of(spec: Spec, unk: Unknown) -> list[Layer]:
    """The layers a ``"?"`` stands in: its own, or every copy of a repeated one (``c`` is
    ``c/0``, ``c/1``; ``e2/a`` is ``e2/0/a``, ``e2/1/a``)."""
    try:
        return [spec.layer(unk.layer)]
    except KeyError:
        return [lay for lay in spec.layers if re.sub(r"/\d+(?=/|$)", "", lay.name) == unk.layer]


def var_ends(spec: Spec, name: str, env: Mapping[str, int]) -> tuple[int, int]:
    """A var's range domain's ends for the values bound (tied vars worked out from them; a
    KeyError where an end names an open var); a division by zero in them is a bad spec,
    placed at the var."""
    var = spec.vars[name]
    dom = var.domain
    assert dom is not None and dom.lo is not None and dom.hi is not None
    env = resolve_vars(spec, env)  # an end may name a tied var (s: {max: b} with b: a + 1)
    try:
        return dom.ends(env)
    except ExprError as exc:
        bound = ", ".join(f"{n} = {env[n]}" for n in sorted(dom.names()) if n in env)
        raise SpecError(f"{exc.bare} in the domain {dom} of {name!r}" + (f" (with {bound})" if bound else ""),
                        var.where, f"vars.{name}") from None


def _field_span(spec: Spec, unk: Unknown, field: str, seen: tuple[str, ...]) -> tuple[int, int] | None:
    """The widest values of field ``field`` of the layer ``unk`` stands in, over every axis
    (None where nothing bounds it)."""
    fallback = FIELD_BOUNDS.get(field)
    lay = layer_of(spec, unk)
    v = lay.values.get(field) if lay is not None else None
    items = dict.fromkeys(v) if isinstance(v, tuple) else (v,)  # a square kernel "?" is one name twice
    lo = hi = None
    for x in items:
        if not isinstance(x, Expr):
            return fallback
        spans: dict[str, tuple[int, int]] = {}
        for n in x.names():
            try:
                if n in spec.vars:
                    spans[n] = var_span(spec, n)
                elif n in spec.unknowns and n not in seen:
                    spans[n] = unknown_span(spec, n, seen)
                else:
                    return fallback
            except SpecError:
                return fallback
        got = interval(x, spans)
        if got is None:
            return fallback
        lo = got[0] if lo is None else min(lo, got[0])
        hi = got[1] if hi is None else max(hi, got[1])
    return (lo, hi) if lo is not None and hi is not None else fallback


def resolve_vars(spec: Spec, given: Mapping[str, int]) -> dict[str, int]:
    """Values for every var that has one: tied vars computed from the others.

    Vars with a domain take their value from ``given``; those missing stay unbound.
    """
    env: dict[str, int] = {}
    for name, value in given.items():
        env[name] = value
    pending = {n: v for n, v in spec.vars.items() if v.expr is not None and n not in env}
    while pending:
        progressed = False
        for n, v in list(pending.items()):
            assert v.expr is not None
            if v.expr.names() <= env.keys():
                env[n] = evaluate_field(v.expr, env, spec, f"vars.{n}", v.where)
                if abs(env[n]) > MAX_NUMBER:  # a chain of squares (b: a * a, c: b * b, ...) would not end
                    raise SpecError(f"{n} = {v.expr} is over {MAX_NUMBER:,} (with {_shown(v.expr, env)})",
                                    v.where, f"vars.{n}")
                del pending[n]
                progressed = True
        if not progressed:
            break
    return env


def evaluate_field(e: Expr, env: Mapping[str, int], spec: Spec, fieldname: str, where: Any) -> int:
    try:
        return e.evaluate(env)
    except KeyError as exc:
        raise SpecError(f"{e} depends on {exc.args[0]!r}, which has no value", where, fieldname) from None
    except ExprError as exc:
        raise SpecError(exc.bare, where, fieldname) from None


def unknown_values(spec: Spec, u: str, lay: Layer) -> list[int]:
    """The values an unknown may take (a dependent domain at its widest)."""
    if u in spec.vars:
        dom = spec.vars[u].domain
        assert dom is not None
        if dom.listed:
            return list(dom.values)  # type: ignore[arg-type]
        lo, hi = var_span(spec, u, lay)
        if hi - lo >= spec.limits.combinations:  # before the list is made: 10^9 values would fill the memory
            raise SpecError(f"var {u!r} is used as a hyperparameter of {lay.name}, and its domain {dom} has "
                            f"{hi - lo + 1:,} values at its widest; the limit is {spec.limits.combinations:,} "
                            "(--max-combinations); narrow it", spec.vars[u].where, f"vars.{u}")
        return list(range(lo, hi + 1))
    unk = spec.unknowns[u]
    if unk.domain.listed:
        return list(unk.domain.values)  # type: ignore[arg-type]
    lo, hi = unknown_span(spec, u)
    if hi - lo >= spec.limits.combinations:
        raise SpecError(f"this \"?\" would take {hi - lo + 1:,} values (its domain {unk.domain} at its widest); "
                        f"the limit is {spec.limits.combinations:,} (--max-combinations); narrow it", unk.where, u)
    return list(range(lo, hi + 1))


def is_dependent(spec: Spec, u: str) -> bool:
    """Whether an unknown's domain names other fields (padding 0..kernel-1)."""
    unk = spec.unknowns.get(u)
    return unk is not None and bool(unk.domain.names())


def in_field_domains(spec: Spec, vals: Mapping[str, Any], assign: Mapping[str, int], ndim: int) -> bool:
    """Dependent domains: an unknown padding stays below its kernel, and so on.

    ``vals``: the layer's field values (ints where known); ``assign``: unknowns to test."""
    for u, value in assign.items():
        bounds = dependent_bounds(spec, u, vals, ndim)
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            return False
    return True


def dependent_bounds(spec: Spec, u: str, vals: Mapping[str, Any], ndim: int) -> tuple[int, int] | None:
    """The range a dependent unknown (``padding`` in 0..kernel-1) allows, given the layer's
    field values (ints, or a tuple of them per axis): the tightest over the axes it stands
    on whose fields are known; None where nothing bounds it."""
    unk = spec.unknowns.get(u)
    if unk is None or unk.layer.split("/")[-1] == "":
        return None
    dom = unk.domain
    names = dom.names()
    if not names:
        return None
    # the axis the unknown stands on: `up1.padding[1]`, or every axis
    axes = [int(u.rsplit("[", 1)[1].rstrip("]"))] if u.endswith("]") and "[" in u else range(ndim)
    bounds: tuple[int, int] | None = None
    for a in axes:
        env = {}
        for n in names:
            v = vals.get(n)
            if isinstance(v, tuple):
                v = v[a] if a < len(v) else v[0]
            if not isinstance(v, int):
                break
            env[n] = v
        else:
            lo, hi = dom.ends(env)
            bounds = (lo, hi) if bounds is None else (max(bounds[0], lo), min(bounds[1], hi))
    return bounds


def var_allows(spec: Spec, name: str, value: int, env: Mapping[str, int]) -> bool:
    dom = spec.vars[name].domain
    assert dom is not None
    if dom.listed:
        return dom.contains(value)
    try:
        lo, hi = var_ends(spec, name, env)
    except KeyError:
        return True  # the ends name open vars; the network check will judge
    return lo <= value <= hi


def _shown(e: Expr, env: Mapping[str, int]) -> str:
    """The values an expression read, for a message: ``a = 3, b = 9``."""
    return ", ".join(f"{n} = {shown_number(str(env[n]))}" for n in sorted(e.names()) if n in env)
